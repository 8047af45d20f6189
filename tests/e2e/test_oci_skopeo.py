"""The OCI format driven by skopeo (through the token flow) with images built by umoci."""

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests

from access.models import Role
from access.services import role_grant
from formats.models import Tag, TagEvent
from formats.oci.models import OciBlobLink, OciManifest
from tests.factories import RepositoryFactory
from tests.formats.oci.clients import Podman, Skopeo, image_layout

pytestmark = pytest.mark.e2e

MIME_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MIME_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MIME_OCI_EMPTY = "application/vnd.oci.empty.v1+json"


def _creds(user, secret: str) -> str:
    return f"{user.username}:{secret}"


def test_push_pull_by_tag_and_by_digest(live_registry, make_user, password, tmp_path):
    repository = RepositoryFactory(name="team", format="oci")
    writer = make_user(repository, Role.WRITE)
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    reference = f"docker://{live_registry.host}/team/app/api:1.0"

    skopeo.push(f"oci:{layout.path}:v1", reference, creds=_creds(writer, password))

    local = layout.descriptor("v1")
    raw = skopeo(
        "inspect", "--raw", "--tls-verify=false", "--creds", _creds(writer, password), reference
    )
    assert raw.stdout.encode() == layout.blob(local["digest"])

    out = tmp_path / "pulled"
    by_digest = f"docker://{live_registry.host}/team/app/api@{local['digest']}"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        _creds(writer, password),
        by_digest,
        f"oci:{out}:pulled",
    )
    pulled = json.loads((out / "index.json").read_text())["manifests"][0]
    assert pulled["digest"] == local["digest"]
    manifest = json.loads(layout.blob(local["digest"]))
    for blob in (manifest["config"], *manifest["layers"]):
        hex_ = blob["digest"].split(":")[1]
        assert (out / "blobs" / "sha256" / hex_).read_bytes() == layout.blob(blob["digest"])

    event = TagEvent.objects.get(package__name="app/api")
    assert (event.tag, event.to_version, event.actor_name) == (
        "1.0",
        local["digest"],
        writer.username,
    )


def test_copy_all_of_a_two_platform_index(live_registry, make_user, password, tmp_path):
    repository = RepositoryFactory(name="multi", format="oci")
    writer = make_user(repository, Role.WRITE)
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    layout.set_architecture(image="v1", architecture="arm64", tag="v1-arm64")
    index = layout.add_index([("v1", "amd64"), ("v1-arm64", "arm64")], tag="multi")
    reference = f"docker://{live_registry.host}/multi/app:1"

    skopeo(
        "copy",
        "--all",
        "--dest-tls-verify=false",
        "--dest-creds",
        _creds(writer, password),
        f"oci:{layout.path}:multi",
        reference,
    )
    raw = skopeo(
        "inspect", "--raw", "--tls-verify=false", "--creds", _creds(writer, password), reference
    )
    assert raw.stdout.encode() == index

    out = tmp_path / "pulled"
    skopeo(
        "copy",
        "--all",
        "--src-tls-verify=false",
        "--src-creds",
        _creds(writer, password),
        reference,
        f"oci:{out}:multi",
    )
    for child in ("v1", "v1-arm64"):
        hex_ = layout.descriptor(child)["digest"].split(":")[1]
        assert (out / "blobs" / "sha256" / hex_).read_bytes() == layout.blob(f"sha256:{hex_}")
    assert OciManifest.objects.filter(package__name="app").count() == 3


def test_reader_may_pull_but_not_push(live_registry, make_user, password, tmp_path):
    repository = RepositoryFactory(name="guarded", format="oci")
    writer = make_user(repository, Role.WRITE)
    reader = make_user(repository, Role.READ)
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    reference = f"docker://{live_registry.host}/guarded/app:1"
    skopeo.push(f"oci:{layout.path}:v1", reference, creds=_creds(writer, password))

    refused = skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        _creds(reader, password),
        f"oci:{layout.path}:v1",
        f"docker://{live_registry.host}/guarded/app:2",
        check=False,
    )
    assert refused.returncode != 0
    assert "denied" in refused.stderr.lower()
    assert list(OciManifest.objects.values_list("version__tags__name", flat=True)) == ["1"]

    out = tmp_path / "pulled"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        _creds(reader, password),
        reference,
        f"oci:{out}:x",
    )
    assert (out / "index.json").exists()


