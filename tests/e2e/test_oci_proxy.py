"""OCI proxy and group repositories driven by skopeo and podman.

Upstreams are real: CNCF Distribution (``tests/peers/distribution.py``) and a second instance
of this registry (``tests/upstreams.py``, which speaks the Docker token flow). Images are built
with umoci and pushed to the upstreams with skopeo.
"""

import hashlib
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from access.models import Role
from access.services import role_grant
from formats.models import Asset, Repository
from formats.oci.models import OciManifest
from formats.services import repository_create, repository_update
from storage.models import Blob
from tests.factories import UserFactory
from tests.formats.oci.clients import Layout, Podman, Skopeo, image_layout
from tests.live import free_port
from tests.peers.distribution import Distribution, start_distribution

pytestmark = pytest.mark.e2e

MIME_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def skopeo(tmp_path) -> Skopeo:
    return Skopeo(tmp_path / "skopeo")


@pytest.fixture
def distribution(tmp_path) -> Iterator[Distribution]:
    peer = start_distribution(tmp_path / "distribution")
    yield peer
    peer.stop()


@pytest.fixture
def layout(tmp_path) -> Layout:
    return image_layout(tmp_path / "image", size=512 * 1024)


@pytest.fixture
def short_runroot() -> Iterator[Path]:
    """podman refuses a runroot path longer than 50 characters; pytest's tmp_path is longer."""
    path = Path(tempfile.mkdtemp(prefix="oci-run-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _proxy(name: str, upstream: str, **options) -> Repository:
    options.setdefault("anonymous_read", True)
    return repository_create(
        name=name, format="oci", kind="proxy", upstream_url=upstream, **options
    )


def _group(name: str, members: list[Repository], **options) -> Repository:
    return repository_create(name=name, format="oci", kind="group", members=members, **options)


def _pull(skopeo: Skopeo, reference: str, target: Path, *, creds: str | None = None, check=True):
    options = ["--src-creds", creds] if creds else []
    target.parent.mkdir(parents=True, exist_ok=True)
    return skopeo(
        "copy",
        "--src-tls-verify=false",
        *options,
        f"docker://{reference}",
        f"oci:{target}:pulled",
        check=check,
    )


def _layers(layout: Layout, tag: str) -> list[str]:
    manifest = json.loads(layout.blob(layout.descriptor(tag)["digest"]))
    return [layer["digest"] for layer in manifest["layers"]]


def _pulled_layers(target: Path) -> list[str]:
    index = json.loads((target / "index.json").read_text())
    digest = index["manifests"][0]["digest"].partition(":")[2]
    manifest = json.loads((target / "blobs" / "sha256" / digest).read_bytes())
    return [layer["digest"] for layer in manifest["layers"]]


def _creds(user, password: str) -> str:
    return f"{user.username}:{password}"


def test_pull_through_a_group_of_hosted_distribution_and_registry_proxies(
    live_registry, upstream_registry, distribution, skopeo, make_user, password, tmp_path
):
    """One group URL: a private image, one from Distribution and one from our other instance."""
    private = image_layout(tmp_path / "private")
    public = image_layout(tmp_path / "public")
    ours = image_layout(tmp_path / "ours")
    distribution.push(skopeo, public, tag="v1", image="library/debian:12")
    upstream_registry.repository("images", "oci")
    skopeo.push(
        f"oci:{ours.path}:v1",
        f"docker://{upstream_registry.host}/images/tools/jq:1.7",
        creds=f"{upstream_registry.username}:{upstream_registry.password}",
    )
    hosted = repository_create(name="team-images", format="oci")
    writer = make_user(hosted, Role.WRITE)
    skopeo.push(
        f"oci:{private.path}:v1",
        f"docker://{live_registry.host}/team-images/team/app:1",
        creds=_creds(writer, password),
    )
    hub = _proxy("hub", distribution.url)
    mirror = _proxy("mirror", upstream_registry.url)
    group = _group("all", [hosted, hub, mirror])
    reader = make_user(group, Role.READ)
    role_grant(repository=hosted, role=Role.READ, user=reader)
    creds = _creds(reader, password)

    for reference, source in (
        ("all/team/app:1", private),
        ("all/library/debian:12", public),
        ("all/images/tools/jq:1.7", ours),
    ):
        target = tmp_path / "pulled" / reference.replace("/", "_").replace(":", "_")
        _pull(skopeo, f"{live_registry.host}/{reference}", target, creds=creds)
        assert _pulled_layers(target) == _layers(source, "v1")

    # Cached in the proxies as OCI manifests with their provenance; the group holds nothing.
    assert OciManifest.objects.filter(package__repository=hub).count() == 1
    blobs = Asset.objects.filter(repository=hub, path__contains="/blobs/")
    assert blobs.count() == 2  # config and layer
    for asset in blobs:
        upstream = asset.metadata["proxy"]["upstream_url"]
        assert upstream.startswith(f"{distribution.url}/v2/library/debian/blobs/sha256:")
    assert not Asset.objects.filter(repository=group).exists()
    tags = requests.get(
        f"{live_registry.url}/v2/all/library/debian/tags/list", auth=(reader.username, password)
    )
    assert tags.json() == {"name": "all/library/debian", "tags": ["12"]}
    # Our other instance was asked through its token flow, anonymously (public repository).
    assert upstream_registry.requests_for("GET /v2/token?") >= 1


def test_podman_pulls_through_a_group(
    live_registry, distribution, skopeo, layout, tmp_path, short_runroot
):
    distribution.push(skopeo, layout, tag="v1", image="library/alpine:3")
    hub = _proxy("hub-podman", distribution.url)
    _group("podman-all", [hub], anonymous_read=True)
    podman = Podman(tmp_path / "podman", short_runroot)
    podman("pull", "--tls-verify=false", f"{live_registry.host}/podman-all/library/alpine:3")
    images = podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert images == [f"{live_registry.host}/podman-all/library/alpine:3"]


def test_upstream_down_after_warm_up_still_pulls_by_tag(
    live_registry, distribution, skopeo, layout, tmp_path
):
    distribution.push(skopeo, layout, tag="v1", image="library/busybox:1")
    hub = _proxy("hub-down", distribution.url, metadata_ttl=0)  # every read revalidates
    reference = f"{live_registry.host}/hub-down/library/busybox:1"
    _pull(skopeo, reference, tmp_path / "warm")
    distribution.stop()

    _pull(skopeo, reference, tmp_path / "stale")
    assert _pulled_layers(tmp_path / "stale") == _layers(layout, "v1")
    assert f"serving stale tag:library/busybox:1 of {hub.name}" in live_registry.log.read_text()


def test_a_cold_pull_with_the_upstream_down_is_a_502_naming_it(live_registry, skopeo, tmp_path):
    port = free_port()  # nothing listens there
    _proxy("hub-cold", f"http://127.0.0.1:{port}")
    response = requests.get(f"{live_registry.url}/v2/hub-cold/library/debian/manifests/12")
    assert response.status_code == 502
    (error,) = response.json()["errors"]
    assert error["code"] == "UNAVAILABLE"
    assert f"127.0.0.1:{port}" in error["message"]
    blob = requests.get(f"{live_registry.url}/v2/hub-cold/library/debian/blobs/sha256:{'a' * 64}")
    assert blob.status_code == 502
    assert blob.json()["errors"][0]["detail"]["reason"] == "UPSTREAM_UNAVAILABLE"
    result = _pull(
        skopeo, f"{live_registry.host}/hub-cold/library/debian:12", tmp_path / "x", check=False
    )
    assert result.returncode != 0


class _Tampering(BaseHTTPRequestHandler):
    """An OCI upstream whose manifest is honest and whose layer bytes are not."""

    manifest: bytes = b""
    wrong: bytes = b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if "/manifests/" in self.path:
            body, kind = self.manifest, MIME_OCI_MANIFEST
        elif "/blobs/" in self.path:
            body, kind = self.wrong, "application/octet-stream"
        else:
            body, kind = b"{}", "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tampering_upstream() -> Iterator[str]:
    config, layer = b'{"architecture":"amd64","os":"linux"}', b"the real layer"
    _Tampering.manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MIME_OCI_MANIFEST,
            "config": _descriptor("application/vnd.oci.image.config.v1+json", config),
            "layers": [_descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
        }
    ).encode()
    _Tampering.wrong = b"not the layer you asked for"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tampering)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _descriptor(media_type: str, data: bytes) -> dict:
    return {"mediaType": media_type, "digest": _digest(data), "size": len(data)}


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def test_tampered_upstream_bytes_are_refused_and_nothing_is_stored(
    live_registry, tampering_upstream, skopeo, tmp_path
):
    proxy = _proxy("hub-tampered", tampering_upstream)
    layer = json.loads(_Tampering.manifest)["layers"][0]["digest"]
    response = requests.get(f"{live_registry.url}/v2/hub-tampered/evil/app/blobs/{layer}")
    assert response.status_code == 502
    (error,) = response.json()["errors"]
    assert error["code"] == "UNKNOWN"
    assert error["detail"]["reason"] == "UPSTREAM_DIGEST_MISMATCH"
    wrong = hashlib.sha256(_Tampering.wrong).hexdigest()
    assert not Blob.objects.filter(sha256=wrong).exists()
    assert not Asset.objects.filter(repository=proxy, path__contains="/blobs/").exists()
    result = _pull(
        skopeo, f"{live_registry.host}/hub-tampered/evil/app:1", tmp_path / "x", check=False
    )
    assert result.returncode != 0


