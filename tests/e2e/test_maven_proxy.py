"""Maven proxies and groups driven by the real mvn 3.8 against a live server.

One group URL: the team's hosted repository, a proxy of nginx serving a plain Maven tree (not
ours), and a proxy of a second instance of this registry. Maven Central stays the pre-seeded
``~/.m2/repository`` (tests/e2e/test_maven_mvn.py), for the plugins only.
"""

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from access.models import Role
from access.services import role_grant
from formats.models import Asset, Repository
from formats.services import repository_create, repository_members_set
from tests.e2e.test_maven_mvn import (
    PROJECTS,
    _deploy_file,
    _fill,
    _ivy_retrieve,
    _mvn,
    _settings,
)
from tests.e2e.test_maven_nginx import (  # noqa: F401 (fixtures: gunicorn with a mirror, nginx)
    NGINX_ETAG,
    _front,
    fast_path,
    settled,
)
from tests.factories import PASSWORD
from tests.formats.maven.static_tree import jar, pom_xml, write_metadata, write_release
from tests.mirror import tasks_sent_to
from tests.nginx import StaticNginx

pytestmark = pytest.mark.e2e

PUB = "org/nginx/pub/1.0/pub-1.0.jar"
HELPER = "org/nginx/helper"


def _dependency(group_id: str, artifact_id: str, version: str) -> str:
    return (
        f"<dependency><groupId>{group_id}</groupId><artifactId>{artifact_id}</artifactId>"
        f"<version>{version}</version></dependency>"
    )


def _consumer(parent: Path, url: str, *dependencies: str) -> Path:
    target = parent / "proxy-consumer"
    shutil.copytree(PROJECTS / "proxy-consumer", target)
    _fill(
        PROJECTS / "proxy-consumer" / "pom.xml",
        target / "pom.xml",
        PUBLIC=url,
        DEPENDENCIES="\n".join(dependencies),
    )
    return target


def _nginx_gets(nginx: StaticNginx, path: str) -> list[str]:
    """The statuses nginx answered requests for ``path`` with, in order."""
    lines = nginx.access_lines()
    return [line.split('" ')[1].split()[0] for line in lines if f" /{path} HTTP" in line]


@pytest.fixture
def static_upstream(tmp_path):
    """nginx serving pub 1.0 (needing helper [1.0,2.0)) and helper 1.0, 1.2, 2.0."""
    files = tmp_path / "served"
    helper = _dependency("org.nginx", "helper", "[1.0,2.0)")
    write_release(files, "org.nginx", "pub", "1.0", dependencies=helper)
    for version in ("1.0", "1.2", "2.0"):
        write_release(files, "org.nginx", "helper", version)
    write_metadata(files, "org.nginx", "helper", ["1.0", "1.2", "2.0"], stamp="20261101000000")
    with StaticNginx(tmp_path / "nginx", serve=files) as nginx:
        nginx.files = files
        yield nginx


def _upstream_put(upstream, base: str, path: str, body: bytes) -> None:
    auth = (upstream.username, upstream.password)
    response = requests.put(f"{base}{path}", data=body, auth=auth, timeout=30)
    assert response.status_code in (200, 201, 409), response.reason  # 409: an earlier test's


@pytest.fixture
def registry_upstream(upstream_registry):
    """The second registry: org.upstream:other 1.0, and com.example:private 2.0 (confusion)."""
    base = upstream_registry.repository("upstream-maven", "maven")
    for group_id, artifact_id, version in (
        ("org.upstream", "other", "1.0"),
        ("com.example", "private", "2.0"),
    ):
        stem = f"{group_id.replace('.', '/')}/{artifact_id}/{version}/{artifact_id}-{version}"
        _upstream_put(
            upstream_registry, base, f"{stem}.pom", pom_xml(group_id, artifact_id, version)
        )
        _upstream_put(upstream_registry, base, f"{stem}.jar", jar(f"{artifact_id} {version}"))
    return base


