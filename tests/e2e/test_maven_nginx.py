"""The production fast path: nginx (deploy/nginx.conf) serves Maven reads from the mirror.

A gunicorn with MIRROR_DIR set and a real nginx with the configuration we ship in front
of it; mvn and plain HTTP clients talk to nginx only.
"""

import re
import time
from collections.abc import Iterator

import pytest
import requests
from django.conf import settings

from access.models import ApiToken, Role
from access.services import role_grant, token_revoke
from formats.maven.metadata import parse_metadata
from formats.models import Asset, Repository, Version
from formats.services import repository_members_set
from tests.e2e.test_maven_mvn import _jar, _mvn, _project, _settings
from tests.factories import PASSWORD, RepositoryFactory
from tests.live import LiveServer
from tests.mirror import MirrorFront, mirror_front, tasks_sent_to
from tests.nginx import ProductionNginx

pytestmark = pytest.mark.e2e

UTIL = "com/example/util"
# nginx's own ETag ("<mtime>-<size>" in hex): the answer came from the mirror, not from Django.
NGINX_ETAG = re.compile(r'"[0-9a-f]+-[0-9a-f]+"')


@pytest.fixture(scope="module")
def _front(django_db_setup, tmp_path_factory) -> Iterator[MirrorFront]:
    with mirror_front(tmp_path_factory) as front:
        yield front


@pytest.fixture
def fast_path(_front, transactional_db) -> tuple[LiveServer, ProductionNginx]:
    """(gunicorn, nginx in front of it); data must be committed to be seen."""
    _front.fresh()
    return _front.server, _front.nginx


@pytest.fixture
def settled(_front):
    """Wait until the mirror followed every change so far (at once without a broker)."""
    return _front.settled


@pytest.fixture
def repositories(fast_path):
    return {
        "releases": RepositoryFactory(
            name="fast-releases", format="maven", config={"version_policy": "mixed"}
        ),
        "other": RepositoryFactory(name="fast-other", format="maven"),
    }


def _pom(artifact: str, version: str) -> bytes:
    return (
        "<project><modelVersion>4.0.0</modelVersion><groupId>com.example</groupId>"
        f"<artifactId>{artifact}</artifactId><version>{version}</version></project>"
    ).encode()


def _deploy(base: str, auth: tuple[str, str], artifact: str, version: str) -> None:
    stem = f"{base}com/example/{artifact}/{version}/{artifact}-{version}"
    for suffix, body in (
        (".pom", _pom(artifact, version)),
        (".jar", _jar(f"{artifact}-{version}")),
    ):
        response = requests.put(f"{stem}{suffix}", data=body, auth=auth, timeout=30)
        assert response.status_code == 201, response.text


