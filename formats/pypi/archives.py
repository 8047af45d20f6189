"""Reading the core metadata file out of a distribution archive, without extracting anything.

Where the file lives: a wheel's ``<name>-<version>.dist-info/METADATA``
(https://packaging.python.org/en/latest/specifications/binary-distribution-format/) and an
sdist's ``<name>-<version>/PKG-INFO``
(https://packaging.python.org/en/latest/specifications/source-distribution-format/).

Pure Python: nothing here touches Django or the database.
"""

import gzip
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, BinaryIO, cast

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from formats.pypi.errors import InvalidUpload
from formats.pypi.names import DistributionFile, is_valid_project_name, parse_distribution_filename

MAX_METADATA_SIZE = 1024 * 1024
# Scanning a tar.gz means decompressing it; this bounds the work a gzip bomb can cause.
MAX_SDIST_UNCOMPRESSED_SIZE = 2 * 1024 * 1024 * 1024


def _is_metadata_dir_of(directory: str, *, suffix: str, dist: DistributionFile) -> bool:
    """Whether ``name-version<suffix>`` names the same project and version as ``dist``."""
    if not directory.endswith(suffix):
        return False
    name, _, version = directory[: len(directory) - len(suffix)].rpartition("-")
    if not is_valid_project_name(name):
        return False
    try:
        return canonicalize_name(name) == dist.normalized_name and Version(version) == Version(
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
        raise InvalidUpload(f"{member} is larger than {max_size} bytes.")
    return data


def _read_from_zip(
    archive_file: Path | BinaryIO, *, dist: DistributionFile, max_size: int
) -> bytes:
    with zipfile.ZipFile(archive_file) as archive:
        found = [
            info for info in archive.infolist() if _metadata_member_name(info.filename, dist=dist)
        ]
        if not found:
            raise InvalidUpload(f"{dist.filename} has no {_expected_member(dist)} file.")
        if len(found) > 1:
            # Two candidates would let different tools read different metadata.
            names = ", ".join(sorted(info.filename for info in found))
            raise InvalidUpload(f"{dist.filename} has several metadata files: {names}.")
        info = found[0]
        if info.flag_bits & 0x1:
            raise InvalidUpload(f"{info.filename} in {dist.filename} is encrypted.")
        if info.file_size > max_size:
            raise InvalidUpload(f"{info.filename} is larger than {max_size} bytes.")
        with archive.open(info) as member:
            return _read_capped(member, max_size=max_size, member=info.filename)


class _BoundedReader:
    """A read-only stream that fails once more than ``limit`` bytes have been read."""

    def __init__(self, stream: gzip.GzipFile, *, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._read += len(data)
        if self._read > self._limit:
            raise InvalidUpload(f"The archive expands to more than {self._limit} bytes.")
        return data


def _read_from_tar_gz(
    archive_file: Path | BinaryIO,
    *,
    dist: DistributionFile,
    max_size: int,
    max_uncompressed_size: int,
) -> bytes:
    found: list[bytes] = []
    with gzip.open(archive_file, "rb") as compressed:
        bounded = _BoundedReader(compressed, limit=max_uncompressed_size)
        # Stream mode ("r|") reads members in order without seeking and never extracts.
        with tarfile.open(fileobj=cast(IO[bytes], bounded), mode="r|") as archive:
            for member in archive:
                if not _metadata_member_name(member.name, dist=dist):
                    continue
                if not member.isfile():
                    raise InvalidUpload(f"{member.name} in {dist.filename} is not a regular file.")
                if found:
                    raise InvalidUpload(
                        f"{dist.filename} has several {_expected_member(dist)} files."
                    )
                if member.size > max_size:
                    raise InvalidUpload(f"{member.name} is larger than {max_size} bytes.")
                extracted = archive.extractfile(member)
                if extracted is None:  # pragma: no cover - isfile() members always extract
                    raise InvalidUpload(f"{member.name} cannot be read.")
                found.append(_read_capped(extracted, max_size=max_size, member=member.name))
    if not found:
        raise InvalidUpload(f"{dist.filename} has no {_expected_member(dist)} file.")
    return found[0]


def read_core_metadata(
    archive_file: Path | BinaryIO,
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
        archive_file: The archive: a file on disk, or a seekable stream of its bytes (an
            upload session's).
        filename: The distribution's filename, which decides how the archive is read.
        max_size: Largest metadata file accepted, in bytes.
        max_uncompressed_size: Largest decompressed size of a ``.tar.gz`` that is scanned.

    Returns:
        The raw bytes of ``METADATA`` or ``PKG-INFO``.

    Raises:
        InvalidUpload: The filename is invalid, the archive is corrupt or not of its
            kind, or the metadata file is missing, duplicated, not a regular file or too large.
    """
    dist = parse_distribution_filename(filename)
    try:
        if dist.archive_format == "tar.gz":
            return _read_from_tar_gz(
                archive_file,
                dist=dist,
                max_size=max_size,
                max_uncompressed_size=max_uncompressed_size,
            )
        return _read_from_zip(archive_file, dist=dist, max_size=max_size)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        tarfile.TarError,
        gzip.BadGzipFile,
        zlib.error,
        EOFError,
        NotImplementedError,  # zip compression methods zipfile cannot decode
    ) as exc:
        raise InvalidUpload(
            f"{filename} is not a valid {dist.archive_format} archive: {exc}"
        ) from None