@pytest.fixture
def team_group(live_registry, static_upstream, registry_upstream, make_user):
    team = repository_create(name="team", format="maven", config={"version_policy": "mixed"})
    nginx_proxy = repository_create(
        name="nginx-central",
        format="maven",
        kind="proxy",
        upstream_url=f"{static_upstream.url}/",
    )
    registry_proxy = repository_create(
        name="upstream-central", format="maven", kind="proxy", upstream_url=registry_upstream
    )
    group = repository_create(
        name="team-all",
        format="maven",
        kind="group",
        members=[team, nginx_proxy, registry_proxy],
        deploy_to=team,
    )
    developer = make_user(group, Role.READ)
    role_grant(repository=team, role=Role.WRITE, user=developer)
    return {
        "group": group,
        "team": team,
        "url": f"{live_registry.url}/repository/team-all/",
        "developer": developer,
    }


def _deploy_private(tmp_path: Path, settings: Path, url: str) -> None:
    artifact = tmp_path / "private-1.0.jar"
    artifact.write_bytes(jar("ours"))
    coordinates = ("-DgroupId=com.example", "-DartifactId=private", "-Dversion=1.0")
    deployed = _deploy_file(
        settings, url, artifact, *coordinates, "-DgeneratePom=true", cwd=tmp_path
    )
    assert deployed.returncode == 0, deployed.stdout[-3000:]


DEPENDENCIES = (
    _dependency("com.example", "private", "[1.0,)"),  # the upstream's 2.0 must not win
    _dependency("org.nginx", "pub", "1.0"),
    _dependency("org.upstream", "other", "1.0"),
)


def _resolved(local: Path) -> dict[str, bool]:
    return {
        "private 1.0": (local / "com/example/private/1.0/private-1.0.jar").is_file(),
        "private 2.0": (local / "com/example/private/2.0").exists(),
        "pub 1.0": (local / PUB).is_file(),
        "helper 1.2": (local / HELPER / "1.2/helper-1.2.jar").is_file(),
        "helper 2.0": (local / HELPER / "2.0").exists(),
        "other 1.0": (local / "org/upstream/other/1.0/other-1.0.jar").is_file(),
    }


RESOLVED = {
    "private 1.0": True,
    "private 2.0": False,
    "pub 1.0": True,
    "helper 1.2": True,
    "helper 2.0": False,
    "other 1.0": True,
}


def test_mvn_deploys_through_the_group_and_resolves_everything_from_its_url_even_upstreams_down(
    live_registry, team_group, static_upstream, upstream_registry, tmp_path
):
    developer = team_group["developer"]
    settings = _settings(tmp_path, "developer", developer.username, PASSWORD)
    _deploy_private(tmp_path, settings, team_group["url"])
    assert (
        Asset.objects.get(path="com/example/private/1.0/private-1.0.jar").repository
        == (team_group["team"])
    )

    consumer = _consumer(tmp_path / "warm", team_group["url"], *DEPENDENCIES)
    compiled = _mvn(settings, "compile", cwd=consumer)

    assert compiled.returncode == 0, compiled.stdout[-3000:]
    assert _resolved(tmp_path / "developer-m2") == RESOLVED
    assert _nginx_gets(static_upstream, PUB) == ["200"]
    cached = Asset.objects.get(repository__name="nginx-central", path=PUB)
    served = (tmp_path / "developer-m2" / PUB).read_bytes()
    assert cached.blob_id == hashlib.sha256(served).hexdigest()
    assert cached.version.package.name == "org.nginx:pub"
    assert Asset.objects.filter(repository__name="upstream-central").exists()
    assert not [line for line in static_upstream.access_lines() if "com/example/private" in line]

    # Both upstreams go down and every metadata TTL runs out: a fresh build still resolves.
    static_upstream.stop()
    upstream_registry.stop()
    Repository.objects.filter(kind=Repository.Kind.PROXY).update(metadata_ttl=0)
    fresh = _settings(tmp_path, "fresh", developer.username, PASSWORD)
    again = _mvn(
        fresh, "compile", cwd=_consumer(tmp_path / "down", team_group["url"], *DEPENDENCIES)
    )
    cold = _mvn(
        fresh,
        "compile",
        cwd=_consumer(
            tmp_path / "cold", team_group["url"], _dependency("org.nginx", "cold", "1.0")
        ),
    )

    assert again.returncode == 0, again.stdout[-3000:]
    assert _resolved(tmp_path / "fresh-m2") == RESOLVED
    assert "serving stale org/nginx/helper/maven-metadata.xml" in live_registry.log.read_text()
    assert cold.returncode == 1
    refused = f"status: 502 upstream 127.0.0.1:{static_upstream.port} is unreachable"
    assert refused in cold.stdout, cold.stdout[-3000:]


