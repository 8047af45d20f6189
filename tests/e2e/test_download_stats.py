"""Download statistics seen through real clients: curl, pip, npm downloads and skopeo pulls are
counted once each, a proxied file too, and a burst of concurrent downloads loses no count."""

import base64
import hashlib
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from access.models import Role
from access.services import role_grant, token_create
from formats.models import Asset, Version
from formats.services import repository_create
from tests.e2e.test_npm_cli import Npm, _project
from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.formats.oci.clients import Skopeo, image_layout
from tests.helpers import stored_file
from tests.live import BIN, require_client, start_server

pytestmark = pytest.mark.e2e
FLUSH_SECONDS = "1"


@pytest.fixture(scope="module")
def _server(django_db_setup, django_db_blocker, tmp_path_factory):
    server = start_server(
        tmp_path_factory.mktemp("download-stats"),
        DOWNLOAD_STATS_FLUSH_SECONDS=FLUSH_SECONDS,
        PROXY_VERIFY_FIRST_SIZE="0",  # a cold proxied file streams to its first client
    )
    yield server
    server.stop()


@pytest.fixture
def registry(_server, transactional_db):
    return _server


def _settled(asset: Asset, expected: int) -> Asset:
    """The asset once its count reached ``expected`` (the server flushes every second)."""
    deadline = time.monotonic() + 120  # a loaded machine: wait long, assert on the count
    while time.monotonic() < deadline:
        asset.refresh_from_db()
        if asset.download_count >= expected:
            break
        time.sleep(0.2)
    return asset


def _stored_file(repository_name: str, path: str, content: bytes) -> Asset:
    repository = RepositoryFactory(name=repository_name, format="raw", anonymous_read=True)
    return stored_file(repository, path, content)


