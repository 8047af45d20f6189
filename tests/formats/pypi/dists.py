"""Tiny, byte-for-byte reproducible wheels and sdists for the PyPI tests."""

import gzip
import hashlib
import io
import tarfile
import zipfile

FIXED_ZIP_TIME = (2024, 1, 2, 3, 4, 6)
FIXED_TAR_TIME = 1704164646


def core_metadata(
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires_dist: tuple[str, ...] = (),
    provides_extra: tuple[str, ...] = (),
    summary: str = "A test project",
    keywords: str = "",
) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if keywords:
        lines.append(f"Keywords: {keywords}")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in provides_extra]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires_dist]
    return ("\n".join(lines) + "\n\n").encode()


def make_wheel(name: str, version: str, **metadata_fields) -> tuple[str, bytes]:
    """Return ``(filename, bytes)`` of a pure-Python wheel with one module."""
    stem = f"{name.replace('-', '_')}-{version}"
    metadata = metadata_fields.pop("metadata", None) or core_metadata(
        name, version, **metadata_fields
    )
    module = name.replace("-", "_").replace(".", "_").lower()
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{stem}.dist-info/METADATA": metadata,
        f"{stem}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(
        f"{path},sha256={hashlib.sha256(data).hexdigest()},{len(data)}\n"
        for path, data in files.items()
    )
    files[f"{stem}.dist-info/RECORD"] = (record + f"{stem}.dist-info/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, FIXED_ZIP_TIME), data)
    return f"{stem}-py3-none-any.whl", buffer.getvalue()


def make_sdist(name: str, version: str, **metadata_fields) -> tuple[str, bytes]:
    """Return ``(filename, bytes)`` of an sdist holding only PKG-INFO."""
    stem = f"{name.replace('-', '_')}-{version}"
    metadata = core_metadata(name, version, **metadata_fields)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo(f"{stem}/PKG-INFO")
        info.size = len(metadata)
        info.mtime = FIXED_TAR_TIME
        archive.addfile(info, io.BytesIO(metadata))
    return f"{stem}.tar.gz", gzip.compress(buffer.getvalue(), mtime=0)
