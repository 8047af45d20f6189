"""Writes of the Maven format: deploy of files, checksums and ``maven-metadata.xml``.

Layout: https://maven.apache.org/repository/layout.html; metadata:
https://maven.apache.org/ref/3.8.7/maven-repository-metadata/repository-metadata.html.

The model is the truth: a deployed file becomes an Asset of the Version named by its base
version (``1.0-SNAPSHOT``) in the Package ``groupId:artifactId``; both levels of
``maven-metadata.xml`` are regenerated from it after every change and stored as Documents.
"""

import hmac
import io
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from django.db import transaction
from django.db.models import CharField
from django.utils import timezone

from formats.maven.checksums import parse_checksum_file
from formats.maven.errors import (
    ChecksumMismatch,
    FileUnknown,
    MavenPathInvalid,
    MetadataInvalid,
    PomInvalid,
    VersionPolicyViolation,
)
from formats.maven.media import MIME_XML, media_type_for
from formats.maven.metadata import parse_metadata
from formats.maven.paths import (
    CHECKSUM_ALGORITHMS,
    METADATA_FILENAME,
    MavenPath,
    PathKind,
    parse_path,
)
from formats.maven.pom import PomInfo, parse_pom
from formats.maven.renderers import (
    render_artifact_metadata,
    render_group_metadata,
    render_snapshot_metadata,
)
from formats.maven.selectors import (
    POLICY_RELEASE,
    POLICY_SNAPSHOT,
    maven_package_name,
    maven_version_policy,
)
from formats.maven.versions import is_snapshot, version_sort_key
from formats.plugin import (
    MAX_PATH_LENGTH,
    Asset,
    Document,
    Package,
    Repository,
    User,
    Version,
    asset_delete,
    asset_put,
    blob_checksums,
    blob_ingest,
    body_read,
    coordinate_record,
    document_delete,
    document_put,
    mirror_refresh_on_commit,
    package_ensure,
    package_lock,
    version_ensure,
    version_metadata_set,
)

MAX_POM_SIZE = 4 * 1024 * 1024
MAX_METADATA_SIZE = 4 * 1024 * 1024


def _max_length(field: object) -> int:
    assert isinstance(field, CharField)
    assert field.max_length is not None
    return field.max_length


MAX_NAME_LENGTH = _max_length(Package._meta.get_field("name"))
MAX_VERSION_LENGTH = _max_length(Version._meta.get_field("version"))


def maven_policy_check(*, repository: Repository, version: str) -> None:
    """Refuse a version the repository's policy excludes, with the reason Nexus gives.

    Raises:
        VersionPolicyViolation: SNAPSHOT into a release repository or release into a
            snapshot repository.
    """
    policy = maven_version_policy(repository=repository)
    snapshot = is_snapshot(version)
    if (policy == POLICY_RELEASE and snapshot) or (policy == POLICY_SNAPSHOT and not snapshot):
        raise VersionPolicyViolation(
            f"Repository version policy: {policy.upper()} does not allow version: {version}",
            version=version,
        )


def _check_coordinates(mpath: MavenPath) -> None:
    group_id, artifact_id = mpath.group_id or "", mpath.artifact_id or ""
    # A dot inside a group folder ("com/ex.ample/") cannot come from a groupId: refuse it, or
    # two folders would share one package and one metadata document.
    if not mpath.path.startswith(f"{group_id.replace('.', '/')}/{artifact_id}/"):
        raise MavenPathInvalid(f"group folders of {mpath.path} must not contain dots")
    name = maven_package_name(group_id=group_id, artifact_id=artifact_id)
    limits = (
        (mpath.path, MAX_PATH_LENGTH, "path"),
        (name, MAX_NAME_LENGTH, "groupId:artifactId"),
        (mpath.version or "", MAX_VERSION_LENGTH, "version"),
    )
    for value, limit, what in limits:
        if len(value) > limit:
            raise MavenPathInvalid(f"{what} is longer than {limit} characters")


def _pom_info(*, raw: bytes, mpath: MavenPath) -> PomInfo:
    info = parse_pom(raw=raw)
    expected = (mpath.group_id, mpath.artifact_id, mpath.version)
    if (info.group_id, info.artifact_id, info.version) != expected:
        raise PomInvalid(
            f"POM coordinates {info.group_id}:{info.artifact_id}:{info.version} do not match "
            f"the path ({':'.join(str(part) for part in expected)})"
        )
    return info


