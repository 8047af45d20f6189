"""The PyPI format driven by the real clients: build, twine, pip and uv as subprocesses.

A client virtualenv (build, hatchling, twine, uv from PyPI) is created once per session; pip
and uv are confined to our index, so every dependency must resolve through it.
"""

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from access.models import Role
from formats.models import Version
from tests.factories import RepositoryFactory
from tests.live import Certificate, LiveServer, make_certificate, start_server

pytestmark = pytest.mark.e2e

CLIENT_PACKAGES = ["pip", "build", "hatchling", "twine", "uv"]
POETRY = "poetry==2.5.1"
PROJECTS = {
    # name: (version, dependencies, extras, requires-python)
    ("alpha-core", "1.0"): ([], {}, ">=3.8"),
    ("alpha-core", "1.1"): ([], {}, ">=3.8"),
    ("beta_app", "1.0"): (["alpha-core>=1.0"], {"fancy": ["gamma.extra"]}, None),
    ("gamma.extra", "1.0"): ([], {}, ">=3.8"),
    # Never installable here: pip and uv must skip it on data-requires-python alone.
    ("gamma.extra", "2.0"): ([], {}, ">=3.99"),
}


@dataclass(frozen=True)
class Clients:
    python: Path
    twine: Path
    uv: Path
    dists: Path


def _fail_or_skip(message: str) -> None:
    if os.environ.get("REQUIRE_CLIENTS") == "1":
        pytest.fail(f"{message} (REQUIRE_CLIENTS=1)")
    pytest.skip(message)


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


