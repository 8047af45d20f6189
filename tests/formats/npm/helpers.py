"""Publish bodies shaped exactly like the ones npm 11 sends (see data/publish_*.json)."""

import base64
import hashlib
import io
import json
import tarfile


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
) -> bytes:
    """Return the JSON body ``npm publish`` PUTs to ``/<name>``."""
    manifest = {"name": name, "version": version, "description": description, "license": "MIT"}
    if dependencies:
        manifest["dependencies"] = dependencies
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
