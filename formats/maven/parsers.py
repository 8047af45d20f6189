"""Pure protocol layer of the Maven 2 repository format: paths, versions, metadata, POMs, checksums.

Specs implemented here:

- Repository layout: https://maven.apache.org/repository/layout.html
- ``maven-metadata.xml``: https://maven.apache.org/ref/3.8.7/maven-repository-metadata/repository-metadata.html
- Version ordering: https://maven.apache.org/pom.html#version-order-specification
- POM: https://maven.apache.org/pom.html

Nothing here touches Django, the database or the network, so views and services can share it.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "CHECKSUM_HEX_LENGTHS",
    "METADATA_FILENAME",
    "InvalidChecksum",
    "InvalidMetadata",
    "InvalidPath",
    "InvalidPom",
    "MavenMetadata",
    "MavenPath",
    "MavenPlugin",
    "MavenVersion",
    "PathKind",
    "PomDependency",
    "PomInfo",
    "PomLicense",
    "PomParent",
    "SnapshotVersion",
    "compare_versions",
    "format_last_updated",
    "is_snapshot",
    "parse_checksum_file",
    "parse_metadata",
    "parse_path",
    "parse_pom",
    "render_artifact_metadata",
    "render_group_metadata",
    "render_snapshot_metadata",
    "version_sort_key",
]

METADATA_FILENAME = "maven-metadata.xml"
SNAPSHOT_SUFFIX = "-SNAPSHOT"

# File suffix (without the dot) -> hashlib algorithm name. Maven 3.8 uploads only sha1 and md5;
# sha256/sha512 come from newer resolvers and Gradle.
CHECKSUM_ALGORITHMS: dict[str, str] = {
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha512": "sha512",
}
CHECKSUM_HEX_LENGTHS: dict[str, int] = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}

_SEGMENT_RE = re.compile(r"[A-Za-z0-9_~+-][A-Za-z0-9._~+-]*")
_COORDINATE_RE = re.compile(r"[A-Za-z0-9_.-]+")
_TIMESTAMP_RE = re.compile(r"\d{8}\.\d{6}")
_LAST_UPDATED_RE = re.compile(r"\d{14}")
_TIMESTAMPED_TAIL_RE = re.compile(r"(?P<timestamp>\d{8}\.\d{6})-(?P<build>[1-9]\d*)")
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
# "MD5 (file.jar) = abc..." as written by BSD md5/shasum --tag.
_BSD_CHECKSUM_RE = re.compile(r"[A-Za-z0-9-]+ \(.*\) = (?P<hex>[0-9a-fA-F]+)")

POM_NAMESPACE = "http://maven.apache.org/POM/4.0.0"
METADATA_NAMESPACE = "http://maven.apache.org/METADATA/1.1.0"


class InvalidPath(ValueError):
    """A request path that is not a valid Maven 2 repository path."""


class InvalidPom(ValueError):
    """A POM that is not well-formed, is unsafe XML, or lacks its coordinates."""


class InvalidMetadata(ValueError):
    """A ``maven-metadata.xml`` document that is not well-formed or is unsafe XML."""


class InvalidChecksum(ValueError):
    """A checksum file whose content is not a digest of the expected algorithm."""


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


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

    @property
    def file_version(self) -> str | None:
        """The version as spelled in the file name (``1.0-20261126.201500-3`` for a snapshot)."""
        if self.version is None or self.kind is not PathKind.ARTIFACT:
            return None
        if self.timestamp is None:
            return self.version
        return f"{self.version[: -len('SNAPSHOT')]}{self.timestamp}-{self.build_number}"

    def as_group_metadata(self) -> MavenPath:
        """Reinterpret an artifact-level metadata path as group-level metadata.

        ``a/b/c/maven-metadata.xml`` is artifact ``c`` of group ``a.b`` or plugin group ``a.b.c``;
        only repository content can tell, so the caller decides.

        Returns:
            The same path classified as ``GROUP_METADATA`` of the dotted folder path.

        Raises:
            ValueError: If this path is not artifact-level metadata.
        """
        if self.kind is not PathKind.ARTIFACT_METADATA:
            raise ValueError(f"{self.path!r} is not artifact-level metadata")
        return replace(
            self,
            kind=PathKind.GROUP_METADATA,
            group_id=f"{self.group_id}.{self.artifact_id}",
            artifact_id=None,
        )


def parse_path(*, path: str) -> MavenPath:
    """Classify and validate a path inside a Maven 2 repository.

    The path must already be URL-decoded. A trailing ``/`` (or an empty path) names a directory.
    ``maven-metadata.xml`` under a ``*-SNAPSHOT`` folder is snapshot-version metadata, directly
    under a single folder it is group metadata, and otherwise artifact metadata (see
    `MavenPath.as_group_metadata` for the ambiguity with plugin groups). Any other file must be
    ``<group path>/<artifactId>/<version>/<artifactId>-<version>[-<classifier>].<extension>``,
    where a ``X-SNAPSHOT`` folder also holds ``<artifactId>-X-<yyyyMMdd.HHmmss>-<build>...``.

    Args:
        path: Repository-relative path, e.g. ``com/example/lib/1.0/lib-1.0.jar``.

    Returns:
        The classified path.

    Raises:
        InvalidPath: If the path is absolute, contains ``..``, empty segments, backslashes or
            disallowed characters, or if a file name does not match its folders.
    """
    if "\\" in path:
        raise InvalidPath(f"backslash in path {path!r}")
    if path.startswith("/"):
        raise InvalidPath(f"absolute path {path!r}")
    is_directory = path == "" or path.endswith("/")
    segments = path[:-1].split("/") if path.endswith("/") else path.split("/")
    if path == "":
        segments = []
    for segment in segments:
        if segment == "":
            raise InvalidPath(f"empty segment in path {path!r}")
        if segment in {".", ".."}:
            raise InvalidPath(f"relative segment {segment!r} in path {path!r}")
        if not _SEGMENT_RE.fullmatch(segment):
            raise InvalidPath(f"disallowed characters in segment {segment!r} of path {path!r}")
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
        raise InvalidPath(f"{METADATA_FILENAME} at the repository root: {path!r}")
    common = {"path": path, "extension": "xml", "checksum": checksum}
    if folders[-1].endswith(SNAPSHOT_SUFFIX) and len(folders) >= 3:
        *group, artifact_id, version = folders
        _check_coordinates(path=path, group=group, artifact_id=artifact_id)
        return MavenPath(
            kind=PathKind.SNAPSHOT_METADATA,
            group_id=".".join(group),
            artifact_id=artifact_id,
            version=version,
            **common,
        )
    if len(folders) == 1:
        _check_coordinates(path=path, group=folders, artifact_id=None)
        return MavenPath(kind=PathKind.GROUP_METADATA, group_id=folders[0], **common)
    *group, artifact_id = folders
    _check_coordinates(path=path, group=group, artifact_id=artifact_id)
    return MavenPath(
        kind=PathKind.ARTIFACT_METADATA,
        group_id=".".join(group),
        artifact_id=artifact_id,
        **common,
    )


def _artifact_path(
    *, path: str, folders: list[str], filename: str, checksum: str | None
) -> MavenPath:
    if len(folders) < 3:
        raise InvalidPath(
            f"{path!r} is not <group>/<artifactId>/<version>/<artifactId>-<version>[...].<ext>"
        )
    *group, artifact_id, version = folders
    _check_coordinates(path=path, group=group, artifact_id=artifact_id)

    prefix = f"{artifact_id}-"
    if not filename.startswith(prefix):
        raise InvalidPath(f"file name {filename!r} does not start with artifactId {prefix!r}")
    rest = filename[len(prefix) :]
    timestamp = build_number = None
    if rest.startswith(version):
        rest = rest[len(version) :]
    elif version.endswith(SNAPSHOT_SUFFIX) and rest.startswith(version[: -len("SNAPSHOT")]):
        tail = rest[len(version) - len("SNAPSHOT") :]
        match = _TIMESTAMPED_TAIL_RE.match(tail)
        if match is None:
            raise InvalidPath(f"file name {filename!r} does not match version {version!r}")
        timestamp, build_number = match["timestamp"], int(match["build"])
        rest = tail[match.end() :]
    else:
        raise InvalidPath(f"file name {filename!r} does not match version {version!r}")

    classifier = None
    if rest.startswith("-"):
        classifier, dot, extension = rest[1:].partition(".")
        if not classifier or not dot:
            raise InvalidPath(f"file name {filename!r} has an empty classifier or no extension")
    elif rest.startswith("."):
        extension = rest[1:]
    else:
        raise InvalidPath(f"file name {filename!r} does not match version {version!r}")
    # Splitting at the first dot keeps "tar.gz" and "jar.asc" whole, as Maven's own layout does.
    if not extension or any(part == "" for part in extension.split(".")):
        raise InvalidPath(f"file name {filename!r} has no valid extension")
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
        raise InvalidPath(f"no groupId folders in {path!r}")
    for part in [*group, *([artifact_id] if artifact_id is not None else [])]:
        if not _COORDINATE_RE.fullmatch(part):
            raise InvalidPath(f"invalid groupId/artifactId segment {part!r} in {path!r}")


# --------------------------------------------------------------------------------------------
# Versions (Maven's ComparableVersion)
# --------------------------------------------------------------------------------------------


def is_snapshot(version: str, /) -> bool:
    """Return whether ``version`` is a SNAPSHOT, base (``1.0-SNAPSHOT``) or timestamped.

    Args:
        version: A version string.

    Returns:
        True for ``X-SNAPSHOT`` (any case, as Maven accepts) and ``X-yyyyMMdd.HHmmss-N``.
    """
    if version.upper().endswith(SNAPSHOT_SUFFIX) or version.upper() == "SNAPSHOT":
        return True
    head, sep, build = version.rpartition("-")
    if not sep or not build.isdigit():
        return False
    stem, sep, stamp = head.rpartition("-")
    return bool(sep) and stem != "" and _TIMESTAMP_RE.fullmatch(stamp) is not None


# Known qualifiers in ascending order; the empty string stands for a release.
_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_QUALIFIER_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT_QUALIFIERS = {"a": "alpha", "b": "beta", "m": "milestone"}
_RELEASE_RANK = _QUALIFIERS.index("")

# An item is an int (number), a str (qualifier, already aliased) or a list (a "-" sublist).
_Item = int | str | list


def _qualifier_rank(qualifier: str) -> tuple[int, str]:
    # Unknown qualifiers sort after all known ones, among themselves lexically.
    if qualifier in _QUALIFIERS:
        return (_QUALIFIERS.index(qualifier), "")
    return (len(_QUALIFIERS), qualifier)


def _is_null(item: _Item) -> bool:
    if isinstance(item, list):
        return not item
    if isinstance(item, int):
        return item == 0
    return _qualifier_rank(item)[0] == _RELEASE_RANK


def _compare_item(left: _Item | None, right: _Item | None) -> int:
    """Compare two items; ``None`` stands for padding past the end of the shorter list."""
    if left is None:
        return 0 if right is None else -_compare_item(right, None)
    if isinstance(left, int):
        if right is None:
            return 0 if left == 0 else 1
        if isinstance(right, int):
            return (left > right) - (left < right)
        return 1  # 1.1 > 1-sp and 1.1 > 1-1
    if isinstance(left, str):
        if right is None:
            # Compared with nothing, a qualifier counts as older or newer than a release.
            return _cmp(_qualifier_rank(left), (_RELEASE_RANK, ""))
        if isinstance(right, str):
            return _cmp(_qualifier_rank(left), _qualifier_rank(right))
        return -1  # 1.rc < 1.1 and 1.rc < 1-1
    if right is None:
        # Every item counts, not just the first: 1-ga.1 > 1 (MNG-6964).
        return next((r for r in (_compare_item(item, None) for item in left) if r), 0)
    if isinstance(right, int):
        return -1  # 1-1 < 1.1
    if isinstance(right, str):
        return 1  # 1-1 > 1-sp
    for index in range(max(len(left), len(right))):
        result = _compare_item(
            left[index] if index < len(left) else None,
            right[index] if index < len(right) else None,
        )
        if result:
            return result
    return 0


def _cmp(left: tuple[int, str], right: tuple[int, str]) -> int:
    return (left > right) - (left < right)


def _make_item(token: str, *, numeric: bool, followed_by_digit: bool = False) -> _Item:
    if numeric:
        return int(token)
    if followed_by_digit and token in _SHORT_QUALIFIERS:
        return _SHORT_QUALIFIERS[token]
    return _QUALIFIER_ALIASES.get(token, token)


def _parse_version(version: str) -> list:
    """Tokenize a version into nested item lists following ComparableVersion's rules.

    ``.`` separates items within a list, ``-`` opens a sublist, and a switch between letters
    and digits acts as ``-``, so ``1.0alpha1`` reads as ``[1, [alpha, [1]]]``.
    """
    text = version.lower()
    root: list = []
    current = root
    opened: list[list] = [root]
    numeric = False
    start = 0

    def open_sublist() -> None:
        nonlocal current
        sub: list = []
        current.append(sub)
        current = sub
        opened.append(sub)

    for index, char in enumerate(text):
        if char in ".-":
            if index == start:
                current.append(0)
            else:
                current.append(_make_item(text[start:index], numeric=numeric))
            start = index + 1
            if char == "-":
                open_sublist()
        elif char.isdigit() and char.isascii():
            if not numeric and index > start:
                # Maven 3.8 reads "1.0.0.X1" as "1.0.0-X1": a qualifier never sits in a list
                # that already holds items.
                if current:
                    open_sublist()
                current.append(_make_item(text[start:index], numeric=False, followed_by_digit=True))
                start = index
                open_sublist()
            numeric = True
        else:
            if numeric and index > start:
                current.append(_make_item(text[start:index], numeric=True))
                start = index
                open_sublist()
            numeric = False
    if len(text) > start:
        if not numeric and current:
            open_sublist()
        current.append(_make_item(text[start:], numeric=numeric))
    for items in reversed(opened):
        _trim_all(items)
    return root


def _trim_all(items: list) -> None:
    # Walk back from the end dropping nulls; a sublist is skipped (kept) but does not stop the
    # walk, a non-null number or qualifier does.
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if _is_null(item):
            del items[index]
        elif not isinstance(item, list):
            break


def _canonical(items: list) -> str:
    out = ""
    for item in items:
        if out:
            out += "-" if isinstance(item, list) else "."
        out += _canonical(item) if isinstance(item, list) else str(item)
    return out


@functools.total_ordering
class MavenVersion:
    """A version ordered like Maven's ``ComparableVersion`` (the Maven 3.8 rules).

    ``1.0-alpha < 1.0-beta < 1.0-milestone < 1.0-rc < 1.0-SNAPSHOT < 1.0 < 1.0-sp < 1.0.1``;
    numbers compare numerically, unknown qualifiers sort after ``sp`` case-insensitively, and
    ``1 == 1.0 == 1-ga == 1.0.0-final``.

    Attributes:
        value: The original version string.
        canonical: Maven's canonical spelling; equal versions share it.
    """

    __slots__ = ("_items", "canonical", "value")

    def __init__(self, value: str) -> None:
        self.value = value
        self._items = _parse_version(value)
        self.canonical = _canonical(self._items)

    def __repr__(self) -> str:
        return f"MavenVersion({self.value!r})"

    def __str__(self) -> str:
        return self.value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MavenVersion):
            return NotImplemented
        return self.canonical == other.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)

    def __lt__(self, other: MavenVersion) -> bool:
        if not isinstance(other, MavenVersion):
            return NotImplemented
        return _compare_item(self._items, other._items) < 0


def compare_versions(left: str, right: str, /) -> int:
    """Compare two versions with Maven's ordering.

    Args:
        left: A version string.
        right: Another version string.

    Returns:
        A negative number, zero or a positive number as ``left`` is older, equal or newer.
    """
    return _compare_item(_parse_version(left), _parse_version(right))


def version_sort_key(version: str, /) -> MavenVersion:
    """Return a sort key ordering versions like Maven, for ``sorted(..., key=version_sort_key)``.

    Args:
        version: A version string.

    Returns:
        A comparable `MavenVersion`.
    """
    return MavenVersion(version)


# --------------------------------------------------------------------------------------------
# maven-metadata.xml
# --------------------------------------------------------------------------------------------


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
        snapshot_local_copy: ``<snapshot><localCopy>`` (only in local repositories).
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
    snapshot_local_copy: bool = False
    snapshot_versions: tuple[SnapshotVersion, ...] = ()
    plugins: tuple[MavenPlugin, ...] = ()


def format_last_updated(*, when: datetime) -> str:
    """Format an aware datetime as Maven's ``lastUpdated``/``updated`` (``yyyyMMddHHmmss`` UTC).

    Args:
        when: A timezone-aware datetime.

    Returns:
        The UTC timestamp as 14 digits.

    Raises:
        ValueError: If ``when`` is naive.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("lastUpdated needs a timezone-aware datetime")
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def _text_element(tag: str, value: str, indent: int) -> str:
    return f"{'  ' * indent}<{tag}>{escape(value)}</{tag}>\n"


