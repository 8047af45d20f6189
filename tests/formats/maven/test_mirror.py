"""The Maven mirror (MIRROR_DIR): after every change it holds what the registry serves."""

import hashlib
import io
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from access.models import Role
from access.services import role_grant, token_create
from formats.maven.media import MIME_CHECKSUM, MIRROR_TYPES, media_type_for
from formats.maven.metadata import parse_metadata
from formats.mirror import STATE, mirror_served_type, mirror_sync
from formats.models import Package, Repository, RepositoryMember, Version
from formats.selectors import repository_read_order
from formats.services import repository_members_set
from storage.backends import blob_backend
from tests.factories import RepositoryFactory
from tests.formats.maven.conftest import basic, pom
from tests.helpers import body_of
from tests.mirror import mirror_settled, mirror_worker, tasks_sent_to

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

JAR = b"PK\x03\x04 jar bytes"
SUMS = ("", ".md5", ".sha1", ".sha256", ".sha512")
RELEASE = "com/example/util"
SNAP = "com/example/lib/1.0-SNAPSHOT"


@pytest.fixture
def mirror(settings, tmp_path, tasks_in_process) -> Path:
    settings.MIRROR_DIR = str(tmp_path / "mirror")
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
    """The files nginx may send (not the groups' member stamps and locks)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.relative_to(root).as_posix().startswith(f"{STATE}/")
    }


def _with_sums(*paths: str) -> list[str]:
    return sorted(f"{path}{suffix}" for path in paths for suffix in SUMS)


def _assert_serves_the_mirror(client, user, root: Path) -> None:
    """Every mirror file has the body and Content-Type the registry serves at its URL."""
    for relative, content in _tree(root).items():
        response = client.get(f"/repository/{relative}", headers=basic(user))
        assert response.status_code == 200, relative
        assert (body_of(response), response["Content-Type"]) == (
            content,
            mirror_served_type(relative),
        )


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


def test_mirror_sync_rebuilds_the_mirror_from_the_database(
    client, settings, tmp_path, deploy, releases, snapshots, deployer, capsys, tasks_in_process
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
    role_grant(repository=group, role=Role.READ, user=deployer)
    RepositoryFactory(name="raw", format="raw")
    mirror = tmp_path / "mirror"
    stale = {
        "releases/com/example/util/0.9/util-0.9.pom": b"deleted while the mirror was off",
        "releases/com/example/util/maven-metadata.xml": b"outdated",
        "releases/com/example/util/.mirror-tmp-crashed": b"half written",
        "gone/com/example/x/maven-metadata.xml": b"a repository that no longer exists",
        "public/com/example/util/maven-metadata.xml": b"outdated group metadata",
        f"{STATE}/gone": b"the stamp of a repository that no longer exists",
        "raw/file": b"not maven",
    }
    for relative, content in stale.items():
        (mirror / relative).parent.mkdir(parents=True, exist_ok=True)
        (mirror / relative).write_bytes(content)
    settings.MIRROR_DIR = str(mirror)

    call_command("mirror_sync")

    assert capsys.readouterr().out == "mirrored 3 repositories: public, releases, snapshots\n"
    hosted = [
        "com/example/util/maven-metadata.xml",
        "com/example/util/1.0/util-1.0.pom",
        "com/example/lib/maven-metadata.xml",
        f"{SNAP}/maven-metadata.xml",
        f"{SNAP}/lib-1.0-20261126.201500-1.pom",
    ]
    assert sorted(_tree(mirror)) == _with_sums(
        *(f"releases/{path}" for path in hosted[:2]),
        *(f"snapshots/{path}" for path in hosted[2:]),
        *(f"public/{path}" for path in hosted),
    )
    assert sorted(p.name for p in (mirror / STATE).iterdir()) == [
        ".locks",
        "public",
        "releases",
        "snapshots",
    ]
    _assert_serves_the_mirror(client, deployer, mirror)


def test_mirror_sync_needs_the_setting(settings):
    settings.MIRROR_DIR = ""

    with pytest.raises(CommandError, match="MIRROR_DIR is not set"):
        call_command("mirror_sync")


def test_the_types_nginx_sends_maven_files_with_are_the_registrys():
    registry = {
        extension: MIME_CHECKSUM
        if extension in ("md5", "sha1", "sha256", "sha512")
        else media_type_for(extension=extension)
        for extension in MIRROR_TYPES
    }
    assert registry == MIRROR_TYPES


# Groups: the mirror of a group is the registry's answer to a reader of every member.

UTIL_META = f"{RELEASE}/maven-metadata.xml"


@pytest.fixture
def thirdparty(db):
    return RepositoryFactory(name="thirdparty", format="maven")


@pytest.fixture
def group(db, releases, snapshots, thirdparty, django_capture_on_commit_callbacks):
    """``public``: releases, then snapshots, then thirdparty, made through the service."""
    public = RepositoryFactory(name="public", format="maven", kind=Repository.Kind.GROUP)
    with django_capture_on_commit_callbacks(execute=True):
        repository_members_set(repository=public, members=[releases, snapshots, thirdparty])
    return public


@pytest.fixture
def group_reader(make_user, group, releases, snapshots, thirdparty, deployer):
    """The deployer, who may also read the group: a reader of every member."""
    role_grant(repository=thirdparty, role=Role.WRITE, user=deployer)
    role_grant(repository=group, role=Role.READ, user=deployer)
    return deployer


@pytest.fixture
def group_published(deploy_committed, group_reader, releases, snapshots, thirdparty):
    """util 1.0 in releases and (other bytes) in thirdparty; 1.1 in thirdparty; a snapshot."""
    deploy_committed(releases, f"{RELEASE}/1.0/util-1.0.pom", pom("com.example", "util", "1.0"))
    deploy_committed(releases, f"{RELEASE}/1.0/util-1.0.jar", JAR)
    deploy_committed(thirdparty, f"{RELEASE}/1.0/util-1.0.jar", b"PK\x03\x04 another build")
    deploy_committed(thirdparty, f"{RELEASE}/1.1/util-1.1.pom", pom("com.example", "util", "1.1"))
    deploy_committed(
        snapshots,
        f"{RELEASE}/2.0-SNAPSHOT/util-2.0-20261126.201500-1.pom",
        pom("com.example", "util", "2.0-SNAPSHOT"),
    )


def _group_tree(mirror: Path) -> list[str]:
    return sorted(path for path in _tree(mirror) if path.startswith("public/"))


def _versions(mirror: Path) -> bytes:
    return (mirror / "public" / UTIL_META).read_bytes()


def test_group_mirror_is_what_the_registry_serves_a_reader_of_every_member(
    client, mirror, group_published, group_reader, releases
):
    assert _group_tree(mirror) == _with_sums(
        f"public/{UTIL_META}",
        f"public/{RELEASE}/1.0/util-1.0.jar",
        f"public/{RELEASE}/1.0/util-1.0.pom",
        f"public/{RELEASE}/1.1/util-1.1.pom",
        f"public/{RELEASE}/2.0-SNAPSHOT/maven-metadata.xml",
        f"public/{RELEASE}/2.0-SNAPSHOT/util-2.0-20261126.201500-1.pom",
    )
    _assert_serves_the_mirror(client, group_reader, mirror)
    # The first member's file, as a link to its blob.
    jar = mirror / "public" / RELEASE / "1.0" / "util-1.0.jar"
    blob = releases.assets.get(path=f"{RELEASE}/1.0/util-1.0.jar").blob
    assert jar.resolve() == blob_backend().local_path(blob.path)
    # Metadata merged across the members, and the checksum of the merged body.
    merged = client.get(f"/repository/public/{UTIL_META}", headers=basic(group_reader))
    assert parse_metadata(raw=body_of(merged)).versions == ("1.0", "1.1", "2.0-SNAPSHOT")
    assert _versions(mirror) == body_of(merged)
    assert (mirror / "public" / f"{UTIL_META}.sha1").read_bytes() == (
        hashlib.sha1(body_of(merged)).hexdigest().encode()
    )
    assert int((mirror / "public" / UTIL_META).stat().st_mtime) == (
        parsedate_to_datetime(merged["Last-Modified"]).timestamp()
    )


def test_a_deploy_to_a_member_refreshes_the_group_mirror(
    client, mirror, group_published, group_reader, deploy_committed, thirdparty
):
    deploy_committed(thirdparty, f"{RELEASE}/1.2/util-1.2.pom", pom("com.example", "util", "1.2"))

    assert parse_metadata(raw=_versions(mirror)).versions == ("1.0", "1.1", "1.2", "2.0-SNAPSHOT")
    assert (mirror / "public" / RELEASE / "1.2" / "util-1.2.pom").is_symlink()
    _assert_serves_the_mirror(client, group_reader, mirror)


def test_deleting_a_version_of_a_member_refreshes_the_group_mirror(
    client,
    mirror,
    group_published,
    group_reader,
    make_user,
    thirdparty,
    django_capture_on_commit_callbacks,
):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=group_reader).secret}")
    role_grant(repository=thirdparty, role=Role.DELETE, user=group_reader)
    doomed = Version.objects.get(package__repository=thirdparty, version="1.1")

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/versions/{doomed.pk}/").status_code == 204

    assert parse_metadata(raw=_versions(mirror)).versions == ("1.0", "2.0-SNAPSHOT")
    assert not (mirror / "public" / RELEASE / "1.1").exists()
    _assert_serves_the_mirror(client, group_reader, mirror)


def test_membership_changes_rebuild_the_group_mirror(
    client,
    mirror,
    group_published,
    group_reader,
    releases,
    snapshots,
    thirdparty,
    django_capture_on_commit_callbacks,
):
    group = Repository.objects.get(name="public")
    with django_capture_on_commit_callbacks(execute=True):
        repository_members_set(repository=group, members=[thirdparty, snapshots])

    assert parse_metadata(raw=_versions(mirror)).versions == ("1.0", "1.1", "2.0-SNAPSHOT")
    jar = mirror / "public" / RELEASE / "1.0" / "util-1.0.jar"
    assert jar.resolve() == blob_backend().local_path(
        thirdparty.assets.get(path=f"{RELEASE}/1.0/util-1.0.jar").blob.path
    )
    assert not (mirror / "public" / RELEASE / "1.0" / "util-1.0.pom").exists()
    _assert_serves_the_mirror(client, group_reader, mirror)

    with django_capture_on_commit_callbacks(execute=True):
        repository_members_set(repository=group, members=[snapshots])

    assert _group_tree(mirror) == _with_sums(
        f"public/{UTIL_META}",
        f"public/{RELEASE}/2.0-SNAPSHOT/maven-metadata.xml",
        f"public/{RELEASE}/2.0-SNAPSHOT/util-2.0-20261126.201500-1.pom",
    )
    _assert_serves_the_mirror(client, group_reader, mirror)


def test_createrepo_with_members_mirrors_the_new_group(
    client, mirror, deploy_committed, deployer, releases, django_capture_on_commit_callbacks
):
    deploy_committed(releases, f"{RELEASE}/1.0/util-1.0.pom", pom("com.example", "util", "1.0"))

    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "createrepo",
            "everything",
            "--format",
            "maven",
            "--kind",
            "group",
            "--member",
            "releases",
            stdout=io.StringIO(),
        )

    assert sorted(p for p in _tree(mirror) if p.startswith("everything/")) == _with_sums(
        f"everything/{UTIL_META}", f"everything/{RELEASE}/1.0/util-1.0.pom"
    )
    role_grant(repository=Repository.objects.get(name="everything"), role=Role.READ, user=deployer)
    _assert_serves_the_mirror(client, deployer, mirror)


def _member_rows(group, wanted):
    """The admin's member inline as a browser posts it: current rows kept or deleted, then new."""
    links = list(RepositoryMember.objects.filter(group=group).order_by("position", "pk"))
    rows: dict[str, str] = {}
    present = [link.member_id for link in links]
    for index, link in enumerate(links):
        rows.update(
            {
                f"member_links-{index}-id": str(link.pk),
                f"member_links-{index}-group": str(group.pk),
                f"member_links-{index}-member": str(link.member_id),
                f"member_links-{index}-position": str(
                    [m.pk for m in wanted].index(link.member_id)
                    if link.member_id in [m.pk for m in wanted]
                    else index
                ),
            }
        )
        if link.member_id not in [m.pk for m in wanted]:
            rows[f"member_links-{index}-DELETE"] = "on"
    added = [member for member in wanted if member.pk not in present]
    for offset, member in enumerate(added):
        index = len(links) + offset
        rows[f"member_links-{index}-member"] = str(member.pk)
        rows[f"member_links-{index}-position"] = str(wanted.index(member))
        rows[f"member_links-{index}-group"] = str(group.pk)
    rows.update(
        {
            "member_links-TOTAL_FORMS": str(len(links) + len(added)),
            "member_links-INITIAL_FORMS": str(len(links)),
            "member_links-MIN_NUM_FORMS": "0",
            "member_links-MAX_NUM_FORMS": "1000",
        }
    )
    return rows