def test_anonymous_pull_from_public_and_refusal_on_private(
    live_registry, make_user, password, tmp_path
):
    public = RepositoryFactory(name="public", format="oci", anonymous_read=True)
    private = RepositoryFactory(name="private", format="oci")
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    for repository in (public, private):
        owner = make_user(repository, Role.WRITE)
        skopeo.push(
            f"oci:{layout.path}:v1",
            f"docker://{live_registry.host}/{repository.name}/app:1",
            creds=_creds(owner, password),
        )

    out = tmp_path / "pulled"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        f"docker://{live_registry.host}/public/app:1",
        f"oci:{out}:x",
    )
    assert (
        json.loads((out / "index.json").read_text())["manifests"][0]["digest"]
        == (layout.descriptor("v1")["digest"])
    )
    refused = skopeo(
        "copy",
        "--src-tls-verify=false",
        f"docker://{live_registry.host}/private/app:1",
        f"oci:{tmp_path / 'refused'}:x",
        check=False,
    )
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower() or "authentication required" in refused.stderr


def test_login_with_an_api_token(live_registry, make_user, make_token, tmp_path):
    repository = RepositoryFactory(name="tokens", format="oci")
    writer = make_user(repository, Role.WRITE)
    secret = make_token(writer)
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    skopeo("login", "--tls-verify=false", "-u", "__token__", "-p", secret, live_registry.host)
    skopeo(
        "copy",
        "--dest-tls-verify=false",
        f"oci:{layout.path}:v1",
        f"docker://{live_registry.host}/tokens/app:1",
    )
    wrong = skopeo(
        "login",
        "--tls-verify=false",
        "-u",
        writer.username,
        "-p",
        "wrong",
        live_registry.host,
        check=False,
    )
    assert wrong.returncode != 0
    assert OciManifest.objects.filter(package__repository=repository).count() == 1


def test_an_immutable_tag_cannot_be_deleted(live_registry, make_user, password, tmp_path):
    repository = RepositoryFactory(
        name="frozen", format="oci", immutable_tags=True, immutable_tag_exceptions="latest"
    )
    deleter = make_user(repository, Role.DELETE)
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    (tmp_path / "second.txt").write_text("another image")
    layout.add_file(tmp_path / "second.txt", "/second.txt", image="v1", tag="v2")
    for local, tag in (("v1", "1.0"), ("v2", "latest")):
        skopeo.push(
            f"oci:{layout.path}:{local}",
            f"docker://{live_registry.host}/frozen/app:{tag}",
            creds=_creds(deleter, password),
        )

    refused = skopeo(
        "delete",
        "--tls-verify=false",
        "--creds",
        _creds(deleter, password),
        f"docker://{live_registry.host}/frozen/app:1.0",
        check=False,
    )
    assert refused.returncode != 0
    assert "tag '1.0' is immutable in this repository" in refused.stderr
    skopeo(
        "delete",
        "--tls-verify=false",
        "--creds",
        _creds(deleter, password),
        f"docker://{live_registry.host}/frozen/app:latest",
    )
    assert list(
        Tag.objects.filter(package__repository=repository).values_list("name", flat=True)
    ) == ["1.0"]
    assert OciManifest.objects.filter(package__repository=repository).count() == 1


