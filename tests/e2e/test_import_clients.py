"""``manage.py import``: files made by the real tools (build, npm pack, curl-able files) loaded
into hosted repositories, then installed by the real clients from the live server."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from access.models import Role
from tests.e2e.test_maven_mvn import DEPLOY_FILE, _jar, _mvn, _settings
from tests.factories import RepositoryFactory
from tests.formats.oci.clients import Layout, Skopeo
from tests.live import require_client

pytestmark = pytest.mark.e2e

THEN = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)


def _run(*args: object, cwd: Path | None = None, env: dict | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _dated(path: Path, when: datetime = THEN) -> Path:
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def _import(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("import", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def _python_project(root: Path, name: str, version: str) -> Path:
    module = name.replace("-", "_")
    (root / "src" / module).mkdir(parents=True)
    (root / "src" / module / "__init__.py").write_text(f"VERSION = {version!r}\n")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
        f'[tool.hatch.build.targets.wheel]\npackages = ["src/{module}"]\n'
    )
    return root


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "npm_config_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def test_a_pypiserver_folder_is_imported_with_its_times_and_pip_installs_from_it(
    live_registry, make_user, make_token, tmp_path
):
    repository = RepositoryFactory(name="adopted-pypi", format="pypi")
    admin = make_user(repository, Role.ADMIN)
    folder = tmp_path / "packages"
    for version in ("1.0", "1.1"):
        project = _python_project(tmp_path / f"src-{version}", "adopted-lib", version)
        _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", folder, project)
    (folder / "README.txt").write_text("not a distribution")
    for path in folder.iterdir():
        _dated(path)

    out, error = _import(
        "pypi", "adopted-pypi", str(folder), "--user", admin.username, "--keep-times"
    )

    assert error is not None
    assert error.returncode == 2  # one file refused
    assert "adopted-pypi: 4 imported, 1 refused" in out
    assert f"refused {folder / 'README.txt'}: " in out
    token = make_token(admin)
    index = f"http://__token__:{token}@{live_registry.host}/repository/adopted-pypi/simple/"
    target = tmp_path / "site"
    _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--isolated",
        "--no-cache-dir",
        "--target",
        target,
        "--index-url",
        index,
        "adopted-lib",
        env=_clean_env(),
    )
    assert (target / "adopted_lib" / "__init__.py").read_text() == "VERSION = '1.1'\n"
    page = requests.get(
        f"{live_registry.url}/repository/adopted-pypi/simple/adopted-lib/",
        headers={
            "Accept": "application/vnd.pypi.simple.v1+json",
            "Authorization": f"Bearer {token}",
        },
        timeout=30,
    ).json()
    assert {file["upload-time"] for file in page["files"]} == {"2021-03-04T05:06:07Z"}
    assert len(page["files"]) == 4


def _npm(binary: str, root: Path, registry: str, token: str, *args: str, cwd: Path) -> str:
    userconfig = root / "npmrc"
    userconfig.write_text(
        f"registry={registry}\n{registry.split(':', 1)[1]}:_authToken={token}\n"
        f"audit=false\nupdate-notifier=false\nfund=false\ncache={root / 'cache'}\n"
    )
    return _run(binary, *args, "--userconfig", userconfig, cwd=cwd, env=_clean_env(HOME=str(root)))


def test_npm_tarballs_are_imported_latest_follows_semver_and_npm_installs(
    live_registry, make_user, make_token, tmp_path
):
    npm = require_client("npm")
    repository = RepositoryFactory(name="adopted-npm", format="npm")
    admin = make_user(repository, Role.ADMIN)
    storage = tmp_path / "verdaccio-storage" / "tiny-adopted"
    storage.mkdir(parents=True)
    (storage / "package.json").write_text("{}")  # Verdaccio's own record: not a package
    for version in ("1.10.0", "1.9.0", "2.0.0-beta.1"):
        source = tmp_path / f"src-{version}"
        source.mkdir()
        (source / "package.json").write_text(
            json.dumps({"name": "tiny-adopted", "version": version})
        )
        (source / "index.js").write_text(f"module.exports = {version!r};\n")
        _run(
            npm,
            "pack",
            "--pack-destination",
            storage,
            cwd=source,
            env=_clean_env(HOME=str(tmp_path)),
        )
    for path in storage.iterdir():
        _dated(path)

    out, error = _import(
        "npm",
        "adopted-npm",
        str(tmp_path / "verdaccio-storage"),
        "--user",
        admin.username,
        "--keep-times",
    )

    assert error is None, out
    assert "adopted-npm: 3 imported, 0 refused" in out
    registry = f"{live_registry.url}/repository/adopted-npm/"
    token = make_token(admin)
    packument = requests.get(
        registry + "tiny-adopted", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    assert packument["dist-tags"] == {"latest": "1.10.0"}
    assert packument["time"]["1.9.0"].startswith("2021-03-04T05:06:07")
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0"}))
    _npm(npm, tmp_path, registry, token, "install", "tiny-adopted", cwd=app)
    installed = json.loads((app / "node_modules" / "tiny-adopted" / "package.json").read_text())
    assert installed["version"] == "1.10.0"


def test_a_folder_of_files_is_imported_into_raw_and_refused_again_with_other_bytes(
    live_registry, make_user, make_token, tmp_path
):
    curl = require_client("curl")
    repository = RepositoryFactory(name="adopted-raw", format="raw")
    admin = make_user(repository, Role.ADMIN)
    (tmp_path / "tree" / "tools" / "1.0").mkdir(parents=True)
    (tmp_path / "tree" / "tools" / "1.0" / "tool.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    (tmp_path / "tree" / "index.txt").write_bytes(b"tools/1.0/tool.sh\n")

    out, error = _import("raw", "adopted-raw", str(tmp_path / "tree"), "--user", admin.username)
    assert error is None
    assert out.splitlines() == [
        "imported index.txt",
        "imported tools/1.0/tool.sh",
        "adopted-raw: 2 imported, 0 refused",
    ]
    fetched = _run(
        curl,
        "-sf",
        "-u",
        f"{admin.username}:{make_token(admin)}",
        f"{live_registry.url}/repository/adopted-raw/tools/1.0/tool.sh",
    )
    assert fetched == "#!/bin/sh\necho hi\n"

    (tmp_path / "tree" / "index.txt").write_bytes(b"changed\n")
    out, error = _import(
        "raw", "adopted-raw", str(tmp_path / "tree" / "index.txt"), "--user", admin.username
    )
    assert error is not None
    assert out.splitlines()[-1] == "adopted-raw: 0 imported, 1 refused"


@pytest.mark.django_db
def test_import_refuses_a_proxy_an_unknown_user_and_a_missing_path(tmp_path, make_user):
    RepositoryFactory(
        name="a-proxy", format="raw", kind="proxy", upstream_url="http://127.0.0.1:9/"
    )
    hosted = RepositoryFactory(name="hosted-raw", format="raw")
    user = make_user(hosted, Role.ADMIN)

    with pytest.raises(CommandError, match="not a hosted repository"):
        call_command("import", "raw", "a-proxy", str(tmp_path), "--user", user.username)
    with pytest.raises(CommandError, match="no active user 'nobody'"):
        call_command("import", "raw", "hosted-raw", str(tmp_path), "--user", "nobody")
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("import", "raw", "hosted-raw", str(tmp_path / "gone"), "--user", user.username)
    with pytest.raises(CommandError, match="no pypi repository 'hosted-raw'"):
        call_command("import", "pypi", "hosted-raw", str(tmp_path), "--user", user.username)


def test_an_oci_image_layout_is_imported_with_its_tags_and_skopeo_pulls_it(
    live_registry, make_user, password, tmp_path
):
    repository = RepositoryFactory(name="adopted-oci", format="oci")
    admin = make_user(repository, Role.ADMIN)
    images = tmp_path / "images"
    images.mkdir()
    layout = Layout(images / "app")  # the folder names the image
    for number, tag in ((1, "v1"), (2, "v2")):
        payload = tmp_path / f"payload{number}.bin"
        payload.write_bytes(os.urandom(100_000 * number))
        layout.add_file(
            payload, f"/app/{number}.bin", image="base" if number == 1 else "v1", tag=tag
        )

    out, error = _import("oci", "adopted-oci", str(images), "--user", admin.username)

    assert error is None, out
    index = json.loads((layout.path / "index.json").read_text())
    tags = [
        entry["annotations"]["org.opencontainers.image.ref.name"] for entry in index["manifests"]
    ]
    assert out.splitlines()[0] == "imported " + ", ".join(f"adopted-oci/app:{t}" for t in tags)
    assert {"v1", "v2"} <= set(tags)
    skopeo = Skopeo(tmp_path / "skopeo")
    creds = f"{admin.username}:{password}"
    for tag in ("v1", "v2"):
        reference = f"docker://{live_registry.host}/adopted-oci/app:{tag}"
        raw = skopeo("inspect", "--raw", "--tls-verify=false", "--creds", creds, reference)
        assert raw.stdout.encode() == layout.blob(layout.descriptor(tag)["digest"])
    pulled = tmp_path / "pulled"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        creds,
        f"docker://{live_registry.host}/adopted-oci/app:v2",
        f"oci:{pulled}:v2",
    )
    manifest = json.loads(layout.blob(layout.descriptor("v2")["digest"]))
    for layer in manifest["layers"]:
        algorithm, hex_digest = layer["digest"].split(":")
        assert (pulled / "blobs" / algorithm / hex_digest).read_bytes() == layout.blob(
            layer["digest"]
        )


CONSUMER_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId><artifactId>consumer</artifactId><version>1.0</version>
  <repositories><repository><id>registry</id><url>{url}</url></repository></repositories>
  <dependencies>
    <dependency><groupId>com.example</groupId><artifactId>base</artifactId><version>1.0</version></dependency>
  </dependencies>
  <build><pluginManagement><plugins>
    <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
    <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
  </plugins></pluginManagement></build>
</project>
"""


