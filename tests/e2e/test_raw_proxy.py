"""Raw proxy and group repositories driven by curl, with nginx and a second registry upstream."""

import hashlib
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from access.models import Role
from formats.models import Asset, ProxyEntry, Repository
from formats.services import repository_create, repository_members_set
from storage.backends import blob_backend
from storage.fsck import blob_fsck
from storage.models import Blob
from tests.live import require_client
from tests.nginx import StaticNginx

pytestmark = pytest.mark.e2e


def _curl(*args: str) -> subprocess.CompletedProcess:
    curl = require_client("curl")
    return subprocess.run(
        [curl, "--silent", "--show-error", "--write-out", "\n%{http_code}", *args],
        capture_output=True,
        check=False,
        timeout=60,
    )


def _body_and_status(done: subprocess.CompletedProcess) -> tuple[bytes, str]:
    body, _, status = done.stdout.rpartition(b"\n")
    return body, status.decode()


@pytest.fixture
def static_upstream(tmp_path):
    files = tmp_path / "served"
    (files / "tools").mkdir(parents=True)
    with StaticNginx(tmp_path / "nginx", serve=files) as nginx:
        nginx.files = files
        yield nginx


def _gets(nginx: StaticNginx, path: str) -> int:
    log = "\n".join(nginx.access_lines())
    return sum(1 for line in log.splitlines() if f"GET /{path} " in line)


@pytest.fixture
def raw_group(live_registry, static_upstream, upstream_registry):
    upstream_base = upstream_registry.repository("upstream-raw", "raw")
    local = repository_create(name="raw-local", format="raw")
    nginx_proxy = repository_create(
        name="raw-nginx",
        format="raw",
        kind="proxy",
        upstream_url=f"{static_upstream.url}/",
        metadata_ttl=3600,
    )
    registry_proxy = repository_create(
        name="raw-upstream", format="raw", kind="proxy", upstream_url=upstream_base
    )
    group = repository_create(
        name="raw-all",
        format="raw",
        kind="group",
        anonymous_read=True,
        members=[local, nginx_proxy, registry_proxy],
        deploy_to=local,
    )
    return group


def test_a_group_serves_hosted_nginx_and_registry_files_and_caches_them(
    live_registry, raw_group, static_upstream, upstream_registry, tmp_path
):
    content = os.urandom(200_000)
    (static_upstream.files / "tools" / "a.bin").write_bytes(content)
    put = requests_put(upstream_registry, "upstream-raw", "deep/b.txt", b"from the other registry")
    assert put in (200, 201)
    base = f"{live_registry.url}/repository/raw-all"

    first = _curl(f"{base}/tools/a.bin")
    again = _curl(f"{base}/tools/a.bin")
    other = _curl(f"{base}/deep/b.txt")

    assert _body_and_status(first) == (content, "200")
    assert _body_and_status(again) == (content, "200")
    assert _body_and_status(other) == (b"from the other registry", "200")
    assert _gets(static_upstream, "tools/a.bin") == 1
    cached = Asset.objects.get(repository__name="raw-nginx", path="tools/a.bin")
    assert cached.blob_id == hashlib.sha256(content).hexdigest()
    assert cached.metadata["proxy"]["upstream_url"] == f"{static_upstream.url}/tools/a.bin"
    assert cached.metadata["proxy"]["etag"]
    assert _body_and_status(_curl(f"{base}/tools/none.bin"))[1] == "404"


def requests_put(upstream, repository: str, path: str, body: bytes) -> int:
    """PUT ``body`` to the upstream registry as its admin; return the status."""
    done = subprocess.run(
        [require_client("curl"), "-s", "-o", "/dev/null", "-w", "%{http_code}"]
        + ["-u", f"{upstream.username}:{upstream.password}", "-X", "PUT", "--data-binary", "@-"]
        + [f"{upstream.url}/repository/{repository}/{path}"],
        input=body,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout)


def test_upstream_down_after_warm_up_serves_the_cache_and_cold_answers_502(
    live_registry, raw_group, upstream_registry
):
    requests_put(upstream_registry, "upstream-raw", "warm.txt", b"warm")
    Repository.objects.filter(name="raw-upstream").update(metadata_ttl=0)
    base = f"{live_registry.url}/repository/raw-all"
    assert _body_and_status(_curl(f"{base}/warm.txt")) == (b"warm", "200")

    upstream_registry.stop()
    try:
        stale = _curl(f"{base}/warm.txt")
        cold = _curl(f"{base}/cold.txt")
    finally:
        upstream_registry.start()

    assert _body_and_status(stale) == (b"warm", "200")
    body, status = _body_and_status(cold)
    assert status == "502"
    assert b"unreachable" in body
    assert upstream_registry.host.encode() in body
    assert "serving stale warm.txt of raw-upstream" in live_registry.log.read_text()


def test_twenty_concurrent_cold_requests_fetch_once(live_registry, raw_group, static_upstream):
    content = os.urandom(3 * 1024 * 1024)
    (static_upstream.files / "tools" / "big.bin").write_bytes(content)
    url = f"{live_registry.url}/repository/raw-all/tools/big.bin"

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: _curl(url), range(20)))

    assert all(_body_and_status(answer) == (content, "200") for answer in answers)
    assert _gets(static_upstream, "tools/big.bin") == 1


