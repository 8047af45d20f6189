"""Pure-Python protocol layer of the PyPI format: names, files, core metadata, simple pages.

Nothing here touches Django or the database; views and services pass plain data in and get
plain data (or bytes) out.

Specifications implemented:

- Project names: https://packaging.python.org/en/latest/specifications/name-normalization/
  (PEP 503 normalization, PEP 508 name grammar).
- File names: https://packaging.python.org/en/latest/specifications/binary-distribution-format/
  and https://packaging.python.org/en/latest/specifications/source-distribution-format/
- Core metadata: https://packaging.python.org/en/latest/specifications/core-metadata/
- Simple repository API (PEP 503, 592, 629, 658, 691, 700, 714):
  https://packaging.python.org/en/latest/specifications/simple-repository-api/
- JSON API (``/pypi/<project>/json``): https://docs.pypi.org/api/json/
"""

from __future__ import annotations

import gzip
import html
import json
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal, NotRequired, TypedDict, cast

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

MIME_PYPI_SIMPLE_V1_JSON = "application/vnd.pypi.simple.v1+json"
MIME_PYPI_SIMPLE_V1_HTML = "application/vnd.pypi.simple.v1+html"
MIME_TEXT_HTML = "text/html"
MIME_JSON = "application/json"

# PEP 700 is API version 1.1; the HTML pages carry the same number (PEP 629).
SIMPLE_API_VERSION = "1.1"

MAX_METADATA_SIZE = 1024 * 1024
# Scanning a tar.gz means decompressing it; this bounds the work a gzip bomb can cause.
MAX_SDIST_UNCOMPRESSED_SIZE = 2 * 1024 * 1024 * 1024

# PEP 508 name grammar, as in the name-normalization specification.
_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_NORMALIZE_RE = re.compile(r"[-_.]+")
_METADATA_VERSION_RE = re.compile(r"^([12])\.\d+$")

DistributionKind = Literal["bdist_wheel", "sdist"]


class InvalidDistribution(ValueError):
    """A project name, distribution file or its metadata is not acceptable."""


@dataclass(frozen=True)
class DistributionFile:
    """What a distribution's filename says about it.

    Attributes:
        filename: The filename as given.
        name: The project name as spelled in the filename (wheels escape ``-`` as ``_``).
        normalized_name: The PEP 503 normalized project name.
        version: The version, normalized by ``packaging`` (``1.0-alpha1`` becomes ``1.0a1``).
        kind: ``"bdist_wheel"`` or ``"sdist"``, PyPI's ``packagetype`` values.
        python_tag: The wheel's python tag (``py3``, ``cp311.cp312``) or ``"source"`` for an
            sdist, which is what PyPI reports as ``python_version``.
        abi_tag: The wheel's ABI tag, empty for an sdist.
        platform_tag: The wheel's platform tag, empty for an sdist.
        build_tag: The wheel's optional build tag, empty when absent.
        archive_format: ``"whl"``, ``"tar.gz"`` or ``"zip"``.
    """

    filename: str
    name: str
    normalized_name: str
    version: str
    kind: DistributionKind
    python_tag: str
    abi_tag: str = ""
    platform_tag: str = ""
    build_tag: str = ""
    archive_format: Literal["whl", "tar.gz", "zip"] = "whl"


@dataclass(frozen=True)
class CoreMetadata:
    """Core metadata of a distribution (``METADATA`` or ``PKG-INFO``).

    ``name`` keeps the spelling of the file; ``version`` is normalized by ``packaging``; every
    other field is kept as written (absent single fields are ``None``, absent lists empty).
    """

    metadata_version: str
    name: str
    version: str
    summary: str | None = None
    description: str | None = None
    description_content_type: str | None = None
    keywords: tuple[str, ...] = ()
    home_page: str | None = None
    download_url: str | None = None
    author: str | None = None
    author_email: str | None = None
    maintainer: str | None = None
    maintainer_email: str | None = None
    license: str | None = None
    license_expression: str | None = None
    license_files: tuple[str, ...] = ()
    classifiers: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    requires_python: str | None = None
    requires_dist: tuple[str, ...] = ()
    provides_extra: tuple[str, ...] = ()
    project_urls: Mapping[str, str] = field(default_factory=dict)
    dynamic: tuple[str, ...] = ()

    @property
    def normalized_name(self) -> str:
        """The PEP 503 normalized project name."""
        return _normalize(self.name)


