"""Paths of the Maven 2 repository layout: what a request path names, validated.

https://maven.apache.org/repository/layout.html: ``<group path>/<artifactId>/<version>/
<artifactId>-<version>[-<classifier>].<extension>``, ``maven-metadata.xml`` at three levels,
and a checksum file next to each of them. Pure: nothing here touches Django or the database.
"""

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from formats.maven.errors import MavenPathInvalid
from formats.maven.versions import SNAPSHOT_SUFFIX

METADATA_FILENAME = "maven-metadata.xml"

# File suffix (without the dot) -> hashlib algorithm name. Maven 3.8 uploads only sha1 and md5;
# sha256/sha512 come from newer resolvers and Gradle.
CHECKSUM_ALGORITHMS: dict[str, str] = {
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha512": "sha512",
}

_SEGMENT_RE = re.compile(r"[A-Za-z0-9_~+-][A-Za-z0-9._~+-]*")
_COORDINATE_RE = re.compile(r"[A-Za-z0-9_.-]+")
_TIMESTAMPED_TAIL_RE = re.compile(r"(?P<timestamp>\d{8}\.\d{6})-(?P<build>[1-9]\d*)")


class PathKind(enum.StrEnum):
    """What a repository path points at (checksum files carry the kind of the file they sum)."""

    ARTIFACT = "artifact"
    ARTIFACT_METADATA = "artifact-metadata"
    SNAPSHOT_METADATA = "snapshot-metadata"
    GROUP_METADATA = "group-metadata"
    DIRECTORY = "directory"


@dataclass(frozen=True)
class MavenPath:
    """A classified repository path.

    Attributes:
        path: The normalized path (no leading slash; directories end with ``/``).
        kind: What the path (or, for a checksum, the summed file) is.
        group_id: Dotted group id, or ``None`` for directories.
        artifact_id: Artifact id, or ``None`` for group metadata and directories.
        version: Base version as in the folder name (``1.0-SNAPSHOT``), or ``None``.
        timestamp: ``yyyyMMdd.HHmmss`` of a timestamped snapshot file, else ``None``.
        build_number: Build number of a timestamped snapshot file, else ``None``.
        classifier: Classifier of an artifact file, or ``None``.
        extension: Extension of an artifact file, including double extensions such as
            ``tar.gz`` and signature extensions such as ``jar.asc``; ``xml`` for metadata.
        checksum: Hashlib algorithm when the path is a checksum file, else ``None``.
    """

    path: str
    kind: PathKind
    group_id: str | None = None
    artifact_id: str | None = None
    version: str | None = None
    timestamp: str | None = None
    build_number: int | None = None
    classifier: str | None = None
    extension: str | None = None
    checksum: str | None = None

    @property
    def is_checksum(self) -> bool:
        """Whether the path names a checksum file rather than the file itself."""
        return self.checksum is not None

    @property
    def is_metadata(self) -> bool:
        """Whether the path (or the file a checksum sums) is a ``maven-metadata.xml``."""
        return self.kind in {
            PathKind.ARTIFACT_METADATA,
            PathKind.SNAPSHOT_METADATA,
            PathKind.GROUP_METADATA,
        }

    @property
    def target_path(self) -> str:
        """The path of the summed file for a checksum path, else the path itself."""
        if self.checksum is None:
            return self.path
        return self.path.rsplit(".", 1)[0]


def parse_path(*, path: str) -> MavenPath:
    """Classify and validate a path inside a Maven 2 repository.

    The path must already be URL-decoded. A trailing ``/`` (or an empty path) names a directory.
    ``maven-metadata.xml`` under a ``*-SNAPSHOT`` folder is snapshot-version metadata, directly
    under a single folder it is group metadata, and otherwise artifact metadata (see
    the ambiguity with plugin groups below). Any other file must be
    ``<group path>/<artifactId>/<version>/<artifactId>-<version>[-<classifier>].<extension>``,
    where a ``X-SNAPSHOT`` folder also holds ``<artifactId>-X-<yyyyMMdd.HHmmss>-<build>...``.

    Args:
        path: Repository-relative path, e.g. ``com/example/lib/1.0/lib-1.0.jar``.

    Returns:
        The classified path.

    Raises:
        MavenPathInvalid: If the path is absolute, contains ``..``, empty segments, backslashes or
            disallowed characters, or if a file name does not match its folders.
    """
    if "\\" in path:
        raise MavenPathInvalid(f"backslash in path {path!r}")
    if path.startswith("/"):
        raise MavenPathInvalid(f"absolute path {path!r}")
    is_directory = path == "" or path.endswith("/")
    segments = path[:-1].split("/") if path.endswith("/") else path.split("/")
    if path == "":
        segments = []
    for segment in segments:
        if segment == "":
            raise MavenPathInvalid(f"empty segment in path {path!r}")
        if segment in {".", ".."}:
            raise MavenPathInvalid(f"relative segment {segment!r} in path {path!r}")
        if not _SEGMENT_RE.fullmatch(segment):
            raise MavenPathInvalid(f"disallowed characters in segment {segment!r} of path {path!r}")
    if is_directory:
        return MavenPath(path=path, kind=PathKind.DIRECTORY)

    *folders, filename = segments
    checksum = None
    suffix = filename.rsplit(".", 1)[-1]
    if "." in filename and suffix in CHECKSUM_ALGORITHMS:
        checksum = CHECKSUM_ALGORITHMS[suffix]
        filename = filename[: -len(suffix) - 1]

    if filename == METADATA_FILENAME:
        return _metadata_path(path=path, folders=folders, checksum=checksum)
    return _artifact_path(path=path, folders=folders, filename=filename, checksum=checksum)