def _pom_metadata(info: PomInfo) -> dict[str, Any]:
    return {
        "name": info.name or "",
        "description": info.description or "",
        "packaging": info.packaging,
        "url": info.url or "",
        "licenses": [{"name": lic.name or "", "url": lic.url or ""} for lic in info.licenses],
        "dependencies": [
            {
                "group_id": dep.group_id or "",
                "artifact_id": dep.artifact_id or "",
                "version": dep.version or "",
                "scope": dep.scope,
                "optional": dep.optional,
                "classifier": dep.classifier or "",
                "type": dep.type,
            }
            for dep in info.dependencies
        ],
    }


def maven_file_deploy(
    *,
    repository: Repository,
    mpath: MavenPath,
    stream: BinaryIO,
    user: User,
    expected: dict[str, str] | None = None,
) -> tuple[Asset, bool]:
    """Store an artifact file (jar, pom, sources, signature...) and regenerate the metadata.

    The bytes are stored before anything points at them, so a refused deploy changes nothing
    visible. A main POM is parsed and its coordinates must match the path; what the UI shows
    (name, description, packaging, dependencies, licenses) goes to ``Version.metadata``.

    Args:
        repository: A hosted Maven repository.
        mpath: The parsed path, of kind ARTIFACT and not a checksum.
        stream: The request body.
        user: The deployer.
        expected: Digests the client declared (``{"sha1": hex}``), checked while storing.

    Returns:
        The asset and whether the path is new.

    Raises:
        VersionPolicyViolation, PomInvalid, AssetExists (409: release redeploy), DigestMismatch,
        CoordinateReused (409: a deleted release file deployed again with other bytes).
    """
    if mpath.kind is not PathKind.ARTIFACT or mpath.is_checksum:
        raise MavenPathInvalid(f"{mpath.path} is not an artifact file")
    _check_coordinates(mpath)
    version_name, extension = mpath.version or "", mpath.extension or ""
    maven_policy_check(repository=repository, version=version_name)
    pom = None
    if mpath.extension == "pom" and mpath.classifier is None:
        raw = body_read(stream, limit=MAX_POM_SIZE)
        pom = _pom_info(raw=raw, mpath=mpath)
        stream = io.BytesIO(raw)
    # Every checksum a client may fetch is computed in the same pass as the store.
    blob = blob_ingest(stream=stream, expected=expected, algorithms=CHECKSUM_ALGORITHMS.values())
    name = maven_package_name(group_id=mpath.group_id or "", artifact_id=mpath.artifact_id or "")
    with transaction.atomic():
        package = package_ensure(repository=repository, name=name, normalized_name=name)
        # One deploy at a time per artifact, so each metadata rebuild sees every file.
        package = package_lock(package=package)
        version = version_ensure(package=package, version=version_name, metadata={}, user=user)
        if pom is not None:
            version = version_metadata_set(version=version, metadata=_pom_metadata(pom))
        existing = Asset.objects.filter(repository=repository, path=mpath.path).first()
        if existing is not None and is_snapshot(version_name):
            # SNAPSHOT files are replaceable by definition; release files only by policy.
            asset_delete(asset=existing)
        asset = asset_put(
            repository=repository,
            path=mpath.path,
            blob=blob,
            media_type=media_type_for(extension=extension),
            user=user,
            version=version,
            metadata={
                "classifier": mpath.classifier,
                "extension": mpath.extension,
                "timestamp": mpath.timestamp,
                "build_number": mpath.build_number,
            },
        )
        if not is_snapshot(version_name):  # SNAPSHOT files are replaceable by definition
            coordinate_record(repository=repository, key=mpath.path, sha256=blob.sha256, user=user)
        maven_metadata_rebuild(repository=repository, package=package, version=version)
    return asset, existing is None


MAX_CHECKSUM_SIZE = 1024  # a checksum file holds a hex digest and perhaps a file name


def maven_file_import(*, repository: Repository, path: str, file: Path, user: User) -> Asset:
    """Deploy ``file`` of a Maven repository tree (Nexus, Artifactory, ``~/.m2``) at ``path``.

    The checksum files next to it, when there are, are the digests it must have, as the
    headers of a deploy are.
    """
    mpath = parse_path(path=path)
    expected = {}
    for suffix, algorithm in CHECKSUM_ALGORITHMS.items():
        checksum = file.with_name(f"{file.name}.{suffix}")
        if checksum.is_file():
            raw = checksum.read_bytes()[:MAX_CHECKSUM_SIZE]
            expected[algorithm] = parse_checksum_file(raw=raw, algorithm=algorithm)
    with file.open("rb") as stream:
        asset, _ = maven_file_deploy(
            repository=repository, mpath=mpath, stream=stream, user=user, expected=expected
        )
    return asset