def test_a_hosted_image_path_is_never_shadowed_by_the_upstream(
    live_registry, distribution, skopeo, make_user, password, tmp_path
):
    """Dependency confusion: the upstream's higher tag of a hosted image is not served."""
    ours, theirs = image_layout(tmp_path / "ours"), image_layout(tmp_path / "theirs")
    distribution.push(skopeo, theirs, tag="v1", image="corp/app:1")
    distribution.push(skopeo, theirs, tag="v1", image="corp/app:2")
    hosted = repository_create(name="corp-hosted", format="oci", anonymous_read=True)
    writer = make_user(hosted, Role.WRITE)
    skopeo.push(
        f"oci:{ours.path}:v1",
        f"docker://{live_registry.host}/corp-hosted/corp/app:1",
        creds=_creds(writer, password),
    )
    hub = _proxy("hub-corp", distribution.url)
    _group("corp", [hub, hosted], anonymous_read=True)  # the proxy even comes first

    _pull(skopeo, f"{live_registry.host}/corp/corp/app:1", tmp_path / "one")
    assert _pulled_layers(tmp_path / "one") == _layers(ours, "v1")
    higher = requests.get(f"{live_registry.url}/v2/corp/corp/app/manifests/2")
    assert higher.status_code == 404
    assert higher.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    tags = requests.get(f"{live_registry.url}/v2/corp/corp/app/tags/list").json()
    assert tags["tags"] == ["1"]
    assert distribution.requests_seen("GET", "/v2/corp/app/") == []  # never even asked

    repository_update(
        repository=Repository.objects.get(name="corp"), changes={"hosted_guard": False}
    )
    assert requests.get(f"{live_registry.url}/v2/corp/corp/app/manifests/2").status_code == 200