def _write_project(root: Path, name: str, version: str) -> Path:
    dependencies, extras, requires_python = PROJECTS[(name, version)]
    module = re.sub(r"[-.]", "_", name)
    project = root / f"{module}-{version}"
    (project / "src" / module).mkdir(parents=True)
    (project / "src" / module / "__init__.py").write_text(f"VERSION = {version!r}\n")
    lines = [
        "[build-system]",
        'requires = ["hatchling"]',
        'build-backend = "hatchling.build"',
        "[project]",
        f'name = "{name}"',
        f'version = "{version}"',
        f"dependencies = {dependencies!r}".replace("'", '"'),
    ]
    if requires_python:
        lines.append(f'requires-python = "{requires_python}"')
    if extras:
        lines.append("[project.optional-dependencies]")
        lines += [f"{k} = {v!r}".replace("'", '"') for k, v in extras.items()]
    lines += ["[tool.hatch.build.targets.wheel]", f'packages = ["src/{module}"]']
    (project / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return project


@pytest.fixture(scope="session")
def clients(tmp_path_factory) -> Clients:
    """A virtualenv with the client tools, and wheels + sdists of the test projects."""
    root = tmp_path_factory.mktemp("pypi-clients")
    venv = root / "venv"
    try:
        _run(sys.executable, "-m", "venv", venv)
        _run(venv / "bin" / "python", "-m", "pip", "install", "--isolated", "-U", *CLIENT_PACKAGES)
    except (AssertionError, subprocess.TimeoutExpired) as error:
        _fail_or_skip(f"cannot install the PyPI clients from PyPI: {error}")
    python = venv / "bin" / "python"
    dists = root / "dists"
    for name, version in PROJECTS:
        project = _write_project(root / "src", name, version)
        _run(python, "-m", "build", "--no-isolation", "--outdir", dists, project)
    return Clients(python=python, twine=venv / "bin" / "twine", uv=venv / "bin" / "uv", dists=dists)


@dataclass(frozen=True)
class Index:
    upload_url: str
    simple_url: str  # with credentials, as pip and uv take them
    token: str


@pytest.fixture
def index(live_registry, make_user, make_token, clients) -> Index:
    """A private PyPI repository with every test distribution uploaded by twine."""
    repository = RepositoryFactory(name="pypi-e2e", format="pypi")
    token = make_token(make_user(repository, Role.ADMIN))
    upload_url = f"{live_registry.url}/repository/pypi-e2e/"
    _twine(clients, upload_url, token, *sorted(clients.dists.iterdir()))
    simple = f"http://__token__:{token}@{live_registry.host}/repository/pypi-e2e/simple/"
    return Index(upload_url=upload_url, simple_url=simple, token=token)


def _twine(clients: Clients, url: str, token: str, *files: Path, check: bool = True):
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


def _pip(clients: Clients, index: Index, *args: object, check: bool = True):
    return _run(
        clients.python,
        "-m",
        "pip",
        *args,
        "--isolated",
        "--disable-pip-version-check",
        "--no-cache-dir",
        "--no-input",
        "--index-url",
        index.simple_url,
        env=_clean_env(PIP_INDEX_URL=index.simple_url),
        check=check,
    )


def _fresh_venv(path: Path) -> Path:
    _run(sys.executable, "-m", "venv", "--without-pip", path)
    return path / "bin" / "python"


def _installed(target_python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m; "
        "print('\\n'.join(f'{d.name}=={d.version}' for d in m.distributions()))"
    )
    output = _run(target_python, "-c", code).stdout.split()
    return dict(line.split("==") for line in output)


def _log_since(live_registry, offset: int) -> str:
    return live_registry.log.read_bytes()[offset:].decode(errors="replace")


def test_pip_installs_with_dependencies_and_extras_through_the_index(
    live_registry, clients, index, tmp_path
):
    target = _fresh_venv(tmp_path / "target")

    _pip(clients, index, "--python", target, "install", "beta_app[fancy]")

    assert _installed(target) == {"alpha-core": "1.1", "beta_app": "1.0", "gamma.extra": "1.0"}


def test_pip_resolves_from_metadata_files_without_downloading_wheels(
    live_registry, clients, index, tmp_path
):
    offset = live_registry.log.stat().st_size
    target = _fresh_venv(tmp_path / "target")

    _pip(clients, index, "--python", target, "install", "--dry-run", "beta_app[fancy]")

    log = _log_since(live_registry, offset)
    fetched = re.findall(r'"GET /repository/pypi-e2e/packages/\S+/(\S+) HTTP', log)
    assert fetched == [
        "beta_app-1.0-py2.py3-none-any.whl.metadata",
        "alpha_core-1.1-py3-none-any.whl.metadata",
        "gamma_extra-1.0-py3-none-any.whl.metadata",
    ]


def test_pip_download_by_exact_version_and_with_required_hashes(clients, index, tmp_path):
    wheel = clients.dists / "alpha_core-1.0-py3-none-any.whl"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha-core==1.0 --hash=sha256:{digest}\n")

    exact = _pip(clients, index, "download", "--no-deps", "-d", tmp_path / "a", "alpha-core==1.0")
    hashed = _pip(
        clients, index, "download", "--require-hashes", "-d", tmp_path / "b", "-r", requirements
    )

    assert exact.returncode == hashed.returncode == 0
    for folder in ("a", "b"):
        downloaded = tmp_path / folder / wheel.name
        assert downloaded.read_bytes() == wheel.read_bytes()


def test_wrong_hash_is_refused_by_pip(clients, index, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha-core==1.0 --hash=sha256:{'0' * 64}\n")

    result = _pip(
        clients,
        index,
        "download",
        "--require-hashes",
        "-d",
        tmp_path,
        "-r",
        requirements,
        check=False,
    )

    assert result.returncode == 1
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr


def test_yanked_release_is_skipped_unless_pinned(live_registry, clients, index, tmp_path):
    version = Version.objects.get(package__normalized_name="alpha-core", version="1.1")
    response = requests.patch(
        f"{live_registry.url}/api/v1/versions/{version.pk}/",
        json={"yanked": True, "yanked_reason": "broken build"},
        auth=("__token__", index.token),
        timeout=10,
    )
    assert response.status_code == 200
    floating = _fresh_venv(tmp_path / "floating")
    pinned = _fresh_venv(tmp_path / "pinned")

    _pip(clients, index, "--python", floating, "install", "alpha-core")
    result = _pip(clients, index, "--python", pinned, "install", "alpha-core==1.1")

    assert _installed(floating) == {"alpha-core": "1.0"}
    assert _installed(pinned) == {"alpha-core": "1.1"}
    assert "Reason for being yanked: broken build" in result.stderr


def test_uv_installs_through_the_index(clients, index, tmp_path):
    target = _fresh_venv(tmp_path / "target")

    _run(
        clients.uv,
        "pip",
        "install",
        "--no-config",
        "--python",
        target,
        "--index-url",
        index.simple_url,
        "beta_app[fancy]",
        env=_clean_env(UV_CACHE_DIR=str(tmp_path / "uv-cache")),
    )

    assert _installed(target) == {"alpha-core": "1.1", "beta_app": "1.0", "gamma.extra": "1.0"}


def test_twine_reupload_is_refused_with_pypis_message(clients, index):
    wheel = clients.dists / "alpha_core-1.0-py3-none-any.whl"

    refused = _twine(clients, index.upload_url, index.token, wheel, check=False)

    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert refused.returncode == 1
    output = " ".join((refused.stdout + refused.stderr).split())
    assert "HTTPError: 400 Bad Request from http://127.0.0.1:" in output
    assert output.endswith(
        f"File already exists ('alpha_core-1.0-py3-none-any.whl', with sha256 hash '{digest}'). "
        "See https://pypi.org/help/#file-name-reuse for more information."
    )


def test_anonymous_pip_is_challenged_on_a_private_index(live_registry, clients, index, tmp_path):
    anonymous = Index(
        upload_url=index.upload_url,
        simple_url=f"{live_registry.url}/repository/pypi-e2e/simple/",
        token="",
    )

    offset = live_registry.log.stat().st_size

    result = _pip(clients, anonymous, "download", "-d", tmp_path, "alpha-core", check=False)

    assert result.returncode == 1
    assert re.findall(r'"GET (\S+) HTTP/1.1" (\d+)', _log_since(live_registry, offset)) == [
        ("/repository/pypi-e2e/simple/alpha-core/", "401")
    ]


def test_wrong_token_cannot_upload(clients, index):
    result = _twine(
        clients,
        index.upload_url,
        "reg_not-a-token",
        clients.dists / "alpha_core-1.0.tar.gz",
        check=False,
    )

    assert result.returncode == 1
    assert "401" in " ".join((result.stdout + result.stderr).split())


def test_twine_uploads_with_username_and_password(live_registry, clients, make_user, password):
    repository = RepositoryFactory(name="pypi-password", format="pypi")
    writer = make_user(repository, Role.WRITE)
    wheel = clients.dists / "alpha_core-1.0-py3-none-any.whl"

    result = _run(
        clients.twine,
        "--no-color",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        f"{live_registry.url}/repository/pypi-password/",
        "-u",
        writer.username,
        "-p",
        password,
        wheel,
    )

    assert result.returncode == 0
    version = Version.objects.get(package__repository=repository)
    assert (version.package.normalized_name, version.version, version.published_by) == (
        "alpha-core",
        "1.0",
        writer,
    )


@dataclass(frozen=True)
class TlsRegistry:
    server: LiveServer
    certificate: Certificate


@pytest.fixture(scope="session")
def _tls_registry(django_db_setup, tmp_path_factory) -> Iterator[TlsRegistry]:
    directory = tmp_path_factory.mktemp("tls-server")
    certificate = make_certificate(directory)
    server = start_server(directory, tls=certificate)
    yield TlsRegistry(server=server, certificate=certificate)
    server.stop()


@pytest.fixture
def tls_registry(_tls_registry, transactional_db) -> TlsRegistry:
    """A second live server, over HTTPS, on the same database and blob store."""
    return _tls_registry


@pytest.fixture
def tls_index(live_registry, tls_registry, clients, make_user, make_token) -> Index:
    """A private PyPI repository holding alpha-core 1.0 (uploaded over HTTP), read over HTTPS."""
    repository = RepositoryFactory(name="pypi-tls", format="pypi")
    token = make_token(make_user(repository, Role.ADMIN))
    upload_url = f"{live_registry.url}/repository/pypi-tls/"
    _twine(clients, upload_url, token, clients.dists / "alpha_core-1.0-py3-none-any.whl")
    simple = f"https://__token__:{token}@{tls_registry.server.host}/repository/pypi-tls/simple/"
    return Index(upload_url=upload_url, simple_url=simple, token=token)


def _tls_env(tls_registry: TlsRegistry, **extra: str) -> dict[str, str]:
    """The clean environment trusting only the test certificate.

    requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE from the environment override a
    session's own CA bundle (psf/requests#3829), so pip's ``--cert`` alone is not enough.
    """
    env = _clean_env(REQUESTS_CA_BUNDLE=str(tls_registry.certificate.cert), **extra)
    env.pop("CURL_CA_BUNDLE", None)
    return env


def _simple_page_statuses(log: str) -> list[str]:
    return re.findall(r'"GET /repository/pypi-tls/simple/alpha-core/ HTTP/1.1" (\d+)', log)


def test_pips_http_cache_survives_a_304_over_https(tls_registry, clients, tls_index, tmp_path):
    """pip merges a 304's headers into its cached page: a Content-Type there broke installs."""
    server = tls_registry.server
    offset = server.log.stat().st_size

    for attempt in ("first", "second"):
        _run(
            clients.python,
            "-m",
            "pip",
            "download",
            "--isolated",
            "--no-input",
            "--no-deps",
            "--cert",
            tls_registry.certificate.cert,
            "--cache-dir",
            tmp_path / "pip-cache",
            "--index-url",
            tls_index.simple_url,
            "-d",
            tmp_path / attempt,
            "alpha-core",
            env=_tls_env(tls_registry, PIP_INDEX_URL=tls_index.simple_url),
        )

    wheel = clients.dists / "alpha_core-1.0-py3-none-any.whl"
    for attempt in ("first", "second"):
        assert (tmp_path / attempt / wheel.name).read_bytes() == wheel.read_bytes()
    assert _simple_page_statuses(_log_since(server, offset)) == ["200", "304"]


@pytest.fixture(scope="session")
def poetry() -> Path:
    """Poetry in a virtualenv of its own, kept under the var dir so later runs reuse it."""
    from django.conf import settings

    venv = Path(settings.VAR_DIR) / "clients" / POETRY.replace("==", "-")
    executable = venv / "bin" / "poetry"
    if not executable.exists():
        try:
            _run(sys.executable, "-m", "venv", "--clear", venv)
            _run(venv / "bin" / "python", "-m", "pip", "install", "--isolated", POETRY)
        except (AssertionError, subprocess.TimeoutExpired) as error:
            _fail_or_skip(f"cannot install {POETRY} from PyPI: {error}")
    return executable


def test_poetrys_http_cache_survives_a_304_over_https(tls_registry, tls_index, poetry, tmp_path):
    """poetry caches pages with CacheControl too: the second install revalidates with a 304."""
    server = tls_registry.server
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "\n".join(
            [
                "[project]",
                'name = "app"',
                'version = "0.1.0"',
                'requires-python = ">=3.8"',
                'dependencies = ["alpha-core"]',
                "[tool.poetry]",
                "package-mode = false",
                "",
            ]
        )
    )
    env = _tls_env(
        tls_registry,
        POETRY_CACHE_DIR=str(tmp_path / "poetry-cache"),
        POETRY_CONFIG_DIR=str(tmp_path / "poetry-config"),
        POETRY_VIRTUALENVS_IN_PROJECT="true",
        POETRY_HTTP_BASIC_REGISTRY_USERNAME="__token__",
        POETRY_HTTP_BASIC_REGISTRY_PASSWORD=tls_index.token,
        POETRY_NO_INTERACTION="1",
    )
    url = f"https://{server.host}/repository/pypi-tls/simple/"

    def run(*args: str) -> subprocess.CompletedProcess:
        return _run(poetry, "--directory", project, *args, env=env)

    run("source", "add", "--priority=primary", "registry", url)
    offset = server.log.stat().st_size
    run("install")
    (project / "poetry.lock").unlink()
    run("install")

    venv_python = project / ".venv" / "bin" / "python"
    assert _installed(venv_python)["alpha-core"] == "1.0"
    assert _simple_page_statuses(_log_since(server, offset)) == ["200", "304"]
