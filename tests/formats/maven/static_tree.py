"""A plain Maven 2 repository on disk, as ``mvn deploy`` to a ``file://`` URL leaves it.

nginx serves it as the upstream of proxy tests: files with their ``.sha1``/``.md5``, and
``maven-metadata.xml`` written the way Maven Central's look (not by our own renderers).
"""

import hashlib
import io
import zipfile
from pathlib import Path

METADATA = """<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>{group_id}</groupId>
  <artifactId>{artifact_id}</artifactId>
  <versioning>
    <latest>{latest}</latest>
    <release>{latest}</release>
    <versions>
{versions}
    </versions>
    <lastUpdated>{last_updated}</lastUpdated>
  </versioning>
</metadata>
"""


def jar(entry: str) -> bytes:
    """Return a small, valid jar holding one text entry."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, entry)
    return buffer.getvalue()


def pom_xml(group_id: str, artifact_id: str, version: str, dependencies: str = "") -> bytes:
    """Return a POM with the given coordinates and ``<dependency>`` elements."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>{group_id}</groupId><artifactId>{artifact_id}</artifactId>"
        f"<version>{version}</version><dependencies>{dependencies}</dependencies></project>\n"
    ).encode()


def folder(root: Path, group_id: str, artifact_id: str) -> Path:
    return root / group_id.replace(".", "/") / artifact_id


def write_file(path: Path, content: bytes, checksums: tuple[str, ...] = ("sha1", "md5")) -> None:
    """Write ``content`` at ``path`` with a checksum file per algorithm."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    for algorithm in checksums:
        digest = hashlib.new(algorithm, content).hexdigest()
        path.with_name(f"{path.name}.{algorithm}").write_text(digest)


def write_release(
    root: Path,
    group_id: str,
    artifact_id: str,
    version: str,
    *,
    dependencies: str = "",
    checksums: tuple[str, ...] = ("sha1", "md5"),
) -> bytes:
    """Write the jar and POM of a release; return the jar's bytes."""
    stem = folder(root, group_id, artifact_id) / version / f"{artifact_id}-{version}"
    content = jar(f"{group_id}:{artifact_id}:{version}")
    write_file(stem.with_name(f"{stem.name}.jar"), content, checksums)
    write_file(
        stem.with_name(f"{stem.name}.pom"),
        pom_xml(group_id, artifact_id, version, dependencies),
        checksums,
    )
    return content


def write_metadata(
    root: Path, group_id: str, artifact_id: str, versions: list[str], *, stamp: str
) -> Path:
    """Write the artifact-level ``maven-metadata.xml`` listing ``versions`` (oldest first)."""
    listed = "\n".join(f"      <version>{version}</version>" for version in versions)
    path = folder(root, group_id, artifact_id) / "maven-metadata.xml"
    content = METADATA.format(
        group_id=group_id,
        artifact_id=artifact_id,
        latest=versions[-1],
        versions=listed,
        last_updated=stamp,
    )
    write_file(path, content.encode())
    return path