def test_twenty_concurrent_cold_blob_gets_fetch_it_once(
    live_registry, distribution, skopeo, tmp_path
):
    layout = image_layout(tmp_path / "big", size=8 * 1024 * 1024)
    distribution.push(skopeo, layout, tag="v1", image="library/big:1")
    _proxy("hub-flight", distribution.url)
    (layer,) = _layers(layout, "v1")
    url = f"{live_registry.url}/v2/hub-flight/library/big/blobs/{layer}"

    def fetch(_: int) -> str:
        response = requests.get(url, timeout=120)
        assert response.status_code == 200, response.text
        return _digest(response.content)

    with ThreadPoolExecutor(max_workers=20) as pool:
        digests = list(pool.map(fetch, range(20)))
    assert digests == [layer] * 20
    assert len(distribution.requests_seen("GET", f"/blobs/{layer}")) == 1


def test_twenty_concurrent_cold_pulls_of_a_tag_record_it_once(
    live_registry, distribution, skopeo, layout
):
    distribution.push(skopeo, layout, tag="v1", image="library/hot:1")
    proxy = _proxy("hub-hot", distribution.url)
    url = f"{live_registry.url}/v2/hub-hot/library/hot/manifests/1"

    def fetch(_: int) -> str:
        response = requests.get(url, headers={"Accept": MIME_OCI_MANIFEST}, timeout=120)
        assert response.status_code == 200, response.text
        return response.headers["Docker-Content-Digest"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        digests = set(pool.map(fetch, range(20)))
    assert digests == {layout.descriptor("v1")["digest"]}
    assert len(distribution.requests_seen("GET", "/manifests/1")) == 1
    assert OciManifest.objects.filter(package__repository=proxy).count() == 1


def test_a_two_platform_index_is_copied_whole_through_a_group(
    live_registry, upstream_registry, skopeo, layout, tmp_path
):
    layout.set_architecture(image="v1", architecture="arm64", tag="v1-arm64")
    index = layout.add_index([("v1", "amd64"), ("v1-arm64", "arm64")], tag="multi")
    upstream_registry.repository("multi-images", "oci")
    skopeo(
        "copy",
        "--all",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"{upstream_registry.username}:{upstream_registry.password}",
        f"oci:{layout.path}:multi",
        f"docker://{upstream_registry.host}/multi-images/app:1",
    )
    proxy = _proxy("mirror-multi", upstream_registry.url)
    _group("multi-all", [proxy], anonymous_read=True)
    out = tmp_path / "pulled"
    skopeo(
        "copy",
        "--all",
        "--src-tls-verify=false",
        f"docker://{live_registry.host}/multi-all/multi-images/app:1",
        f"oci:{out}:multi",
    )
    for child in ("v1", "v1-arm64"):
        hex_ = layout.descriptor(child)["digest"].split(":")[1]
        assert (out / "blobs" / "sha256" / hex_).read_bytes() == layout.blob(f"sha256:{hex_}")
    assert OciManifest.objects.filter(package__repository=proxy).count() == 3
    raw = requests.get(
        f"{live_registry.url}/v2/multi-all/multi-images/app/manifests/1",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
    )
    assert raw.content == index


def test_a_tag_is_revalidated_after_its_ttl_and_follows_the_upstream(
    live_registry, distribution, skopeo, tmp_path
):
    first, second = image_layout(tmp_path / "first"), image_layout(tmp_path / "second")
    distribution.push(skopeo, first, tag="v1", image="library/app:latest")
    _proxy("hub-ttl", distribution.url, metadata_ttl=2)
    url = f"{live_registry.url}/v2/hub-ttl/library/app/manifests/latest"
    headers = {"Accept": MIME_OCI_MANIFEST}
    one = requests.get(url, headers=headers)
    assert requests.get(url, headers=headers).content == one.content  # fresh: not asked
    assert len(distribution.requests_seen("GET", "/manifests/latest")) == 1

    time.sleep(2.2)
    assert requests.get(url, headers=headers).content == one.content
    seen = distribution.log.read_text()
    assert seen.count('"GET /v2/library/app/manifests/latest HTTP/1.1" 304') == 1  # revalidated

    distribution.push(skopeo, second, tag="v1", image="library/app:latest")
    time.sleep(2.2)
    moved = requests.get(url, headers=headers)
    assert moved.headers["Docker-Content-Digest"] == second.descriptor("v1")["digest"]
    assert moved.headers["Docker-Content-Digest"] != one.headers["Docker-Content-Digest"]


def test_push_through_the_deploy_target_lands_in_the_hosted_member(
    live_registry, distribution, skopeo, layout, make_user, password, tmp_path
):
    hosted = repository_create(name="deploy-hosted", format="oci")
    hub = _proxy("hub-deploy", distribution.url)
    group = _group("deploy", [hosted, hub], deploy_to=hosted)
    writer = make_user(group, Role.READ)
    role_grant(repository=hosted, role=Role.WRITE, user=writer)
    creds = _creds(writer, password)
    skopeo.push(
        f"oci:{layout.path}:v1", f"docker://{live_registry.host}/deploy/team/svc:1", creds=creds
    )
    manifest = OciManifest.objects.get()
    assert manifest.package.repository == hosted
    assert manifest.package.name == "team/svc"
    _pull(skopeo, f"{live_registry.host}/deploy/team/svc:1", tmp_path / "back", creds=creds)
    assert _pulled_layers(tmp_path / "back") == _layers(layout, "v1")

    # A reader of the group who may not write the target is refused; so is any push to a
    # proxy, and to a group without a deploy target.
    reader = make_user(group, Role.READ)
    role_grant(repository=hosted, role=Role.READ, user=reader)
    refused = skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        _creds(reader, password),
        f"oci:{layout.path}:v1",
        f"docker://{live_registry.host}/deploy/team/svc:2",
        check=False,
    )
    assert refused.returncode != 0
    admin = UserFactory(is_superuser=True)
    for name in ("hub-deploy", "readonly"):
        if name == "readonly":
            _group("readonly", [hosted])
        response = requests.post(
            f"{live_registry.url}/v2/{name}/team/svc/blobs/uploads/",
            auth=(admin.username, password),
        )
        assert response.status_code == 405, response.text
        assert response.json()["errors"][0]["code"] == "UNSUPPORTED"


