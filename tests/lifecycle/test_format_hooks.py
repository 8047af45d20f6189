"""The formats' part of cleanup: prerelease rules, and what OCI manifests still need."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from access.models import Role
from formats.lifecycle.cleanup import cleanup_preview, cleanup_run, policy_set
from formats.models import Version
from formats.oci.manifests import MIME_OCI_MANIFEST
from tests.factories import RepositoryFactory
from tests.formats.oci.helpers import basic, descriptor, digest, image_manifest, push_blob


@pytest.mark.parametrize(
    ("app", "prereleases", "releases"),
    [
        (
            "pypi",
            ["1.0a1", "2.0rc1", "1.0.dev3", "3.0b2.post1"],
            ["1.0", "1.0.post1", "not-pep440"],
        ),
        ("npm", ["1.0.0-beta.1", "2.0.0-rc.1+build.5"], ["1.0.0", "1.0.0+build.5", "latest"]),
        ("maven", ["1.0-SNAPSHOT", "1.0-alpha-1", "2.0-M3", "3.1-rc1"], ["1.0", "1.0-sp1"]),
        ("oci", [], ["sha256:" + "a" * 64]),
    ],
)
def test_each_format_says_what_a_prerelease_is(app, prereleases, releases):
    config = apps.get_app_config(app)
    assert [v for v in prereleases + releases if config.is_prerelease(v)] == prereleases


@pytest.mark.django_db
def test_untagged_manifests_go_unless_a_tagged_one_needs_them(
    client, make_user, settings, tmp_path
):
    settings.BLOB_STORE_DIR = tmp_path / "store"
    repository = RepositoryFactory(name="oci", format="oci")
    headers = basic(make_user(repository, Role.WRITE))
    name = "oci/app"

    def push(reference: str, seed: bytes, **extra) -> bytes:
        config = b'{"architecture":"amd64","os":"linux","seed":"' + seed + b'"}'
        push_blob(client, name, config, headers)
        push_blob(client, name, b"layer-" + seed, headers)
        manifest = image_manifest(config, [b"layer-" + seed], **extra)
        response = client.put(
            f"/v2/{name}/manifests/{reference or digest(manifest)}",
            data=manifest,
            content_type=MIME_OCI_MANIFEST,
            headers=headers,
        )
        assert response.status_code == 201, response.content
        return manifest

    tagged = push("v1", b"a")
    signature = push("", b"b", subject=descriptor(MIME_OCI_MANIFEST, tagged))
    orphan = push("", b"c")
    Version.objects.update(published_at=timezone.now() - timedelta(days=30))
    policy_set(repository=repository, older_than_days=7)

    assert [r.version for r in cleanup_preview(repository=repository)] == [digest(orphan)]
    cleanup_run(repository=repository)

    left = set(Version.objects.values_list("version", flat=True))
    assert left == {digest(tagged), digest(signature)}
    assert client.get(f"/v2/{name}/manifests/{digest(orphan)}", headers=headers).status_code == 404
    referrers = client.get(f"/v2/{name}/referrers/{digest(tagged)}", headers=headers).json()
    assert [m["digest"] for m in referrers["manifests"]] == [digest(signature)]
