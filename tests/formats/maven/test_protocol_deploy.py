"""PUT of files, checksums and metadata into Maven repositories, through the Django test client."""

import hashlib

import pytest
from rest_framework.test import APIClient

from access.models import Role
from formats.models import Asset, Document, Package, PublishedCoordinate, Version
from storage.models import Blob
from tests.factories import RepositoryFactory
from tests.formats.maven.conftest import basic, pom

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

JAR = b"PK\x03\x04 not really a jar"
LIB = "com/example/lib/1.0"


def _state() -> tuple[int, int, int, int, int]:
    return (
        Asset.objects.count(),
        Version.objects.count(),
        Package.objects.count(),
        Document.objects.count(),
        Blob.objects.count(),
    )


def test_release_deploy_stores_files_pom_metadata_and_accepts_matching_checksums(deploy, releases):
    body = pom(
        "com.example",
        "lib",
        "1.0",
        "  <name>Lib</name>\n  <description>A library</description>\n"
        "  <licenses><license><name>MIT</name><url>https://mit.example</url></license></licenses>\n"
        "  <dependencies><dependency><groupId>com.example</groupId><artifactId>base</artifactId>"
        "<version>[1.0,2.0)</version><scope>runtime</scope></dependency></dependencies>\n",
    )

    responses = [
        deploy(releases, f"{LIB}/lib-1.0.jar", JAR).status_code,
        deploy(
            releases, f"{LIB}/lib-1.0.jar.sha1", hashlib.sha1(JAR).hexdigest().encode()
        ).status_code,
        deploy(
            releases, f"{LIB}/lib-1.0.jar.md5", hashlib.md5(JAR).hexdigest().encode()
        ).status_code,
        deploy(releases, f"{LIB}/lib-1.0.pom", body).status_code,
        deploy(
            releases,
            f"{LIB}/lib-1.0.pom.sha256",
            f"{hashlib.sha256(body).hexdigest()}  lib-1.0.pom\n".encode(),
        ).status_code,
    ]

    assert responses == [201, 201, 201, 201, 201]
    assert sorted(Asset.objects.filter(repository=releases).values_list("path", flat=True)) == [
        f"{LIB}/lib-1.0.jar",
        f"{LIB}/lib-1.0.pom",
    ]
    jar = Asset.objects.get(path=f"{LIB}/lib-1.0.jar")
    assert jar.media_type == "application/java-archive"
    assert jar.metadata == {
        "classifier": None,
        "extension": "jar",
        "timestamp": None,
        "build_number": None,
    }
    version = Version.objects.get(package__name="com.example:lib", version="1.0")
    assert version.metadata == {
        "name": "Lib",
        "description": "A library",
        "packaging": "jar",
        "url": "",
        "licenses": [{"name": "MIT", "url": "https://mit.example"}],
        "dependencies": [
            {
                "group_id": "com.example",
                "artifact_id": "base",
                "version": "[1.0,2.0)",
                "scope": "runtime",
                "optional": False,
                "classifier": "",
                "type": "jar",
            }
        ],
    }
    assert Document.objects.filter(repository=releases).values_list("key", flat=True).get() == (
        "com/example/lib/maven-metadata.xml"
    )


@pytest.mark.parametrize(
    ("_case", "algorithm", "content"),
    [
        ("sha1 of other bytes", "sha1", hashlib.sha1(b"other").hexdigest()),
        ("md5 of other bytes", "md5", hashlib.md5(b"other").hexdigest()),
        ("sha512 of other bytes", "sha512", hashlib.sha512(b"other").hexdigest()),
        ("not hex", "sha1", "z" * 40),
        ("wrong length", "sha1", "ab" * 10),
    ],
)
def test_checksum_that_does_not_match_is_refused(deploy, releases, _case, algorithm, content):
    deploy(releases, f"{LIB}/lib-1.0.jar", JAR)
    before = _state()

    response = deploy(releases, f"{LIB}/lib-1.0.jar.{algorithm}", content.encode())

    assert response.status_code == 400
    assert _state() == before


