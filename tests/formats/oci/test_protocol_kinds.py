"""Proxy and group repositories over the distribution API (Django's client, a scripted upstream)."""

import json

import jwt
import pytest

from access.models import Role
from access.services import role_grant
from formats.models import Asset, ProxyEntry, Tag
from formats.oci.manifests import MIME_OCI_MANIFEST
from formats.oci.models import OciBlobLink, OciManifest
from formats.proxy.invalidation import proxy_invalidate
from formats.services import repository_create
from storage.models import Blob
from tests.factories import UserFactory
from tests.formats.oci.helpers import basic, digest, image_manifest, push_blob, push_image
from tests.live import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.protocol]


def _proxy(upstream, name="hub", **options):
    options.setdefault("anonymous_read", True)
    return repository_create(
        name=name, format="oci", kind="proxy", upstream_url=upstream.url, **options
    )


def _group(name, members, **options):
    return repository_create(name=name, format="oci", kind="group", members=members, **options)


def _code(response) -> str:
    return response.json()["errors"][0]["code"]


def _body(response) -> bytes:
    return response.body


def _get(client, url: str, data=None, *, method: str = "get", **options):
    """Send a request and read (then close) its possibly streamed answer into ``body``."""
    response = getattr(client, method)(url, data, **options)
    response.body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    return response


def _granted(client, scope: str, user) -> list:
    response = _get(
        client, "/v2/token", {"scope": scope, "service": "testserver"}, headers=basic(user)
    )
    return jwt.decode(response.json()["token"], options={"verify_signature": False})["access"]


def test_a_proxy_is_created_with_its_registry_root_probed(scripted_upstream):
    proxy = _proxy(scripted_upstream)
    assert proxy.upstream_status == f"reachable: HTTP 200 from {scripted_upstream.url}/v2/"
    assert scripted_upstream.requests == [("GET", "/v2/")]


def test_pulls_by_tag_and_digest_are_recorded_as_oci_manifests(client, scripted_upstream):
    manifest = scripted_upstream.add_image("library/app", "1")
    proxy = _proxy(scripted_upstream)
    by_tag = _get(client, "/v2/hub/library/app/manifests/1")
    assert by_tag.status_code == 200
    assert _body(by_tag) == manifest
    assert by_tag["Docker-Content-Digest"] == digest(manifest)
    assert by_tag["Content-Type"] == MIME_OCI_MANIFEST
    head = _get(client, "/v2/hub/library/app/manifests/1", method="head")
    assert (head.status_code, _body(head), head["Docker-Content-Digest"]) == (
        200,
        b"",
        digest(manifest),
    )
    recorded = OciManifest.objects.get(package__repository=proxy)
    assert recorded.digest == digest(manifest)
    assert Tag.objects.get(package=recorded.package).name == "1"
    asset = Asset.objects.get(repository=proxy, path=f"library/app/manifests/{digest(manifest)}")
    assert asset.metadata["proxy"]["upstream_url"] == (
        f"{scripted_upstream.url}/v2/library/app/manifests/1"
    )
    # By digest it is served from here, without asking upstream again.
    asked = len(scripted_upstream.requests)
    assert _body(_get(client, f"/v2/hub/library/app/manifests/{digest(manifest)}")) == manifest
    assert len(scripted_upstream.requests) == asked
    assert _get(client, "/v2/hub/library/app/tags/list").json() == {
        "name": "hub/library/app",
        "tags": ["1"],
    }


def test_blobs_are_fetched_once_verified_and_kept(client, scripted_upstream):
    scripted_upstream.add_image("library/app", "1")
    proxy = _proxy(scripted_upstream)
    layer = b"upstream-layer-x"
    url = f"/v2/hub/library/app/blobs/{digest(layer)}"
    first = _get(client, url)
    assert (first.status_code, _body(first)) == (200, layer)
    assert first["Docker-Content-Digest"] == digest(layer)
    assert _body(_get(client, url)) == layer
    assert scripted_upstream.asked(f"/blobs/{digest(layer)}") == 1
    assert Asset.objects.filter(
        repository=proxy, path=f"library/app/blobs/{digest(layer)}"
    ).exists()