def test_a_copy_to_another_repository_mounts_the_layers(
    live_registry, make_user, password, tmp_path
):
    source = RepositoryFactory(name="mount-from", format="oci")
    target = RepositoryFactory(name="mount-to", format="oci")
    user = make_user(source, Role.WRITE)
    role_grant(repository=target, role=Role.WRITE, user=user)
    skopeo = Skopeo(tmp_path / "skopeo")
    skopeo.env["XDG_DATA_HOME"] = str(tmp_path / "data")  # skopeo's blob location cache
    layout = image_layout(tmp_path)
    creds = _creds(user, password)
    skopeo.push(
        f"oci:{layout.path}:v1", f"docker://{live_registry.host}/mount-from/app:1", creds=creds
    )
    logged = live_registry.log.stat().st_size

    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--src-creds",
        creds,
        "--dest-creds",
        creds,
        f"docker://{live_registry.host}/mount-from/app:1",
        f"docker://{live_registry.host}/mount-to/app:1",
    )
    manifest = json.loads(layout.blob(layout.descriptor("v1")["digest"]))
    layers = {blob["digest"] for blob in manifest["layers"]}
    posts = re.findall(
        r'"POST /v2/mount-to/app/blobs/uploads/\?(\S+) HTTP/1.1" 201 ',
        live_registry.log.read_bytes()[logged:].decode(),
    )
    mounted = {parse_qs(query)["mount"][0] for query in posts}
    assert layers <= mounted
    linked = OciBlobLink.objects.filter(package__repository=target)
    assert layers <= {
        f"sha256:{sha256}" for sha256 in linked.values_list("blob__sha256", flat=True)
    }
    assert OciManifest.objects.filter(package__repository=target).count() == 1