def test_a_maven_repository_tree_is_imported_and_mvn_resolves_from_it(
    live_registry, make_user, password, tmp_path
):
    repository = RepositoryFactory(name="adopted-maven", format="maven")
    admin = make_user(repository, Role.ADMIN)
    jar = tmp_path / "base-1.0.jar"
    jar.write_bytes(_jar("base.txt"))
    tree = tmp_path / "nexus-export"
    settings = _settings(tmp_path, "producer")
    deployed = _mvn(
        settings,
        DEPLOY_FILE,
        f"-Dfile={jar}",
        "-DgroupId=com.example",
        "-DartifactId=base",
        "-Dversion=1.0",
        "-Dpackaging=jar",
        f"-Durl=file://{tree}",
        cwd=tmp_path,
    )
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    # A tampered copy of another artifact: its .sha1 says other bytes.
    tampered = tree / "com" / "example" / "base" / "1.0" / "base-1.0-sources.jar"
    tampered.write_bytes(b"not what the checksum says")
    tampered.with_name(tampered.name + ".sha1").write_text("0" * 40)

    out, error = _import("maven", "adopted-maven", str(tree), "--user", admin.username)

    assert error is not None
    assert out.splitlines()[-1] == "adopted-maven: 2 imported, 1 refused"
    assert "imported com/example/base/1.0/base-1.0.jar" in out.splitlines()
    assert f"refused {tampered}: " in out
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    url = f"{live_registry.url}/repository/adopted-maven/"
    (consumer / "pom.xml").write_text(CONSUMER_POM.format(url=url))
    compiled = _mvn(
        _settings(tmp_path, "consumer", admin.username, password), "compile", cwd=consumer
    )
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    resolved = tmp_path / "consumer-m2" / "com" / "example" / "base" / "1.0" / "base-1.0.jar"
    assert resolved.read_bytes() == jar.read_bytes()


@pytest.mark.django_db
def test_an_npm_tarball_over_the_publish_limit_is_refused(tmp_path, make_user, settings):
    repository = RepositoryFactory(name="small-npm", format="npm")
    user = make_user(repository, Role.ADMIN)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    (tmp_path / "big-1.0.0.tgz").write_bytes(os.urandom(1001))

    out, error = _import("npm", "small-npm", str(tmp_path), "--user", user.username)

    assert error is not None
    assert out.splitlines() == [
        f"refused {tmp_path / 'big-1.0.0.tgz'}: larger than 1000 bytes",
        "small-npm: 0 imported, 1 refused",
    ]