def test_checksum_of_a_file_never_deployed_is_refused(deploy, releases):
    response = deploy(releases, f"{LIB}/lib-1.0.jar.sha1", hashlib.sha1(JAR).hexdigest().encode())

    assert response.status_code == 404
    assert response.content == (
        b"com/example/lib/1.0/lib-1.0.jar not found: deploy the file before its checksum\n"
    )
    assert _state() == (0, 0, 0, 0, 0)


def test_declared_checksum_header_is_verified_while_storing(deploy, releases):
    response = deploy(
        releases, f"{LIB}/lib-1.0.jar", JAR, **{"X-Checksum-Sha1": hashlib.sha1(b"x").hexdigest()}
    )

    assert response.status_code == 400
    assert _state() == (0, 0, 0, 0, 0)


def test_release_redeploy_is_refused_and_keeps_the_first_bytes(deploy, releases):
    deploy(releases, f"{LIB}/lib-1.0.jar", JAR)
    before = _state()

    response = deploy(releases, f"{LIB}/lib-1.0.jar", b"different bytes")

    assert response.status_code == 409
    assert response.reason_phrase == "com/example/lib/1.0/lib-1.0.jar already exists"
    assert _state()[:4] == before[:4]
    asset = Asset.objects.get(path=f"{LIB}/lib-1.0.jar")
    assert asset.blob_id == hashlib.sha256(JAR).hexdigest()


def _delete_version_through_the_api(make_user, releases, version: str) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=basic(make_user(releases, Role.DELETE))["Authorization"])
    target = Version.objects.get(package__repository=releases, version=version)
    assert api.delete(f"/api/v1/versions/{target.pk}/").status_code == 204


def test_a_deleted_release_file_never_returns_with_other_bytes(deploy, releases, make_user):
    deploy(releases, f"{LIB}/lib-1.0.jar", JAR)
    _delete_version_through_the_api(make_user, releases, "1.0")

    response = deploy(releases, f"{LIB}/lib-1.0.jar", b"different bytes")

    assert response.status_code == 409
    assert response.reason_phrase == (
        "com/example/lib/1.0/lib-1.0.jar was published before with other bytes"
    )
    assert (Asset.objects.count(), Version.objects.count()) == (0, 0)
    assert deploy(releases, f"{LIB}/lib-1.0.jar", JAR).status_code == 201  # the same bytes again
    assert Asset.objects.get().blob_id == hashlib.sha256(JAR).hexdigest()


def test_snapshot_files_are_not_held_to_their_first_bytes(deploy, snapshots, make_user):
    path = "com/example/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar"
    deploy(snapshots, path, JAR)
    _delete_version_through_the_api(make_user, snapshots, "1.0-SNAPSHOT")

    assert deploy(snapshots, path, b"different bytes").status_code == 201
    assert PublishedCoordinate.objects.exists() is False


def test_release_redeploy_is_allowed_when_the_repository_allows_it(deploy, releases):
    releases.allow_redeploy = True
    releases.save()
    deploy(releases, f"{LIB}/lib-1.0.jar", JAR)

    response = deploy(releases, f"{LIB}/lib-1.0.jar", b"different bytes")

    assert response.status_code == 200
    asset = Asset.objects.get(path=f"{LIB}/lib-1.0.jar")
    assert asset.blob_id == hashlib.sha256(b"different bytes").hexdigest()


def test_snapshot_file_may_be_replaced(deploy, snapshots):
    path = "com/example/lib/1.0-SNAPSHOT/lib-1.0-20261126.201500-1.jar"
    deploy(snapshots, path, JAR)

    response = deploy(snapshots, path, b"rebuilt")

    assert response.status_code == 200
    assert Asset.objects.get(path=path).blob_id == hashlib.sha256(b"rebuilt").hexdigest()