def test_a_group_reader_sees_only_the_members_it_may_read(
    live_registry, distribution, skopeo, make_user, password, tmp_path
):
    private, public = image_layout(tmp_path / "private"), image_layout(tmp_path / "public")
    distribution.push(skopeo, public, tag="v1", image="library/nginx:1")
    hosted = repository_create(name="secret-images", format="oci")
    writer = make_user(hosted, Role.WRITE)
    skopeo.push(
        f"oci:{private.path}:v1",
        f"docker://{live_registry.host}/secret-images/team/secret:1",
        creds=_creds(writer, password),
    )
    hub = _proxy("hub-perm", distribution.url, anonymous_read=False)
    group = _group("perm", [hosted, hub])
    reader = make_user(group, Role.READ)  # nothing on the members: the proxy fetches anyway
    creds = _creds(reader, password)

    assert _pull(skopeo, f"{live_registry.host}/perm/library/nginx:1", tmp_path / "a", creds=creds)
    hidden = _pull(
        skopeo, f"{live_registry.host}/perm/team/secret:1", tmp_path / "b", creds=creds, check=False
    )
    assert hidden.returncode != 0
    role_grant(repository=hosted, role=Role.READ, user=reader)
    _pull(skopeo, f"{live_registry.host}/perm/team/secret:1", tmp_path / "c", creds=creds)
    assert _pulled_layers(tmp_path / "c") == _layers(private, "v1")
    outsider = make_user()
    assert (
        _pull(
            skopeo,
            f"{live_registry.host}/perm/library/nginx:1",
            tmp_path / "d",
            creds=_creds(outsider, password),
            check=False,
        ).returncode
        != 0
    )


