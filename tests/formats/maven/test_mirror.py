"""The Maven mirror (MAVEN_MIRROR_DIR): after every change it holds what the registry serves."""

import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from access.models import Role
from access.services import token_create
from formats.maven.mirror import SERVED_TYPES, served_type
from formats.maven.protocol.views import MIME_CHECKSUM
from formats.maven.services import media_type_for
from formats.models import Package, Repository, Version
from storage.backends import blob_backend
from tests.factories import RepositoryFactory
from tests.formats.maven.conftest import basic, pom
from tests.helpers import body_of
from tests.nginx import DEPLOY_CONF

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

JAR = b"PK\x03\x04 jar bytes"
SUMS = ("", ".md5", ".sha1", ".sha256", ".sha512")
RELEASE = "com/example/util"
SNAP = "com/example/lib/1.0-SNAPSHOT"


@pytest.fixture
def mirror(settings, tmp_path) -> Path:
    settings.MAVEN_MIRROR_DIR = str(tmp_path / "mirror")
    return tmp_path / "mirror"


@pytest.fixture
def deploy_committed(deploy, django_capture_on_commit_callbacks):
    """Deploy as the deployer, running what waits for the commit (the mirror refresh)."""

    def put(repository, path: str, body: bytes) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = deploy(repository, path, body)
        assert response.status_code == 201, response.content

    return put


@pytest.fixture
def published(deploy_committed, releases, snapshots):
    """util 1.0 released; lib 1.0-SNAPSHOT deployed twice."""
    deploy_committed(releases, f"{RELEASE}/1.0/util-1.0.pom", pom("com.example", "util", "1.0"))
    deploy_committed(releases, f"{RELEASE}/1.0/util-1.0.jar", JAR)
    for build, stamp in ((1, "20261126.201500"), (2, "20261126.201733")):
        stem = f"{SNAP}/lib-1.0-{stamp}-{build}"
        deploy_committed(snapshots, f"{stem}.pom", pom("com.example", "lib", "1.0-SNAPSHOT"))
        deploy_committed(snapshots, f"{stem}.jar", JAR + str(build).encode())


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _with_sums(*paths: str) -> list[str]:
    return sorted(f"{path}{suffix}" for path in paths for suffix in SUMS)


def _assert_serves_the_mirror(client, user, root: Path) -> None:
    """Every mirror file has the body and Content-Type the registry serves at its URL."""
    for relative, content in _tree(root).items():
        response = client.get(f"/repository/{relative}", headers=basic(user))
        assert response.status_code == 200, relative
        assert (body_of(response), response["Content-Type"]) == (content, served_type(relative))


def test_mirror_holds_what_the_registry_serves_after_deploys(
    client, mirror, published, deployer, releases
):
    assert sorted(_tree(mirror)) == _with_sums(
        "releases/com/example/util/maven-metadata.xml",
        "releases/com/example/util/1.0/util-1.0.jar",
        "releases/com/example/util/1.0/util-1.0.pom",
        "snapshots/com/example/lib/maven-metadata.xml",
        f"snapshots/{SNAP}/maven-metadata.xml",
        f"snapshots/{SNAP}/lib-1.0-20261126.201500-1.jar",
        f"snapshots/{SNAP}/lib-1.0-20261126.201500-1.pom",
        f"snapshots/{SNAP}/lib-1.0-20261126.201733-2.jar",
        f"snapshots/{SNAP}/lib-1.0-20261126.201733-2.pom",
    )
    _assert_serves_the_mirror(client, deployer, mirror)
    snapshot_metadata = (mirror / "snapshots" / SNAP / "maven-metadata.xml").read_bytes()
    assert b"<buildNumber>2</buildNumber>" in snapshot_metadata
    # Artifact bytes are not copied: the file is a link into the blob store.
    jar = mirror / "releases" / RELEASE / "1.0" / "util-1.0.jar"
    blob = releases.assets.get(path=f"{RELEASE}/1.0/util-1.0.jar").blob
    assert (jar.is_symlink(), jar.resolve()) == (True, blob_backend().local_path(blob.path))


def test_a_file_nginx_would_label_differently_stays_with_the_registry(
    mirror, deploy_committed, releases
):
    deploy_committed(releases, f"{RELEASE}/1.0/util-1.0.pom", pom("com.example", "util", "1.0"))
    deploy_committed(releases, f"{RELEASE}/1.0/util-1.0-dist.tar.gz", b"tarball")

    folder = mirror / "releases" / RELEASE / "1.0"
    assert sorted(path.name for path in folder.iterdir()) == [
        "util-1.0-dist.tar.gz.md5",
        "util-1.0-dist.tar.gz.sha1",
        "util-1.0-dist.tar.gz.sha256",
        "util-1.0-dist.tar.gz.sha512",
        *(name.rpartition("/")[2] for name in _with_sums("util-1.0.pom")),
    ]


