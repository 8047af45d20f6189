"""A repository's quota refuses uploads in each format's own error, as each real client shows it.

Every repository here holds 4 KiB at most, and each client sends more than that in one file
(random bytes, so compression cannot shrink them under it). Nothing refused becomes a file.
"""

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from access.models import Role
from formats.models import Asset
from formats.oci.models import OciBlobLink
from tests.e2e.test_maven_mvn import _deploy_file, _settings
from tests.e2e.test_npm_cli import Npm
from tests.factories import PASSWORD, RepositoryFactory
from tests.formats.oci.clients import Skopeo, image_layout
from tests.formats.pypi.dists import core_metadata
from tests.live import BIN, require_client

pytestmark = pytest.mark.e2e
QUOTA = 4096
MESSAGE = "is over its quota of 4.0 KiB"


def _capped(name: str, format: str, **fields) -> object:
    return RepositoryFactory(name=name, format=format, quota_bytes=QUOTA, **fields)


def _one_line(result: subprocess.CompletedProcess) -> str:
    return " ".join((result.stdout + result.stderr).split())


def test_curl_put_past_the_quota_is_a_413_naming_it(live_registry, make_user, make_token, tmp_path):
    repository = _capped("capped-raw", "raw")
    user = make_user(repository, Role.WRITE)
    credentials = f"{user.username}:{make_token(user)}"
    big, small = tmp_path / "big.bin", tmp_path / "small.bin"
    big.write_bytes(os.urandom(QUOTA + 1))
    small.write_bytes(os.urandom(QUOTA))
    url = f"{live_registry.url}/repository/capped-raw"
    curl = require_client("curl")

    def put(file: Path, path: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [curl, "-sS", "-u", credentials, "-T", str(file), "-w", "\n%{http_code}", url + path],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    refused = put(big, "/big.bin")
    body, status = refused.stdout.rsplit("\n", 1)
    assert status == "413"
    assert json.loads(body)["error"].startswith(f"repository 'capped-raw' {MESSAGE}: it holds 0 B")
    assert put(small, "/small.bin").stdout.endswith("201")
    assert put(small, "/same-bytes-again.bin").stdout.endswith("201")  # costs nothing more
    assert put(big, "/big.bin").stdout.endswith("413")
    assert sorted(Asset.objects.filter(repository=repository).values_list("path", flat=True)) == [
        "same-bytes-again.bin",
        "small.bin",
    ]


def _big_wheel(directory: Path) -> Path:
    stem = "bulky-1.0"
    files = {
        "bulky/data.bin": os.urandom(2 * QUOTA),
        f"{stem}.dist-info/METADATA": core_metadata("bulky", "1.0"),
        f"{stem}.dist-info/WHEEL": b"Wheel-Version: 1.0\nTag: py3-none-any\n",
        f"{stem}.dist-info/RECORD": b"",
    }
    wheel = directory / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def test_twine_upload_past_the_quota_is_refused_naming_it(live_registry, make_user, tmp_path):
    repository = _capped("capped-pypi", "pypi")
    user = make_user(repository, Role.WRITE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "TWINE_"))}
    refused = subprocess.run(
        [str(BIN / "twine"), "--no-color", "upload", "--non-interactive"]
        + [
            "--disable-progress-bar",
            "--repository-url",
            f"{live_registry.url}/repository/capped-pypi/",
        ]
        + ["-u", user.username, "-p", PASSWORD, str(_big_wheel(tmp_path))],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    output = _one_line(refused)
    assert refused.returncode == 1
    assert "HTTPError: 413" in output, output
    assert f"repository 'capped-pypi' {MESSAGE}" in output
    assert not Asset.objects.filter(repository=repository).exists()


def test_npm_publish_past_the_quota_is_refused_naming_it(
    live_registry, make_user, make_token, tmp_path
):
    repository = _capped("capped-npm", "npm")
    user = make_user(repository, Role.WRITE)
    registry = f"{live_registry.url}/repository/capped-npm/"
    npm = Npm(require_client("npm"), tmp_path, registry, make_token(user))
    project = tmp_path / "bulky"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "bulky", "version": "1.0.0"}))
    (project / "data.bin").write_bytes(os.urandom(2 * QUOTA))

    refused = npm("publish", cwd=project, check=False)

    output = _one_line(refused)
    assert refused.returncode != 0
    assert "413" in output, output
    assert f"repository 'capped-npm' {MESSAGE}" in output
    assert not Asset.objects.filter(repository=repository).exists()
    assert npm("view", "bulky", check=False).returncode != 0


def test_mvn_deploy_past_the_quota_is_refused_naming_it(live_registry, make_user, tmp_path):
    repository = _capped("capped-maven", "maven", config={"version_policy": "release"})
    user = make_user(repository, Role.WRITE)
    jar = tmp_path / "bulky.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("data.bin", os.urandom(2 * QUOTA))

    refused = _deploy_file(
        _settings(tmp_path, "writer", user.username, PASSWORD),
        f"{live_registry.url}/repository/capped-maven/",
        jar,
        "-DgroupId=com.example",
        "-DartifactId=bulky",
        "-Dversion=1.0",
        "-DgeneratePom=true",
        cwd=tmp_path,
    )

    assert refused.returncode == 1
    assert f"status: 413 repository 'capped-maven' {MESSAGE}" in refused.stdout, refused.stdout[
        -3000:
    ]
    assert not Asset.objects.filter(repository=repository, path__endswith=".jar").exists()


def test_skopeo_copy_past_the_quota_is_refused_naming_it(
    live_registry, make_user, password, tmp_path
):
    repository = _capped("capped-oci", "oci")
    user = make_user(repository, Role.WRITE)
    layout = image_layout(tmp_path, size=4 * QUOTA)

    refused = Skopeo(tmp_path / "skopeo")(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"{user.username}:{password}",
        f"oci:{layout.path}:v1",
        f"docker://{live_registry.host}/capped-oci/bulky:1.0",
        check=False,
    )

    assert refused.returncode != 0
    output = _one_line(refused)
    assert "denied" in output, output
    assert f"repository 'capped-oci' {MESSAGE}" in output
    assert not Asset.objects.filter(repository=repository).exists()
    assert (
        sum(link.blob.size for link in OciBlobLink.objects.filter(package__repository=repository))
        <= QUOTA
    )


def test_parallel_uploads_never_exceed_the_quota_together(
    live_registry, make_user, make_token, tmp_path
):
    repository = _capped("capped-race", "raw")
    user = make_user(repository, Role.WRITE)
    credentials = f"{user.username}:{make_token(user)}"
    curl = require_client("curl")
    uploads = []
    for index in range(6):
        file = tmp_path / f"part{index}.bin"
        file.write_bytes(os.urandom(QUOTA * 3 // 4))  # room for one of them
        url = f"{live_registry.url}/repository/capped-race/part{index}.bin"
        uploads.append(
            subprocess.Popen(
                [curl, "-sS", "-o", "/dev/null", "-u", credentials, "-T", str(file)]
                + ["-w", "%{http_code}", url],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    statuses = sorted(upload.communicate(timeout=120)[0] for upload in uploads)

    assert statuses == ["201", "413", "413", "413", "413", "413"]
    assert Asset.objects.filter(repository=repository).count() == 1
