"""PyPI proxy and group repositories driven by real pip, uv and twine against a live server.

Upstreams are local: pypiserver (a peer that is not ours, HTML pages only) serving wheels
built here, and a second instance of this registry (PEP 691 JSON with PEP 700 upload-time).
One group URL serves a hosted repository and both proxies; twine uploads through it.
"""

import hashlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from access.models import Role
from formats.models import Asset, Package, ProxyEntry, Repository
from formats.services import repository_members_set
from tests.factories import RepositoryFactory
from tests.formats.pypi.dists import make_sdist, make_wheel
from tests.formats.pypi.static_index import RunningIndex
from tests.peers.pypiserver import PypiServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENT_PACKAGES = ["pip", "twine", "uv"]


@dataclass(frozen=True)
class Clients:
    python: Path
    twine: Path
    uv: Path


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without the machine's pip/uv settings (local mirrors, find-links)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def _run(*args: object, env: dict[str, str] | None = None, check: bool = True):
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env=env or _clean_env(),
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def clients(tmp_path_factory) -> Clients:
    """A virtualenv with pip, twine and uv from PyPI."""
    venv = tmp_path_factory.mktemp("pypi-proxy-clients") / "venv"
    try:
        _run(sys.executable, "-m", "venv", venv)
        _run(venv / "bin" / "python", "-m", "pip", "install", "--isolated", "-U", *CLIENT_PACKAGES)
    except (AssertionError, subprocess.TimeoutExpired) as error:
        if os.environ.get("REQUIRE_CLIENTS") == "1":
            pytest.fail(f"cannot install the PyPI clients: {error}")
        pytest.skip(f"cannot install the PyPI clients from PyPI: {error}")
    return Clients(
        python=venv / "bin" / "python", twine=venv / "bin" / "twine", uv=venv / "bin" / "uv"
    )


