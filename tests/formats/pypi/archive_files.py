"""Archives and metadata files built in memory for the tests of the PyPI parsers."""

import io
import tarfile
import zipfile
from pathlib import Path

FULL_METADATA = b"""\
Metadata-Version: 2.4
Name: Foo_Bar
Version: 1.0-alpha1
Summary: A tiny test project
Home-page: https://example.invalid/home
Download-URL: https://example.invalid/download
Author: Ada
Author-email: Ada <ada@example.invalid>
Maintainer: Bob
Maintainer-email: bob@example.invalid
License-Expression: MIT
License-File: LICENSE
Keywords: alpha,beta , gamma
Classifier: Programming Language :: Python :: 3
Classifier: Typing :: Typed
Platform: any
Requires-Python: >=3.8,<4
Requires-Dist: requests>=2
Requires-Dist: rich; extra == "cli"
Provides-Extra: cli
Project-URL: Source, https://example.invalid/src
Project-URL: Issues, https://example.invalid/issues
Dynamic: license-file
Description-Content-Type: text/markdown

# Foo Bar

Hello.
"""


def metadata_bytes(name: str = "foo-bar", version: str = "1.0", extra: str = "") -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{extra}\n".encode()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def write_tar_gz(
    path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None
) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return path


def make_wheel(tmp_path: Path, filename: str, members: dict[str, bytes]) -> Path:
    return write_zip(tmp_path / filename, {"foo_bar/__init__.py": b"", **members})
