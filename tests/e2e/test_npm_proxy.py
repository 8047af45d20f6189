"""npm proxy and group repositories with the real npm CLI.

The upstreams are local: Verdaccio (a registry that is not ours), a second instance of this
registry (``upstream_registry``), and a tiny HTTP server written here for what no honest
registry does (tarballs that do not match their integrity, counted conditional requests).
"""

import hashlib
import json
import shutil
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from access.models import Role
from access.services import role_grant, token_create
from formats.models import Asset, Package, ProxyEntry, Repository, Version
from formats.proxy.invalidation import proxy_invalidate
from formats.services import repository_members_set
from storage.models import Blob
from tests import upstreams
from tests.e2e.test_npm_cli import Npm, _login, _project
from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.formats.npm.helpers import make_tarball, publish_body, sri
from tests.live import free_port, require_client
from tests.peers import verdaccio as peers
from tests.peers.verdaccio import Verdaccio, start_verdaccio

pytestmark = pytest.mark.e2e
# The fixtures of the upstreams, under their own names.
verdaccio = peers.verdaccio
_upstream_registry, upstream_registry = upstreams._upstream_registry, upstreams.upstream_registry


@dataclass
class Team:
    """A hosted repository, a proxy of ``upstream`` and the group of both (deploy to hosted)."""

    hosted: Repository
    proxy: Repository
    group: Repository
    registry: str  # the group's URL, as npm is configured with it
    alice: object  # writes the hosted member, reads the group
    token: str  # alice's
    npm: Npm


def _team(live_registry, tmp_path: Path, upstream_url: str, **proxy_fields) -> Team:
    hosted = RepositoryFactory(name="team", format="npm")
    proxy = RepositoryFactory(
        name="public", format="npm", kind="proxy", upstream_url=upstream_url, **proxy_fields
    )
    group = RepositoryFactory(name="all", format="npm", kind="group")
    repository_members_set(repository=group, members=[hosted, proxy])
    group.deploy_to = hosted
    group.save()
    alice = UserFactory(username="alice")
    role_grant(repository=hosted, role=Role.DELETE, user=alice)
    role_grant(repository=group, role=Role.READ, user=alice)
    registry = f"{live_registry.url}/repository/all/"
    login = _login(registry, "alice", PASSWORD)  # its token is scoped to the group
    assert login.status_code == 201, login.text
    token = login.json()["token"]
    (tmp_path / "npm").mkdir()
    npm = Npm(require_client("npm"), tmp_path / "npm", registry, token)
    return Team(hosted, proxy, group, registry, alice, token, npm)


def _app(tmp_path: Path, dependencies: dict[str, str]) -> Path:
    return _project(
        tmp_path / "app",
        {"name": "app", "version": "1.0.0", "private": True, "dependencies": dependencies},
        {},
    )