class SimpleFile(TypedDict):
    """One file of a project, as the renderers take it.

    Keys:
        filename: The distribution filename.
        url: Where the file is downloaded from (absolute, or relative to the page).
        hashes: Hex digests by hashlib name; ``sha256`` is required.
        version: The normalized version of the release the file belongs to.
        size: Size in bytes.
        upload_time: When it was uploaded, timezone-aware.
        requires_python: The release's ``Requires-Python``, if any.
        yanked: ``False``, ``True`` or the yank reason (PEP 592).
        core_metadata_sha256: sha256 of the ``<url>.metadata`` file when it is served (PEP 658).
    """

    filename: str
    url: str
    hashes: Mapping[str, str]
    version: str
    size: int
    upload_time: datetime
    requires_python: NotRequired[str | None]
    yanked: NotRequired[bool | str]
    core_metadata_sha256: NotRequired[str | None]


# --- names and filenames ---------------------------------------------------------------------


def _normalize(name: str) -> str:
    return _NORMALIZE_RE.sub("-", name).lower()


def validate_project_name(name: str) -> str:
    """Check a project name against the PEP 508 name grammar.

    Args:
        name: The name as given by a client or found in metadata.

    Returns:
        The name, unchanged.

    Raises:
        InvalidDistribution: The name is empty or uses characters the grammar refuses.
    """
    if not _NAME_RE.match(name):
        raise InvalidDistribution(
            f"Invalid project name {name!r}: names must start and end with a letter or digit "
            "and contain only ASCII letters, digits, '.', '_' and '-'."
        )
    return name


def normalize_project_name(name: str) -> str:
    """Return the PEP 503 form of a valid project name (``Foo.Bar_baz`` -> ``foo-bar-baz``).

    Args:
        name: The project name.

    Returns:
        The lowercase name with each run of ``-``, ``_`` and ``.`` replaced by one ``-``.

    Raises:
        InvalidDistribution: The name is not valid (see ``validate_project_name``).
    """
    return _normalize(validate_project_name(name))


