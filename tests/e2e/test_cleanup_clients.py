"""Cleanup policies seen by the real clients: what npm, pip, mvn and skopeo find afterwards.

Policies are set and run with the management commands in this process, against the live
server's database; ages are made by moving ``published_at`` back (no test waits for days).
"""

import io
import json
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from access.models import Role
from access.services import role_grant
from formats.maven.metadata import parse_metadata
from formats.models import Asset, CleanupRun, Version
from formats.oci.models import OciManifest
from tests.e2e.test_maven_mvn import (  # noqa: F401
    _jar,
    _mvn,
    _project,
    _settings,
    maven_repositories,
)
from tests.e2e.test_npm_cli import _project as _npm_project
from tests.e2e.test_npm_cli import npm_setup  # noqa: F401
from tests.e2e.test_pypi_clients import _pip, clients, index  # noqa: F401
from tests.factories import PASSWORD, RepositoryFactory
from tests.formats.oci.clients import Skopeo, image_layout

pytestmark = pytest.mark.e2e


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _age(repository: str, days: int) -> None:
    Version.objects.filter(package__repository__name=repository).update(
        published_at=timezone.now() - timedelta(days=days)
    )


def test_npm_view_shows_the_versions_a_policy_left(npm_setup, tmp_path):  # noqa: F811
    npm, registry, token = npm_setup
    lib = tmp_path / "lib"
    for version in ("1.0.0", "1.1.0", "1.2.0", "2.0.0-beta.1", "2.0.0"):
        if lib.exists():
            (lib / "package.json").write_text(json.dumps({"name": "tinylib", "version": version}))
        else:
            _npm_project(lib, {"name": "tinylib", "version": version}, {"i.js": "1;\n"})
        tag = ["--tag", "next"] if "-" in version else []
        npm("publish", *tag, cwd=lib)
    npm("dist-tag", "add", "tinylib@1.1.0", "legacy")
    pinned = Version.objects.get(package__name="tinylib", version="1.0.0")
    pin = requests.patch(
        f"{registry.split('/repository/')[0]}/api/v1/versions/{pinned.pk}/",
        json={"pinned": True},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert pin.status_code == 200, pin.text

    _command("setpolicy", "npm-e2e", "--keep-last", "1")
    preview = _command("cleanup", "npm-e2e", "--dry-run")
    assert "npm-e2e: tinylib 1.2.0: 1 file," in preview
    assert "would remove 1 version," in preview
    _command("cleanup", "npm-e2e")

    # 1.0.0 pinned, 1.1.0 and 2.0.0-beta.1 tagged (legacy, next), 2.0.0 newest and latest.
    view = npm("view", "tinylib", "versions", "--json")
    assert json.loads(view.stdout) == ["1.0.0", "1.1.0", "2.0.0-beta.1", "2.0.0"]
    gone = npm("view", "tinylib@1.2.0", "version", "--json", check=False)
    assert gone.returncode != 0
    assert "No match found for version 1.2.0" in gone.stdout + gone.stderr

    _command("setpolicy", "npm-e2e", "--prerelease-only", "--keep-last", "0", "--include-tagged")
    _command("cleanup", "npm-e2e")
    view = npm("view", "tinylib", "versions", "--json")
    assert json.loads(view.stdout) == ["1.0.0", "1.1.0", "2.0.0"]
    assert npm("dist-tag", "ls", "tinylib").stdout.split() == [
        "latest:",
        "2.0.0",
        "legacy:",
        "1.1.0",
    ]
    assert CleanupRun.objects.filter(repository__name="npm-e2e").count() == 2


def test_pip_install_of_a_removed_version_fails_cleanly(clients, index, tmp_path):  # noqa: F811
    _command("setpolicy", "pypi-e2e", "--keep-last", "1")
    _command("cleanup", "pypi-e2e")

    removed = _pip(
        clients, index, "download", "--no-deps", "-d", tmp_path, "alpha-core==1.0", check=False
    )
    assert removed.returncode != 0
    assert "No matching distribution found for alpha-core==1.0" in removed.stderr
    assert "Traceback" not in removed.stderr
    kept = _pip(clients, index, "download", "--no-deps", "-d", tmp_path, "alpha-core==1.1")
    assert "alpha_core-1.1" in kept.stdout


def test_mvn_resolves_the_kept_snapshot_build(
    live_registry,
    maven_repositories,  # noqa: F811
    make_user,
    make_token,
    tmp_path,
):
    repos = maven_repositories
    writer = make_user(repos["snapshots"], Role.WRITE)
    role_grant(repository=repos["releases"], role=Role.WRITE, user=writer)
    reader = make_user(repos["public"], Role.READ)
    for member in (repos["releases"], repos["snapshots"]):
        role_grant(repository=member, role=Role.READ, user=reader)
    producer = _settings(tmp_path, "producer", writer.username, make_token(writer))
    for artifact, version in (("base", "1.0"), ("util", "1.5")):  # what lib and the app need
        stem = f"{repos['RELEASES']}com/example/{artifact}/{version}/{artifact}-{version}"
        for suffix, body in ((".jar", _jar(artifact)), (".pom", _pom(artifact, version))):
            put = requests.put(f"{stem}{suffix}", data=body, auth=(writer.username, PASSWORD))
            assert put.status_code == 201, put.text
    lib = _project(tmp_path, "lib", RELEASES=repos["RELEASES"], SNAPSHOTS=repos["SNAPSHOTS"])
    for _ in range(3):
        deployed = _mvn(producer, "deploy", cwd=lib)
        assert deployed.returncode == 0, deployed.stdout[-3000:]

    _command("setpolicy", "e2e-snapshots", "--snapshot-builds", "1")
    output = _command("cleanup", "e2e-snapshots")
    assert "e2e-snapshots: older builds of com.example:lib 1.0-SNAPSHOT: " in output

    jars = Asset.objects.filter(repository=repos["snapshots"], path__endswith=".jar")
    assert [path.rsplit("-", 1)[1] for path in jars.values_list("path", flat=True)] == ["3.jar"]
    metadata = parse_metadata(
        raw=requests.get(
            f"{repos['SNAPSHOTS']}com/example/lib/1.0-SNAPSHOT/maven-metadata.xml",
            auth=(reader.username, PASSWORD),
            timeout=30,
        ).content
    )
    assert metadata.snapshot_build_number == 3
    consumer = _project(tmp_path, "consumer", PUBLIC=repos["PUBLIC"])
    compiled = _mvn(
        _settings(tmp_path, "consumer", reader.username, PASSWORD), "compile", cwd=consumer
    )
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    newest = metadata.snapshot_versions[-1].value
    assert newest.endswith("-3")
    local = tmp_path / "consumer-m2" / "com" / "example" / "lib" / "1.0-SNAPSHOT"
    assert (local / f"lib-{newest}.jar").is_file()


def _pom(artifact: str, version: str) -> bytes:
    return (
        "<project><modelVersion>4.0.0</modelVersion><groupId>com.example</groupId>"
        f"<artifactId>{artifact}</artifactId><version>{version}</version></project>"
    ).encode()


def test_skopeo_sees_tags_and_tagged_indexes_kept(live_registry, make_user, password, tmp_path):
    repository = RepositoryFactory(name="images", format="oci")
    creds = f"{make_user(repository, Role.DELETE).username}:{password}"
    skopeo = Skopeo(tmp_path / "skopeo")
    layout = image_layout(tmp_path)
    layout.set_architecture(image="v1", architecture="arm64", tag="v1-arm64")
    layout.set_architecture(image="v1", architecture="s390x", tag="v1-s390x")
    layout.add_index([("v1", "amd64"), ("v1-arm64", "arm64")], tag="multi")
    image = f"docker://{live_registry.host}/images/app"
    push = ["copy", "--dest-tls-verify=false", "--dest-creds", creds]
    skopeo(*push, "--all", f"oci:{layout.path}:multi", f"{image}:1")
    skopeo(*push, f"oci:{layout.path}:v1-s390x", f"{image}:dev")
    skopeo(*push, f"oci:{layout.path}:v1", f"{image}:dev")  # the s390x build is untagged now
    _age("images", days=10)

    _command("setpolicy", "images", "--older-than-days", "7")
    output = _command("cleanup", "images")

    untagged = layout.descriptor("v1-s390x")["digest"]
    assert output.splitlines()[0].startswith(f"images: app {untagged}: 1 file,")
    assert output.splitlines()[-1].startswith("images: removed 1 version, 1 file,")
    listed = skopeo("list-tags", "--tls-verify=false", "--creds", creds, image)
    assert sorted(json.loads(listed.stdout)["Tags"]) == ["1", "dev"]
    gone = skopeo(
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        creds,
        f"{image}@{untagged}",
        check=False,
    )
    assert gone.returncode != 0
    assert "manifest unknown" in gone.stderr.lower()
    out = tmp_path / "pulled"
    src = ["copy", "--all", "--src-tls-verify=false", "--src-creds", creds]
    skopeo(*src, f"{image}:1", f"oci:{out}:multi")
    assert OciManifest.objects.filter(package__name="app").count() == 3
