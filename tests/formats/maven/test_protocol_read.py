"""GET/HEAD of files, checksums, metadata and folders of Maven repositories and groups."""

import hashlib

import pytest
from django.contrib.auth import get_user_model

from access.models import Role
from access.services import role_grant
from tests.factories import RepositoryFactory
from tests.formats.maven.conftest import basic, pom

User = get_user_model()
pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

JAR = b"PK\x03\x04 jar bytes"
SNAP = "com/example/lib/1.0-SNAPSHOT"


def _body(response) -> bytes:
    # Exhausting the stream makes the test client close the file.
    return b"".join(response.streaming_content)


@pytest.fixture
def published(deploy, releases, snapshots, frozen_now):
    """util 1.0, 1.5, 2.0 released; lib 1.0-SNAPSHOT deployed twice with a sources jar once."""
    for version in ("1.0", "2.0", "1.5"):
        folder = f"com/example/util/{version}"
        deploy(releases, f"{folder}/util-{version}.pom", pom("com.example", "util", version))
        deploy(releases, f"{folder}/util-{version}.jar", JAR + version.encode())
    for build, stamp in ((1, "20261126.201500"), (2, "20261126.201733")):
        stem = f"{SNAP}/lib-1.0-{stamp}-{build}"
        deploy(snapshots, f"{stem}.pom", pom("com.example", "lib", "1.0-SNAPSHOT"))
        deploy(snapshots, f"{stem}.jar", JAR + str(build).encode())
        if build == 1:
            deploy(snapshots, f"{stem}-sources.jar", b"sources")


@pytest.fixture
def reader(make_user, releases, snapshots):
    user = make_user(releases, Role.READ)
    role_grant(repository=snapshots, role=Role.READ, user=user)
    return user