def test_a_group_without_deploy_target_and_a_proxy_refuse_mvn_deploy(
    live_registry, team_group, tmp_path
):
    Repository.objects.filter(name="team-all").update(deploy_to=None)
    developer = team_group["developer"]
    role_grant(
        repository=Repository.objects.get(name="nginx-central"), role=Role.WRITE, user=developer
    )
    settings = _settings(tmp_path, "developer", developer.username, PASSWORD)
    artifact = tmp_path / "x.jar"
    artifact.write_bytes(jar("x"))
    coordinates = ("-DgroupId=com.example", "-DartifactId=x", "-Dversion=1.0", "-DgeneratePom=true")

    to_group = _deploy_file(settings, team_group["url"], artifact, *coordinates, cwd=tmp_path)
    to_proxy = _deploy_file(
        settings,
        f"{live_registry.url}/repository/nginx-central/",
        artifact,
        *coordinates,
        cwd=tmp_path,
    )

    assert to_group.returncode == 1
    assert "status: 405 'team-all' is a group without a deploy target" in to_group.stdout, (
        to_group.stdout[-2000:]
    )
    assert to_proxy.returncode == 1
    assert "status: 405 'nginx-central' is a proxy: it is read-only" in to_proxy.stdout
    assert not Asset.objects.filter(path__startswith="com/example/x/").exists()


def test_twenty_concurrent_cold_requests_cause_one_upstream_fetch(
    live_registry, team_group, static_upstream
):
    content = (static_upstream.files / PUB).read_bytes()
    developer = team_group["developer"]
    url = f"{team_group['url']}{PUB}"

    def fetch(_: int) -> tuple[int, bytes]:
        response = requests.get(url, auth=(developer.username, PASSWORD), timeout=60)
        return response.status_code, response.content

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(fetch, range(20)))

    assert answers == [(200, content)] * 20
    assert _nginx_gets(static_upstream, PUB) == ["200"]
    assert _nginx_gets(static_upstream, f"{PUB}.sha1") == ["200"]  # what it was verified with


def test_metadata_is_revalidated_with_a_304_after_its_ttl(
    live_registry, team_group, static_upstream, tmp_path
):
    Repository.objects.filter(name="nginx-central").update(metadata_ttl=0)
    developer = team_group["developer"]
    settings = _settings(tmp_path, "developer", developer.username, PASSWORD)
    helper = _dependency("org.nginx", "helper", "[1.0,2.0)")

    for run in ("first", "second"):
        built = _mvn(
            settings, "-U", "compile", cwd=_consumer(tmp_path / run, team_group["url"], helper)
        )
        assert built.returncode == 0, built.stdout[-3000:]

    assert _nginx_gets(static_upstream, f"{HELPER}/maven-metadata.xml")[:2] == ["200", "304"]
    assert _nginx_gets(static_upstream, f"{HELPER}/1.2/helper-1.2.jar") == ["200"]