class Client:
    """Raw HTTP through the token flow, as a minimal registry client would speak it."""

    def __init__(self, base: str, user, password: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.auth = (user.username, password)

    def login(self, scope: str) -> None:
        challenge = self.session.get(f"{self.base}/v2/")
        assert challenge.status_code == 401
        realm = challenge.headers["WWW-Authenticate"].split('realm="')[1].split('"')[0]
        token = self.session.get(realm, params={"scope": scope}, auth=self.auth).json()["token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"

    def __getattr__(self, method: str):
        return lambda path, **kwargs: self.session.request(method.upper(), self.url(path), **kwargs)


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def test_raw_http_uploads_mount_and_an_artifact_with_a_subject(live_registry, make_user, password):
    repository = RepositoryFactory(name="raw-http", format="oci")
    writer = make_user(repository, Role.WRITE)
    http = Client(live_registry.url, writer, password)
    http.login("repository:raw-http/app:pull,push repository:raw-http/copy:pull,push")

    # Chunked: POST, two PATCHes with Content-Range, PUT closing with the last chunk.
    layer = os.urandom(300_000)
    start = http.post("/v2/raw-http/app/blobs/uploads/")
    assert start.status_code == 202
    first = http.patch(
        start.headers["Location"], data=layer[:100_000], headers={"Content-Range": "0-99999"}
    )
    assert (first.status_code, first.headers["Range"]) == (202, "0-99999")
    skipped = http.patch(
        first.headers["Location"], data=layer[:10], headers={"Content-Range": "200000-200009"}
    )
    assert skipped.status_code == 416
    second = http.patch(
        first.headers["Location"],
        data=layer[100_000:200_000],
        headers={"Content-Range": "100000-199999"},
    )
    assert second.headers["Range"] == "0-199999"
    done = http.put(
        second.headers["Location"],
        params={"digest": _digest(layer)},
        data=layer[200_000:],
        headers={"Content-Range": "200000-299999"},
    )
    assert (done.status_code, done.headers["Docker-Content-Digest"]) == (201, _digest(layer))

    # Monolithic config, then a manifest referencing both.
    config = b'{"architecture":"amd64","os":"linux"}'
    mono = http.post(
        "/v2/raw-http/app/blobs/uploads/", params={"digest": _digest(config)}, data=config
    )
    assert mono.status_code == 201
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MIME_OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _digest(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    put = http.put(
        "/v2/raw-http/app/manifests/1", data=manifest, headers={"Content-Type": MIME_OCI_MANIFEST}
    )
    assert put.status_code == 201

    # Cross-repository mount.
    mount = http.post(
        "/v2/raw-http/copy/blobs/uploads/", params={"mount": _digest(layer), "from": "raw-http/app"}
    )
    assert mount.status_code == 201
    assert http.get(f"/v2/raw-http/copy/blobs/{_digest(layer)}").content == layer

    # An artifact whose subject is the image, found through the referrers API.
    http.post("/v2/raw-http/app/blobs/uploads/", params={"digest": _digest(b"{}")}, data=b"{}")
    signature = b"signed!"
    http.post(
        "/v2/raw-http/app/blobs/uploads/", params={"digest": _digest(signature)}, data=signature
    )
    artifact = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MIME_OCI_MANIFEST,
            "artifactType": "application/vnd.example.signature",
            "config": {"mediaType": MIME_OCI_EMPTY, "digest": _digest(b"{}"), "size": 2},
            "layers": [
                {
                    "mediaType": "application/octet-stream",
                    "digest": _digest(signature),
                    "size": len(signature),
                }
            ],
            "subject": {
                "mediaType": MIME_OCI_MANIFEST,
                "digest": _digest(manifest),
                "size": len(manifest),
            },
            "annotations": {"org.example.signer": "ci"},
        }
    ).encode()
    pushed = http.put(
        f"/v2/raw-http/app/manifests/{_digest(artifact)}",
        data=artifact,
        headers={"Content-Type": MIME_OCI_MANIFEST},
    )
    assert (pushed.status_code, pushed.headers["OCI-Subject"]) == (201, _digest(manifest))
    referrers = http.get(
        f"/v2/raw-http/app/referrers/{_digest(manifest)}",
        params={"artifactType": "application/vnd.example.signature"},
    )
    assert referrers.headers["OCI-Filters-Applied"] == "artifactType"
    assert referrers.json()["manifests"] == [
        {
            "mediaType": MIME_OCI_MANIFEST,
            "digest": _digest(artifact),
            "size": len(artifact),
            "artifactType": "application/vnd.example.signature",
            "annotations": {"org.example.signer": "ci"},
        }
    ]
    assert http.get(f"/v2/raw-http/app/manifests/{_digest(artifact)}").content == artifact


@pytest.fixture
def short_runroot() -> Iterator[Path]:
    """podman refuses a runroot path longer than 50 characters; pytest's tmp_path is longer."""
    path = Path(tempfile.mkdtemp(prefix="oci-run-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_podman_login_push_and_pull(live_registry, make_user, make_token, tmp_path, short_runroot):
    repository = RepositoryFactory(name="pods", format="oci")
    writer = make_user(repository, Role.WRITE)
    secret = make_token(writer)
    layout = image_layout(tmp_path)
    podman = Podman(tmp_path / "podman", short_runroot)

    def run(*args: str) -> str:
        return podman(*args).stdout

    target = f"{live_registry.host}/pods/app:1"
    run("pull", f"oci:{layout.path}:v1")
    image_id = run("images", "--quiet").split()[0]
    run("login", "--tls-verify=false", "-u", writer.username, "-p", secret, live_registry.host)
    run("push", "--tls-verify=false", image_id, f"docker://{target}")
    run("rmi", "--all", "--force")
    run("pull", "--tls-verify=false", target)
    assert run("images", "--format", "{{.Repository}}:{{.Tag}}").split() == [
        f"{live_registry.host}/pods/app:1"
    ]
    assert list(OciManifest.objects.values_list("package__name", flat=True)) == ["app"]


def test_list_tags_follows_the_pages_of_an_image_with_many_tags(
    live_registry, make_user, password, tmp_path
):
    """More tags than one page holds (10,000 without ``n``): skopeo follows ``Link`` to the end."""
    repository = RepositoryFactory(name="ci", format="oci")
    writer = make_user(repository, Role.WRITE)
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    reference = f"docker://{live_registry.host}/ci/app"
    creds = _creds(writer, password)
    skopeo.push(f"oci:{layout.path}:v1", f"{reference}:build-00000", creds=creds)
    version = Tag.objects.get(package__name="app").version
    Tag.objects.bulk_create(
        Tag(package=version.package, name=f"build-{number:05d}", version=version)
        for number in range(1, 10_250)
    )
    expected = [f"build-{number:05d}" for number in range(10_250)]

    first = requests.get(
        f"{live_registry.url}/v2/ci/app/tags/list", auth=tuple(creds.split(":", 1)), timeout=60
    )
    assert len(first.json()["tags"]) == 10_000
    assert first.headers["Link"] == '</v2/ci/app/tags/list?n=10000&last=build-09999>; rel="next"'

    listed = skopeo("list-tags", "--tls-verify=false", "--creds", creds, reference)
    assert json.loads(listed.stdout)["Tags"] == expected