def test_members_edited_in_the_admin_rebuild_the_group_mirror(
    client,
    mirror,
    group_published,
    releases,
    snapshots,
    make_user,
    django_capture_on_commit_callbacks,
):
    admin = make_user(is_superuser=True, is_staff=True)
    group = Repository.objects.get(name="public")
    form = {
        "name": "public",
        "format": "maven",
        "kind": "group",
        "config": "{}",
        "immutable_tag_exceptions": "latest",
        "upstream_url": "",
        "metadata_ttl": "1800",
        "negative_ttl": "300",
        **_member_rows(group, [releases, snapshots]),
    }
    client.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/formats/repository/{group.pk}/change/", form)

    assert response.status_code == 302, response.content
    assert repository_read_order(repository=group) == [releases, snapshots]
    assert parse_metadata(raw=_versions(mirror)).versions == ("1.0", "2.0-SNAPSHOT")
    assert not (mirror / "public" / RELEASE / "1.1").exists()


def test_nested_groups_follow_their_members(
    client,
    mirror,
    group_published,
    group_reader,
    deploy_committed,
    releases,
    django_capture_on_commit_callbacks,
):
    outer = RepositoryFactory(name="outer", format="maven", kind=Repository.Kind.GROUP)
    with django_capture_on_commit_callbacks(execute=True):
        repository_members_set(repository=outer, members=[Repository.objects.get(name="public")])
    role_grant(repository=outer, role=Role.READ, user=group_reader)

    deploy_committed(releases, f"{RELEASE}/1.3/util-1.3.pom", pom("com.example", "util", "1.3"))

    outer_metadata = (mirror / "outer" / UTIL_META).read_bytes()
    assert parse_metadata(raw=outer_metadata).versions == ("1.0", "1.1", "1.3", "2.0-SNAPSHOT")
    assert outer_metadata == _versions(mirror)
    _assert_serves_the_mirror(client, group_reader, mirror)