def _write(directory: Path, built: tuple[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / built[0]
    path.write_bytes(built[1])
    return path


@pytest.fixture
def pypiserver(tmp_path):
    """pypiserver with pub-app 1.0 (needs dep-lib), dep-lib 1.0 and a squatting private-lib 9.0."""
    packages = tmp_path / "pypiserver-packages"
    _write(packages, make_wheel("pub_app", "1.0", requires_dist=("dep-lib>=1",)))
    _write(packages, make_sdist("pub_app", "1.0", requires_dist=("dep-lib>=1",)))
    _write(packages, make_wheel("dep_lib", "1.0"))
    _write(packages, make_wheel("private_lib", "9.0"))
    _write(packages, make_wheel("late_lib", "1.0"))
    server = PypiServer(directory=packages, log=tmp_path / "pypiserver.log").start()
    yield server
    server.stop()


@dataclass(frozen=True)
class Setup:
    group_url: str  # the simple index of the group
    upload_url: str  # the group's upload URL (lands in the hosted member)
    token: str
    team: Repository
    proxy: Repository


def _proxy(name: str, upstream: str, **fields) -> Repository:
    return RepositoryFactory(
        name=name, format="pypi", kind=Repository.Kind.PROXY, upstream_url=upstream, **fields
    )


@pytest.fixture
def setup(live_registry, pypiserver, make_user, make_token, tmp_path) -> Setup:
    """``all``: the hosted ``team`` (deploy target), then a proxy of pypiserver."""
    team = RepositoryFactory(name="team", format="pypi", anonymous_read=True)
    proxy = _proxy("pypiserver-proxy", pypiserver.simple_url)
    group = RepositoryFactory(
        name="all", format="pypi", kind=Repository.Kind.GROUP, anonymous_read=True
    )
    repository_members_set(repository=group, members=[team, proxy])
    group.deploy_to = team
    group.save()
    token = make_token(make_user(team, Role.WRITE))
    return Setup(
        group_url=f"{live_registry.url}/repository/all/simple/",
        upload_url=f"{live_registry.url}/repository/all/",
        token=token,
        team=team,
        proxy=proxy,
    )


def _twine_upload(clients: Clients, url: str, token: str, *files: Path, check: bool = True):
    return _run(
        clients.twine,
        "--no-color",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        url,
        "-u",
        "__token__",
        "-p",
        token,
        *files,
        check=check,
    )


def _venv(path: Path) -> Path:
    _run(sys.executable, "-m", "venv", "--without-pip", path)
    return path / "bin" / "python"


def _pip_install(clients: Clients, index: str, target: Path, *requirements: str, check=True):
    return _run(
        clients.python,
        "-m",
        "pip",
        "--python",
        target,
        "install",
        "--isolated",
        "--no-cache-dir",
        "--no-input",
        "--retries",  # a 502 is the answer under test, not a hiccup to retry
        "0",
        "--index-url",
        index,
        *requirements,
        check=check,
    )


def _uv_install(clients: Clients, index: str, target: Path, cache: Path, *args: str, check=True):
    return _run(
        clients.uv,
        "pip",
        "install",
        "--no-config",
        "--python",
        target,
        "--index-url",
        index,
        *args,
        env=_clean_env(UV_CACHE_DIR=str(cache)),
        check=check,
    )


def _installed(target_python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m; "
        "print('\\n'.join(f'{d.name}=={d.version}' for d in m.distributions()))"
    )
    output = _run(target_python, "-c", code).stdout.split()
    return dict(line.split("==") for line in output)


def _private_lib(setup: Setup, clients: Clients, tmp_path: Path) -> None:
    """twine uploads private-lib 1.0 to the group URL; it lands in the hosted member."""
    wheel = _write(tmp_path / "private", make_wheel("private_lib", "1.0"))
    _twine_upload(clients, setup.upload_url, setup.token, wheel)


def test_pip_and_uv_install_private_and_proxied_packages_through_one_group(
    clients, setup, pypiserver, tmp_path
):
    _private_lib(setup, clients, tmp_path)
    pip_target = _venv(tmp_path / "pip-target")
    uv_target = _venv(tmp_path / "uv-target")

    _pip_install(clients, setup.group_url, pip_target, "private-lib", "pub-app")
    _uv_install(
        clients, setup.group_url, uv_target, tmp_path / "uv-cache", "private-lib", "pub-app"
    )

    expected = {"private_lib": "1.0", "pub_app": "1.0", "dep_lib": "1.0"}
    assert _installed(pip_target) == _installed(uv_target) == expected
    assert Package.objects.get(repository=setup.team).normalized_name == "private-lib"
    cached = set(Asset.objects.filter(repository=setup.proxy).values_list("path", flat=True))
    assert cached == {
        "packages/pub-app/1.0/pub_app-1.0-py3-none-any.whl",
        "packages/dep-lib/1.0/dep_lib-1.0-py3-none-any.whl",
    }
    # each file came from pypiserver once, although pip and uv both installed it
    assert pypiserver.requests_for("/packages/pub_app-1.0-py3-none-any.whl") == [
        "/packages/pub_app-1.0-py3-none-any.whl"
    ]


def test_a_higher_upstream_version_of_a_hosted_name_is_never_installed(
    clients, setup, pypiserver, tmp_path
):
    _private_lib(setup, clients, tmp_path)
    target = _venv(tmp_path / "target")

    _pip_install(clients, setup.group_url, target, "private-lib")
    exact = _pip_install(clients, setup.group_url, target, "private-lib==9.0", check=False)

    assert _installed(target) == {"private_lib": "1.0"}
    assert exact.returncode == 1
    assert not pypiserver.requests_for("/simple/private-lib/")


def test_installs_keep_working_when_the_upstream_goes_down_after_warm_up(
    clients, setup, pypiserver, tmp_path
):
    _pip_install(clients, setup.group_url, _venv(tmp_path / "warm"), "pub-app")
    pypiserver.stop()
    # past the TTL: the proxy asks the upstream, which is down, and serves its stale copy
    ProxyEntry.objects.update(checked=datetime.now(UTC) - timedelta(days=1))
    target = _venv(tmp_path / "target")

    _pip_install(clients, setup.group_url, target, "pub-app")
    cold = _pip_install(clients, setup.group_url, _venv(tmp_path / "cold"), "late-lib", check=False)
    page = requests.get(f"{setup.group_url}late-lib/", timeout=30)

    assert _installed(target) == {"pub_app": "1.0", "dep_lib": "1.0"}
    assert cold.returncode == 1
    assert page.status_code == 502
    assert f"127.0.0.1:{pypiserver.port}" in page.text


def test_twenty_concurrent_cold_requests_make_one_upstream_fetch(setup, pypiserver):
    filename = "big_lib-1.0-py3-none-any.whl"
    content = os.urandom(8 * 1024 * 1024)
    (pypiserver.directory / filename).write_bytes(content)
    url = setup.group_url.replace("/simple/", f"/packages/big-lib/1.0/{filename}")
    bodies: list[bytes] = []
    start = threading.Barrier(20)

    def fetch() -> None:
        start.wait()
        bodies.append(requests.get(url, timeout=120).content)

    # the page first (it is what names the file), then the cold file 20 times at once
    assert requests.get(f"{setup.group_url}big-lib/", timeout=30).status_code == 200
    threads = [threading.Thread(target=fetch) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [hashlib.sha256(b).digest() for b in bodies] == [hashlib.sha256(content).digest()] * 20
    assert pypiserver.requests_for(f"/packages/{filename}") == [f"/packages/{filename}"]


def test_a_tampered_upstream_file_is_refused_by_the_proxy_and_nothing_is_stored(
    live_registry, clients, tmp_path
):
    upstream = RunningIndex()
    filename, content = make_wheel("tampered_lib", "1.0")
    upstream.state.add_file(filename, content + b"\0")
    declared = hashlib.sha256(content).hexdigest()
    link = f'<a href="/files/{filename}#sha256={declared}">{filename}</a>'
    upstream.state.pages["/simple/tampered-lib/"] = (link.encode(), "text/html")
    proxy = _proxy("tampered-proxy", upstream.state.url, anonymous_read=True)
    index = f"{live_registry.url}/repository/tampered-proxy/simple/"
    try:
        result = _pip_install(clients, index, _venv(tmp_path / "t"), "tampered-lib", check=False)
        direct = requests.get(index.replace("/simple/", f"/packages/tampered-lib/1.0/{filename}"))
    finally:
        upstream.close()

    assert result.returncode == 1
    assert "502" in result.stderr
    assert direct.status_code == 502
    assert "does not match the digest" in direct.text
    assert not Asset.objects.filter(repository=proxy).exists()


# --- a second instance of this registry as the upstream --------------------------------------


@pytest.fixture
def registry_upstream(upstream_registry, clients, tmp_path):
    """The second registry's hosted ``pypi-up``: old-lib 1.0, then (3 s later) old-lib 2.0.

    Returns the upstream simple URL and a moment between the two uploads.
    """
    base = upstream_registry.repository("pypi-up", "pypi")
    credentials = (upstream_registry.username, upstream_registry.password)
    simple = f"{base}simple/"
    if requests.get(f"{simple}old-lib/", timeout=30).status_code == 404:
        for version in ("1.0", "2.0"):
            wheel = _write(tmp_path / "up", make_wheel("old_lib", version))
            _run(
                clients.twine, "upload", "--non-interactive", "--disable-progress-bar",
                "--repository-url", base, "-u", credentials[0], "-p", credentials[1], wheel,
            )  # fmt: skip
            time.sleep(3)
    page = requests.get(
        f"{simple}old-lib/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=30
    ).json()
    times = sorted(datetime.fromisoformat(f["upload-time"]) for f in page["files"])
    return simple, times[0] + (times[1] - times[0]) / 2


def test_uv_exclude_newer_judges_proxied_files_by_their_upstream_upload_time(
    live_registry, clients, registry_upstream, tmp_path
):
    simple, between = registry_upstream
    _proxy("registry-proxy", simple, anonymous_read=True)
    index = f"{live_registry.url}/repository/registry-proxy/simple/"
    old, new = _venv(tmp_path / "old"), _venv(tmp_path / "new")

    _uv_install(
        clients, index, old, tmp_path / "c1", "--exclude-newer", between.isoformat(), "old-lib"
    )
    _uv_install(clients, index, new, tmp_path / "c2", "old-lib")

    assert _installed(old) == {"old_lib": "1.0"}
    assert _installed(new) == {"old_lib": "2.0"}


def test_pages_are_revalidated_with_the_upstream_after_the_ttl(
    live_registry, clients, upstream_registry, registry_upstream, tmp_path
):
    simple, _between = registry_upstream
    _proxy("revalidating-proxy", simple, anonymous_read=True, metadata_ttl=1)
    index = f"{live_registry.url}/repository/revalidating-proxy/simple/"
    page = "GET /repository/pypi-up/simple/old-lib/ HTTP/1.1"
    before = upstream_registry.requests_for(f'{page}" 304')

    first = requests.get(f"{index}old-lib/", timeout=30)
    time.sleep(1.5)
    second = requests.get(f"{index}old-lib/", timeout=30)
    _pip_install(clients, index, _venv(tmp_path / "t"), "old-lib==1.0")

    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert upstream_registry.requests_for(f'{page}" 304') > before


def test_a_group_of_both_upstreams_installs_with_pip_and_uv(
    live_registry, clients, setup, registry_upstream, tmp_path
):
    simple, _between = registry_upstream
    second = _proxy("registry-proxy", simple)
    group = Repository.objects.get(name="all")
    repository_members_set(repository=group, members=[setup.team, setup.proxy, second])
    _private_lib(setup, clients, tmp_path)
    pip_target, uv_target = _venv(tmp_path / "pip"), _venv(tmp_path / "uv")
    wanted = ("private-lib", "pub-app", "old-lib")

    _pip_install(clients, setup.group_url, pip_target, *wanted)
    _uv_install(clients, setup.group_url, uv_target, tmp_path / "uv-cache", *wanted)

    expected = {"private_lib": "1.0", "pub_app": "1.0", "dep_lib": "1.0", "old_lib": "2.0"}
    assert _installed(pip_target) == _installed(uv_target) == expected
    # the upstream advertises PEP 658 metadata: pip and uv resolved from it, proxied too
    assert set(Asset.objects.filter(repository=second).values_list("path", flat=True)) == {
        "packages/old-lib/2.0/old_lib-2.0-py3-none-any.whl",
        "packages/old-lib/2.0/old_lib-2.0-py3-none-any.whl.metadata",
    }


def test_twine_upload_to_a_group_without_deploy_target_or_a_proxy_is_refused(
    live_registry, clients, setup, make_user, make_token, tmp_path
):
    Repository.objects.filter(name="all").update(deploy_to=None)
    wheel = _write(tmp_path / "w", make_wheel("private_lib", "1.0"))
    token = make_token(make_user(setup.proxy, Role.ADMIN))

    group = _twine_upload(clients, setup.upload_url, setup.token, wheel, check=False)
    proxy = _twine_upload(
        clients, f"{live_registry.url}/repository/pypiserver-proxy/", token, wheel, check=False
    )

    group_output = " ".join((group.stdout + group.stderr).split())
    proxy_output = " ".join((proxy.stdout + proxy.stderr).split())
    assert group.returncode == proxy.returncode == 1
    assert "405 Method Not Allowed" in group_output
    assert "deploy target" in group_output
    assert "405 Method Not Allowed" in proxy_output
    assert "is a proxy" in proxy_output


def test_a_private_upstream_is_read_with_the_proxys_own_credentials(
    live_registry, clients, upstream_registry, tmp_path
):
    if "pypi-private" not in upstream_registry.repositories:
        upstream_registry.manage("createrepo", "pypi-private", "--format", "pypi")
        upstream_registry.repositories.add("pypi-private")
        base = f"{upstream_registry.url}/repository/pypi-private/"
        wheel = _write(tmp_path / "up", make_wheel("secret_lib", "1.0"))
        _run(
            clients.twine, "upload", "--non-interactive", "--disable-progress-bar",
            "--repository-url", base, "-u", upstream_registry.username,
            "-p", upstream_registry.password, wheel,
        )  # fmt: skip
    simple = f"{upstream_registry.url}/repository/pypi-private/simple/"
    _proxy("anonymous-proxy", simple, anonymous_read=True)
    _proxy(
        "credentialed-proxy",
        simple,
        anonymous_read=True,
        upstream_username=upstream_registry.username,
        upstream_password=upstream_registry.password,
    )
    target = _venv(tmp_path / "target")

    refused = requests.get(
        f"{live_registry.url}/repository/anonymous-proxy/simple/secret-lib/", timeout=30
    )
    _pip_install(
        clients, f"{live_registry.url}/repository/credentialed-proxy/simple/", target, "secret-lib"
    )

    assert refused.status_code == 502  # the upstream's 401 is no answer about the project
    assert _installed(target) == {"secret_lib": "1.0"}