def render_artifact_metadata(
    *,
    group_id: str,
    artifact_id: str,
    versions: Iterable[str],
    last_updated: datetime,
) -> bytes:
    """Render artifact-level ``maven-metadata.xml`` in the shape Maven 3 writes.

    Versions are de-duplicated and sorted with Maven's ordering. ``latest`` is the highest
    version and ``release`` the highest non-SNAPSHOT one; both are omitted when there is none,
    as Maven does.

    Args:
        group_id: Dotted group id.
        artifact_id: Artifact id.
        versions: Base versions present in the repository (``1.0``, ``1.1-SNAPSHOT``...).
        last_updated: Aware datetime of the last change.

    Returns:
        The UTF-8 XML document, ending with a newline.
    """
    ordered = sorted(set(versions), key=version_sort_key)
    releases = [v for v in ordered if not is_snapshot(v)]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        "<metadata>\n",
        _text_element("groupId", group_id, 1),
        _text_element("artifactId", artifact_id, 1),
        "  <versioning>\n",
    ]
    if ordered:
        lines.append(_text_element("latest", ordered[-1], 2))
    if releases:
        lines.append(_text_element("release", releases[-1], 2))
    if ordered:
        lines.append("    <versions>\n")
        lines.extend(_text_element("version", v, 3) for v in ordered)
        lines.append("    </versions>\n")
    lines.append(_text_element("lastUpdated", format_last_updated(when=last_updated), 2))
    lines += ["  </versioning>\n", "</metadata>\n"]
    return "".join(lines).encode()