def test_ivy_resolves_through_the_group(live_registry, team_group, static_upstream, tmp_path):
    developer = team_group["developer"]
    ivy, ivy_lib = _ivy_retrieve(
        tmp_path,
        url=team_group["url"],
        username=developer.username,
        password=PASSWORD,
        dependency=["org.nginx", "pub", "1.0"],
    )

    assert ivy.returncode == 0, ivy.stdout[-3000:]
    assert sorted(p.name for p in ivy_lib.iterdir()) == [
        "helper-1.2.jar",
        "pub-1.0.jar",
    ]
    assert _nginx_gets(static_upstream, PUB) == ["200"]  # its HEAD fetched it, the GET reused it


def test_mvn_is_refused_a_jar_whose_upstream_sha1_disagrees_and_nothing_is_stored(
    live_registry, team_group, static_upstream, tmp_path
):
    write_release(static_upstream.files, "org.nginx", "tampered", "1.0")
    tampered = static_upstream.files / "org/nginx/tampered/1.0/tampered-1.0.jar"
    tampered.write_bytes(jar("not what was published"))  # its .sha1 names the original
    developer = team_group["developer"]
    settings = _settings(tmp_path, "developer", developer.username, PASSWORD)
    consumer = _consumer(tmp_path, team_group["url"], _dependency("org.nginx", "tampered", "1.0"))

    built = _mvn(settings, "compile", cwd=consumer)

    assert built.returncode == 1
    assert (
        "status: 502 the upstream's org/nginx/tampered/1.0/tampered-1.0.jar does not match"
        in built.stdout
    ), built.stdout[-3000:]
    assert not (tmp_path / "developer-m2/org/nginx/tampered/1.0/tampered-1.0.jar").exists()
    stored = Asset.objects.filter(path__startswith="org/nginx/tampered/")
    assert list(stored.values_list("path", flat=True)) == [
        "org/nginx/tampered/1.0/tampered-1.0.pom"
    ]


@pytest.fixture
def mirror(settings, _front):  # noqa: F811
    """(the mirror folder, its worker's queue); this process's changes refresh that mirror."""
    settings.MIRROR_DIR = str(_front.mirror_dir)
    return _front.mirror_dir, _front.queue


def test_behind_the_production_nginx_a_group_with_a_proxy_member_is_served_by_the_registry(
    fast_path,  # noqa: F811 (the fixture imported above)
    static_upstream,
    make_user,
    mirror,
    settled,  # noqa: F811
):
    """Its mirror tree goes when a proxy joins (nginx would serve a stale or partial view)."""
    _, nginx = fast_path
    mirror_dir, queue = mirror
    team = repository_create(name="fast-team", format="maven")
    proxy = repository_create(
        name="fast-central", format="maven", kind="proxy", upstream_url=f"{static_upstream.url}/"
    )
    with tasks_sent_to(queue):
        group = repository_create(name="fast-all", format="maven", kind="group", members=[team])
    reader = make_user(group, Role.READ)
    role_grant(repository=team, role=Role.WRITE, user=reader)
    auth = (reader.username, PASSWORD)
    front = f"{nginx.url}/repository/fast-all/"
    ours = "com/example/ours/1.0/ours-1.0.jar"
    put = requests.put(f"{nginx.url}/repository/fast-team/{ours}", data=jar("o"), auth=auth)
    assert put.status_code == 201
    settled()
    assert NGINX_ETAG.fullmatch(
        requests.get(f"{front}{ours}", auth=auth, timeout=30).headers["ETag"]
    )

    with tasks_sent_to(queue):
        repository_members_set(repository=group, members=[team, proxy])
    settled()
    hosted = requests.get(f"{front}{ours}", auth=auth, timeout=30)
    proxied = requests.get(f"{front}{PUB}", auth=auth, timeout=30)

    assert (hosted.status_code, proxied.status_code) == (200, 200)
    assert proxied.content == (static_upstream.files / PUB).read_bytes()
    assert not NGINX_ETAG.fullmatch(hosted.headers["ETag"])  # the registry's, not the mirror's
    assert not NGINX_ETAG.fullmatch(proxied.headers["ETag"])
    assert not (mirror_dir / "fast-all").exists()