def test_artifact_metadata_golden(client, published, reader, golden):
    response = client.get(
        "/repository/releases/com/example/util/maven-metadata.xml", headers=basic(reader)
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response.content == golden("util-metadata.xml")


def test_snapshot_metadata_golden(client, published, reader, golden):
    response = client.get(f"/repository/snapshots/{SNAP}/maven-metadata.xml", headers=basic(reader))

    assert response.status_code == 200
    assert response.content == golden("lib-snapshot-metadata.xml")


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
def test_metadata_checksums_match_the_served_document(client, published, reader, algorithm):
    url = "/repository/releases/com/example/util/maven-metadata.xml"
    document = client.get(url, headers=basic(reader)).content

    response = client.get(f"{url}.{algorithm}", headers=basic(reader))

    assert response.status_code == 200
    assert response.content == hashlib.new(algorithm, document).hexdigest().encode()


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
def test_every_checksum_is_served_for_every_file(client, published, reader, algorithm):
    url = "/repository/releases/com/example/util/1.5/util-1.5.jar"

    response = client.get(f"{url}.{algorithm}", headers=basic(reader))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert response.content == hashlib.new(algorithm, JAR + b"1.5").hexdigest().encode()


def test_file_get_and_head(client, published, reader):
    url = "/repository/releases/com/example/util/1.5/util-1.5.jar"

    got = client.get(url, headers=basic(reader))
    head = client.head(url, headers=basic(reader))

    assert got.status_code == 200
    assert _body(got) == JAR + b"1.5"
    assert got["Content-Type"] == "application/java-archive"
    assert (head.status_code, head.content, head["Content-Length"]) == (200, b"", "17")


def test_metadata_etag_answers_304(client, published, reader):
    url = "/repository/releases/com/example/util/maven-metadata.xml"
    etag = client.get(url, headers=basic(reader))["ETag"]

    response = client.get(url, headers={**basic(reader), "If-None-Match": etag})

    assert response.status_code == 304


@pytest.mark.parametrize(
    ("_case", "name", "expected"),
    [
        ("main jar", "lib-1.0-SNAPSHOT.jar", JAR + b"2"),
        ("pom", "lib-1.0-SNAPSHOT.pom", pom("com.example", "lib", "1.0-SNAPSHOT")),
        ("classifier only in build 1", "lib-1.0-SNAPSHOT-sources.jar", b"sources"),
        ("a timestamped build by name", "lib-1.0-20261126.201500-1.jar", JAR + b"1"),
    ],
)
def test_base_snapshot_name_serves_the_newest_build(
    client, published, reader, _case, name, expected
):
    response = client.get(f"/repository/snapshots/{SNAP}/{name}", headers=basic(reader))
    checksum = client.get(f"/repository/snapshots/{SNAP}/{name}.sha1", headers=basic(reader))

    assert response.status_code == 200
    assert _body(response) == expected
    assert checksum.content == hashlib.sha1(expected).hexdigest().encode()


@pytest.mark.parametrize(
    ("_case", "path"),
    [
        ("unknown version", "com/example/util/9.9/util-9.9.jar"),
        ("unknown checksum target", "com/example/util/9.9/util-9.9.jar.sha1"),
        ("unknown metadata", "com/example/none/maven-metadata.xml"),
        ("traversal", "com/example/../../etc/passwd"),
        ("unknown folder", "org/"),
        ("outside the layout", "util-1.0.jar"),
    ],
)
def test_missing_or_invalid_paths_answer_404(client, published, reader, _case, path):
    response = client.get(f"/repository/releases/{path}", headers=basic(reader))

    assert response.status_code == 404


def test_folder_listing(client, published, reader, golden):
    response = client.get(f"/repository/snapshots/{SNAP}/", headers=basic(reader))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response.content == golden("lib-snapshot-listing.html")


def test_root_listing_shows_top_folders(client, published, reader):
    response = client.get("/repository/releases/", headers=basic(reader))

    assert response.status_code == 200
    assert b'<a href="com/">com/</a>' in response.content
    assert b'href="../"' not in response.content


def test_version_folders_list_in_maven_order(client, published, reader):
    response = client.get("/repository/releases/com/example/util/", headers=basic(reader))

    body = response.content.decode()
    positions = [body.index(f'href="{name}"') for name in ("1.0/", "1.5/", "2.0/")]
    assert positions == sorted(positions)
    assert body.index('href="2.0/"') < body.index('href="maven-metadata.xml"')


def test_folder_without_slash_redirects(client, published, reader):
    response = client.get("/repository/releases/com/example", headers=basic(reader))

    assert response.status_code == 301
    assert response["Location"] == "/repository/releases/com/example/"


def test_anonymous_read_of_a_private_repository_is_challenged(client, published):
    response = client.get("/repository/releases/com/example/util/maven-metadata.xml")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="registry"'


def test_user_without_a_role_is_told_the_repository_does_not_exist(client, published, make_user):
    response = client.get(
        "/repository/releases/com/example/util/maven-metadata.xml", headers=basic(make_user())
    )

    assert response.status_code == 404
    assert response.reason_phrase == "repository 'releases' not found"


def test_anonymous_read_of_a_public_repository(client, published, releases):
    releases.anonymous_read = True
    releases.save()

    response = client.get("/repository/releases/com/example/util/1.0/util-1.0.pom")

    assert response.status_code == 200
    assert _body(response) == pom("com.example", "util", "1.0")


@pytest.fixture
def public(releases, snapshots):
    group = RepositoryFactory(name="public", format="maven", kind="group")
    group.members.add(releases, snapshots)
    return group


def test_group_serves_files_and_metadata_of_every_member(client, published, public, reader):
    role_grant(repository=public, role=Role.READ, user=reader)

    release = client.get(
        "/repository/public/com/example/util/2.0/util-2.0.jar", headers=basic(reader)
    )
    snapshot = client.get(f"/repository/public/{SNAP}/lib-1.0-SNAPSHOT.jar", headers=basic(reader))
    metadata = client.get(f"/repository/public/{SNAP}/maven-metadata.xml", headers=basic(reader))

    assert _body(release) == JAR + b"2.0"
    assert _body(snapshot) == JAR + b"2"
    assert (
        metadata.content
        == client.get(
            f"/repository/snapshots/{SNAP}/maven-metadata.xml", headers=basic(reader)
        ).content
    )


def test_group_merges_artifact_metadata_across_members(
    client, published, public, reader, deploy, make_user, golden
):
    mixed = RepositoryFactory(name="mixed", format="maven", config={"version_policy": "mixed"})
    role_grant(repository=mixed, role=Role.WRITE, user=make_user())
    public.members.add(mixed)
    role_grant(repository=mixed, role=Role.WRITE, user=User.objects.get(pk=reader.pk))
    for version in ("3.0", "1.5"):
        folder = f"com/example/util/{version}"
        client.put(
            f"/repository/mixed/{folder}/util-{version}.jar",
            data=JAR,
            content_type="application/octet-stream",
            headers=basic(reader),
        )
    role_grant(repository=public, role=Role.READ, user=reader)

    response = client.get(
        "/repository/public/com/example/util/maven-metadata.xml", headers=basic(reader)
    )

    assert response.status_code == 200
    assert response.content == golden("util-merged-metadata.xml")
    checksum = client.get(
        "/repository/public/com/example/util/maven-metadata.xml.sha1", headers=basic(reader)
    )
    assert checksum.content == hashlib.sha1(response.content).hexdigest().encode()


def test_group_skips_members_the_caller_may_not_read(client, published, public, make_user):
    user = make_user(public, Role.READ)
    role_grant(repository=public.members.get(name="releases"), role=Role.READ, user=user)

    release = client.get(
        "/repository/public/com/example/util/2.0/util-2.0.jar", headers=basic(user)
    )
    snapshot = client.get(f"/repository/public/{SNAP}/maven-metadata.xml", headers=basic(user))

    assert (release.status_code, snapshot.status_code) == (200, 404)
    assert _body(release) == JAR + b"2.0"


def test_group_needs_read_on_the_group(client, published, public, reader):
    response = client.get(
        "/repository/public/com/example/util/2.0/util-2.0.jar", headers=basic(reader)
    )

    assert response.status_code == 404
    assert response.reason_phrase == "repository 'public' not found"


METADATA = "/repository/releases/com/example/util/maven-metadata.xml"


def test_unchanged_metadata_answers_304_without_a_content_type(client, published, reader):
    first = client.get(METADATA, headers=basic(reader))

    by_etag = client.get(METADATA, headers={**basic(reader), "If-None-Match": first["ETag"]})
    by_date = client.get(
        METADATA, headers={**basic(reader), "If-Modified-Since": first["Last-Modified"]}
    )

    for response in (by_etag, by_date):
        assert response.status_code == 304
        assert response.content == b""
        assert "Content-Type" not in response
        assert response["ETag"] == first["ETag"]
        assert response["Last-Modified"] == first["Last-Modified"]
        assert response["Cache-Control"] == "max-age=0, must-revalidate"


def test_a_failed_if_match_answers_412_with_the_reason(client, published, reader):
    response = client.get(METADATA, headers={**basic(reader), "If-Match": '"stale"'})

    assert response.status_code == 412
    assert response.reason_phrase == (
        "a precondition of the request (If-Match, If-Unmodified-Since) is not met"
    )


@pytest.mark.parametrize(
    ("_case", "extension", "content_type", "disposition"),
    [
        ("HTML", "html", "text/html", "attachment"),
        ("SVG", "svg", "image/svg+xml", "attachment"),
        ("XHTML", "xhtml", "application/xhtml+xml", "attachment"),
        ("jar", "jar", "application/java-archive", "attachment"),
    ],
)
def test_deployed_files_cannot_run_in_the_registry_origin(
    client, deploy, releases, reader, _case, extension, content_type, disposition
):
    deploy(releases, f"com/example/web/1.0/web-1.0.{extension}", b"<script>alert(1)</script>")

    response = client.get(
        f"/repository/releases/com/example/web/1.0/web-1.0.{extension}", headers=basic(reader)
    )

    assert _body(response) == b"<script>alert(1)</script>"
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == disposition
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