@pytest.mark.parametrize(
    ("_case", "policy", "path", "status", "reason"),
    [
        (
            "release repository refuses a SNAPSHOT",
            "release",
            "com/example/lib/1.0-SNAPSHOT/lib-1.0-20261126.201500-1.jar",
            400,
            "Repository version policy: RELEASE does not allow version: 1.0-SNAPSHOT",
        ),
        (
            "snapshot repository refuses a release",
            "snapshot",
            "com/example/lib/1.0/lib-1.0.jar",
            400,
            "Repository version policy: SNAPSHOT does not allow version: 1.0",
        ),
        (
            "release repository takes a release",
            "release",
            "com/example/lib/1.0/lib-1.0.jar",
            201,
            "Created",
        ),
        (
            "snapshot repository takes a SNAPSHOT",
            "snapshot",
            "com/example/lib/1.0-SNAPSHOT/lib-1.0-20261126.201500-1.jar",
            201,
            "Created",
        ),
        ("mixed takes a release", "mixed", "com/example/lib/1.0/lib-1.0.jar", 201, "Created"),
        (
            "mixed takes a SNAPSHOT",
            "mixed",
            "com/example/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar",
            201,
            "Created",
        ),
    ],
)
def test_version_policy(client, make_user, _case, policy, path, status, reason):
    repository = RepositoryFactory(name="m", format="maven", config={"version_policy": policy})
    user = make_user(repository, Role.WRITE)

    response = client.put(
        f"/repository/m/{path}",
        data=JAR,
        content_type="application/octet-stream",
        headers=basic(user),
    )

    assert (response.status_code, response.reason_phrase) == (status, reason)
    assert Asset.objects.count() == (1 if status == 201 else 0)


def test_snapshot_metadata_into_a_release_repository_is_refused(deploy, releases):
    response = deploy(releases, "com/example/lib/1.0-SNAPSHOT/maven-metadata.xml", b"<metadata/>")

    assert response.status_code == 400
    assert Document.objects.count() == 0


@pytest.mark.parametrize(
    ("_case", "path"),
    [
        ("dot-dot segment", "com/example/../lib/1.0/lib-1.0.jar"),
        ("file name of another artifact", "com/example/lib/1.0/other-1.0.jar"),
        ("file name of another version", "com/example/lib/1.0/lib-1.1.jar"),
        ("too few folders", "lib/1.0/lib-1.0.jar"),
        ("folder", "com/example/lib/1.0/"),
        ("backslash", "com/example/lib/1.0/lib-1.0\\x.jar"),
        ("metadata at the root", "maven-metadata.xml"),
        ("no extension", "com/example/lib/1.0/lib-1.0"),
        ("dot in a group folder", "com/ex.ample/lib/1.0/lib-1.0.jar"),
        ("path too long", "com/" + "a/" * 600 + "lib/1.0/lib-1.0.jar"),
        ("version too long", f"com/example/lib/{'9' * 300}/lib-{'9' * 300}.jar"),
    ],
)
def test_paths_outside_the_layout_are_refused(deploy, releases, _case, path):
    response = deploy(releases, path, JAR)

    assert response.status_code == 400
    assert _state() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("_case", "body", "reason"),
    [
        (
            "coordinates of another artifact",
            pom("com.example", "other", "1.0"),
            "POM coordinates com.example:other:1.0 do not match the path (com.example:lib:1.0)",
        ),
        ("not XML", b"not xml", "malformed POM: syntax error: line 1, column 0"),
        (
            "entity expansion",
            b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaa">]><project>&a;</project>',
            "unsafe XML in POM: DTDForbidden",
        ),
        (
            "no version",
            b"<project><groupId>com.example</groupId><artifactId>lib</artifactId></project>",
            "POM lacks version",
        ),
    ],
)
def test_invalid_pom_is_refused(deploy, releases, _case, body, reason):
    response = deploy(releases, f"{LIB}/lib-1.0.pom", body)

    assert (response.status_code, response.reason_phrase) == (400, reason)
    assert _state()[:4] == (0, 0, 0, 0)