def test_a_manifest_by_digest_that_does_not_match_is_refused(client, scripted_upstream):
    manifest = scripted_upstream.add_image("library/app", "1")
    scripted_upstream.tampered.add(digest(manifest))
    proxy = _proxy(scripted_upstream)
    response = _get(client, f"/v2/hub/library/app/manifests/{digest(manifest)}")
    assert response.status_code == 502
    assert response.json()["errors"][0]["detail"]["reason"] == "UPSTREAM_DIGEST_MISMATCH"
    assert not OciManifest.objects.exists()
    assert not ProxyEntry.objects.filter(repository=proxy, key__startswith="manifest:").exists()


def test_an_upstream_404_is_remembered_for_the_negative_ttl(client, scripted_upstream):
    _proxy(scripted_upstream, negative_ttl=300)
    for _ in range(2):
        response = _get(client, "/v2/hub/library/none/manifests/1")
        assert (response.status_code, _code(response)) == (404, "MANIFEST_UNKNOWN")
        blob = _get(client, f"/v2/hub/library/none/blobs/{digest(b'none')}")
        assert (blob.status_code, _code(blob)) == (404, "BLOB_UNKNOWN")
        tags = _get(client, "/v2/hub/library/none/tags/list")
        assert (tags.status_code, _code(tags)) == (404, "NAME_UNKNOWN")
    assert scripted_upstream.asked("/library/none/") == 3


def test_an_upstream_manifest_this_registry_cannot_serve_is_a_502(client, scripted_upstream):
    scripted_upstream.manifests["library/odd"] = {"1": b'{"schemaVersion": 1}'}
    _proxy(scripted_upstream)
    response = _get(client, "/v2/hub/library/odd/manifests/1")
    assert (response.status_code, _code(response)) == (502, "UNAVAILABLE")
    assert "cannot serve" in response.json()["errors"][0]["message"]


def test_a_slow_upstream_is_a_504_naming_it(client, scripted_upstream, settings):
    settings.UPSTREAM_READ_TIMEOUT = 0.2
    scripted_upstream.add_image("library/app", "1")
    _proxy(scripted_upstream)
    scripted_upstream.delay = 1.0
    response = _get(client, "/v2/hub/library/app/manifests/1")
    assert (response.status_code, _code(response)) == (504, "UNAVAILABLE")
    (error,) = response.json()["errors"]
    assert error["detail"]["reason"] == "UPSTREAM_TIMEOUT"
    assert scripted_upstream.url.removeprefix("http://") in error["message"]


def test_proxy_invalidate_makes_the_next_pull_revalidate(client, scripted_upstream):
    scripted_upstream.add_image("library/app", "1")
    proxy = _proxy(scripted_upstream)
    _get(client, "/v2/hub/library/app/manifests/1")
    _get(client, "/v2/hub/library/app/manifests/1")
    assert scripted_upstream.asked("/manifests/1") == 1
    moved = scripted_upstream.add_image("library/app", "1", seed=b"y")
    assert proxy_invalidate(repository=proxy, package="library/app") == 1
    assert _body(_get(client, "/v2/hub/library/app/manifests/1")) == moved
    assert Tag.objects.get(package__repository=proxy).version.version == digest(moved)


def test_writes_to_a_proxy_or_a_group_without_target_are_405(client, scripted_upstream):
    proxy = _proxy(scripted_upstream)
    hosted = repository_create(name="local", format="oci")
    _group("all", [hosted, proxy], anonymous_read=True)
    admin = basic(UserFactory(is_superuser=True))
    manifest = image_manifest(b"{}", [])
    for name in ("hub", "all"):
        for response in (
            client.post(f"/v2/{name}/app/blobs/uploads/", headers=admin),
            client.put(
                f"/v2/{name}/app/manifests/1",
                data=manifest,
                content_type=MIME_OCI_MANIFEST,
                headers=admin,
            ),
            client.delete(f"/v2/{name}/app/manifests/1", headers=admin),
        ):
            assert (response.status_code, _code(response)) == (405, "UNSUPPORTED")
            assert response["Allow"] == "GET, HEAD"
    assert (
        "proxy"
        in client.post("/v2/hub/app/blobs/uploads/", headers=admin).json()["errors"][0]["message"]
    )