def test_a_group_mirror_built_for_other_members_is_not_served(
    client, mirror, group_published, group_reader, deploy_committed, releases, snapshots
):
    group = Repository.objects.get(name="public")
    group.members.remove(releases)  # behind the service's back (a shell, a deleted member)

    def authorize() -> int:
        query = {"repository": "public"}
        return client.get("/-/authorize", query, headers=basic(group_reader)).status_code

    assert authorize() == 403  # the registry serves the group until its mirror is rebuilt
    deploy_committed(
        snapshots,
        f"{SNAP}/lib-1.0-20261126.201500-1.pom",
        pom("com.example", "lib", "1.0-SNAPSHOT"),
    )

    assert authorize() == 204
    assert not (mirror / "public" / RELEASE / "1.0" / "util-1.0.pom").exists()
    assert (mirror / "public" / SNAP / "lib-1.0-20261126.201500-1.pom").is_symlink()
    _assert_serves_the_mirror(client, group_reader, mirror)


def test_a_deleted_repository_s_mirror_is_not_served_under_a_new_one_of_its_name(
    client, mirror, published, deployer, deploy_committed, releases
):
    releases.delete()  # its mirror stays until mirror_sync, as after a crash
    again = RepositoryFactory(name="releases", format="maven", config={"version_policy": "release"})
    role_grant(repository=again, role=Role.WRITE, user=deployer)

    def authorize() -> int:
        query = {"repository": "releases"}
        return client.get("/-/authorize", query, headers=basic(deployer)).status_code

    assert authorize() == 403  # the old tree: the registry answers (404) until it is rebuilt
    deploy_committed(again, "org/other/tool/2.0/tool-2.0.pom", pom("org.other", "tool", "2.0"))

    assert authorize() == 204
    assert not (mirror / "releases" / RELEASE).exists()
    assert (mirror / "releases" / "org/other/tool/2.0/tool-2.0.pom").is_symlink()