def render_snapshot_metadata(
    *,
    group_id: str,
    artifact_id: str,
    base_version: str,
    timestamp: str,
    build_number: int,
    snapshot_versions: Iterable[tuple[str | None, str, str, str]],
    last_updated: datetime,
) -> bytes:
    """Render snapshot-version ``maven-metadata.xml`` (``.../1.0-SNAPSHOT/``) as Maven 3 does.

    Args:
        group_id: Dotted group id.
        artifact_id: Artifact id.
        base_version: The ``X-SNAPSHOT`` version of the folder.
        timestamp: ``yyyyMMdd.HHmmss`` of the latest build.
        build_number: Number of the latest build (1-based).
        snapshot_versions: ``(classifier, extension, value, updated)`` per file, in the order to
            write them; ``classifier`` is ``None`` or ``""`` for the main artifact, ``value``
            the timestamped version and ``updated`` ``yyyyMMddHHmmss``.
        last_updated: Aware datetime of the last change.

    Returns:
        The UTF-8 XML document (``modelVersion="1.1.0"``), ending with a newline.

    Raises:
        ValueError: If the version is not a SNAPSHOT or a timestamp is malformed.
    """
    if not base_version.endswith(SNAPSHOT_SUFFIX):
        raise ValueError(f"{base_version!r} is not a SNAPSHOT version")
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        raise ValueError(f"snapshot timestamp {timestamp!r} is not yyyyMMdd.HHmmss")
    if build_number < 1:
        raise ValueError(f"build number {build_number} must be positive")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<metadata modelVersion="1.1.0">\n',
        _text_element("groupId", group_id, 1),
        _text_element("artifactId", artifact_id, 1),
        "  <versioning>\n",
        _text_element("lastUpdated", format_last_updated(when=last_updated), 2),
        "    <snapshot>\n",
        _text_element("timestamp", timestamp, 3),
        _text_element("buildNumber", str(build_number), 3),
        "    </snapshot>\n",
        "    <snapshotVersions>\n",
    ]
    for classifier, extension, value, updated in snapshot_versions:
        if not _LAST_UPDATED_RE.fullmatch(updated):
            raise ValueError(f"snapshotVersion updated {updated!r} is not yyyyMMddHHmmss")
        lines.append("      <snapshotVersion>\n")
        if classifier:
            lines.append(_text_element("classifier", classifier, 4))
        lines.append(_text_element("extension", extension, 4))
        lines.append(_text_element("value", value, 4))
        lines.append(_text_element("updated", updated, 4))
        lines.append("      </snapshotVersion>\n")
    lines += [
        "    </snapshotVersions>\n",
        "  </versioning>\n",
        _text_element("version", base_version, 1),
        "</metadata>\n",
    ]
    return "".join(lines).encode()


