"""Writes of the PyPI format: uploads, file deletion and the cached simple pages.

Upload semantics follow warehouse's legacy upload API
(https://warehouse.pypa.io/api-reference/legacy.html#upload-api); the simple pages are the
PEP 503/691 documents of https://packaging.python.org/en/latest/specifications/simple-repository-api/
and are rebuilt here on every write, so a read is one query.
"""

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from django.db import transaction

from formats.plugin import (
    Asset,
    AssetExists,
    AssetUnknown,
    CoordinateReused,
    DigestMismatch,
    Package,
    Repository,
    Upload,
    UploadedPart,
    User,
    asset_delete,
    asset_get,
    asset_put,
    blob_ingest_bytes,
    coordinate_record,
    document_delete,
    document_put,
    package_ensure,
    package_lock,
    upload_append,
    upload_finish,
    upload_open,
    upload_session,
    upload_sha256,
    version_delete,
    version_ensure,
)
from formats.pypi.archives import read_core_metadata
from formats.pypi.bodies import upload_digests, upload_form_check
from formats.pypi.errors import (
    FILE_EXISTS_MESSAGE,
    FILENAME_REUSED_MESSAGE,
    FileExists,
    FilenameReused,
    InvalidUpload,
)
from formats.pypi.metadata import CoreMetadata, check_filename_matches, parse_core_metadata
from formats.pypi.names import DIST_MEDIA_TYPES, DistributionFile, parse_distribution_filename
from formats.pypi.renderers import (
    MIME_PYPI_SIMPLE_V1_JSON,
    SimpleFile,
    render_simple_index_html,
    render_simple_index_json,
    render_simple_project_html,
    render_simple_project_json,
)

MIME_HTML_UTF8 = "text/html; charset=utf-8"
MIME_CORE_METADATA = "text/plain; charset=utf-8"

ASSET_KIND_DISTRIBUTION = "distribution"
ASSET_KIND_CORE_METADATA = "core-metadata"
PACKAGES_PREFIX = "packages/"
UPLOAD_SCOPE = "pypi-upload"
# Beside sha256, while the bytes arrive: twine's md5_digest, and the JSON API's md5.
UPLOAD_ALGORITHMS = ("md5",)
CORE_METADATA_SUFFIX = ".metadata"


def simple_document_key(*, project: str | None, representation: str) -> str:
    """Return the Document key of a simple page: the index (``project=None``) or a project's."""
    return f"simple/{project}/{representation}" if project else f"simple/{representation}"


def distribution_path(*, dist: DistributionFile) -> str:
    """Return the repository path a distribution file is stored at (and downloaded from)."""
    return f"{PACKAGES_PREFIX}{dist.normalized_name}/{dist.version}/{dist.filename}"


# --- upload -----------------------------------------------------------------------------------


def _refuse_existing(*, repository: Repository, path: str, session: Upload, filename: str) -> bool:
    """Raise FileExists for a taken filename; return True when the upload is an allowed no-op."""
    existing = Asset.objects.select_related("blob").filter(repository=repository, path=path).first()
    if existing is None:
        return False
    sha256 = upload_sha256(upload=session)
    if sha256 == existing.blob.sha256 and repository.allow_redeploy:
        return True
    raise FileExists(FILE_EXISTS_MESSAGE.format(filename=filename, sha256=sha256))


def _other_sdist_exists(*, repository: Repository, path: str) -> bool:
    release_folder = path.rpartition("/")[0] + "/"
    return (
        Asset.objects.filter(
            repository=repository,
            path__startswith=release_folder,
            metadata__packagetype="sdist",
        )
        .exclude(path=path)
        .exists()
    )


def _version_metadata(metadata: CoreMetadata) -> dict:
    document = dataclasses.asdict(metadata)
    document["project_urls"] = dict(metadata.project_urls)
    return document


def pypi_file_upload(
    *,
    repository: Repository,
    upload: UploadedPart,
    fields: Mapping[str, str],
    user: User,
) -> Asset:
    """Store one distribution file sent to the legacy upload API.

    The file's own METADATA/PKG-INFO decides what is stored; the form's name, version and
    filetype must agree with the filename. A wheel's METADATA is kept as a blob of its own,
    served as ``<file>.metadata`` (PEP 658).

    Args:
        repository: The PyPI repository uploaded to.
        upload: The ``content`` part of the multipart form, streamed into an upload session.
        fields: The other form fields (``:action``, ``name``, ``version``, digests ...).
        user: The uploader.

    Returns:
        The distribution's Asset.

    Raises:
        InvalidUpload: The form, the filename or the archive is not acceptable, or the
            digests do not match the bytes.
        FileExists: The filename is taken (same bytes are allowed again only with redeploy).
        FilenameReused: The filename was used before, by a file since deleted, with other
            bytes (the same bytes may come back).
    """
    if repository.kind != Repository.Kind.HOSTED:
        raise InvalidUpload(f"Repository {repository.name!r} is a {repository.kind} repository.")
    dist = parse_distribution_filename(upload.name or "")
    upload_form_check(fields=fields, dist=dist)
    expected = upload_digests(fields=fields)
    return pypi_distribution_store(
        repository=repository, dist=dist, session=upload.upload, expected=expected, user=user
    )