def test_reads_through_nginx_are_the_registrys_and_deploys_show_once_mirrored(
    fast_path, repositories, make_user, settled
):
    server, nginx = fast_path
    writer = make_user(repositories["releases"], Role.WRITE)
    role_grant(repository=repositories["other"], role=Role.WRITE, user=writer)
    reader = make_user(repositories["releases"], Role.READ)
    front = f"{nginx.url}/repository/fast-releases/"
    direct = f"{server.url}/repository/fast-releases/"
    _deploy(front, (writer.username, PASSWORD), "util", "1.0")
    settled()

    for path in (
        f"{UTIL}/maven-metadata.xml",
        f"{UTIL}/maven-metadata.xml.sha1",
        f"{UTIL}/1.0/util-1.0.jar",
        f"{UTIL}/1.0/util-1.0.jar.sha1",
        f"{UTIL}/1.0/util-1.0.pom",
    ):
        via_nginx = requests.get(f"{front}{path}", auth=(reader.username, PASSWORD), timeout=30)
        registry = requests.get(f"{direct}{path}", auth=(reader.username, PASSWORD), timeout=30)
        assert (via_nginx.status_code, registry.status_code) == (200, 200), path
        assert via_nginx.content == registry.content, path
        assert via_nginx.headers["Content-Type"] == registry.headers["Content-Type"], path
        assert via_nginx.headers["Cache-Control"] == registry.headers["Cache-Control"], path
        disposition = registry.headers.get("Content-Disposition")
        assert via_nginx.headers.get("Content-Disposition") == disposition, path
        assert via_nginx.headers["Content-Security-Policy"] == "sandbox", path
        assert via_nginx.headers["X-Content-Type-Options"] == "nosniff", path
        assert NGINX_ETAG.fullmatch(via_nginx.headers["ETag"]), path

    # A deploy through nginx is in the metadata nginx serves once the refresh it sent ran (as
    # the PUT returns when there is no broker).
    _deploy(front, (writer.username, PASSWORD), "util", "1.1")
    settled()
    metadata = requests.get(
        f"{front}{UTIL}/maven-metadata.xml", auth=(reader.username, PASSWORD), timeout=30
    )
    assert parse_metadata(raw=metadata.content).versions == ("1.0", "1.1")

    # Refusals come from the registry itself, with its challenge and message.
    anonymous = requests.get(f"{front}{UTIL}/maven-metadata.xml", timeout=30)
    assert (anonymous.status_code, anonymous.text) == (401, "authentication required\n")
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="registry"'
    # The cached answer for the reader's credentials on one repository is not one for another.
    _deploy(f"{nginx.url}/repository/fast-other/", (writer.username, PASSWORD), "util", "1.0")
    settled()
    other = requests.get(
        f"{nginx.url}/repository/fast-other/{UTIL}/maven-metadata.xml",
        auth=(reader.username, PASSWORD),
        timeout=30,
    )
    # A caller who may not read it is told it does not exist, as for a missing one.
    assert (other.status_code, other.text) == (404, "repository 'fast-other' not found\n")


def test_files_nginx_sends_from_the_mirror_are_counted_from_its_log_once_each(
    fast_path, repositories, make_user, settled
):
    _, nginx = fast_path
    writer = make_user(repositories["releases"], Role.WRITE)
    reader = make_user(repositories["releases"], Role.READ)
    front = f"{nginx.url}/repository/fast-releases/"
    _deploy(front, (writer.username, PASSWORD), "util", "1.0")
    settled()
    jar, pom = f"{front}{UTIL}/1.0/util-1.0.jar", f"{front}{UTIL}/1.0/util-1.0.pom"
    auth = (reader.username, PASSWORD)

    answers = [requests.get(jar, auth=auth, timeout=30) for _ in range(3)]
    answers += [requests.get(pom, auth=auth, timeout=30)]
    answers += [requests.get(f"{jar}.sha1", auth=auth, timeout=30)]  # a checksum: not counted
    answers += [requests.head(jar, auth=auth, timeout=30)]  # no bytes: not counted
    answers += [requests.get(jar, auth=auth, headers={"Range": "bytes=4-"}, timeout=30)]  # no
    answers += [requests.get(jar, auth=auth, headers={"Range": "bytes=0-3"}, timeout=30)]  # yes

    assert [a.status_code for a in answers] == [200] * 6 + [206] * 2
    assert all(NGINX_ETAG.fullmatch(a.headers["ETag"]) for a in answers)  # nginx sent them
    files = Asset.objects.filter(repository=repositories["releases"])
    deadline = time.monotonic() + 120  # the server flushes every second; a busy machine waits
    while time.monotonic() < deadline:
        counts = dict(files.values_list("path", "download_count"))
        if counts[f"{UTIL}/1.0/util-1.0.jar"] >= 4 and counts[f"{UTIL}/1.0/util-1.0.pom"] >= 1:
            break
        time.sleep(0.2)
    counts = dict(files.values_list("path", "download_count"))
    assert counts == {f"{UTIL}/1.0/util-1.0.jar": 4, f"{UTIL}/1.0/util-1.0.pom": 1}
    version = Version.objects.get(package__repository=repositories["releases"], version="1.0")
    assert version.download_count == 5