def test_token_scopes_of_proxies_and_groups(client, scripted_upstream, make_user):
    proxy = _proxy(scripted_upstream, anonymous_read=False)
    hosted = repository_create(name="local", format="oci")
    group = _group("all", [hosted, proxy], deploy_to=hosted)
    admin = UserFactory(is_superuser=True)
    assert _granted(client, "repository:hub/app:pull,push,delete", admin) == [
        {"type": "repository", "name": "hub/app", "actions": ["pull"]}
    ]
    reader = make_user(group, Role.READ)
    assert _granted(client, "repository:all/app:pull,push", reader) == [
        {"type": "repository", "name": "all/app", "actions": ["pull"]}
    ]
    role_grant(repository=hosted, role=Role.WRITE, user=reader)
    assert _granted(client, "repository:all/app:pull,push,delete", reader) == [
        {"type": "repository", "name": "all/app", "actions": ["pull", "push"]}
    ]
    outsider = make_user(hosted, Role.DELETE)  # the target alone is not the group
    assert _granted(client, "repository:all/app:pull,push", outsider) == []


def test_a_push_through_a_group_uses_its_target_and_urls_name_the_group(client, make_user):
    hosted = repository_create(name="local", format="oci")
    group = _group("all", [hosted], deploy_to=hosted)
    writer = make_user(group, Role.READ)
    role_grant(repository=hosted, role=Role.DELETE, user=writer)
    token = _get(
        client, "/v2/token", {"scope": "repository:all/app:pull,push,delete"}, headers=basic(writer)
    ).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    started = client.post("/v2/all/app/blobs/uploads/", headers=bearer)
    assert started.status_code == 202
    assert started["Location"].startswith("http://testserver/v2/all/app/blobs/uploads/")
    config = b'{"architecture":"amd64","os":"linux"}'
    closed = client.put(
        f"{started['Location']}?digest={digest(config)}",
        data=config,
        content_type="application/octet-stream",
        headers=bearer,
    )
    assert closed.status_code == 201
    assert closed["Location"] == f"http://testserver/v2/all/app/blobs/{digest(config)}"
    manifest = image_manifest(config, [])
    put = client.put(
        "/v2/all/app/manifests/1", data=manifest, content_type=MIME_OCI_MANIFEST, headers=bearer
    )
    assert put.status_code == 201, put.content
    assert put["Location"] == f"http://testserver/v2/all/app/manifests/{digest(manifest)}"
    assert OciManifest.objects.get().package.repository == hosted
    assert _body(_get(client, "/v2/all/app/manifests/1", headers=bearer)) == manifest
    assert client.delete("/v2/all/app/manifests/1", headers=bearer).status_code == 202
    assert not Tag.objects.exists()


def test_a_push_through_a_group_links_the_blobs_the_group_already_served(
    client, scripted_upstream, make_user
):
    """skopeo HEADs each blob first; one a proxy member has is not uploaded again."""
    scripted_upstream.add_image("team/app", "1")
    hosted = repository_create(name="local", format="oci")
    proxy = _proxy(scripted_upstream)
    group = _group("all", [hosted, proxy], deploy_to=hosted, hosted_guard=False)
    writer = make_user(hosted, Role.WRITE)
    role_grant(repository=group, role=Role.READ, user=writer)
    auth = basic(writer)
    config = b'{"architecture":"amd64","os":"linux","seed":"x"}'
    layer = b"upstream-layer-x"
    for blob in (config, layer):
        assert (
            _get(
                client, f"/v2/all/team/app/blobs/{digest(blob)}", method="head", headers=auth
            ).status_code
            == 200
        )
    own = b"my own layer"
    push_blob(client, "all/team/app", own, auth)
    manifest = image_manifest(config, [layer, own])
    put = client.put(
        "/v2/all/team/app/manifests/2", data=manifest, content_type=MIME_OCI_MANIFEST, headers=auth
    )
    assert put.status_code == 201, put.content
    linked = OciBlobLink.objects.filter(package__repository=hosted).values_list(
        "blob__sha256", flat=True
    )
    assert sorted(linked) == sorted(digest(b).partition(":")[2] for b in (config, layer, own))