def _metadata_path(*, path: str, folders: list[str], checksum: str | None) -> MavenPath:
    if not folders:
        raise MavenPathInvalid(f"{METADATA_FILENAME} at the repository root: {path!r}")
    metadata = partial(MavenPath, path=path, extension="xml", checksum=checksum)
    if folders[-1].endswith(SNAPSHOT_SUFFIX) and len(folders) >= 3:
        *group, artifact_id, version = folders
        _check_coordinates(path=path, group=group, artifact_id=artifact_id)
        return metadata(
            kind=PathKind.SNAPSHOT_METADATA,
            group_id=".".join(group),
            artifact_id=artifact_id,
            version=version,
        )
    if len(folders) == 1:
        _check_coordinates(path=path, group=folders, artifact_id=None)
        return metadata(kind=PathKind.GROUP_METADATA, group_id=folders[0])
    *group, artifact_id = folders
    _check_coordinates(path=path, group=group, artifact_id=artifact_id)
    return metadata(
        kind=PathKind.ARTIFACT_METADATA, group_id=".".join(group), artifact_id=artifact_id
    )


def _artifact_path(
    *, path: str, folders: list[str], filename: str, checksum: str | None
) -> MavenPath:
    if len(folders) < 3:
        raise MavenPathInvalid(
            f"{path!r} is not <group>/<artifactId>/<version>/<artifactId>-<version>[...].<ext>"
        )
    *group, artifact_id, version = folders
    _check_coordinates(path=path, group=group, artifact_id=artifact_id)

    prefix = f"{artifact_id}-"
    if not filename.startswith(prefix):
        raise MavenPathInvalid(f"file name {filename!r} does not start with artifactId {prefix!r}")
    rest = filename[len(prefix) :]
    timestamp = build_number = None
    if rest.startswith(version):
        rest = rest[len(version) :]
    elif version.endswith(SNAPSHOT_SUFFIX) and rest.startswith(version[: -len("SNAPSHOT")]):
        tail = rest[len(version) - len("SNAPSHOT") :]
        match = _TIMESTAMPED_TAIL_RE.match(tail)
        if match is None:
            raise MavenPathInvalid(f"file name {filename!r} does not match version {version!r}")
        timestamp, build_number = match["timestamp"], int(match["build"])
        rest = tail[match.end() :]
    else:
        raise MavenPathInvalid(f"file name {filename!r} does not match version {version!r}")

    classifier = None
    if rest.startswith("-"):
        classifier, dot, extension = rest[1:].partition(".")
        if not classifier or not dot:
            raise MavenPathInvalid(
                f"file name {filename!r} has an empty classifier or no extension"
            )
    elif rest.startswith("."):
        extension = rest[1:]
    else:
        raise MavenPathInvalid(f"file name {filename!r} does not match version {version!r}")
    # Splitting at the first dot keeps "tar.gz" and "jar.asc" whole, as Maven's own layout does.
    if not extension or any(part == "" for part in extension.split(".")):
        raise MavenPathInvalid(f"file name {filename!r} has no valid extension")
    return MavenPath(
        path=path,
        kind=PathKind.ARTIFACT,
        group_id=".".join(group),
        artifact_id=artifact_id,
        version=version,
        timestamp=timestamp,
        build_number=build_number,
        classifier=classifier,
        extension=extension,
        checksum=checksum,
    )


def _check_coordinates(*, path: str, group: Sequence[str], artifact_id: str | None) -> None:
    if not group:
        raise MavenPathInvalid(f"no groupId folders in {path!r}")
    for part in [*group, *([artifact_id] if artifact_id is not None else [])]:
        if not _COORDINATE_RE.fullmatch(part):
            raise MavenPathInvalid(f"invalid groupId/artifactId segment {part!r} in {path!r}")