def test_a_burst_of_50_curl_downloads_counts_50(registry, tmp_path):
    curl = require_client("curl")
    asset = _stored_file("burst", "tool/1.0/tool.bin", os.urandom(64 * 1024))
    url = f"{registry.url}/repository/burst/tool/1.0/tool.bin"
    args = []
    for number in range(50):
        args += ["-o", str(tmp_path / f"copy{number}"), url]
    result = subprocess.run(
        [curl, "--silent", "--fail", "--parallel", "--parallel-max", "50", *args],
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    asset = _settled(asset, 50)
    time.sleep(2 * float(FLUSH_SECONDS))  # and no count arrives twice
    asset.refresh_from_db()
    assert asset.download_count == 50
    version = Version.objects.get(pk=asset.version_id)
    assert (version.download_count, version.last_downloaded) == (50, asset.last_downloaded)


def test_a_file_served_by_a_proxy_counts_for_the_proxys_copy(registry, tmp_path):
    curl = require_client("curl")
    _stored_file("origin", "tool/1.0/tool.bin", b"proxied bytes\n")
    repository_create(
        name="mirror",
        format="raw",
        kind="proxy",
        anonymous_read=True,
        upstream_url=f"{registry.url}/repository/origin/",
    )
    url = f"{registry.url}/repository/mirror/tool/1.0/tool.bin"
    for _ in range(2):  # streamed while fetched from the upstream, then from the cache
        subprocess.run([curl, "--silent", "--fail", "-o", os.devnull, url], check=True)
    cached = Asset.objects.get(repository__name="mirror")
    assert _settled(cached, 2).download_count == 2
    origin = Asset.objects.get(repository__name="origin")
    assert _settled(origin, 1).download_count == 1  # the proxy's one upstream fetch


def _wheel(directory: Path, name: str, version: str) -> Path:
    files = {
        f"{name}/__init__.py": b"VERSION = '1.0'\n",
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        ),
        f"{name}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [
        f"{path},sha256="
        + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        + f",{len(data)}"
        for path, data in files.items()
    ]
    files[f"{name}-{version}.dist-info/RECORD"] = (
        "\n".join([*record, f"{name}-{version}.dist-info/RECORD,,"]) + "\n"
    ).encode()
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "TWINE_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def pip_install(index: str, requirement: str, *, target: Path) -> None:
    """Install ``requirement`` (no dependencies, no cache) from ``index`` into ``target``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir", "--no-deps"]
        + ["--disable-pip-version-check", "--target", str(target)]
        + ["--index-url", index, requirement],
        check=True,
        capture_output=True,
        env=_clean_env(),
        timeout=300,
    )


def test_pip_install_counts_the_wheel_and_its_version(registry, tmp_path):
    RepositoryFactory(name="pypi-stats", format="pypi")
    user = UserFactory(username="pat")
    role_grant(repository=RepositoryFactory._meta.model.objects.get(), role=Role.WRITE, user=user)
    token = token_create(user=user).secret
    wheel = _wheel(tmp_path, "tinystat", "1.0")
    subprocess.run(
        [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar"]
        + ["--repository-url", f"{registry.url}/repository/pypi-stats/"]
        + ["-u", "__token__", "-p", token, str(wheel)],
        check=True,
        capture_output=True,
        env=_clean_env(),
        timeout=300,
    )
    index = f"http://__token__:{token}@{registry.host}/repository/pypi-stats/simple/"
    pip_install(index, "tinystat==1.0", target=tmp_path / "site")
    assert (tmp_path / "site" / "tinystat" / "__init__.py").exists()
    asset = _settled(Asset.objects.get(path__endswith=".whl"), 1)
    assert asset.download_count == 1
    version = Version.objects.get(package__name="tinystat")
    assert version.download_count >= 1  # the wheel, and its .metadata file when pip reads it
    assert version.last_downloaded is not None


def test_npm_install_counts_the_tarball(registry, tmp_path):
    RepositoryFactory(name="npm-stats", format="npm")
    user = UserFactory(username="nia")
    role_grant(repository=RepositoryFactory._meta.model.objects.get(), role=Role.WRITE, user=user)
    token = token_create(user=user).secret
    run = Npm(require_client("npm"), tmp_path, f"{registry.url}/repository/npm-stats/", token)

    manifest = {"name": "statlib", "version": "1.0.0"}
    library = _project(tmp_path / "statlib", manifest, {"index.js": "module.exports = 1;\n"})
    run("publish", cwd=library)
    app = _project(tmp_path / "app", {"name": "app", "version": "0.0.0"}, {})
    # Its own cache: publish left the tarball in the first one.
    run("install", "statlib@1.0.0", "--cache", str(tmp_path / "install-cache"), cwd=app)
    assert (app / "node_modules" / "statlib" / "index.js").exists()
    tarball = _settled(Asset.objects.get(path__endswith=".tgz"), 1)
    assert tarball.download_count == 1
    assert Version.objects.get(package__name="statlib").download_count == 1


def test_skopeo_pulls_count_on_the_images_manifest(registry, tmp_path):
    repository = RepositoryFactory(name="images", format="oci", anonymous_read=True)
    writer = UserFactory(username="pusher")
    role_grant(repository=repository, role=Role.WRITE, user=writer)
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    reference = f"docker://{registry.host}/images/app:1.0"
    skopeo.push(f"oci:{layout.path}:v1", reference, creds=f"{writer.username}:{PASSWORD}")
    digest = layout.descriptor("v1")["digest"]
    asset = Asset.objects.get(version__version=digest)
    assert asset.download_count == 0  # a push is no download

    for number, pulled in enumerate([reference, f"docker://{registry.host}/images/app@{digest}"]):
        skopeo("copy", "--src-tls-verify=false", pulled, f"oci:{tmp_path / 'out'}:p{number}")

    asset = _settled(asset, 2)
    assert asset.download_count == 2  # a pull by tag and one by digest: once each
    version = Version.objects.get(pk=asset.version_id)
    assert (version.download_count, version.last_downloaded) == (2, asset.last_downloaded)