def parse_distribution_filename(filename: str) -> DistributionFile:
    """Parse a wheel or sdist filename; any other kind of distribution is refused.

    Args:
        filename: A bare filename such as ``foo_bar-1.0-py3-none-any.whl`` or
            ``foo_bar-1.0.tar.gz``.

    Returns:
        What the filename says about the distribution.

    Raises:
        InvalidDistribution: The filename has a path, an unsupported extension (``.egg``,
            ``.exe``, ``.tar.bz2`` ...), or an invalid name or version.
    """
    if not filename or "/" in filename or "\\" in filename or filename in {".", ".."}:
        raise InvalidDistribution(f"Invalid distribution filename {filename!r}.")
    if filename.endswith(".whl"):
        try:
            normalized, version, build, _tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            raise InvalidDistribution(
                f"Invalid wheel filename {filename!r}: expected "
                "{name}-{version}[-{build}]-{python}-{abi}-{platform}.whl."
            ) from None
        # parse_wheel_filename has checked the shape, so the split below is safe.
        parts = filename[: -len(".whl")].split("-")
        # Tags are kept as spelled (``py2.py3``), which is what PyPI shows as python_version.
        python_tag, abi_tag, platform_tag = parts[-3:]
        return DistributionFile(
            filename=filename,
            name=parts[0],
            normalized_name=normalized,
            version=str(version),
            kind="bdist_wheel",
            python_tag=python_tag,
            abi_tag=abi_tag,
            platform_tag=platform_tag,
            build_tag="".join(str(p) for p in build),
            archive_format="whl",
        )
    if filename.endswith((".tar.gz", ".zip")):
        try:
            normalized, version = parse_sdist_filename(filename)
        except (InvalidSdistFilename, InvalidVersion):
            raise InvalidDistribution(
                f"Invalid sdist filename {filename!r}: expected {{name}}-{{version}}.tar.gz "
                "or .zip with a valid version."
            ) from None
        archive_format: Literal["tar.gz", "zip"] = (
            "tar.gz" if filename.endswith(".tar.gz") else "zip"
        )
        stem = filename[: -len(archive_format) - 1]
        name = stem.rpartition("-")[0]
        if not _NAME_RE.match(name):
            raise InvalidDistribution(
                f"Invalid sdist filename {filename!r}: {name!r} is not a valid project name."
            )
        return DistributionFile(
            filename=filename,
            name=name,
            normalized_name=normalized,
            version=str(version),
            kind="sdist",
            python_tag="source",
            archive_format=archive_format,
        )
    raise InvalidDistribution(
        f"Invalid distribution filename {filename!r}: only wheels (.whl) and sdists (.tar.gz, "
        ".zip) are accepted."
    )


# --- reading core metadata out of archives ----------------------------------------------------


def _is_metadata_dir_of(directory: str, *, suffix: str, dist: DistributionFile) -> bool:
    """Whether ``name-version<suffix>`` names the same project and version as ``dist``."""
    if not directory.endswith(suffix):
        return False
    name, _, version = directory[: len(directory) - len(suffix)].rpartition("-")
    if not name or not _NAME_RE.match(name):
        return False
    try:
        return _normalize(name) == dist.normalized_name and Version(version) == Version(
            dist.version
        )
    except InvalidVersion:
        return False


def _metadata_member_name(member: str, *, dist: DistributionFile) -> bool:
    """Whether an archive member is the one core metadata file ``dist`` must contain."""
    parts = member.split("/")
    if dist.kind == "bdist_wheel":
        return (
            len(parts) == 2
            and parts[1] == "METADATA"
            and _is_metadata_dir_of(parts[0], suffix=".dist-info", dist=dist)
        )
    return (
        len(parts) == 2
        and parts[1] == "PKG-INFO"
        and _is_metadata_dir_of(parts[0], suffix="", dist=dist)
    )


def _expected_member(dist: DistributionFile) -> str:
    if dist.kind == "bdist_wheel":
        return f"{dist.name}-{dist.version}.dist-info/METADATA"
    return f"{dist.name}-{dist.version}/PKG-INFO"


def _read_capped(stream: IO[bytes], *, max_size: int, member: str) -> bytes:
    # Sizes in archive headers can lie, so the cap is enforced on the bytes actually read.
    data = stream.read(max_size + 1)
    if len(data) > max_size:
        raise InvalidDistribution(f"{member} is larger than {max_size} bytes.")
    return data


def _read_from_zip(path: Path, *, dist: DistributionFile, max_size: int) -> bytes:
    with zipfile.ZipFile(path) as archive:
        found = [
            info for info in archive.infolist() if _metadata_member_name(info.filename, dist=dist)
        ]
        if not found:
            raise InvalidDistribution(f"{dist.filename} has no {_expected_member(dist)} file.")
        if len(found) > 1:
            # Two candidates would let different tools read different metadata.
            names = ", ".join(sorted(info.filename for info in found))
            raise InvalidDistribution(f"{dist.filename} has several metadata files: {names}.")
        info = found[0]
        if info.flag_bits & 0x1:
            raise InvalidDistribution(f"{info.filename} in {dist.filename} is encrypted.")
        if info.file_size > max_size:
            raise InvalidDistribution(f"{info.filename} is larger than {max_size} bytes.")
        with archive.open(info) as member:
            return _read_capped(member, max_size=max_size, member=info.filename)


