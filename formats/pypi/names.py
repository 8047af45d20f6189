"""Project names and distribution filenames of the PyPI format.

- Project names: https://packaging.python.org/en/latest/specifications/name-normalization/
  (PEP 503 normalization, PEP 508 name grammar), checked by ``packaging.utils``.
- File names: https://packaging.python.org/en/latest/specifications/binary-distribution-format/
  and https://packaging.python.org/en/latest/specifications/source-distribution-format/

Pure Python: nothing here touches Django or the database.
"""

from dataclasses import dataclass
from typing import Literal

from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion

from formats.pypi.errors import InvalidUpload

DistributionKind = Literal["bdist_wheel", "sdist"]
# The Content-Type of a distribution by its archive format. Never application/x-tar + gzip
# encoding: clients would transparently gunzip the sdist.
DIST_MEDIA_TYPES = {
    "whl": "application/zip",
    "zip": "application/zip",
    "tar.gz": "application/gzip",
}


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


def is_valid_project_name(name: str) -> bool:
    """Whether ``name`` follows the PEP 508 name grammar (ASCII letters, digits, ``._-``)."""
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        return False
    return True


def validate_project_name(name: str) -> str:
    """Check a project name against the PEP 508 name grammar.

    Args:
        name: The name as given by a client or found in metadata.

    Returns:
        The name, unchanged.

    Raises:
        InvalidUpload: The name is empty or uses characters the grammar refuses.
    """
    if not is_valid_project_name(name):
        raise InvalidUpload(
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
        InvalidUpload: The name is not valid (see ``validate_project_name``).
    """
    return canonicalize_name(validate_project_name(name))


def parse_distribution_filename(filename: str) -> DistributionFile:
    """Parse a wheel or sdist filename; any other kind of distribution is refused.

    Args:
        filename: A bare filename such as ``foo_bar-1.0-py3-none-any.whl`` or
            ``foo_bar-1.0.tar.gz``.

    Returns:
        What the filename says about the distribution.

    Raises:
        InvalidUpload: The filename has a path, an unsupported extension (``.egg``,
            ``.exe``, ``.tar.bz2`` ...), or an invalid name or version.
    """
    if not filename or "/" in filename or "\\" in filename or filename in {".", ".."}:
        raise InvalidUpload(f"Invalid distribution filename {filename!r}.")
    if filename.endswith(".whl"):
        try:
            normalized, version, build, _tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            raise InvalidUpload(
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
            raise InvalidUpload(
                f"Invalid sdist filename {filename!r}: expected {{name}}-{{version}}.tar.gz "
                "or .zip with a valid version."
            ) from None
        archive_format: Literal["tar.gz", "zip"] = (
            "tar.gz" if filename.endswith(".tar.gz") else "zip"
        )
        stem = filename[: -len(archive_format) - 1]
        name = stem.rpartition("-")[0]
        if not is_valid_project_name(name):
            raise InvalidUpload(
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
    raise InvalidUpload(
        f"Invalid distribution filename {filename!r}: only wheels (.whl) and sdists (.tar.gz, "
        ".zip) are accepted."
    )
