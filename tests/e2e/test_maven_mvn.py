"""The Maven format driven by the real mvn 3.8 and Apache Ivy against a live server.

Maven Central is unreachable here: every settings.xml points ``central`` at the pre-seeded
``~/.m2/repository`` and the projects pin their plugin versions (see tests/e2e/maven_projects).
"""

import hashlib
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import requests

from access.models import Role
from access.services import role_grant
from formats.maven.metadata import parse_metadata
from formats.models import Asset, Repository
from tests.factories import PASSWORD, RepositoryFactory
from tests.live import require_client

pytestmark = pytest.mark.e2e

PROJECTS = Path(__file__).resolve().parent / "maven_projects"
CENTRAL = f"file://{Path.home()}/.m2/repository"
IVY_JAR = Path("/usr/share/java/ivy.jar")
DEPLOY_FILE = "org.apache.maven.plugins:maven-deploy-plugin:3.1.1:deploy-file"


def _jar(entry: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, entry)
    return buffer.getvalue()


def _fill(template: Path, target: Path, **values: str) -> Path:
    text = template.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def _settings(tmp_path: Path, name: str, username: str = "", password: str = "") -> Path:
    return _fill(
        PROJECTS / "settings.xml",
        tmp_path / f"{name}-settings.xml",
        LOCAL_REPOSITORY=str(tmp_path / f"{name}-m2"),
        USERNAME=username,
        PASSWORD=password,
        CENTRAL=CENTRAL,
    )


def _project(parent: Path, name: str, **urls: str) -> Path:
    target = parent / name
    shutil.copytree(PROJECTS / name, target)
    _fill(PROJECTS / name / "pom.xml", target / "pom.xml", **urls)
    return target