def test_a_mount_from_a_group_image_links_what_a_member_holds(client, make_user):
    source = repository_create(name="base-images", format="oci")
    target = repository_create(name="local", format="oci")
    group = _group("all", [target, source], deploy_to=target)
    user = make_user(group, Role.READ)
    role_grant(repository=source, role=Role.WRITE, user=user)
    role_grant(repository=target, role=Role.WRITE, user=user)
    auth = basic(user)
    layer = b"a shared base layer"
    push_blob(client, "base-images/base", layer, auth)
    mounted = client.post(
        f"/v2/all/app/blobs/uploads/?mount={digest(layer)}&from=all/base", headers=auth
    )
    assert mounted.status_code == 201, mounted.content
    assert OciBlobLink.objects.filter(package__repository=target, package__name="app").exists()


def test_a_group_merges_tag_lists_and_reads_members_in_order(client, scripted_upstream, make_user):
    scripted_upstream.add_image("team/app", "1", seed=b"up")
    scripted_upstream.add_image("team/app", "2", seed=b"up")
    hosted = repository_create(name="local", format="oci")
    proxy = _proxy(scripted_upstream)
    group = _group("all", [hosted, proxy], hosted_guard=False)
    user = make_user(hosted, Role.WRITE)
    role_grant(repository=group, role=Role.READ, user=user)
    auth = basic(user)
    ours = push_image(client, "local/team/app", "1", auth, seed=b"ours")
    tags = _get(client, "/v2/all/team/app/tags/list", headers=auth)
    assert tags.json() == {"name": "all/team/app", "tags": ["1", "2"]}
    assert _body(_get(client, "/v2/all/team/app/manifests/1", headers=auth)) == ours  # first wins
    theirs = scripted_upstream.manifests["team/app"]["2"]
    assert _body(_get(client, "/v2/all/team/app/manifests/2", headers=auth)) == theirs
    paged = _get(client, "/v2/all/team/app/tags/list?n=1", headers=auth)
    assert paged.json()["tags"] == ["1"]
    assert paged["Link"] == '</v2/all/team/app/tags/list?n=1&last=1>; rel="next"'


def test_a_group_with_a_failing_proxy_answers_its_failure_not_a_404(client):
    hosted = repository_create(name="local", format="oci", anonymous_read=True)
    proxy = repository_create(
        name="down",
        format="oci",
        kind="proxy",
        upstream_url=f"http://127.0.0.1:{free_port()}",
        anonymous_read=True,
    )
    _group("all", [hosted, proxy], anonymous_read=True)
    response = _get(client, "/v2/all/library/debian/manifests/12")
    assert (response.status_code, _code(response)) == (502, "UNAVAILABLE")
    assert _get(client, "/v2/all/library/debian/tags/list").status_code == 502


def test_referrers_through_a_group_come_from_its_members(client, make_user):
    hosted = repository_create(name="local", format="oci")
    group = _group("all", [hosted])
    user = make_user(hosted, Role.WRITE)
    role_grant(repository=group, role=Role.READ, user=user)
    auth = basic(user)
    subject = push_image(client, "local/app", "1", auth)
    empty = b"{}"
    artifact = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MIME_OCI_MANIFEST,
            "artifactType": "application/vnd.example.sbom",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": digest(empty),
                "size": 2,
            },
            "layers": [],
            "subject": {
                "mediaType": MIME_OCI_MANIFEST,
                "digest": digest(subject),
                "size": len(subject),
            },
        }
    ).encode()
    response = client.put(
        f"/v2/local/app/manifests/{digest(artifact)}",
        data=artifact,
        content_type=MIME_OCI_MANIFEST,
        headers=auth,
    )
    assert response.status_code == 201, response.content
    referrers = _get(client, f"/v2/all/app/referrers/{digest(subject)}", headers=auth).json()
    assert [entry["digest"] for entry in referrers["manifests"]] == [digest(artifact)]
    assert Blob.objects.filter(sha256=digest(artifact).partition(":")[2]).exists()