def maven_metadata_rebuild(*, repository: Repository, package: Package, version: Version) -> None:
    """Regenerate artifact-level metadata of ``package`` and, for a SNAPSHOT, of ``version``.

    The mirror (``MIRROR_DIR``) follows once the caller commits: the artifact-level
    metadata and the folder of ``version``, not every version's files.
    """
    group_id, _, artifact_id = package.name.partition(":")
    folder = f"{group_id.replace('.', '/')}/{artifact_id}"
    for prefix in (f"{folder}/{METADATA_FILENAME}", f"{folder}/{version.version}/"):
        mirror_refresh_on_commit(repository=repository, prefix=prefix)
    now = timezone.now()
    versions = (
        Version.objects.filter(package=package, assets__isnull=False)
        .distinct()
        .values_list("version", flat=True)
    )
    document_put(
        repository=repository,
        key=f"{folder}/{METADATA_FILENAME}",
        content=render_artifact_metadata(
            group_id=group_id, artifact_id=artifact_id, versions=list(versions), last_updated=now
        ),
        content_type=MIME_XML,
    )
    if is_snapshot(version.version):
        content = _snapshot_metadata(
            version=version, group_id=group_id, artifact_id=artifact_id, now=now
        )
        if content is not None:
            document_put(
                repository=repository,
                key=f"{folder}/{version.version}/{METADATA_FILENAME}",
                content=content,
                content_type=MIME_XML,
            )


def _snapshot_metadata(
    *, version: Version, group_id: str, artifact_id: str, now: datetime
) -> bytes | None:
    newest: dict[tuple[str, str], Asset] = {}
    for asset in version.assets.order_by("pk"):
        if not asset.metadata.get("build_number"):
            continue  # a non-unique lib-1.0-SNAPSHOT.jar is served as is, not listed
        key = (asset.metadata.get("classifier") or "", asset.metadata["extension"])
        current = newest.get(key)
        if current is None or _build(asset) >= _build(current):
            newest[key] = asset
    if not newest:
        return None
    build_number, timestamp = max(_build(asset) for asset in newest.values())
    return render_snapshot_metadata(
        group_id=group_id,
        artifact_id=artifact_id,
        base_version=version.version,
        timestamp=timestamp,
        build_number=build_number,
        snapshot_versions=[
            (
                classifier or None,
                extension,
                f"{version.version[: -len('SNAPSHOT')]}{_build(asset)[1]}-{_build(asset)[0]}",
                _build(asset)[1].replace(".", ""),
            )
            for (classifier, extension), asset in newest.items()
        ],
        last_updated=now,
    )


def _build(asset: Asset) -> tuple[int, str]:
    return asset.metadata["build_number"], asset.metadata["timestamp"]


def maven_checksum_check(*, repository: Repository, mpath: MavenPath, raw: bytes) -> None:
    """Check an uploaded ``.md5/.sha1/.sha256/.sha512`` against the file it sums.

    Nothing is stored: every checksum is served from the file's own digests. Checksums of
    ``maven-metadata.xml`` describe the client's copy, which we replace with our own
    regenerated document, so they are only checked for form.

    Raises:
        ChecksumMismatch: malformed, or not the digest of the stored file.
        FileUnknown: the summed file was not deployed (first).
    """
    algorithm = mpath.checksum
    assert algorithm is not None
    digest = parse_checksum_file(raw=raw, algorithm=algorithm)
    if mpath.is_metadata:
        return
    asset = Asset.objects.select_related("blob").filter(
        repository=repository, path=mpath.target_path
    )
    found = asset.first()
    if found is None:
        raise FileUnknown(f"{mpath.target_path} not found: deploy the file before its checksum")
    actual = getattr(blob_checksums(blob=found.blob), algorithm)
    if not hmac.compare_digest(actual, digest):
        raise ChecksumMismatch(
            f"{algorithm} {digest} does not match {mpath.target_path} ({actual})",
            expected=digest,
            actual=actual,
        )


