"""The version page of an image: an index's platforms, layers, the config and the referrers.

The images are pushed over the distribution API, as a client does.
"""

import json

import pytest

from access.models import Role
from formats.oci.manifests import MIME_OCI_EMPTY, MIME_OCI_INDEX, MIME_OCI_MANIFEST
from tests.factories import RepositoryFactory
from tests.formats.oci.helpers import basic, descriptor, digest, image_manifest, push_blob
from tests.web.content import page_text

pytestmark = pytest.mark.django_db

NAME = "images/team/app"
CONFIG = json.dumps(
    {
        "architecture": "arm64",
        "os": "linux",
        "config": {"Entrypoint": ["/bin/app"], "Env": ["MODE=prod"], "Labels": {"tier": "web"}},
    }
).encode()
LAYER = b"layer bytes " * 100


@pytest.fixture
def auth(make_user):
    repository = RepositoryFactory(name="images", format="oci", anonymous_read=True)
    return basic(make_user(repository, Role.WRITE))


def _put(client, auth, reference: str, body: bytes, media_type: str) -> str:
    response = client.put(
        f"/v2/{NAME}/manifests/{reference}", data=body, content_type=media_type, headers=auth
    )
    assert response.status_code == 201, response.content
    return digest(body)


@pytest.fixture
def pushed(client, auth):
    """An image, an index naming it for linux/arm64/v8, and a signature referring to it."""
    push_blob(client, NAME, CONFIG, auth)
    push_blob(client, NAME, LAYER, auth)
    image = image_manifest(CONFIG, [LAYER])
    image_digest = _put(client, auth, "v1", image, MIME_OCI_MANIFEST)
    platform = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MIME_OCI_INDEX,
            "manifests": [descriptor(MIME_OCI_MANIFEST, image, platform=platform)],
        }
    ).encode()
    index_digest = _put(client, auth, "latest", index, MIME_OCI_INDEX)
    push_blob(client, NAME, b"{}", auth)
    signature = image_manifest(
        b"{}",
        [],
        artifactType="application/vnd.dev.cosign.artifact.sig.v1+json",
        subject=descriptor(MIME_OCI_MANIFEST, image),
    )
    signature = json.loads(signature)
    signature["config"]["mediaType"] = MIME_OCI_EMPTY
    body = json.dumps(signature).encode()
    signature_digest = _put(client, auth, digest(body), body, MIME_OCI_MANIFEST)
    return {"image": image_digest, "index": index_digest, "signature": signature_digest}


def test_an_image_shows_its_layers_config_and_referrers(client, pushed):
    page = page_text(
        client.get(f"/ui/repositories/images/packages/team/app/versions/{pushed['image']}/")
    )

    layer = f'<td class="digest">{digest(LAYER)}</td>'
    assert f"{layer}<td>application/vnd.oci.image.layer.v1.tar+gzip</td><td>1200</td>" in page
    assert f'<td>Digest</td><td class="digest">{digest(CONFIG)}</td>' in page
    assert "<td>Entrypoint</td><td>[&quot;/bin/app&quot;]</td>" in page
    assert "<td>Env</td><td>[&quot;MODE=prod&quot;]</td>" in page
    assert "<td>Labels</td><td>{&quot;tier&quot;: &quot;web&quot;}</td>" in page
    assert "<h2>Referrers</h2>" in page
    assert "application/vnd.dev.cosign.artifact.sig.v1+json" in page
    assert pushed["signature"] in page
    assert f"docker pull testserver/images/team/app@{pushed['image']}" in page
    assert f'<a href="/v2/images/team/app/manifests/{pushed["image"]}">' in page


def test_an_index_shows_its_platforms(client, pushed):
    page = page_text(
        client.get(f"/ui/repositories/images/packages/team/app/versions/{pushed['index']}/")
    )

    assert f'<td>linux/arm64/v8</td><td class="digest">{pushed["image"]}</td>' in page
    assert "<h2>Layers</h2>" not in page


def test_the_package_page_lists_the_manifests_and_their_tags(client, pushed):
    page = page_text(client.get("/ui/repositories/images/packages/team/app/"))

    assert f'id="latest-version">{pushed["index"]}</a>' in page
    image_page = f"/ui/repositories/images/packages/team/app/versions/{pushed['image']}/"
    assert f'<td>v1</td><td><a href="{image_page}">' in page