def pypi_distribution_import(*, repository: Repository, file: Path, user: User) -> Asset:
    """Store a distribution file from local disk (``manage.py import``) as an upload is."""
    dist = parse_distribution_filename(file.name)
    with upload_session(owner=user, scope=UPLOAD_SCOPE) as session, file.open("rb") as stream:
        session = upload_append(upload=session, stream=stream, algorithms=UPLOAD_ALGORITHMS)
        return pypi_distribution_store(
            repository=repository, dist=dist, session=session, expected=None, user=user
        )


def pypi_distribution_store(
    *,
    repository: Repository,
    dist: DistributionFile,
    session: Upload,
    expected: Mapping[str, str] | None,
    user: User,
) -> Asset:
    """Store the distribution file whose bytes are in the upload ``session`` as
    ``pypi_file_upload`` describes; ``expected`` digests are checked when given.

    Everything is checked where the bytes lie, in the session, before they become a blob.
    """
    path = distribution_path(dist=dist)
    with upload_open(upload=session) as archive:
        raw_metadata = read_core_metadata(archive, filename=dist.filename)
    metadata = parse_core_metadata(raw_metadata)
    check_filename_matches(dist, metadata=metadata)
    if _refuse_existing(repository=repository, path=path, session=session, filename=dist.filename):
        return Asset.objects.select_related("blob").get(repository=repository, path=path)
    if dist.kind == "sdist" and _other_sdist_exists(repository=repository, path=path):
        raise InvalidUpload("Only one sdist may be uploaded per release.")
    try:
        blob = upload_finish(upload=session, expected=expected or {})
    except DigestMismatch:
        raise InvalidUpload(
            "The digest supplied does not match a digest calculated from the uploaded file."
        ) from None
    # Like PyPI, serve only a wheel's METADATA (PEP 658): an sdist's PKG-INFO older than
    # Metadata 2.2 may leave out Requires-Dist, and pip would resolve without dependencies.
    metadata_blob = blob_ingest_bytes(content=raw_metadata) if dist.kind == "bdist_wheel" else None
    file_metadata = {
        "kind": ASSET_KIND_DISTRIBUTION,
        "filename": dist.filename,
        "packagetype": dist.kind,
        "python_version": dist.python_tag,
        "requires_python": metadata.requires_python,
    }
    if metadata_blob is not None:
        file_metadata["core_metadata_sha256"] = metadata_blob.sha256
        file_metadata["core_metadata_path"] = path + CORE_METADATA_SUFFIX
    with transaction.atomic():
        package = package_ensure(
            repository=repository, name=metadata.name, normalized_name=dist.normalized_name
        )
        # One writer per project at a time, so the page rebuilt last sees every file.
        package = package_lock(package=package)
        new_project = not package.versions.exists()
        version = version_ensure(
            package=package, version=dist.version, metadata=_version_metadata(metadata), user=user
        )
        try:
            coordinate_record(
                repository=repository, key=dist.filename, sha256=blob.sha256, user=user
            )
        except CoordinateReused:
            raise FilenameReused(FILENAME_REUSED_MESSAGE) from None
        try:
            asset = asset_put(
                repository=repository,
                path=path,
                blob=blob,
                media_type=DIST_MEDIA_TYPES[dist.archive_format],
                user=user,
                version=version,
                metadata=file_metadata,
            )
        except AssetExists:
            raise FileExists(
                FILE_EXISTS_MESSAGE.format(filename=dist.filename, sha256=blob.sha256)
            ) from None
        if metadata_blob is not None:
            asset_put(
                repository=repository,
                path=path + CORE_METADATA_SUFFIX,
                blob=metadata_blob,
                media_type=MIME_CORE_METADATA,
                user=user,
                version=version,
                metadata={"kind": ASSET_KIND_CORE_METADATA, "distribution_path": path},
            )
        asset.metadata["upload_time"] = asset.created.isoformat()
        Asset.objects.filter(pk=asset.pk).update(metadata=asset.metadata)
        pypi_project_documents_rebuild(package=package)
        if new_project:
            pypi_index_documents_rebuild(repository=repository)
    return asset


# --- deletion ---------------------------------------------------------------------------------