def test_mirror_follows_deletes_through_the_management_api(
    client,
    mirror,
    make_user,
    deploy_committed,
    releases,
    deployer,
    django_capture_on_commit_callbacks,
):
    deploy_committed(releases, f"{RELEASE}/2.0/util-2.0.pom", pom("com.example", "util", "2.0"))
    deploy_committed(releases, f"{RELEASE}/1.0/util-1.0.pom", pom("com.example", "util", "1.0"))
    owner = make_user(releases, Role.DELETE)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=owner).secret}")
    doomed = Version.objects.get(package__repository=releases, version="1.0")

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/versions/{doomed.pk}/").status_code == 204

    assert sorted(_tree(mirror)) == _with_sums(
        "releases/com/example/util/maven-metadata.xml",
        "releases/com/example/util/2.0/util-2.0.pom",
    )
    assert not (mirror / "releases" / RELEASE / "1.0").exists()
    _assert_serves_the_mirror(client, deployer, mirror)

    package = Package.objects.get(repository=releases)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/packages/{package.pk}/").status_code == 204

    assert _tree(mirror) == {}


def test_maven_mirror_sync_rebuilds_the_mirror_from_the_database(
    client, settings, tmp_path, deploy, releases, snapshots, deployer, capsys
):
    # Deployed while the mirror was off (a new deployment): nothing was written.
    deploy(releases, f"{RELEASE}/1.0/util-1.0.pom", pom("com.example", "util", "1.0"))
    deploy(
        snapshots,
        f"{SNAP}/lib-1.0-20261126.201500-1.pom",
        pom("com.example", "lib", "1.0-SNAPSHOT"),
    )
    group = RepositoryFactory(name="public", format="maven", kind=Repository.Kind.GROUP)
    group.members.add(releases, snapshots)
    RepositoryFactory(name="raw", format="raw")
    mirror = tmp_path / "mirror"
    stale = {
        "releases/com/example/util/0.9/util-0.9.pom": b"deleted while the mirror was off",
        "releases/com/example/util/maven-metadata.xml": b"outdated",
        "releases/com/example/util/.mirror-tmp-crashed": b"half written",
        "gone/com/example/x/maven-metadata.xml": b"a repository that no longer exists",
        "public/com/example/util/maven-metadata.xml": b"groups are served by the registry",
        "raw/file": b"not maven",
    }
    for relative, content in stale.items():
        (mirror / relative).parent.mkdir(parents=True, exist_ok=True)
        (mirror / relative).write_bytes(content)
    settings.MAVEN_MIRROR_DIR = str(mirror)

    call_command("maven_mirror_sync")

    assert capsys.readouterr().out == "mirrored 2 repositories: releases, snapshots\n"
    assert sorted(_tree(mirror)) == _with_sums(
        "releases/com/example/util/maven-metadata.xml",
        "releases/com/example/util/1.0/util-1.0.pom",
        "snapshots/com/example/lib/maven-metadata.xml",
        f"snapshots/{SNAP}/maven-metadata.xml",
        f"snapshots/{SNAP}/lib-1.0-20261126.201500-1.pom",
    )
    _assert_serves_the_mirror(client, deployer, mirror)


def test_maven_mirror_sync_needs_the_setting(settings):
    settings.MAVEN_MIRROR_DIR = ""

    with pytest.raises(CommandError, match="MAVEN_MIRROR_DIR is not set"):
        call_command("maven_mirror_sync")


def test_served_types_are_the_types_of_the_nginx_config_and_of_the_registry():
    block = re.search(r"types \{(.*?)\}", DEPLOY_CONF.read_text(), re.DOTALL)
    configured = {
        extension: mime
        for line in block[1].strip().splitlines()
        for mime, *extensions in [line.strip().rstrip(";").split()]
        for extension in extensions
    }

    assert configured == SERVED_TYPES
    registry = {
        extension: MIME_CHECKSUM
        if extension in ("md5", "sha1", "sha256", "sha512")
        else media_type_for(extension=extension)
        for extension in SERVED_TYPES
    }
    assert registry == SERVED_TYPES