def render_group_metadata(*, plugins: Iterable[MavenPlugin]) -> bytes:
    """Render group-level ``maven-metadata.xml`` listing plugin prefixes.

    Args:
        plugins: Plugins of the group; written sorted by prefix.

    Returns:
        The UTF-8 XML document, ending with a newline.
    """
    lines = ['<?xml version="1.0" encoding="UTF-8"?>\n', "<metadata>\n", "  <plugins>\n"]
    for plugin in sorted(plugins, key=lambda p: (p.prefix, p.artifact_id)):
        lines.append("    <plugin>\n")
        if plugin.name:
            lines.append(_text_element("name", plugin.name, 3))
        lines.append(_text_element("prefix", plugin.prefix, 3))
        lines.append(_text_element("artifactId", plugin.artifact_id, 3))
        lines.append("    </plugin>\n")
    lines += ["  </plugins>\n", "</metadata>\n"]
    return "".join(lines).encode()


def _parse_xml(raw: bytes, *, error: type[ValueError], what: str) -> Element:
    try:
        # forbid_dtd also rules out every entity trick (billion laughs, XXE) before expansion.
        root = defusedxml.ElementTree.fromstring(
            raw, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise error(f"unsafe XML in {what}: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise error(f"malformed {what}: {exc}") from exc
    for element in root.iter():
        # Drop "{namespace}" so documents with and without xmlns read the same.
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    return root


def _child_text(parent: Element | None, tag: str) -> str | None:
    if parent is None:
        return None
    child = parent.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def parse_metadata(*, raw: bytes) -> MavenMetadata:
    """Parse a ``maven-metadata.xml`` of any level, refusing DTDs and entities.

    Args:
        raw: The document bytes.

    Returns:
        The parsed metadata.

    Raises:
        InvalidMetadata: If the XML is malformed, unsafe, not a ``<metadata>`` document or has
            a non-numeric build number.
    """
    what = METADATA_FILENAME
    root = _parse_xml(raw, error=InvalidMetadata, what=what)
    if root.tag != "metadata":
        raise InvalidMetadata(f"root element of {what} is <{root.tag}>, expected <metadata>")
    versioning = root.find("versioning")
    snapshot = versioning.find("snapshot") if versioning is not None else None
    build = _child_text(snapshot, "buildNumber")
    if build is not None and not build.isdigit():
        raise InvalidMetadata(f"snapshot buildNumber {build!r} is not a number")
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
                classifier=_child_text(sv, "classifier"),
                extension=_child_text(sv, "extension") or "",
                value=_child_text(sv, "value") or "",
                updated=_child_text(sv, "updated") or "",
            )
            for sv in versioning.findall("snapshotVersions/snapshotVersion")
        )
    plugins = tuple(
        MavenPlugin(
            prefix=_child_text(p, "prefix") or "",
            artifact_id=_child_text(p, "artifactId") or "",
            name=_child_text(p, "name"),
        )
        for p in root.findall("plugins/plugin")
    )
    return MavenMetadata(
        group_id=_child_text(root, "groupId"),
        artifact_id=_child_text(root, "artifactId"),
        version=_child_text(root, "version"),
        latest=_child_text(versioning, "latest"),
        release=_child_text(versioning, "release"),
        versions=versions,
        last_updated=_child_text(versioning, "lastUpdated"),
        snapshot_timestamp=_child_text(snapshot, "timestamp"),
        snapshot_build_number=int(build) if build is not None else None,
        snapshot_local_copy=(_child_text(snapshot, "localCopy") or "").lower() == "true",
        snapshot_versions=snapshot_versions,
        plugins=plugins,
    )


