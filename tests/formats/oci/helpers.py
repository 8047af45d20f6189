"""Building blocks of the OCI protocol tests: credentials, blobs and manifests."""

import base64
import hashlib
import json

from formats.oci.manifests import MIME_OCI_CONFIG, MIME_OCI_LAYER_TAR_GZIP, MIME_OCI_MANIFEST
from tests.factories import PASSWORD


def basic(user, password: str = PASSWORD) -> dict[str, str]:
    """Return the Authorization header of ``user`` with a password (or an API token)."""
    raw = f"{user.username}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def digest(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def push_blob(client, name: str, data: bytes, headers: dict[str, str]) -> str:
    """Upload ``data`` monolithically to image ``name``; return its digest."""
    value = digest(data)
    response = client.post(
        f"/v2/{name}/blobs/uploads/?digest={value}",
        data=data,
        content_type="application/octet-stream",
        headers=headers,
    )
    assert response.status_code == 201, response.content
    return value


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": digest(data), "size": len(data), **extra}


def image_manifest(config: bytes, layers: list[bytes], **extra) -> bytes:
    """Return the bytes of an OCI image manifest of ``config`` and ``layers``."""
    body = {
        "schemaVersion": 2,
        "mediaType": MIME_OCI_MANIFEST,
        "config": descriptor(MIME_OCI_CONFIG, config),
        "layers": [descriptor(MIME_OCI_LAYER_TAR_GZIP, layer) for layer in layers],
        **extra,
    }
    return json.dumps(body, indent=1).encode()


def push_image(client, name: str, reference: str, headers: dict[str, str], seed: bytes = b"x"):
    """Push a config, one layer and their manifest under ``reference``; return the manifest."""
    config = b'{"architecture":"amd64","os":"linux","seed":"' + seed + b'"}'
    layer = b"layer-" + seed
    push_blob(client, name, config, headers)
    push_blob(client, name, layer, headers)
    manifest = image_manifest(config, [layer])
    response = client.put(
        f"/v2/{name}/manifests/{reference}",
        data=manifest,
        content_type=MIME_OCI_MANIFEST,
        headers=headers,
    )
    assert response.status_code == 201, response.content
    return manifest