class _BoundedReader:
    """A read-only stream that fails once more than ``limit`` bytes have been read."""

    def __init__(self, stream: IO[bytes], *, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._read += len(data)
        if self._read > self._limit:
            raise InvalidDistribution(f"The archive expands to more than {self._limit} bytes.")
        return data


def _read_from_tar_gz(
    path: Path, *, dist: DistributionFile, max_size: int, max_uncompressed_size: int
) -> bytes:
    found: list[bytes] = []
    with gzip.open(path, "rb") as compressed:
        bounded = _BoundedReader(compressed, limit=max_uncompressed_size)
        # Stream mode ("r|") reads members in order without seeking and never extracts.
        with tarfile.open(fileobj=cast(IO[bytes], bounded), mode="r|") as archive:
            for member in archive:
                if not _metadata_member_name(member.name, dist=dist):
                    continue
                if not member.isfile():
                    raise InvalidDistribution(
                        f"{member.name} in {dist.filename} is not a regular file."
                    )
                if found:
                    raise InvalidDistribution(
                        f"{dist.filename} has several {_expected_member(dist)} files."
                    )
                if member.size > max_size:
                    raise InvalidDistribution(f"{member.name} is larger than {max_size} bytes.")
                extracted = archive.extractfile(member)
                if extracted is None:  # pragma: no cover - isfile() members always extract
                    raise InvalidDistribution(f"{member.name} cannot be read.")
                found.append(_read_capped(extracted, max_size=max_size, member=member.name))
    if not found:
        raise InvalidDistribution(f"{dist.filename} has no {_expected_member(dist)} file.")
    return found[0]


def read_core_metadata(
    path: Path,
    *,
    filename: str,
    max_size: int = MAX_METADATA_SIZE,
    max_uncompressed_size: int = MAX_SDIST_UNCOMPRESSED_SIZE,
) -> bytes:
    """Extract the core metadata file from a wheel or an sdist, without extracting anything else.

    Wheels must contain ``<name>-<version>.dist-info/METADATA`` and sdists
    ``<name>-<version>/PKG-INFO``, where name and version match the filename after
    normalization; exactly one such member must exist.

    Args:
        path: The archive on disk (an uploaded temporary file or a stored blob).
        filename: The distribution's filename, which decides how the archive is read.
        max_size: Largest metadata file accepted, in bytes.
        max_uncompressed_size: Largest decompressed size of a ``.tar.gz`` that is scanned.

    Returns:
        The raw bytes of ``METADATA`` or ``PKG-INFO``.

    Raises:
        InvalidDistribution: The filename is invalid, the archive is corrupt or not of its
            kind, or the metadata file is missing, duplicated, not a regular file or too large.
    """
    dist = parse_distribution_filename(filename)
    try:
        if dist.archive_format == "tar.gz":
            return _read_from_tar_gz(
                path, dist=dist, max_size=max_size, max_uncompressed_size=max_uncompressed_size
            )
        return _read_from_zip(path, dist=dist, max_size=max_size)
    except InvalidDistribution:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        tarfile.TarError,
        gzip.BadGzipFile,
        zlib.error,
        EOFError,
        NotImplementedError,  # zip compression methods zipfile cannot decode
    ) as exc:
        raise InvalidDistribution(
            f"{filename} is not a valid {dist.archive_format} archive: {exc}"
        ) from None


# --- parsing core metadata --------------------------------------------------------------------