# --------------------------------------------------------------------------------------------
# POM
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PomParent:
    """The ``<parent>`` coordinates of a POM.

    Attributes:
        group_id: Parent group id.
        artifact_id: Parent artifact id.
        version: Parent version.
    """

    group_id: str | None
    artifact_id: str | None
    version: str | None


@dataclass(frozen=True)
class PomLicense:
    """One ``<license>`` of a POM.

    Attributes:
        name: License name, or ``None``.
        url: License URL, or ``None``.
    """

    name: str | None
    url: str | None


@dataclass(frozen=True)
class PomDependency:
    """One entry of ``<project><dependencies>`` (not ``dependencyManagement``).

    Attributes:
        group_id: Dependency group id.
        artifact_id: Dependency artifact id.
        version: Version or range, ``None`` when managed elsewhere.
        scope: ``compile`` when not given.
        optional: Whether ``<optional>true</optional>``.
        classifier: Classifier, or ``None``.
        type: ``jar`` when not given.
    """

    group_id: str | None
    artifact_id: str | None
    version: str | None
    scope: str = "compile"
    optional: bool = False
    classifier: str | None = None
    type: str = "jar"


@dataclass(frozen=True)
class PomInfo:
    """What the registry needs from a POM.

    Attributes:
        group_id: Effective group id (inherited from ``<parent>`` when absent).
        artifact_id: Artifact id.
        version: Effective version (inherited from ``<parent>`` when absent).
        packaging: ``jar`` when not given.
        name: ``<name>``, or ``None``.
        description: ``<description>``, or ``None``.
        url: ``<url>``, or ``None``.
        parent: The ``<parent>`` coordinates, or ``None``.
        licenses: ``<licenses>`` in document order.
        dependencies: ``<dependencies>`` in document order.
    """

    group_id: str
    artifact_id: str
    version: str
    packaging: str = "jar"
    name: str | None = None
    description: str | None = None
    url: str | None = None
    parent: PomParent | None = None
    licenses: tuple[PomLicense, ...] = ()
    dependencies: tuple[PomDependency, ...] = ()