def pypi_file_delete(*, repository: Repository, path: str, user: User) -> None:
    """Delete a distribution file with its ``.metadata``; a release left empty goes too.

    Args:
        repository: The repository holding the file.
        path: The file's repository path (``packages/<project>/<version>/<filename>``).
        user: Who deletes it (recorded when a release goes with it).

    Raises:
        AssetUnknown: No distribution file is stored at ``path``.
    """
    asset = asset_get(repository=repository, path=path)
    if asset.metadata.get("kind") != ASSET_KIND_DISTRIBUTION or asset.version is None:
        raise AssetUnknown(f"{path} is not a distribution file")
    version = asset.version
    package = version.package
    with transaction.atomic():
        package = package_lock(package=package)
        Asset.objects.filter(repository=repository, path=path + CORE_METADATA_SUFFIX).delete()
        asset_delete(asset=asset)
        if not version.assets.exists():
            version_delete(version=version, user=user)
        pypi_project_changed(package=package)


def pypi_project_changed(*, package: Package) -> None:
    """Rebuild the simple pages after a release was yanked, unyanked or deleted.

    A project without releases (or deleted altogether) leaves the index.
    """
    with transaction.atomic():
        exists = package.pk is not None and Package.objects.filter(pk=package.pk).exists()
        if exists and package.versions.exists():
            pypi_project_documents_rebuild(package=package)
            return
        for representation in ("html", "json"):
            document_delete(
                repository=package.repository,
                key=simple_document_key(
                    project=package.normalized_name, representation=representation
                ),
            )
        pypi_index_documents_rebuild(repository=package.repository)


# --- simple pages -----------------------------------------------------------------------------


def simple_files(*, package: Package, url_prefix: str) -> list[SimpleFile]:
    """Return the project's distribution files as the simple-page renderers take them.

    Args:
        package: The project.
        url_prefix: Prepended to each file's repository path to make its URL.
    """
    assets = Asset.objects.filter(version__package=package).select_related("blob", "version")
    return _simple_files(assets, url_prefix)


def simple_files_by_repository(
    *, repositories: Sequence[Repository], project: str, url_prefix: str
) -> dict[int, list[SimpleFile]]:
    """Return ``simple_files`` of ``project`` in each of ``repositories`` that has it, by
    repository id: one query for any number (a group's hosted members)."""
    assets = Asset.objects.filter(
        repository__in=repositories, version__package__normalized_name=project
    ).select_related("blob", "version")
    by_repository: dict[int, list[Asset]] = {}
    for asset in assets:
        by_repository.setdefault(asset.repository_id, []).append(asset)
    return {
        repository: _simple_files(found, url_prefix) for repository, found in by_repository.items()
    }


def _simple_files(assets: Iterable[Asset], url_prefix: str) -> list[SimpleFile]:
    files: list[SimpleFile] = []
    for asset in assets:
        if asset.metadata.get("kind") != ASSET_KIND_DISTRIBUTION:
            continue
        version = asset.version
        assert version is not None
        hashes = {"sha256": asset.blob.sha256}
        if asset.blob.md5:
            hashes["md5"] = asset.blob.md5
        files.append(
            SimpleFile(
                filename=asset.metadata["filename"],
                url=url_prefix + asset.path,
                hashes=hashes,
                version=version.version,
                size=asset.blob.size,
                upload_time=asset.created,
                requires_python=asset.metadata.get("requires_python"),
                yanked=(version.yanked_reason or True) if version.yanked else False,
                core_metadata_sha256=asset.metadata.get("core_metadata_sha256"),
            )
        )
    return files


def pypi_project_documents_rebuild(*, package: Package) -> None:
    """Regenerate a project's PEP 503 and PEP 691 pages from the model.

    File URLs are relative to ``simple/<project>/``, so the pages do not depend on the host
    name the registry is reached by.
    """
    files = simple_files(package=package, url_prefix="../../")
    for representation, content, content_type in (
        ("html", render_simple_project_html(name=package.name, files=files), MIME_HTML_UTF8),
        (
            "json",
            render_simple_project_json(name=package.name, files=files),
            MIME_PYPI_SIMPLE_V1_JSON,
        ),
    ):
        document_put(
            repository=package.repository,
            key=simple_document_key(project=package.normalized_name, representation=representation),
            content=content,
            content_type=content_type,
        )


def pypi_index_documents_rebuild(*, repository: Repository) -> None:
    """Regenerate the repository's root simple page: every project with at least one release."""
    with transaction.atomic():
        Repository.objects.select_for_update().filter(pk=repository.pk).first()
        names = list(
            Package.objects.filter(repository=repository, versions__isnull=False)
            .distinct()
            .values_list("name", flat=True)
        )
        document_put(
            repository=repository,
            key=simple_document_key(project=None, representation="html"),
            content=render_simple_index_html(projects=names),
            content_type=MIME_HTML_UTF8,
        )
        document_put(
            repository=repository,
            key=simple_document_key(project=None, representation="json"),
            content=render_simple_index_json(projects=names),
            content_type=MIME_PYPI_SIMPLE_V1_JSON,
        )