def test_upstream_credentials_are_the_repository_s_never_the_client_s(
    live_registry, skopeo, layout, tmp_path
):
    peer = start_distribution(tmp_path / "locked", credentials=("up", "up-secret"))
    try:
        peer.push(skopeo, layout, tag="v1", image="private/app:1")
        # The client signs in to us as "up" with the upstream's password: that must not matter.
        client = UserFactory(username="up")
        client.set_password("up-secret")
        client.save()
        bare = _proxy("locked-bare", peer.url)
        role_grant(repository=bare, role=Role.READ, user=client)
        refused = requests.get(
            f"{live_registry.url}/v2/locked-bare/private/app/manifests/1", auth=("up", "up-secret")
        )
        assert refused.status_code == 502
        assert "HTTP 401" in refused.json()["errors"][0]["message"]
        _proxy("locked", peer.url, upstream_username="up", upstream_password="up-secret")
        _pull(skopeo, f"{live_registry.host}/locked/private/app:1", tmp_path / "ok")
        assert _pulled_layers(tmp_path / "ok") == _layers(layout, "v1")
    finally:
        peer.stop()


def test_a_private_upstream_of_ours_through_its_token_flow_with_credentials(
    live_registry, upstream_registry, skopeo, layout, tmp_path
):
    upstream_registry.manage("createrepo", "closed-images", "--format", "oci")
    upstream_registry.repositories.add("closed-images")
    admin = f"{upstream_registry.username}:{upstream_registry.password}"
    skopeo.push(
        f"oci:{layout.path}:v1",
        f"docker://{upstream_registry.host}/closed-images/app:1",
        creds=admin,
    )
    anonymous = _proxy("closed-anon", upstream_registry.url)
    assert (
        requests.get(
            f"{live_registry.url}/v2/closed-anon/closed-images/app/manifests/1"
        ).status_code
        == 502
    )
    _proxy(
        "closed",
        upstream_registry.url,
        upstream_username=upstream_registry.username,
        upstream_password=upstream_registry.password,
    )
    _pull(skopeo, f"{live_registry.host}/closed/closed-images/app:1", tmp_path / "ok")
    assert _pulled_layers(tmp_path / "ok") == _layers(layout, "v1")
    assert anonymous.upstream_status.startswith("reachable: HTTP 401")