_PROPERTY_RE = re.compile(r"\$\{([^}]+)\}")


def parse_pom(*, raw: bytes) -> PomInfo:
    """Parse a POM with or without the POM namespace, refusing DTDs and entities.

    ``${...}`` references in dependency coordinates are resolved from ``project.*``/``pom.*``
    coordinates and the POM's own ``<properties>``; anything else (parent properties, profiles)
    is left as written.

    Args:
        raw: The POM bytes.

    Returns:
        The parsed POM.

    Raises:
        InvalidPom: If the XML is malformed or unsafe, the root is not ``<project>``, or the
            effective groupId, artifactId or version is missing.
    """
    root = _parse_xml(raw, error=InvalidPom, what="POM")
    if root.tag != "project":
        raise InvalidPom(f"root element of POM is <{root.tag}>, expected <project>")
    parent_element = root.find("parent")
    parent = None
    if parent_element is not None:
        parent = PomParent(
            group_id=_child_text(parent_element, "groupId"),
            artifact_id=_child_text(parent_element, "artifactId"),
            version=_child_text(parent_element, "version"),
        )
    group_id = _child_text(root, "groupId") or (parent.group_id if parent else None)
    artifact_id = _child_text(root, "artifactId")
    version = _child_text(root, "version") or (parent.version if parent else None)
    if group_id is None or artifact_id is None or version is None:
        missing = [
            tag
            for tag, value in (
                ("groupId", group_id),
                ("artifactId", artifact_id),
                ("version", version),
            )
            if value is None
        ]
        raise InvalidPom(f"POM lacks {', '.join(missing)}")

    properties = {
        child.tag: (child.text or "").strip()
        for child in (root.find("properties") or [])
        if isinstance(child.tag, str)
    }
    for prefix in ("project.", "pom.", ""):
        properties[f"{prefix}groupId"] = group_id
        properties[f"{prefix}artifactId"] = artifact_id
        properties[f"{prefix}version"] = version
    if parent is not None:
        properties["project.parent.groupId"] = parent.group_id or ""
        properties["project.parent.version"] = parent.version or ""

    def interpolate(value: str | None) -> str | None:
        if value is None:
            return None
        return _PROPERTY_RE.sub(lambda m: properties.get(m[1], m[0]), value)

    dependencies = tuple(
        PomDependency(
            group_id=interpolate(_child_text(dep, "groupId")),
            artifact_id=interpolate(_child_text(dep, "artifactId")),
            version=interpolate(_child_text(dep, "version")),
            scope=_child_text(dep, "scope") or "compile",
            optional=(_child_text(dep, "optional") or "").lower() == "true",
            classifier=interpolate(_child_text(dep, "classifier")),
            type=_child_text(dep, "type") or "jar",
        )
        for dep in root.findall("dependencies/dependency")
    )
    licenses = tuple(
        PomLicense(name=_child_text(lic, "name"), url=_child_text(lic, "url"))
        for lic in root.findall("licenses/license")
    )
    return PomInfo(
        group_id=group_id,
        artifact_id=artifact_id,
        version=version,
        packaging=_child_text(root, "packaging") or "jar",
        name=_child_text(root, "name"),
        description=_child_text(root, "description"),
        url=_child_text(root, "url"),
        parent=parent,
        licenses=licenses,
        dependencies=dependencies,
    )