def test_a_revoked_token_reads_no_longer_than_the_cache_ttl(
    fast_path, repositories, make_user, make_token, settled
):
    _, nginx = fast_path
    writer = make_user(repositories["releases"], Role.WRITE)
    _deploy(f"{nginx.url}/repository/fast-releases/", (writer.username, PASSWORD), "util", "1.0")
    settled()
    reader = make_user(repositories["releases"], Role.READ)
    secret = make_token(reader)
    url = f"{nginx.url}/repository/fast-releases/{UTIL}/1.0/util-1.0.pom"

    def status() -> int:
        return requests.get(url, auth=("__token__", secret), timeout=30).status_code

    assert status() == 200
    token_revoke(token=ApiToken.objects.get(user=reader))
    assert status() == 200  # the cached answer, at most AUTHORIZE_CACHE_SECONDS old
    time.sleep(settings.AUTHORIZE_CACHE_SECONDS + 1)
    assert status() == 401


def test_mvn_resolves_through_nginx_from_the_mirror(
    fast_path, repositories, make_user, tmp_path, settled
):
    server, nginx = fast_path
    writer = make_user(repositories["releases"], Role.WRITE)
    front = f"{nginx.url}/repository/fast-releases/"
    for artifact, version in (("base", "1.0"), ("util", "1.0"), ("util", "1.5"), ("util", "2.0")):
        _deploy(front, (writer.username, PASSWORD), artifact, version)
    lib = _project(tmp_path, "lib", RELEASES=front, SNAPSHOTS=front)
    deployed = _mvn(_settings(tmp_path, "producer", writer.username, PASSWORD), "deploy", cwd=lib)
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    settled()

    consumer = _project(tmp_path, "consumer", PUBLIC=front)
    log_before = len(server.log.read_text())
    compiled = _mvn(
        _settings(tmp_path, "consumer", writer.username, PASSWORD), "compile", cwd=consumer
    )

    assert compiled.returncode == 0, compiled.stdout[-3000:]
    local = tmp_path / "consumer-m2" / "com" / "example"
    resolved = sorted(path.name for path in local.rglob("*.jar"))
    snapshot = requests.get(
        f"{front}com/example/lib/1.0-SNAPSHOT/maven-metadata.xml",
        auth=(writer.username, PASSWORD),
        timeout=30,
    )
    newest = parse_metadata(raw=snapshot.content).snapshot_versions[-1].value
    assert resolved == ["base-1.0.jar", f"lib-{newest}.jar", "lib-1.0-SNAPSHOT.jar", "util-1.5.jar"]
    # The metadata and files mvn read were sent by nginx: gunicorn never saw those GETs.
    during_compile = server.log.read_text()[log_before:]
    assert re.findall(r'"(?:GET|HEAD) /repository/\S+', during_compile) == []


@pytest.fixture
def group(repositories, settings, _front, settled):
    """``fast-public``: fast-releases then fast-other, mirrored as the registry would do it."""
    settings.MIRROR_DIR = str(_front.mirror_dir)  # the refresh after the membership change
    public = RepositoryFactory(name="fast-public", format="maven", kind=Repository.Kind.GROUP)
    with tasks_sent_to(_front.queue):
        repository_members_set(
            repository=public, members=[repositories["releases"], repositories["other"]]
        )
    settled()
    return public