def test_a_new_version_adds_its_folder_and_keeps_the_others(
    client, mirror, published, deployer, deploy_committed, releases
):
    deploy_committed(releases, f"{RELEASE}/2.0/util-2.0.pom", pom("com.example", "util", "2.0"))

    assert sorted(p for p in _tree(mirror) if p.startswith("releases/")) == _with_sums(
        "releases/com/example/util/maven-metadata.xml",
        "releases/com/example/util/1.0/util-1.0.jar",
        "releases/com/example/util/1.0/util-1.0.pom",
        "releases/com/example/util/2.0/util-2.0.pom",
    )
    versions = parse_metadata(
        raw=(mirror / "releases" / RELEASE / "maven-metadata.xml").read_bytes()
    )
    assert versions.versions == ("1.0", "2.0")
    _assert_serves_the_mirror(client, deployer, mirror)


def test_rebuilding_a_group_mirror_costs_the_same_queries_however_many_files(
    mirror, group_published, deploy_committed, thirdparty, group
):
    with CaptureQueriesContext(connection) as before:
        mirror_sync()
    for minor in range(2, 6):
        version = f"1.{minor}"
        pom_path = f"{RELEASE}/{version}/util-{version}.pom"
        deploy_committed(thirdparty, pom_path, pom("com.example", "util", version))
    with CaptureQueriesContext(connection) as after:
        mirror_sync()

    assert len(after.captured_queries) == len(before.captured_queries)
    assert (mirror / "public" / RELEASE / "1.5" / "util-1.5.pom").is_symlink()


