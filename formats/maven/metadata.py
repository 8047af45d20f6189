"""Parsing ``maven-metadata.xml`` at its three levels (artifact, SNAPSHOT version, plugin group).

https://maven.apache.org/ref/3.8.7/maven-repository-metadata/repository-metadata.html. Pure: no
Django.
"""

from dataclasses import dataclass

from formats.maven.errors import MetadataInvalid
from formats.maven.paths import METADATA_FILENAME
from formats.maven.xmlsafe import child_text, parse_xml


@dataclass(frozen=True)
class SnapshotVersion:
    """One ``<snapshotVersion>`` entry of snapshot-version metadata.

    Attributes:
        classifier: Classifier, or ``None``/empty for the main artifact.
        extension: File extension (``jar``, ``pom``, ``tar.gz``...).
        value: Timestamped version, e.g. ``1.0-20261126.201500-3``.
        updated: ``yyyyMMddHHmmss`` of the deploy.
    """

    classifier: str | None
    extension: str
    value: str
    updated: str


@dataclass(frozen=True)
class MavenPlugin:
    """One ``<plugin>`` entry of group-level metadata.

    Attributes:
        prefix: Plugin prefix used on the command line (``deploy`` in ``deploy:deploy-file``).
        artifact_id: The plugin's artifact id.
        name: Human-readable name, or ``None``.
    """

    prefix: str
    artifact_id: str
    name: str | None = None


@dataclass(frozen=True)
class MavenMetadata:
    """A parsed ``maven-metadata.xml`` at any of its three levels.

    Attributes:
        group_id: ``<groupId>``, or ``None`` when absent.
        artifact_id: ``<artifactId>``, or ``None`` (group-level metadata).
        version: ``<version>`` (snapshot-version metadata), or ``None``.
        latest: ``<versioning><latest>``, or ``None``.
        release: ``<versioning><release>``, or ``None``.
        versions: ``<versions>`` in document order.
        last_updated: ``<lastUpdated>`` as ``yyyyMMddHHmmss``, or ``None``.
        snapshot_timestamp: ``<snapshot><timestamp>``, or ``None``.
        snapshot_build_number: ``<snapshot><buildNumber>``, or ``None``.
        snapshot_versions: ``<snapshotVersions>`` in document order.
        plugins: ``<plugins>`` of group-level metadata in document order.
    """

    group_id: str | None = None
    artifact_id: str | None = None
    version: str | None = None
    latest: str | None = None
    release: str | None = None
    versions: tuple[str, ...] = ()
    last_updated: str | None = None
    snapshot_timestamp: str | None = None
    snapshot_build_number: int | None = None
    snapshot_versions: tuple[SnapshotVersion, ...] = ()
    plugins: tuple[MavenPlugin, ...] = ()


def parse_metadata(*, raw: bytes) -> MavenMetadata:
    """Parse a ``maven-metadata.xml`` of any level, refusing DTDs and entities.

    Args:
        raw: The document bytes.

    Returns:
        The parsed metadata.

    Raises:
        MetadataInvalid: If the XML is malformed, unsafe, not a ``<metadata>`` document or has
            a non-numeric build number.
    """
    what = METADATA_FILENAME
    root = parse_xml(raw, error=MetadataInvalid, what=what)
    if root.tag != "metadata":
        raise MetadataInvalid(f"root element of {what} is <{root.tag}>, expected <metadata>")
    versioning = root.find("versioning")
    snapshot = versioning.find("snapshot") if versioning is not None else None
    build = child_text(snapshot, "buildNumber")
    if build is not None and not build.isdigit():
        raise MetadataInvalid(f"snapshot buildNumber {build!r} is not a number")
    versions: tuple[str, ...] = ()
    snapshot_versions: tuple[SnapshotVersion, ...] = ()
    if versioning is not None:
        versions = tuple(
            v.text.strip()
            for v in versioning.findall("versions/version")
            if v.text and v.text.strip()
        )
        snapshot_versions = tuple(
            SnapshotVersion(
                classifier=child_text(sv, "classifier"),
                extension=child_text(sv, "extension") or "",
                value=child_text(sv, "value") or "",
                updated=child_text(sv, "updated") or "",
            )
            for sv in versioning.findall("snapshotVersions/snapshotVersion")
        )
    plugins = tuple(
        MavenPlugin(
            prefix=child_text(p, "prefix") or "",
            artifact_id=child_text(p, "artifactId") or "",
            name=child_text(p, "name"),
        )
        for p in root.findall("plugins/plugin")
    )
    return MavenMetadata(
        group_id=child_text(root, "groupId"),
        artifact_id=child_text(root, "artifactId"),
        version=child_text(root, "version"),
        latest=child_text(versioning, "latest"),
        release=child_text(versioning, "release"),
        versions=versions,
        last_updated=child_text(versioning, "lastUpdated"),
        snapshot_timestamp=child_text(snapshot, "timestamp"),
        snapshot_build_number=int(build) if build is not None else None,
        snapshot_versions=snapshot_versions,
        plugins=plugins,
    )