def test_client_metadata_is_reconciled_with_what_was_deployed(deploy, releases, client, deployer):
    deploy(releases, f"{LIB}/lib-1.0.jar", JAR)
    claimed = (
        b"<metadata><groupId>com.example</groupId><artifactId>lib</artifactId><versioning>"
        b"<release>9.9</release><versions><version>1.0</version><version>9.9</version></versions>"
        b"</versioning></metadata>"
    )

    response = deploy(releases, "com/example/lib/maven-metadata.xml", claimed)
    served = client.get(
        "/repository/releases/com/example/lib/maven-metadata.xml", headers=basic(deployer)
    )

    assert response.status_code == 201
    assert b"9.9" not in served.content
    assert b"<release>1.0</release>" in served.content


@pytest.mark.parametrize(
    ("_case", "body", "status"),
    [
        ("malformed", b"<metadata>", 400),
        (
            "other artifact",
            b"<metadata><groupId>com.example</groupId><artifactId>x</artifactId></metadata>",
            400,
        ),
        ("not metadata", b"<project/>", 400),
        ("checksum of metadata, well formed", b"a" * 40, 201),
    ],
)
def test_client_metadata_is_validated(deploy, releases, _case, body, status):
    path = "com/example/lib/maven-metadata.xml" + (".sha1" if status == 201 else "")

    response = deploy(releases, path, body)

    assert response.status_code == status
    assert Document.objects.count() == 0


def test_plugin_group_metadata_is_merged(deploy, releases, client):
    def plugins(prefix: str) -> bytes:
        entry = f"<prefix>{prefix}</prefix><artifactId>{prefix}-maven-plugin</artifactId>"
        return f"<metadata><plugins><plugin>{entry}</plugin></plugins></metadata>".encode()

    first, second = plugins("a"), plugins("b")

    assert deploy(releases, "org/example/plugins/maven-metadata.xml", first).status_code == 201
    assert deploy(releases, "org/example/plugins/maven-metadata.xml", second).status_code == 201

    document = Document.objects.get(key="org/example/plugins/maven-metadata.xml")
    assert bytes(document.content) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<metadata>\n  <plugins>\n'
        b"    <plugin>\n      <prefix>a</prefix>\n      <artifactId>a-maven-plugin</artifactId>\n"
        b"    </plugin>\n"
        b"    <plugin>\n      <prefix>b</prefix>\n      <artifactId>b-maven-plugin</artifactId>\n"
        b"    </plugin>\n"
        b"  </plugins>\n</metadata>\n"
    )


def test_group_repository_refuses_deploys(client, make_user, releases):
    group = RepositoryFactory(name="public", format="maven", kind="group")
    group.members.add(releases)
    user = make_user(group, Role.WRITE)

    response = client.put(
        f"/repository/public/{LIB}/lib-1.0.jar",
        data=JAR,
        content_type="application/octet-stream",
        headers=basic(user),
    )

    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD")
    assert _state() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("_case", "role", "status"),
    [("no role", None, 404), ("reader", Role.READ, 403), ("writer", Role.WRITE, 201)],
)
def test_deploy_needs_the_write_role(client, make_user, releases, _case, role, status):
    user = make_user(releases, role)

    response = client.put(
        f"/repository/releases/{LIB}/lib-1.0.jar",
        data=JAR,
        content_type="application/octet-stream",
        headers=basic(user),
    )

    assert response.status_code == status
    assert Asset.objects.count() == (1 if status == 201 else 0)


def test_anonymous_deploy_is_challenged(client, releases):
    response = client.put(
        f"/repository/releases/{LIB}/lib-1.0.jar", data=JAR, content_type="application/octet-stream"
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="registry"'
    assert Asset.objects.count() == 0