# The refresh is a task sent after the commit: on a worker when there is a broker.


def test_a_deploy_s_refresh_runs_after_the_commit_on_the_worker(
    settings, tmp_path, transactional_db, make_user
):
    settings.MIRROR_DIR = str(tmp_path / "mirror")
    releases = RepositoryFactory(name="releases", format="maven")
    deployer = make_user(releases, Role.WRITE)
    path = f"{RELEASE}/1.0/util-1.0.pom"
    client = Client()
    with mirror_worker(tmp_path, tmp_path / "mirror") as queue, tasks_sent_to(queue):
        response = client.put(
            f"/repository/releases/{path}",
            data=pom("com.example", "util", "1.0"),
            content_type="application/octet-stream",
            headers=basic(deployer),
        )
        mirror_settled(queue)

    assert response.status_code == 201
    assert sorted(_tree(tmp_path / "mirror")) == _with_sums(
        f"releases/{RELEASE}/maven-metadata.xml", f"releases/{path}"
    )


def test_a_failed_refresh_is_logged_and_sends_readers_to_the_registry(
    client,
    mirror,
    published,
    deployer,
    deploy,
    releases,
    caplog,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    def authorize() -> int:
        query = {"repository": "releases"}
        return client.get("/-/authorize", query, headers=basic(deployer)).status_code

    assert authorize() == 204

    def disk_full(**kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as full, django_capture_on_commit_callbacks(execute=True):
        full.setattr("formats.mirror._reconcile", disk_full)
        response = deploy(
            releases, f"{RELEASE}/2.0/util-2.0.pom", pom("com.example", "util", "2.0")
        )

    assert response.status_code == 201  # committed: the mirror is only a copy
    failures = [r for r in caplog.records if r.name == "formats.mirror_tasks"]
    # The refresh of the file the core sends, and those of the metadata and folder Maven sends.
    assert {(r.levelname, r.getMessage()) for r in failures} == {
        (
            "ERROR",
            f"mirror refresh of repository {releases.pk} under '{prefix}' failed;"
            " the registry serves its reads until the next refresh",
        )
        for prefix in (
            f"{RELEASE}/2.0/util-2.0.pom",
            f"{RELEASE}/maven-metadata.xml",
            f"{RELEASE}/2.0/",
        )
    }
    assert authorize() == 403  # nginx sends every read to the registry, which has 2.0
    assert not (mirror / STATE / "releases").exists()

    with django_capture_on_commit_callbacks(execute=True):
        deploy(releases, f"{RELEASE}/2.1/util-2.1.pom", pom("com.example", "util", "2.1"))

    assert authorize() == 204
    assert parse_metadata(
        raw=(mirror / "releases" / RELEASE / "maven-metadata.xml").read_bytes()
    ).versions == ("1.0", "2.0", "2.1")
    assert (mirror / "releases" / RELEASE / "2.0" / "util-2.0.pom").is_symlink()


def test_a_group_with_a_proxy_member_has_no_mirror_and_proxies_have_none(
    client, mirror, group_published, group_reader, releases, django_capture_on_commit_callbacks
):
    """What a proxy serves is its upstream's: a tree built here would be stale or incomplete."""
    proxy = RepositoryFactory(
        name="central", format="maven", kind="proxy", upstream_url="http://127.0.0.1:9/"
    )
    role_grant(repository=proxy, role=Role.READ, user=group_reader)
    group = Repository.objects.get(name="public")
    members = list(repository_read_order(repository=group))

    def authorize(name: str) -> int:
        query = {"repository": name}
        return client.get("/-/authorize", query, headers=basic(group_reader)).status_code

    with django_capture_on_commit_callbacks(execute=True):
        repository_members_set(repository=group, members=[*members, proxy])

    assert _group_tree(mirror) == []
    assert (authorize("public"), authorize("central")) == (403, 403)
    assert mirror_sync() == ["releases", "snapshots", "thirdparty"]
    assert _group_tree(mirror) == []
    assert not (mirror / "central").exists()

    with django_capture_on_commit_callbacks(execute=True):
        repository_members_set(repository=group, members=members)

    assert f"public/{RELEASE}/1.0/util-1.0.jar" in _group_tree(mirror)
    assert authorize("public") == 204
    _assert_serves_the_mirror(client, group_reader, mirror)