def _single(raw: Mapping[str, object], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _multi(raw: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = raw.get(key)
    return tuple(value) if isinstance(value, list) else ()


def parse_core_metadata(raw: bytes) -> CoreMetadata:
    """Parse ``METADATA``/``PKG-INFO`` bytes into ``CoreMetadata``.

    Parsing is delegated to ``packaging.metadata.parse_email``. Validation is lenient on
    purpose, like ``Metadata.from_email(validate=False)``: a field used in a lower
    ``Metadata-Version`` than the one that introduced it (setuptools wrote ``License-File`` in
    2.1 metadata for a while) or an unknown ``2.x`` minor version is accepted. What installers
    act on is strict: name, version, ``Requires-Python`` and ``Requires-Dist`` must be valid.

    Args:
        raw: The metadata file's bytes (UTF-8).

    Returns:
        The parsed metadata.

    Raises:
        InvalidDistribution: The bytes are not UTF-8, a required field is missing or
            repeated, or a field installers rely on is invalid.
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidDistribution("Core metadata is not valid UTF-8.") from None
    parsed, unparsed = parse_email(raw)
    values: Mapping[str, object] = parsed

    for key, label in (
        ("metadata_version", "Metadata-Version"),
        ("name", "Name"),
        ("version", "Version"),
    ):
        if key in unparsed:
            raise InvalidDistribution(f"Core metadata has more than one {label} field.")
        if not _single(values, key):
            raise InvalidDistribution(f"Core metadata has no {label} field.")

    metadata_version = _single(values, "metadata_version") or ""
    if not _METADATA_VERSION_RE.match(metadata_version):
        raise InvalidDistribution(f"Unsupported Metadata-Version {metadata_version!r}.")

    name = (_single(values, "name") or "").strip()
    if not _NAME_RE.match(name):
        raise InvalidDistribution(f"Invalid Name {name!r} in core metadata.")

    raw_version = (_single(values, "version") or "").strip()
    try:
        version = str(Version(raw_version))
    except InvalidVersion:
        raise InvalidDistribution(f"Invalid Version {raw_version!r} in core metadata.") from None

    requires_python = _single(values, "requires_python")
    if requires_python is not None:
        requires_python = requires_python.strip() or None
    if requires_python is not None:
        try:
            SpecifierSet(requires_python)
        except InvalidSpecifier:
            raise InvalidDistribution(
                f"Invalid Requires-Python {requires_python!r} in core metadata."
            ) from None

    requires_dist = _multi(values, "requires_dist")
    for requirement in requires_dist:
        try:
            Requirement(requirement)
        except InvalidRequirement:
            raise InvalidDistribution(
                f"Invalid Requires-Dist {requirement!r} in core metadata."
            ) from None

    project_urls = values.get("project_urls")
    return CoreMetadata(
        metadata_version=metadata_version,
        name=name,
        version=version,
        summary=_single(values, "summary"),
        description=_single(values, "description"),
        description_content_type=_single(values, "description_content_type"),
        keywords=_multi(values, "keywords"),
        home_page=_single(values, "home_page"),
        download_url=_single(values, "download_url"),
        author=_single(values, "author"),
        author_email=_single(values, "author_email"),
        maintainer=_single(values, "maintainer"),
        maintainer_email=_single(values, "maintainer_email"),
        license=_single(values, "license"),
        license_expression=_single(values, "license_expression"),
        license_files=_multi(values, "license_files"),
        classifiers=_multi(values, "classifiers"),
        platforms=_multi(values, "platforms"),
        requires_python=requires_python,
        requires_dist=requires_dist,
        provides_extra=_multi(values, "provides_extra"),
        project_urls=dict(project_urls) if isinstance(project_urls, dict) else {},
        dynamic=_multi(values, "dynamic"),
    )


def check_filename_matches(dist: DistributionFile, *, metadata: CoreMetadata) -> None:
    """Refuse a file whose filename disagrees with its own metadata, as PyPI does.

    Args:
        dist: The parsed filename.
        metadata: The metadata read from inside the file.

    Raises:
        InvalidDistribution: The normalized names or the normalized versions differ.
    """
    if dist.normalized_name != metadata.normalized_name:
        raise InvalidDistribution(
            f"Filename {dist.filename!r} is for project {dist.normalized_name!r} but its "
            f"metadata names {metadata.name!r}."
        )
    if Version(dist.version) != Version(metadata.version):
        raise InvalidDistribution(
            f"Filename {dist.filename!r} is for version {dist.version!r} but its metadata says "
            f"{metadata.version!r}."
        )


# --- content negotiation ----------------------------------------------------------------------

# Server preference among equally acceptable types: HTML first, so that browsers and
# ``curl`` (``*/*``) get a page, while pip and uv name the JSON type explicitly.
_SIMPLE_OFFERS = (MIME_TEXT_HTML, MIME_PYPI_SIMPLE_V1_HTML, MIME_PYPI_SIMPLE_V1_JSON)
_QVALUE_RE = re.compile(r"^(0(\.\d{0,3})?|1(\.0{0,3})?)$")


def _parse_accept(header: str) -> list[tuple[str, float, int]]:
    """Split an Accept header into ``(media range, q, position)``; malformed ranges are dropped."""
    ranges = []
    for position, item in enumerate(header.split(",")):
        media_range, *params = (part.strip() for part in item.split(";"))
        media_range = media_range.lower()
        if media_range.count("/") != 1:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                if not _QVALUE_RE.match(value):
                    q = -1.0
                    break
                q = float(value)
        if q >= 0:
            ranges.append((media_range, q, position))
    return ranges


def negotiate_simple_content_type(accept_header: str | None) -> str | None:
    """Choose the simple API representation for an Accept header (PEP 691).

    The most specific media range matching an offer gives its quality; the highest quality
    wins, then an exact match over a wildcard, then the client's order, then HTML over JSON.

    Args:
        accept_header: The request's Accept header, or ``None`` when absent.

    Returns:
        One of ``MIME_TEXT_HTML``, ``MIME_PYPI_SIMPLE_V1_HTML`` or ``MIME_PYPI_SIMPLE_V1_JSON``
        (``text/html`` when the header is absent or blank), or ``None`` when nothing offered is
        acceptable and the view should answer 406.
    """
    if accept_header is None or not accept_header.strip():
        return MIME_TEXT_HTML
    ranges = _parse_accept(accept_header)
    best: tuple[float, int, int, int] | None = None
    chosen: str | None = None
    for preference, offer in enumerate(_SIMPLE_OFFERS):
        offer_type = offer.split("/")[0]
        match: tuple[int, float, int] | None = None  # (specificity, q, position)
        for media_range, q, position in ranges:
            if media_range == offer:
                specificity = 2
            elif media_range == f"{offer_type}/*":
                specificity = 1
            elif media_range == "*/*":
                specificity = 0
            else:
                continue
            if match is None or specificity > match[0]:
                match = (specificity, q, position)
        if match is None or match[1] <= 0:
            continue
        specificity, q, position = match
        key = (q, specificity, -position, -preference)
        if best is None or key > best:
            best, chosen = key, offer
    return chosen


# --- rendering the simple API -----------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("upload_time must be timezone-aware")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _yanked(file: SimpleFile) -> bool | str:
    yanked = file.get("yanked", False)
    if isinstance(yanked, str):
        # PEP 592: an empty reason is just "yanked".
        return yanked or True
    return bool(yanked)


def _sorted_files(files: Iterable[SimpleFile]) -> list[SimpleFile]:
    return sorted(files, key=lambda f: (Version(f["version"]), f["filename"]))


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _page(title: str, body: list[str]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "  <head>",
        '    <meta charset="utf-8">',
        f'    <meta name="pypi:repository-version" content="{SIMPLE_API_VERSION}">',
        f"    <title>{html.escape(title)}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>{html.escape(title)}</h1>",
        *(f"    {line}" for line in body),
        "  </body>",
        "</html>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def render_simple_index_html(*, projects: Iterable[str]) -> bytes:
    """Render the PEP 503 root page listing every project.

    Args:
        projects: Project names as displayed; links use their normalized form, relative to
            the page (``foo-bar/``).

    Returns:
        The UTF-8 HTML page, projects sorted by normalized name.
    """
    body = [
        f'<a href="{html.escape(_normalize(name))}/">{html.escape(name)}</a><br>'
        for name in sorted(projects, key=_normalize)
    ]
    return _page("Simple index", body)


def render_simple_index_json(*, projects: Iterable[str]) -> bytes:
    """Render the PEP 691 root document listing every project.

    Args:
        projects: Project names as displayed.

    Returns:
        UTF-8 JSON ``{"meta": {"api-version": ...}, "projects": [{"name": ...}]}``, sorted by
        normalized name.
    """
    document = {
        "meta": {"api-version": SIMPLE_API_VERSION},
        "projects": [{"name": name} for name in sorted(projects, key=_normalize)],
    }
    return _json_bytes(document)


def render_simple_project_html(*, name: str, files: Iterable[SimpleFile]) -> bytes:
    """Render a project's PEP 503 page with PEP 592, 658 and 714 attributes.

    Args:
        name: The project name; the page is titled with its normalized form.
        files: The project's files; they are sorted by version, then filename.

    Returns:
        The UTF-8 HTML page.
    """
    body = []
    for file in _sorted_files(files):
        href = f"{file['url']}#sha256={file['hashes']['sha256']}"
        attributes = [f'href="{html.escape(href)}"']
        if requires_python := file.get("requires_python"):
            # Specifiers contain "<" and ">", which must be escaped inside attributes.
            attributes.append(f'data-requires-python="{html.escape(requires_python)}"')
        yanked = _yanked(file)
        if yanked is not False:
            reason = yanked if isinstance(yanked, str) else ""
            attributes.append(f'data-yanked="{html.escape(reason)}"')
        if metadata_sha256 := file.get("core_metadata_sha256"):
            # PEP 714 renamed the attribute; older pip versions only know the PEP 658 name.
            attributes.append(f'data-core-metadata="sha256={html.escape(metadata_sha256)}"')
            attributes.append(f'data-dist-info-metadata="sha256={html.escape(metadata_sha256)}"')
        body.append(f"<a {' '.join(attributes)}>{html.escape(file['filename'])}</a><br>")
    return _page(f"Links for {_normalize(name)}", body)


def render_simple_project_json(*, name: str, files: Iterable[SimpleFile]) -> bytes:
    """Render a project's PEP 691 document with the PEP 700 additions.

    Args:
        name: The project name; the document carries its normalized form.
        files: The project's files; they are sorted by version, then filename.

    Returns:
        UTF-8 JSON with ``meta``, ``name``, ``versions`` (sorted) and ``files``.
    """
    ordered = _sorted_files(files)
    documents = []
    for file in ordered:
        metadata_sha256 = file.get("core_metadata_sha256")
        core_metadata: dict[str, str] | bool = (
            {"sha256": metadata_sha256} if metadata_sha256 else False
        )
        documents.append(
            {
                "filename": file["filename"],
                "url": file["url"],
                "hashes": dict(file["hashes"]),
                "requires-python": file.get("requires_python") or None,
                "size": file["size"],
                "upload-time": _utc(file["upload_time"]).isoformat() + "Z",
                "yanked": _yanked(file),
                "core-metadata": core_metadata,
                # PEP 714: never emit "dist-info-metadata" (pip 22.3-23.1 crash on it); this
                # misspelt key is the one PyPI emitted, and those pip versions ignore it.
                "data-dist-info-metadata": core_metadata,
            }
        )
    versions = sorted({file["version"] for file in ordered}, key=Version)
    document = {
        "meta": {"api-version": SIMPLE_API_VERSION},
        "name": _normalize(name),
        "versions": versions,
        "files": documents,
    }
    return _json_bytes(document)


# --- rendering the JSON API -------------------------------------------------------------------


def _json_api_file(file: SimpleFile) -> dict[str, object]:
    dist = parse_distribution_filename(file["filename"])
    yanked = _yanked(file)
    utc = _utc(file["upload_time"])
    hashes = dict(file["hashes"])
    return {
        "comment_text": "",
        "digests": hashes,
        "downloads": -1,
        "filename": file["filename"],
        "has_sig": False,
        "md5_digest": hashes.get("md5"),
        "packagetype": dist.kind,
        "python_version": dist.python_tag,
        "requires_python": file.get("requires_python") or None,
        "size": file["size"],
        "upload_time": utc.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "url": file["url"],
        "yanked": yanked is not False,
        "yanked_reason": yanked if isinstance(yanked, str) else None,
    }


def render_project_json(
    *,
    metadata: CoreMetadata,
    files_by_version: Mapping[str, Sequence[SimpleFile]],
    project_url: str,
    release_url: str,
    last_serial: int,
    yanked: bool | str = False,
    include_releases: bool = True,
) -> bytes:
    """Render PyPI's JSON API document for a project or one of its releases.

    ``/pypi/<project>/json`` describes the latest release and lists all releases;
    ``/pypi/<project>/<version>/json`` describes the given release and, like PyPI today,
    has no ``releases`` key (pass ``include_releases=False``).

    Args:
        metadata: Core metadata of the release the ``info`` block describes.
        files_by_version: Every release's files, keyed by normalized version; releases
            without files may map to an empty list.
        project_url: Absolute URL of the project page (``info.project_url``/``package_url``).
        release_url: Absolute URL of the release page (``info.release_url``).
        last_serial: A number that grows with every change to the project.
        yanked: Whether the described release is yanked, or the yank reason.
        include_releases: Whether to include the ``releases`` map.

    Returns:
        UTF-8 JSON with ``info``, ``last_serial``, ``releases`` (optional), ``urls`` (the
        described release's files) and ``vulnerabilities`` (always empty).
    """
    if isinstance(yanked, str) and not yanked:
        yanked = True
    info = {
        "author": metadata.author,
        "author_email": metadata.author_email,
        "bugtrack_url": None,
        "classifiers": list(metadata.classifiers),
        "description": metadata.description,
        "description_content_type": metadata.description_content_type,
        "docs_url": None,
        "download_url": metadata.download_url,
        "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "dynamic": list(metadata.dynamic),
        "home_page": metadata.home_page,
        "keywords": ",".join(metadata.keywords) if metadata.keywords else None,
        "license": metadata.license,
        "license_expression": metadata.license_expression,
        "license_files": list(metadata.license_files),
        "maintainer": metadata.maintainer,
        "maintainer_email": metadata.maintainer_email,
        "name": metadata.name,
        "package_url": project_url,
        "platform": ", ".join(metadata.platforms) if metadata.platforms else None,
        "project_url": project_url,
        "project_urls": dict(metadata.project_urls) or None,
        "provides_extra": list(metadata.provides_extra),
        "release_url": release_url,
        "requires_dist": list(metadata.requires_dist) or None,
        "requires_python": metadata.requires_python,
        "summary": metadata.summary,
        "version": metadata.version,
        "yanked": yanked is not False,
        "yanked_reason": yanked if isinstance(yanked, str) else None,
    }
    document: dict[str, object] = {"info": info, "last_serial": last_serial}
    if include_releases:
        document["releases"] = {
            version: [_json_api_file(f) for f in _sorted_files(files_by_version[version])]
            for version in sorted(files_by_version, key=Version)
        }
    current = files_by_version.get(metadata.version, ())
    document["urls"] = [_json_api_file(f) for f in _sorted_files(current)]
    document["vulnerabilities"] = []
    return _json_bytes(document)