def maven_metadata_put(*, repository: Repository, mpath: MavenPath, raw: bytes) -> None:
    """Accept a client's ``maven-metadata.xml``: validate it, then reconcile with the model.

    Artifact and snapshot metadata are regenerated from what was actually deployed (a version
    the client lists without files is not published by it). Plugin-group metadata has no
    model, so its plugin entries are merged into the stored document.

    Raises:
        MetadataInvalid: malformed XML, or coordinates that do not match the path.
        VersionPolicyViolation: snapshot metadata in a release repository.
    """
    metadata = parse_metadata(raw=raw)
    if mpath.kind is PathKind.SNAPSHOT_METADATA:
        assert mpath.version is not None
        maven_policy_check(repository=repository, version=mpath.version)
    if metadata.plugins or mpath.kind is PathKind.GROUP_METADATA:
        _plugins_merge(repository=repository, mpath=mpath, metadata_plugins=metadata.plugins)
        return
    _check_coordinates(mpath)
    claimed = (metadata.group_id, metadata.artifact_id)
    if claimed != (mpath.group_id, mpath.artifact_id) or (
        metadata.version is not None and mpath.version and metadata.version != mpath.version
    ):
        raise MetadataInvalid(f"metadata coordinates do not match the path {mpath.path}")
    name = maven_package_name(group_id=mpath.group_id or "", artifact_id=mpath.artifact_id or "")
    with transaction.atomic():
        found = Package.objects.filter(repository=repository, normalized_name=name).first()
        if found is None:
            return  # nothing deployed: there is nothing the metadata could truthfully list
        found = package_lock(package=found)
        version = None
        if mpath.version is not None:
            version = Version.objects.filter(package=found, version=mpath.version).first()
        if version is None:
            version = Version.objects.filter(package=found).order_by("-pk").first()
        if version is not None:
            maven_metadata_rebuild(repository=repository, package=found, version=version)


def _plugins_merge(*, repository: Repository, mpath: MavenPath, metadata_plugins: tuple) -> None:
    key = mpath.target_path
    with transaction.atomic():
        stored = repository.documents.select_for_update().filter(key=key).first()
        plugins = {(p.prefix, p.artifact_id): p for p in metadata_plugins}
        if stored is not None:
            try:
                previous = parse_metadata(raw=bytes(stored.content)).plugins
            except MetadataInvalid:
                previous = ()
            plugins = {(p.prefix, p.artifact_id): p for p in previous} | plugins
        document_put(
            repository=repository,
            key=key,
            content=render_group_metadata(plugins=plugins.values()),
            content_type=MIME_XML,
        )
        mirror_refresh_on_commit(repository=repository, prefix=key)


def maven_package_changed(*, package: Package) -> None:
    """Bring ``maven-metadata.xml`` up to date after the management API removed versions.

    Artifact-level metadata lists what is left (and goes with the last version); the
    SNAPSHOT-level metadata of a removed SNAPSHOT version goes with it, and so do the removed
    files in the mirror. A proxy's metadata is its upstream's: nothing to rebuild.
    """
    if package.repository.kind != Repository.Kind.HOSTED:
        return
    group_id, _, artifact_id = package.name.partition(":")
    folder = f"{group_id.replace('.', '/')}/{artifact_id}"
    alive = package.pk is not None and Package.objects.filter(pk=package.pk).exists()
    versions = (
        Version.objects.filter(package=package, assets__isnull=False).distinct() if alive else []
    )
    live = {version.version for version in versions}
    with transaction.atomic():
        for key in Document.objects.filter(
            repository=package.repository, key__startswith=f"{folder}/"
        ).values_list("key", flat=True):
            rest = key.removeprefix(f"{folder}/")
            base_version = rest.removesuffix(f"/{METADATA_FILENAME}")
            stale_snapshot = "/" not in base_version and is_snapshot(base_version)
            if (rest == METADATA_FILENAME and not live) or (
                stale_snapshot and base_version not in live
            ):
                document_delete(repository=package.repository, key=key)
        if live:
            newest = max(versions, key=lambda version: version_sort_key(version.version))
            maven_metadata_rebuild(repository=package.repository, package=package, version=newest)
        # Removed versions may be any of the folder's: its whole mirror follows.
        mirror_refresh_on_commit(repository=package.repository, prefix=f"{folder}/")


def maven_stale_builds(*, version: Version, keep: int) -> list[Asset]:
    """Return the files of SNAPSHOT ``version``'s timestamped builds older than its ``keep`` newest.

    A build is a build number (with its timestamp); files deployed without one are kept.
    """
    if not is_snapshot(version.version):
        return []
    assets = [a for a in version.assets.select_related("blob") if a.metadata.get("build_number")]
    kept = sorted({_build(asset) for asset in assets}, reverse=True)[:keep]
    return [asset for asset in assets if _build(asset) not in kept]


def maven_builds_delete(*, version: Version, assets: list[Asset]) -> None:
    """Delete files of old builds of ``version`` and regenerate its metadata (and mirror)."""
    with transaction.atomic():
        package = package_lock(package=version.package)
        for asset in assets:
            asset_delete(asset=asset)
        maven_metadata_rebuild(repository=package.repository, package=package, version=version)
