"""Publish bodies shaped exactly like the ones npm 11 sends (see data/publish_*.json)."""

import base64
import gzip
import hashlib
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path


def make_tarball(manifest: dict, *, readme: str = "# readme\n", files: dict | None = None) -> bytes:
    """Return a gzip tarball with ``package/package.json``, a README and ``files``."""
    members = {"package/package.json": json.dumps(manifest).encode()}
    if readme:
        members["package/README.md"] = readme.encode()
    members.update({f"package/{name}": data for name, data in (files or {}).items()})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def publish_body(
    name: str,
    version: str,
    *,
    dependencies: dict | None = None,
    tag: str = "latest",
    readme: str = "# readme\n",
    tarball: bytes | None = None,
    description: str = "",
    keywords: tuple[str, ...] = (),
) -> bytes:
    """Return the JSON body ``npm publish`` PUTs to ``/<name>``."""
    manifest = {"name": name, "version": version, "description": description, "license": "MIT"}
    if dependencies:
        manifest["dependencies"] = dependencies
    if keywords:
        manifest["keywords"] = list(keywords)
    data = tarball if tarball is not None else make_tarball(manifest, readme=readme)
    bare = name.rsplit("/", 1)[-1]
    filename = f"{name}-{version}.tgz"
    return json.dumps(
        {
            "_id": name,
            "name": name,
            "description": description,
            "dist-tags": {tag: version},
            "versions": {
                version: {
                    **manifest,
                    "readme": readme,
                    "_id": f"{name}@{version}",
                    "_npmVersion": "11.19.1",
                    "dist": {
                        "integrity": sri(data),
                        "shasum": hashlib.sha1(data).hexdigest(),
                        "tarball": f"http://elsewhere/{name}/-/{bare}-{version}.tgz",
                    },
                }
            },
            "access": None,
            "_attachments": {
                filename: {
                    "content_type": "application/octet-stream",
                    "data": base64.b64encode(data).decode(),
                    "length": len(data),
                }
            },
        }
    ).encode()


DATA = Path(__file__).parent / "data"
BASE_URL = "http://registry.test/repository/npm/"
T0 = datetime(2026, 11, 26, 20, 43, 52, 123456, tzinfo=UTC)
# The package that npm 11.19.1 published in data/publish_tinypkg.json.
TINYPKG_JSON = {
    "name": "tinypkg",
    "version": "1.0.0",
    "description": "A tiny package",
    "main": "index.js",
    "license": "MIT",
    "keywords": ["tiny"],
}
TINYPKG_INTEGRITY = (
    "sha512-/VugrbbWbgRMIfJKKlxPM7l6JiqjNzg32tA44XfEKLfS+kkEaFvQcdIjm3iWad+u"
    "HdC/QYnrADu4Eh+00eCrnA=="
)
TINYPKG_SHASUM = "243c6d2ef490ff0d30d51729680527927f5a1ffb"


def load(name):
    return json.loads((DATA / name).read_text())


def dumps(document):
    return json.dumps(document).encode()


def tgz(files, *, mode=0o644):
    """Gzip tarball of ``{member name: bytes}``, in order."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def publish_document(*, name="demo", version="1.0.0", tarball=None, **overrides):
    tarball = tarball or tgz({"package/package.json": dumps({"name": name, "version": version})})
    document = {
        "_id": name,
        "name": name,
        "description": "demo",
        "dist-tags": {"latest": version},
        "versions": {
            version: {
                "name": name,
                "version": version,
                "_id": f"{name}@{version}",
                "dist": {
                    "integrity": "sha512-"
                    + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
                    "shasum": hashlib.sha1(tarball).hexdigest(),
                    "tarball": f"http://x/{name}/-/{name}-{version}.tgz",
                },
            }
        },
        "access": None,
        "_attachments": {
            f"{name}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(tarball).decode(),
                "length": len(tarball),
            }
        },
    }
    document.update(overrides)
    return document


def captured_tarball():
    body = load("publish_tinypkg.json")
    return base64.b64decode(body["_attachments"]["tinypkg-1.0.0.tgz"]["data"])