def test_mvn_resolves_through_nginx_from_a_group(
    fast_path, repositories, group, make_user, tmp_path, settled
):
    server, nginx = fast_path
    writer = make_user(repositories["releases"], Role.WRITE)
    role_grant(repository=repositories["other"], role=Role.WRITE, user=writer)
    role_grant(repository=group, role=Role.READ, user=writer)
    auth = (writer.username, PASSWORD)
    releases = f"{nginx.url}/repository/fast-releases/"
    for artifact, version in (("base", "1.0"), ("util", "1.0"), ("util", "1.5")):
        _deploy(releases, auth, artifact, version)
    # The newest util below 2.0 is in the second member: mvn sees the merged metadata.
    _deploy(f"{nginx.url}/repository/fast-other/", auth, "util", "1.7")
    lib = _project(tmp_path, "lib", RELEASES=releases, SNAPSHOTS=releases)
    deployed = _mvn(_settings(tmp_path, "producer", *auth), "deploy", cwd=lib)
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    settled()

    consumer = _project(tmp_path, "consumer", PUBLIC=f"{nginx.url}/repository/fast-public/")
    log_before = len(server.log.read_text())
    compiled = _mvn(_settings(tmp_path, "consumer", *auth), "compile", cwd=consumer)

    assert compiled.returncode == 0, compiled.stdout[-3000:]
    local = tmp_path / "consumer-m2" / "com" / "example"
    resolved = sorted(path.name for path in local.rglob("*.jar"))
    assert resolved[0] == "base-1.0.jar"
    assert resolved[-1] == "util-1.7.jar"
    during_compile = server.log.read_text()[log_before:]
    assert re.findall(r'"(?:GET|HEAD) /repository/\S+', during_compile) == []


def test_a_reader_of_one_member_gets_from_nginx_what_the_registry_gives_it(
    fast_path, repositories, group, make_user, settled
):
    server, nginx = fast_path
    writer = make_user(repositories["releases"], Role.WRITE)
    role_grant(repository=repositories["other"], role=Role.WRITE, user=writer)
    role_grant(repository=group, role=Role.READ, user=writer)
    partial = make_user(repositories["releases"], Role.READ)
    role_grant(repository=group, role=Role.READ, user=partial)
    _deploy(f"{nginx.url}/repository/fast-releases/", (writer.username, PASSWORD), "util", "1.0")
    _deploy(f"{nginx.url}/repository/fast-other/", (writer.username, PASSWORD), "util", "9.0")
    settled()
    front = f"{nginx.url}/repository/fast-public/"
    direct = f"{server.url}/repository/fast-public/"

    def both(path: str, user) -> tuple[requests.Response, requests.Response]:
        auth = (user.username, PASSWORD)
        return (
            requests.get(f"{front}{path}", auth=auth, timeout=30),
            requests.get(f"{direct}{path}", auth=auth, timeout=30),
        )

    # A reader of every member gets the merged view from the mirror.
    via_nginx, registry = both(f"{UTIL}/maven-metadata.xml", writer)
    assert parse_metadata(raw=via_nginx.content).versions == ("1.0", "9.0")
    assert via_nginx.content == registry.content
    assert NGINX_ETAG.fullmatch(via_nginx.headers["ETag"])
    # A reader of one member gets its own view, from the registry, through nginx too.
    for path, status in (
        (f"{UTIL}/maven-metadata.xml", 200),
        (f"{UTIL}/maven-metadata.xml.sha1", 200),
        (f"{UTIL}/1.0/util-1.0.jar", 200),
        (f"{UTIL}/9.0/util-9.0.jar", 404),
        (f"{UTIL}/9.0/util-9.0.pom.sha1", 404),
    ):
        via_nginx, registry = both(path, partial)
        assert (via_nginx.status_code, registry.status_code) == (status, status), path
        assert via_nginx.content == registry.content, path
        assert via_nginx.headers.get("ETag") == registry.headers.get("ETag"), path
    metadata = requests.get(
        f"{front}{UTIL}/maven-metadata.xml", auth=(partial.username, PASSWORD), timeout=30
    )
    assert parse_metadata(raw=metadata.content).versions == ("1.0",)
    anonymous = requests.get(f"{front}{UTIL}/maven-metadata.xml", timeout=30)
    assert (anonymous.status_code, anonymous.text) == (401, "authentication required\n")