# --------------------------------------------------------------------------------------------
# Checksums
# --------------------------------------------------------------------------------------------


def parse_checksum_file(*, raw: bytes, algorithm: str) -> str:
    """Extract the hex digest from an uploaded ``.md5``/``.sha1``/``.sha256``/``.sha512`` file.

    Accepts a bare digest, ``<hex>  <filename>`` (GNU coreutils), ``<hex> *<filename>`` and
    ``ALGO (<filename>) = <hex>`` (BSD), in either case, with surrounding whitespace.

    Args:
        raw: The checksum file content.
        algorithm: Hashlib name, a value of `CHECKSUM_ALGORITHMS`.

    Returns:
        The digest in lowercase hex.

    Raises:
        InvalidChecksum: If the content holds no hex digest of the algorithm's length.
        ValueError: If the algorithm is unknown.
    """
    if algorithm not in CHECKSUM_HEX_LENGTHS:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}")
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise InvalidChecksum(f"{algorithm} checksum file is not ASCII text") from exc
    bsd = _BSD_CHECKSUM_RE.fullmatch(text)
    candidate = bsd["hex"] if bsd else (text.split(maxsplit=1) or [""])[0]
    expected = CHECKSUM_HEX_LENGTHS[algorithm]
    if not _HEX_RE.fullmatch(candidate) or len(candidate) != expected:
        raise InvalidChecksum(
            f"{algorithm} checksum must be {expected} hex digits, got {candidate[:140]!r}"
        )
    return candidate.lower()
