"""Core metadata of a distribution (``METADATA``, ``PKG-INFO``) and its match with the filename.

Specification: https://packaging.python.org/en/latest/specifications/core-metadata/
Parsing and per-field validation are ``packaging.metadata``'s (``parse_email`` and
``Metadata.from_raw``); this module adds what a registry must refuse on top of them.

Pure Python: nothing here touches Django or the database.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.utils import canonicalize_name
from packaging.version import Version

from formats.pypi.errors import InvalidUpload
from formats.pypi.names import DistributionFile

_METADATA_VERSION_RE = re.compile(r"^([12])\.\d+$")


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
        return canonicalize_name(self.name)


def _single(raw: Mapping[str, object], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _multi(raw: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = raw.get(key)
    return tuple(value) if isinstance(value, list) else ()


def _checked(raw: RawMetadata, *, key: str, label: str, value: str) -> None:
    """Let ``packaging`` validate one field, and refuse it in the words twine users see."""
    try:
        getattr(Metadata.from_raw(raw, validate=False), key)
    except InvalidMetadata:
        raise InvalidUpload(f"Invalid {label} {value!r} in core metadata.") from None


def parse_core_metadata(raw: bytes) -> CoreMetadata:
    """Parse ``METADATA``/``PKG-INFO`` bytes into ``CoreMetadata``.

    Parsing is ``packaging.metadata.parse_email``'s. Validation is lenient on purpose, like
    ``Metadata.from_raw(validate=False)``: a field used in a lower ``Metadata-Version`` than
    the one that introduced it (setuptools wrote ``License-File`` in 2.1 metadata for a while)
    or an unknown ``2.x`` minor version is accepted. What installers act on is strict: name,
    version, ``Requires-Python`` and ``Requires-Dist`` must be valid, and the identifying
    fields must appear once (``parse_email`` keeps only the first of a repeated field).

    Args:
        raw: The metadata file's bytes (UTF-8).

    Returns:
        The parsed metadata.

    Raises:
        InvalidUpload: The bytes are not UTF-8, a required field is missing or repeated, or a
            field installers rely on is invalid.
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUpload("Core metadata is not valid UTF-8.") from None
    parsed, unparsed = parse_email(raw)
    values: Mapping[str, object] = parsed

    for key, label in (
        ("metadata_version", "Metadata-Version"),
        ("name", "Name"),
        ("version", "Version"),
    ):
        if key in unparsed:
            raise InvalidUpload(f"Core metadata has more than one {label} field.")
        if not _single(values, key):
            raise InvalidUpload(f"Core metadata has no {label} field.")

    # Not packaging's check, which refuses the 2.x minors it does not know yet.
    metadata_version = _single(values, "metadata_version") or ""
    if not _METADATA_VERSION_RE.match(metadata_version):
        raise InvalidUpload(f"Unsupported Metadata-Version {metadata_version!r}.")

    name = (_single(values, "name") or "").strip()
    _checked({"name": name}, key="name", label="Name", value=name)
    raw_version = (_single(values, "version") or "").strip()
    _checked({"version": raw_version}, key="version", label="Version", value=raw_version)
    version = str(Version(raw_version))

    requires_python = (_single(values, "requires_python") or "").strip() or None
    if requires_python is not None:
        _checked(
            {"requires_python": requires_python},
            key="requires_python",
            label="Requires-Python",
            value=requires_python,
        )
    requires_dist = _multi(values, "requires_dist")
    for requirement in requires_dist:
        # One at a time, so the message names the requirement at fault.
        _checked(
            {"requires_dist": [requirement]},
            key="requires_dist",
            label="Requires-Dist",
            value=requirement,
        )

    project_urls = values.get("project_urls")
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
        InvalidUpload: The normalized names or the normalized versions differ.
    """
    if dist.normalized_name != metadata.normalized_name:
        raise InvalidUpload(
            f"Filename {dist.filename!r} is for project {dist.normalized_name!r} but its "
            f"metadata names {metadata.name!r}."
        )
    if Version(dist.version) != Version(metadata.version):
        raise InvalidUpload(
            f"Filename {dist.filename!r} is for version {dist.version!r} but its metadata says "
            f"{metadata.version!r}."
        )