def _node(app: Path, script: str) -> str:
    done = subprocess.run(
        ["node", "-e", script], cwd=app, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _fresh_cache(team: Team) -> None:
    shutil.rmtree(team.npm.root / "cache", ignore_errors=True)


def _lib(name: str, version: str, body: str, dependencies: dict | None = None) -> dict:
    manifest = {"name": name, "version": version, "main": "index.js"}
    if dependencies:
        manifest["dependencies"] = dependencies
    return {"tarball": make_tarball(manifest, files={"index.js": body.encode()}), **manifest}


def _publish_verdaccio(server: Verdaccio, name: str, version: str, body: str, **deps) -> None:
    lib = _lib(name, version, body, dependencies=deps.get("dependencies"))
    server.publish(name, version, tarball=lib["tarball"], dependencies=deps.get("dependencies"))


# --- install and ci through a group ------------------------------------------------------------


def test_install_and_ci_through_group_of_hosted_and_verdaccio(live_registry, tmp_path, verdaccio):
    _publish_verdaccio(verdaccio, "vd-left", "1.0.0", "module.exports = 'left1';\n")
    _publish_verdaccio(verdaccio, "vd-left", "1.1.0", "module.exports = 'left';\n")
    _publish_verdaccio(
        verdaccio,
        "@vd/right",
        "2.0.0",
        "module.exports = require('vd-left') + '+right';\n",
        dependencies={"vd-left": "^1.0.0"},
    )
    team = _team(live_registry, tmp_path, verdaccio.url)
    lib = _project(
        tmp_path / "lib",
        {"name": "@team/lib", "version": "1.0.0", "dependencies": {"@vd/right": "^2.0.0"}},
        {"index.js": "module.exports = require('@vd/right') + '+team';\n"},
    )
    team.npm("publish", cwd=lib)  # through the group: lands in the hosted member
    assert Version.objects.filter(package__repository=team.hosted, version="1.0.0").exists()

    app = _app(tmp_path, {"@team/lib": "^1.0.0"})
    team.npm("install", cwd=app)
    assert _node(app, "console.log(require('@team/lib'))") == "left+right+team"
    lock = json.loads((app / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/vd-left"]["resolved"] == f"{team.registry}vd-left/-/vd-left-1.1.0.tgz"
    assert lock["node_modules/@vd/right"]["resolved"] == (
        f"{team.registry}@vd/right/-/right-2.0.0.tgz"
    )
    assert lock["node_modules/@team/lib"]["resolved"] == f"{team.registry}@team/lib/-/lib-1.0.0.tgz"
    upstream = requests.get(f"{verdaccio.url}vd-left", timeout=10).json()
    assert (
        lock["node_modules/vd-left"]["integrity"]
        == (upstream["versions"]["1.1.0"]["dist"]["integrity"])
    )

    # What the proxy cached is listed like any content, with its provenance.
    cached = Asset.objects.get(repository=team.proxy, path="vd-left/-/vd-left-1.1.0.tgz")
    assert cached.version.version == "1.1.0"
    assert cached.metadata["proxy"]["upstream_url"] == f"{verdaccio.url}vd-left/-/vd-left-1.1.0.tgz"
    assert set(Package.objects.filter(repository=team.proxy).values_list("name", flat=True)) == {
        "vd-left",
        "@vd/right",
    }
    # The upstream's publish times are kept (yarn's age gate, npm's --before).
    view = json.loads(team.npm("view", "vd-left", "--json").stdout)
    assert view["time"]["1.0.0"] == upstream["time"]["1.0.0"]
    assert view["versions"] == ["1.0.0", "1.1.0"]

    shutil.rmtree(app / "node_modules")
    _fresh_cache(team)
    team.npm("ci", cwd=app)
    assert _node(app, "console.log(require('@team/lib'))") == "left+right+team"
    assert verdaccio.fetches("vd-left/-/vd-left-1.1.0.tgz") == 1  # ci read the proxy's copy


def test_install_through_group_of_hosted_and_our_own_registry(
    live_registry, tmp_path, upstream_registry
):
    base = upstream_registry.repository("npm-up", "npm")
    login = _login(base, upstream_registry.username, upstream_registry.password)
    assert login.status_code == 201, login.text
    auth = {"Authorization": f"Bearer {login.json()['token']}"}
    lib = _lib("ours-left", "3.0.0", "module.exports = 'ours';\n")
    published = requests.put(
        f"{base}ours-left",
        data=publish_body("ours-left", "3.0.0", tarball=lib["tarball"]),
        headers={**auth, "Content-Type": "application/json"},
        timeout=30,
    )
    assert published.status_code in (201, 403), published.text  # 403: an earlier run's
    team = _team(live_registry, tmp_path, base)

    app = _app(tmp_path, {"ours-left": "^3.0.0"})
    team.npm("install", cwd=app)
    assert _node(app, "console.log(require('ours-left'))") == "ours"
    lock = json.loads((app / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/ours-left"]["resolved"] == (
        f"{team.registry}ours-left/-/ours-left-3.0.0.tgz"
    )
    shutil.rmtree(app / "node_modules")
    _fresh_cache(team)
    upstream_registry.stop()  # cached: ci needs nothing of the upstream
    team.npm("ci", cwd=app)
    assert _node(app, "console.log(require('ours-left'))") == "ours"


# --- the upstream fails -------------------------------------------------------------------------


def test_upstream_down_after_warm_up_and_cold(live_registry, tmp_path):
    own = start_verdaccio(tmp_path / "own-verdaccio")
    try:
        _publish_verdaccio(own, "warm-pkg", "1.0.0", "module.exports = 'warm';\n")
        _publish_verdaccio(own, "cold-pkg", "1.0.0", "module.exports = 'cold';\n")
        team = _team(live_registry, tmp_path, own.url, metadata_ttl=1)
        app = _app(tmp_path, {"warm-pkg": "1.0.0"})
        team.npm("install", cwd=app)
    finally:
        own.process.terminate()
        own.process.wait(timeout=20)

    time.sleep(1.2)  # past the TTL: the proxy must try the upstream, and serve its copy
    shutil.rmtree(app / "node_modules")
    (app / "package-lock.json").unlink()
    _fresh_cache(team)
    team.npm("install", cwd=app)
    assert _node(app, "console.log(require('warm-pkg'))") == "warm"

    cold = requests.get(
        f"{team.registry}cold-pkg", headers={"Authorization": f"Bearer {team.token}"}, timeout=30
    )
    assert cold.status_code == 502
    assert own.url.split("//")[1].rstrip("/") in cold.json()["error"]
    failed = team.npm("install", "cold-pkg", "--fetch-retries=0", cwd=app, check=False)
    assert failed.returncode != 0
    assert "502" in failed.stderr


class FakeUpstream(BaseHTTPRequestHandler):
    """Serves packuments and tarballs from ``files``; ETag/304 on packuments; counts requests."""

    server: "FakeServer"

    def do_GET(self) -> None:
        self.server.requests[self.path] += 1
        self.server.conditional[self.path] += bool(self.headers.get("If-None-Match"))
        body = self.server.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class FakeServer(ThreadingHTTPServer):
    files: dict[str, bytes] = field(default_factory=dict)
    requests: Counter = field(default_factory=Counter)
    conditional: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), FakeUpstream)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def package(self, name: str, versions: dict[str, tuple[bytes, bytes]]) -> None:
        """Serve ``name`` with ``{version: (declared bytes, served bytes)}``."""
        document: dict = {"name": name, "dist-tags": {}, "versions": {}, "time": {}}
        for number, (declared, served) in versions.items():
            path = f"/{name}/-/{name}-{number}.tgz"
            self.files[path] = served
            document["versions"][number] = {
                "name": name,
                "version": number,
                "dist": {
                    "tarball": f"{self.url.rstrip('/')}{path}",
                    "integrity": sri(declared),
                    "shasum": hashlib.sha1(declared).hexdigest(),
                },
            }
            document["time"][number] = "2024-01-02T03:04:05.000Z"
            document["dist-tags"]["latest"] = number
        self.files[f"/{name}"] = json.dumps(document).encode()


@pytest.fixture
def fake_upstream():
    server = FakeServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_tampered_tarball_is_refused_and_nothing_stored(live_registry, tmp_path, fake_upstream):
    good = make_tarball({"name": "tampered", "version": "1.0.0"})
    evil = make_tarball({"name": "tampered", "version": "1.0.0", "scripts": {"x": "evil"}})
    fake_upstream.package("tampered", {"1.0.0": (good, evil)})
    team = _team(live_registry, tmp_path, fake_upstream.url)
    headers = {"Authorization": f"Bearer {team.token}"}

    answer = requests.get(f"{team.registry}tampered/-/tampered-1.0.0.tgz", headers=headers)
    assert answer.status_code == 502
    assert "does not match the digest it declared" in answer.json()["error"]
    assert not Asset.objects.filter(repository=team.proxy).exists()
    assert not Version.objects.filter(package__repository=team.proxy).exists()
    assert not Blob.objects.filter(sha256=hashlib.sha256(evil).hexdigest()).exists()

    app = _app(tmp_path, {"tampered": "1.0.0"})
    failed = team.npm("install", "--fetch-retries=0", cwd=app, check=False)
    assert failed.returncode != 0
    assert "502" in failed.stderr
    assert not (app / "node_modules" / "tampered").exists()
    assert not Asset.objects.filter(repository=team.proxy).exists()


def test_metadata_revalidated_after_ttl_with_304(live_registry, tmp_path, fake_upstream):
    data = make_tarball({"name": "fresh", "version": "1.0.0"})
    fake_upstream.package("fresh", {"1.0.0": (data, data)})
    team = _team(live_registry, tmp_path, fake_upstream.url, metadata_ttl=1)
    headers = {"Authorization": f"Bearer {team.token}"}

    def versions() -> list[str]:
        answer = requests.get(f"{team.registry}fresh", headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return sorted(answer.json()["versions"])

    assert versions() == ["1.0.0"]
    assert versions() == ["1.0.0"]  # fresh: the upstream is not asked
    assert (fake_upstream.requests["/fresh"], fake_upstream.conditional["/fresh"]) == (1, 0)
    checked = ProxyEntry.objects.get(repository=team.proxy, key="packument:fresh").checked
    time.sleep(1.2)
    assert versions() == ["1.0.0"]
    assert (fake_upstream.requests["/fresh"], fake_upstream.conditional["/fresh"]) == (2, 1)
    assert ProxyEntry.objects.get(repository=team.proxy, key="packument:fresh").checked > checked

    newer = make_tarball({"name": "fresh", "version": "1.1.0"})
    fake_upstream.package("fresh", {"1.0.0": (data, data), "1.1.0": (newer, newer)})
    time.sleep(1.2)
    assert versions() == ["1.0.0", "1.1.0"]  # a changed upstream answers 200: the new body

    asked = fake_upstream.requests["/fresh"]
    assert proxy_invalidate(repository=team.proxy, package="fresh") == 1
    assert versions() == ["1.0.0", "1.1.0"]
    assert fake_upstream.requests["/fresh"] == asked + 1  # invalidated: asked again at once


def test_a_package_missing_upstream_is_remembered_for_the_negative_ttl(
    live_registry, tmp_path, fake_upstream
):
    team = _team(live_registry, tmp_path, fake_upstream.url, negative_ttl=60)
    headers = {"Authorization": f"Bearer {team.token}"}
    for _ in range(3):
        missing = requests.get(f"{team.registry}no-such-pkg", headers=headers, timeout=30)
        assert missing.status_code == 404
        assert "error" in missing.json()
    assert fake_upstream.requests["/no-such-pkg"] == 1


# --- the group's rules --------------------------------------------------------------------------


def test_dependency_confusion_upstream_never_shadows_a_hosted_name(
    live_registry, tmp_path, verdaccio
):
    _publish_verdaccio(verdaccio, "corp-utils", "9.9.9", "module.exports = 'attacker';\n")
    team = _team(live_registry, tmp_path, verdaccio.url)
    lib = _project(
        tmp_path / "corp",
        {"name": "corp-utils", "version": "1.0.0", "main": "index.js"},
        {"index.js": "module.exports = 'ours';\n"},
    )
    # The name is not ours yet, so npm sees the upstream's 9.9.9 and wants a tag said.
    team.npm("publish", "--tag", "latest", cwd=lib)
    asked = verdaccio.fetches("corp-utils")

    app = _app(tmp_path, {"corp-utils": "*"})
    team.npm("install", cwd=app)
    assert _node(app, "console.log(require('corp-utils'))") == "ours"
    headers = {"Authorization": f"Bearer {team.token}"}
    packument = requests.get(f"{team.registry}corp-utils", headers=headers, timeout=30).json()
    assert sorted(packument["versions"]) == ["1.0.0"]
    evil = requests.get(f"{team.registry}corp-utils/-/corp-utils-9.9.9.tgz", headers=headers)
    assert evil.status_code == 404
    assert verdaccio.fetches("corp-utils") == asked  # the name is ours: no upstream asked


def test_twenty_concurrent_cold_tarball_requests_fetch_once(live_registry, tmp_path, verdaccio):
    payload = {"blob.bin": bytes(range(256)) * 8192}  # 2 MiB, random enough not to shrink
    manifest = {"name": "many-at-once", "version": "1.0.0"}
    data = make_tarball(manifest, files=payload)
    verdaccio.publish("many-at-once", "1.0.0", tarball=data)
    team = _team(live_registry, tmp_path, verdaccio.url)
    url = f"{team.registry}many-at-once/-/many-at-once-1.0.0.tgz"
    headers = {"Authorization": f"Bearer {team.token}"}
    requests.get(f"{team.registry}many-at-once", headers=headers, timeout=30).raise_for_status()

    def fetch(_: int) -> bytes:
        answer = requests.get(url, headers=headers, timeout=120)
        assert answer.status_code == 200, answer.text
        return answer.content

    with ThreadPoolExecutor(max_workers=20) as pool:
        bodies = list(pool.map(fetch, range(20)))
    assert all(body == data for body in bodies)
    assert verdaccio.fetches("many-at-once/-/many-at-once-1.0.0.tgz") == 1


def test_writes_proxy_405_group_without_target_405_group_with_target_lands(
    live_registry, tmp_path, verdaccio
):
    team = _team(live_registry, tmp_path, verdaccio.url)
    bare = RepositoryFactory(name="bare", format="npm", kind="group")
    repository_members_set(repository=bare, members=[team.hosted, team.proxy])
    role_grant(repository=bare, role=Role.READ, user=team.alice)
    role_grant(repository=team.proxy, role=Role.READ, user=team.alice)
    unscoped = token_create(user=team.alice, name="everywhere").secret
    headers = {"Authorization": f"Bearer {unscoped}", "Content-Type": "application/json"}
    body = publish_body("write-me", "1.0.0")
    for name in ("public", "bare"):
        url = f"{live_registry.url}/repository/{name}/write-me"
        refused = requests.put(url, data=body, headers=headers, timeout=30)
        assert refused.status_code == 405, refused.text
        assert repr(name) in refused.json()["error"]
        tag = requests.put(
            f"{live_registry.url}/repository/{name}/-/package/write-me/dist-tags/beta",
            data=b'"1.0.0"',
            headers=headers,
            timeout=30,
        )
        assert tag.status_code == 405

    lib = _project(tmp_path / "w", {"name": "write-me", "version": "1.0.0"}, {"i.js": "1"})
    team.npm("publish", cwd=lib)
    team.npm("dist-tag", "add", "write-me@1.0.0", "stable")
    tags = dict(
        Package.objects.get(repository=team.hosted, name="write-me").tags.values_list(
            "name", "version__version"
        )
    )
    assert tags == {"latest": "1.0.0", "stable": "1.0.0"}
    (tmp_path / "bare-npm").mkdir()
    npm_bare = Npm(
        team.npm.binary, tmp_path / "bare-npm", f"{live_registry.url}/repository/bare/", unscoped
    )
    lib2 = _project(tmp_path / "w2", {"name": "write-me", "version": "2.0.0"}, {"i.js": "1"})
    failed = npm_bare("publish", cwd=lib2, check=False)
    assert failed.returncode != 0
    assert "405" in failed.stderr
    assert "deploy target" in failed.stderr


def test_group_readers_see_only_members_they_may_read(live_registry, tmp_path, verdaccio):
    _publish_verdaccio(verdaccio, "open-lib", "1.0.0", "module.exports = 1;\n")
    team = _team(live_registry, tmp_path, verdaccio.url)
    private = _project(tmp_path / "p", {"name": "private-lib", "version": "1.0.0"}, {"i.js": "1"})
    team.npm("publish", cwd=private)
    bob = UserFactory(username="bob")
    role_grant(repository=team.group, role=Role.READ, user=bob)  # not on the hosted member
    bob_headers = {"Authorization": f"Bearer {token_create(user=bob, name='b').secret}"}

    hidden = requests.get(f"{team.registry}private-lib", headers=bob_headers, timeout=30)
    assert hidden.status_code == 404
    hidden = requests.get(
        f"{team.registry}private-lib/-/private-lib-1.0.0.tgz", headers=bob_headers, timeout=30
    )
    assert hidden.status_code == 404
    assert requests.get(f"{team.registry}open-lib", headers=bob_headers).status_code == 200
    anonymous = requests.get(f"{team.registry}open-lib", timeout=30)
    assert anonymous.status_code == 401
    # The guard counts hosted members bob cannot read: their names stay off the upstream.
    alice_sees = requests.get(
        f"{team.registry}private-lib", headers={"Authorization": f"Bearer {team.token}"}
    )
    assert alice_sees.status_code == 200
    search = requests.get(
        f"{team.registry}-/v1/search?text=lib", headers=bob_headers, timeout=30
    ).json()
    assert "private-lib" not in [hit["package"]["name"] for hit in search["objects"]]