def _mvn(settings: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    mvn = require_client("mvn")
    return subprocess.run(
        [mvn, "-B", "-ntp", "-s", str(settings), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _deploy_file(settings: Path, url: str, jar: Path, *coordinates: str, cwd: Path):
    return _mvn(
        settings,
        DEPLOY_FILE,
        f"-Dfile={jar}",
        *coordinates,
        f"-Durl={url}",
        "-DrepositoryId=registry",
        cwd=cwd,
    )


def _ivy_retrieve(tmp_path: Path, *, url: str, username: str, password: str, dependency: list[str]):
    """Resolve ``dependency`` (organisation, module, revision) with Apache Ivy from ``url``;
    return the process and the folder it retrieved the artifacts into (``ivy-lib``)."""
    java = require_client("java")
    if not IVY_JAR.is_file():
        message = f"{IVY_JAR} is missing (apt-get install ivy)"
        if os.environ.get("REQUIRE_CLIENTS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    ivy_settings = _fill(
        PROJECTS / "ivysettings.xml",
        tmp_path / "ivysettings.xml",
        CACHE=str(tmp_path / "ivy-cache"),
        USERNAME=username,
        PASSWORD=password,
        PUBLIC=url,
    )
    retrieved = tmp_path / "ivy-lib"
    ivy = subprocess.run(
        [java, "-jar", str(IVY_JAR), "-settings", str(ivy_settings), "-dependency", *dependency]
        + ["-retrieve", str(retrieved / "[artifact]-[revision].[ext]")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return ivy, retrieved


@pytest.fixture
def maven_repositories(live_registry):
    releases = RepositoryFactory(
        name="e2e-releases", format="maven", config={"version_policy": "release"}
    )
    snapshots = RepositoryFactory(
        name="e2e-snapshots", format="maven", config={"version_policy": "snapshot"}
    )
    public = RepositoryFactory(name="e2e-public", format="maven", kind=Repository.Kind.GROUP)
    public.members.add(releases, snapshots)
    base = f"{live_registry.url}/repository"
    return {
        "releases": releases,
        "snapshots": snapshots,
        "public": public,
        "RELEASES": f"{base}/e2e-releases/",
        "SNAPSHOTS": f"{base}/e2e-snapshots/",
        "PUBLIC": f"{base}/e2e-public/",
    }


def test_deploy_release_and_snapshots_then_resolve_with_mvn_and_ivy(
    live_registry, maven_repositories, make_user, make_token, tmp_path
):
    repos = maven_repositories
    writer = make_user(repos["releases"], Role.WRITE)
    role_grant(repository=repos["snapshots"], role=Role.WRITE, user=writer)
    token = make_token(writer)
    reader = make_user(repos["public"], Role.READ)
    for member in (repos["releases"], repos["snapshots"]):
        role_grant(repository=member, role=Role.READ, user=reader)
    producer = _settings(tmp_path, "producer", writer.username, token)

    # A release with its own POM, by deploy:deploy-file.
    base_jar, base_pom = tmp_path / "base-1.0.jar", tmp_path / "base-1.0.pom"
    base_jar.write_bytes(_jar("base.txt"))
    base_pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>com.example</groupId><artifactId>base</artifactId><version>1.0</version>"
        "<name>Base</name><licenses><license><name>MIT</name></license></licenses></project>"
    )
    deployed = _deploy_file(
        producer, repos["RELEASES"], base_jar, f"-DpomFile={base_pom}", cwd=tmp_path
    )
    assert deployed.returncode == 0, deployed.stdout[-3000:]

    # Versions for the range [1.0,2.0), put over plain HTTP as any deploy tool would.
    for version in ("1.0", "1.5", "2.0"):
        stem = f"{repos['RELEASES']}com/example/util/{version}/util-{version}"
        pom = (
            "<project><modelVersion>4.0.0</modelVersion><groupId>com.example</groupId>"
            f"<artifactId>util</artifactId><version>{version}</version></project>"
        ).encode()
        for suffix, body in ((".jar", _jar(f"util-{version}")), (".pom", pom)):
            put = requests.put(f"{stem}{suffix}", data=body, auth=(writer.username, token))
            assert put.status_code == 201, put.text

    # The SNAPSHOT project, deployed twice: build numbers 1 and 2 come from our metadata.
    lib = _project(tmp_path, "lib", RELEASES=repos["RELEASES"], SNAPSHOTS=repos["SNAPSHOTS"])
    for _ in range(2):
        result = _mvn(producer, "deploy", cwd=lib)
        assert result.returncode == 0, result.stdout[-3000:]
    snapshot_url = f"{repos['SNAPSHOTS']}com/example/lib/1.0-SNAPSHOT/maven-metadata.xml"
    metadata = parse_metadata(
        raw=requests.get(snapshot_url, auth=(reader.username, PASSWORD)).content
    )
    assert metadata.snapshot_build_number == 2
    assert sorted(sv.value.rsplit("-", 1)[1] for sv in metadata.snapshot_versions) == ["2", "2"]
    jars = Asset.objects.filter(repository=repos["snapshots"], path__endswith=".jar")
    assert sorted(path.rsplit("-", 1)[1] for path in jars.values_list("path", flat=True)) == [
        "1.jar",
        "2.jar",
    ]

    # A consumer resolves the SNAPSHOT, its transitive release and the range through the group.
    consumer_settings = _settings(tmp_path, "consumer", reader.username, PASSWORD)
    consumer = _project(tmp_path, "consumer", PUBLIC=repos["PUBLIC"])
    compiled = _mvn(consumer_settings, "compile", cwd=consumer)
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    local = tmp_path / "consumer-m2" / "com" / "example"
    newest = metadata.snapshot_versions[-1].value
    resolved = {
        "lib": (local / "lib" / "1.0-SNAPSHOT" / f"lib-{newest}.jar").is_file(),
        "base": (local / "base" / "1.0" / "base-1.0.jar").is_file(),
        "util 1.5": (local / "util" / "1.5" / "util-1.5.jar").is_file(),
        "util 2.0": (local / "util" / "2.0" / "util-2.0.jar").exists(),
    }
    assert resolved == {"lib": True, "base": True, "util 1.5": True, "util 2.0": False}
    assert (consumer / "target" / "classes" / "com" / "example" / "app" / "App.class").is_file()

    # Ivy resolves the same SNAPSHOT and its dependency (it HEADs before its GETs).
    ivy, ivy_lib = _ivy_retrieve(
        tmp_path,
        url=repos["PUBLIC"],
        username=reader.username,
        password=PASSWORD,
        dependency=["com.example", "lib", "1.0-SNAPSHOT"],
    )
    assert ivy.returncode == 0, ivy.stdout[-3000:]
    retrieved = sorted(p.name for p in ivy_lib.iterdir())
    assert retrieved == ["base-1.0.jar", "lib-1.0-SNAPSHOT.jar"]
    served = requests.get(
        f"{repos['PUBLIC']}com/example/lib/1.0-SNAPSHOT/lib-{newest}.jar",
        auth=(reader.username, PASSWORD),
    ).content
    ivy_jar = (ivy_lib / "lib-1.0-SNAPSHOT.jar").read_bytes()
    assert hashlib.sha256(ivy_jar).digest() == hashlib.sha256(served).digest()


def test_refused_deploys_and_reads(live_registry, maven_repositories, make_user, tmp_path):
    repos = maven_repositories
    writer = make_user(repos["releases"], Role.WRITE)
    reader = make_user(repos["releases"], Role.READ)
    jar = tmp_path / "x.jar"
    jar.write_bytes(_jar("x.txt"))

    def deploy(settings: Path, url: str, version: str) -> subprocess.CompletedProcess:
        coordinates = ("-DgroupId=com.example", "-DartifactId=x", f"-Dversion={version}")
        return _deploy_file(settings, url, jar, *coordinates, "-DgeneratePom=true", cwd=tmp_path)

    writer_settings = _settings(tmp_path, "writer", writer.username, PASSWORD)
    first = deploy(writer_settings, repos["RELEASES"], "1.0")
    again = deploy(writer_settings, repos["RELEASES"], "1.0")
    snapshot = deploy(writer_settings, repos["RELEASES"], "1.1-SNAPSHOT")
    by_reader = deploy(
        _settings(tmp_path, "reader", reader.username, PASSWORD), repos["RELEASES"], "1.2"
    )

    assert first.returncode == 0, first.stdout[-3000:]
    assert again.returncode == 1
    assert "status: 409 com/example/x/1.0/x-1.0.jar already exists" in again.stdout
    assert snapshot.returncode == 1
    assert (
        "status: 400 Repository version policy: RELEASE does not allow version: 1.1-SNAPSHOT"
        in snapshot.stdout
    ), snapshot.stdout[-2000:]
    assert by_reader.returncode == 1
    assert "status: 403 write access to 'e2e-releases' denied" in by_reader.stdout, (
        by_reader.stdout[-2000:]
    )
    assert sorted(
        Asset.objects.filter(repository=repos["releases"]).values_list("path", flat=True)
    ) == ["com/example/x/1.0/x-1.0.jar", "com/example/x/1.0/x-1.0.pom"]

    # Without credentials mvn is challenged (401) and, having none to offer, fails.
    consumer = _project(tmp_path / "anonymous", "consumer", PUBLIC=repos["RELEASES"])
    anonymous = _mvn(_settings(tmp_path, "anonymous"), "compile", cwd=consumer)
    assert anonymous.returncode == 1
    assert "status: 401 authentication required" in anonymous.stdout, anonymous.stdout[-2000:]


def test_a_deleted_release_cannot_be_deployed_again_with_other_bytes(
    live_registry, maven_repositories, make_user, tmp_path
):
    repos = maven_repositories
    deployer = make_user(repos["releases"], Role.DELETE)
    settings = _settings(tmp_path, "deployer", deployer.username, PASSWORD)
    original, rebuilt = tmp_path / "original.jar", tmp_path / "rebuilt.jar"
    original.write_bytes(_jar("first build"))
    rebuilt.write_bytes(_jar("second build"))
    coordinates = ("-DgroupId=com.example", "-DartifactId=y", "-Dversion=1.0", "-DgeneratePom=true")
    first = _deploy_file(settings, repos["RELEASES"], original, *coordinates, cwd=tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    version = Asset.objects.get(path="com/example/y/1.0/y-1.0.jar").version
    deleted = requests.delete(
        f"{live_registry.url}/api/v1/versions/{version.pk}/",
        auth=(deployer.username, PASSWORD),
        timeout=30,
    )
    assert deleted.status_code == 204

    refused = _deploy_file(settings, repos["RELEASES"], rebuilt, *coordinates, cwd=tmp_path)

    assert refused.returncode == 1
    assert (
        "status: 409 com/example/y/1.0/y-1.0.jar was published before with other bytes"
        in refused.stdout
    ), refused.stdout[-2000:]
    # mvn sent the POM first: its bytes are those deployed before, so only the jar is refused.
    assert list(
        Asset.objects.filter(repository=repos["releases"]).values_list("path", flat=True)
    ) == ["com/example/y/1.0/y-1.0.pom"]
    jar_url = f"{repos['RELEASES']}com/example/y/1.0/y-1.0.jar"
    auth = (deployer.username, PASSWORD)
    again = requests.put(jar_url, data=original.read_bytes(), auth=auth, timeout=30)
    assert again.status_code == 201  # the very same bytes may come back
    assert requests.get(jar_url, auth=auth, timeout=30).content == original.read_bytes()