def test_after_the_ttl_a_file_is_revalidated_304_or_replaced(
    live_registry, raw_group, static_upstream
):
    path = static_upstream.files / "tools" / "moving.txt"
    path.write_bytes(b"one")
    Repository.objects.filter(name="raw-nginx").update(metadata_ttl=0)
    url = f"{live_registry.url}/repository/raw-all/tools/moving.txt"

    assert _body_and_status(_curl(url)) == (b"one", "200")
    assert _body_and_status(_curl(url)) == (b"one", "200")  # revalidated: 304 upstream
    path.write_bytes(b"two, longer")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert _body_and_status(_curl(url)) == (b"two, longer", "200")

    log = static_upstream.access_lines()
    statuses = [line.split('" ')[1].split()[0] for line in log if "moving.txt" in line]
    assert statuses == ["200", "304", "200"]


def test_upstream_404s_are_remembered_for_the_negative_ttl(
    live_registry, raw_group, static_upstream
):
    url = f"{live_registry.url}/repository/raw-all/tools/missing.txt"

    assert _body_and_status(_curl(url))[1] == "404"
    assert _body_and_status(_curl(url))[1] == "404"

    assert _gets(static_upstream, "tools/missing.txt") == 1
    entry = ProxyEntry.objects.get(repository__name="raw-nginx", key="file:tools/missing.txt")
    assert entry.status == 404


def test_writes_to_the_group_land_in_its_deploy_target_and_proxies_refuse_them(
    live_registry, raw_group, make_user, make_token
):
    writer = make_user(Repository.objects.get(name="raw-local"), Role.WRITE)
    credentials = f"{writer.username}:{make_token(writer)}"
    base = live_registry.url + "/repository"

    put = _curl("-u", credentials, "-X", "PUT", "--data-binary", "mine", f"{base}/raw-all/my.txt")
    to_proxy = _curl("-u", credentials, "-X", "PUT", "--data-binary", "x", f"{base}/raw-nginx/x")

    assert _body_and_status(put)[1] == "201"
    assert Asset.objects.get(path="my.txt").repository.name == "raw-local"
    assert _body_and_status(_curl("-u", credentials, f"{base}/raw-all/my.txt")) == (b"mine", "200")
    # Anonymous readers of the group do not see the private hosted member's files.
    assert _body_and_status(_curl(f"{base}/raw-all/my.txt"))[1] == "404"
    body, status = _body_and_status(to_proxy)
    assert status in ("401", "404")  # the proxy is private: the writer cannot even see it
    Repository.objects.filter(name="raw-nginx").update(anonymous_read=True)
    body, status = _body_and_status(
        _curl("-u", credentials, "-X", "PUT", "--data-binary", "x", f"{base}/raw-nginx/x")
    )
    assert status == "405"
    assert b"proxy" in body


def test_a_reader_of_the_group_sees_only_hosted_members_it_may_read(
    live_registry, raw_group, static_upstream, make_user, make_token
):
    secret = repository_create(name="raw-secret", format="raw")
    Repository.objects.filter(name="raw-all").update(anonymous_read=False)
    group = Repository.objects.get(name="raw-all")
    members = [Repository.objects.get(name=n) for n in ("raw-local", "raw-nginx")]
    repository_members_set(repository=group, members=[secret, *members])
    (static_upstream.files / "doc.txt").write_bytes(b"public")
    reader = make_user(group, Role.READ)
    credentials = f"{reader.username}:{make_token(reader)}"
    admin = make_user(is_superuser=True)
    admin_credentials = f"{admin.username}:{make_token(admin)}"
    hidden_url = f"{live_registry.url}/repository/raw-secret/doc.txt"
    put = _curl("-u", admin_credentials, "-X", "PUT", "--data-binary", "hidden", hidden_url)
    assert _body_and_status(put)[1] == "201"

    as_reader = _curl("-u", credentials, f"{live_registry.url}/repository/raw-all/doc.txt")
    as_admin = _curl("-u", admin_credentials, f"{live_registry.url}/repository/raw-all/doc.txt")

    assert _body_and_status(as_reader) == (b"public", "200")  # the proxy member, for any reader
    assert _body_and_status(as_admin) == (b"hidden", "200")  # the first member, for its readers


def test_a_cached_file_fsck_found_corrupt_is_fetched_again_from_the_upstream(
    live_registry, raw_group, static_upstream
):
    content = os.urandom(100_000)
    (static_upstream.files / "tools" / "rot.bin").write_bytes(content)
    url = f"{live_registry.url}/repository/raw-all/tools/rot.bin"
    assert _body_and_status(_curl(url)) == (content, "200")
    blob = Asset.objects.get(repository__name="raw-nginx", path="tools/rot.bin").blob
    stored = blob_backend().local_path(blob.path)
    assert stored is not None
    stored.write_bytes(os.urandom(100_000))  # the disk rots
    assert blob_fsck(sample=100).corrupt == [blob.sha256]

    again = _curl(url)

    assert _body_and_status(again) == (content, "200")  # not an error, not the rotten bytes
    assert _gets(static_upstream, "tools/rot.bin") == 2
    assert Blob.objects.get(pk=blob.pk).corrupt is None
    assert stored.read_bytes() == content
