"""Publish, packuments (full and abbreviated), version documents and tarballs."""

import base64
import hashlib
import json

import pytest

from access.models import Role
from formats.models import Asset, Document, Package, Tag, TagEvent, Version
from formats.npm.metadata import MIME_NPM_ABBREVIATED, format_time
from storage.models import Blob
from tests.factories import RepositoryFactory
from tests.formats.npm.helpers import make_tarball, publish_body, sri

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

ROOT = "/repository/npm/"
BASE = "http://testserver/repository/npm"
MANIFEST = {"name": "tinylib", "version": "1.0.0", "description": "tiny", "license": "MIT"}


@pytest.fixture
def repository():
    return RepositoryFactory(name="npm", format="npm")


@pytest.fixture
def writer(repository, make_user, make_token):
    user = make_user(repository, Role.DELETE, username="alice", email="alice@example.com")
    return {"HTTP_AUTHORIZATION": f"Bearer {make_token(user)}"}


def _put(client, path, body, auth):
    return client.put(ROOT + path, data=body, content_type="application/json", **auth)


def _publish(client, auth, name, version, **options):
    response = _put(client, name.replace("/", "%2f"), publish_body(name, version, **options), auth)
    assert response.status_code == 201, response.content
    return response


def test_publish_then_full_packument_golden(client, writer):
    _publish(client, writer, "tinylib", "1.0.0", description="tiny", readme="# tinylib\n")
    version = Version.objects.get(version="1.0.0")
    package = Package.objects.get(name="tinylib")
    tarball = Asset.objects.get(path="tinylib/-/tinylib-1.0.0.tgz").blob

    response = client.get(ROOT + "tinylib", **writer)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document == {
        "_id": "tinylib",
        "_rev": package.metadata["rev"],
        "name": "tinylib",
        "description": "tiny",
        "license": "MIT",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {
            "1.0.0": {
                "name": "tinylib",
                "version": "1.0.0",
                "description": "tiny",
                "license": "MIT",
                "_id": "tinylib@1.0.0",
                "_npmVersion": "11.19.1",
                "_npmUser": {"name": "alice", "email": "alice@example.com"},
                "dist": {
                    "integrity": "sha512-"
                    + base64.b64encode(bytes.fromhex(tarball.sha512)).decode(),
                    "shasum": tarball.sha1,
                    "tarball": f"{BASE}/tinylib/-/tinylib-1.0.0.tgz",
                    "fileCount": 2,
                    "unpackedSize": len(json.dumps(MANIFEST)) + len("# tinylib\n"),
                },
            }
        },
        "time": {
            "created": format_time(package.created),
            "modified": document["time"]["modified"],
            "1.0.0": format_time(version.published_at),
        },
        "maintainers": [{"name": "alice", "email": "alice@example.com"}],
        "readme": "# tinylib\n",
        "readmeFilename": "README.md",
    }
    assert version.metadata["readme"] == "# tinylib\n"
    assert list(Tag.objects.values_list("name", "version__version")) == [("latest", "1.0.0")]


def test_abbreviated_packument_for_install_accept(client, writer):
    _publish(client, writer, "tinylib", "1.0.0", dependencies={"left-pad": "^1.0.0"})
    blob = Asset.objects.get().blob

    response = client.get(
        ROOT + "tinylib",
        HTTP_ACCEPT=f"{MIME_NPM_ABBREVIATED}; q=1.0, application/json; q=0.8, */*",
        **writer,
    )

    assert response.status_code == 200
    assert response["Content-Type"] == MIME_NPM_ABBREVIATED
    document = response.json()
    assert document == {
        "name": "tinylib",
        "modified": document["modified"],
        "dist-tags": {"latest": "1.0.0"},
        "versions": {
            "1.0.0": {
                "name": "tinylib",
                "version": "1.0.0",
                "dependencies": {"left-pad": "^1.0.0"},
                "dist": {
                    "integrity": "sha512-" + base64.b64encode(bytes.fromhex(blob.sha512)).decode(),
                    "shasum": blob.sha1,
                    "tarball": f"{BASE}/tinylib/-/tinylib-1.0.0.tgz",
                    "fileCount": 2,
                    "unpackedSize": Version.objects.get().metadata["unpacked_size"],
                },
                "license": "MIT",
            }
        },
    }


@pytest.mark.parametrize(
    ("_case", "accept", "expected"),
    [
        ("no Accept", None, "application/json"),
        ("anything", "*/*", "application/json"),
        (
            "npm 11 install",
            f"{MIME_NPM_ABBREVIATED}; q=1.0, application/json; q=0.8, */*",
            MIME_NPM_ABBREVIATED,
        ),
        ("abbreviated only", MIME_NPM_ABBREVIATED, MIME_NPM_ABBREVIATED),
        ("full preferred", f"application/json, {MIME_NPM_ABBREVIATED}; q=0.5", "application/json"),
        # q=0 means "not acceptable" (RFC 9110 12.4.2); a substring test served it anyway.
        (
            "abbreviated refused",
            f"{MIME_NPM_ABBREVIATED}; q=0, application/json",
            "application/json",
        ),
        ("neither offered", "text/html", "application/json"),
    ],
)
def test_packument_form_follows_accept(client, writer, _case, accept, expected):
    _publish(client, writer, "tinylib", "1.0.0")
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = client.get(ROOT + "tinylib", **headers, **writer)

    assert response.status_code == 200
    assert response["Content-Type"] == expected
    assert ("_rev" in response.json()) is (expected == "application/json")
    assert "Accept" in [v.strip() for v in response["Vary"].split(",")]


@pytest.mark.parametrize(
    ("_case", "path"),
    [("escaped scope", "@acme%2fwidget"), ("unescaped scope", "@acme/widget")],
)
def test_scoped_packument_and_tarball(client, writer, _case, path):
    _publish(client, writer, "@acme/widget", "2.0.0")

    packument = client.get(ROOT + path, **writer)
    tarball_url = packument.json()["versions"]["2.0.0"]["dist"]["tarball"]
    tarball = client.get(tarball_url.removeprefix("http://testserver"), **writer)

    assert packument.status_code == 200
    assert tarball_url == f"{BASE}/@acme/widget/-/widget-2.0.0.tgz"
    assert tarball.status_code == 200
    assert tarball["Content-Type"] == "application/octet-stream"
    content = b"".join(tarball.streaming_content)
    tarball.close()
    assert sri(content) == packument.json()["versions"]["2.0.0"]["dist"]["integrity"]


def test_tarball_urls_follow_the_host_the_client_used(client, writer):
    _publish(client, writer, "tinylib", "1.0.0")

    first = client.get(ROOT + "tinylib", HTTP_HOST="registry.example", **writer)
    second = client.get(ROOT + "tinylib", **writer)

    assert first.json()["versions"]["1.0.0"]["dist"]["tarball"] == (
        "http://registry.example/repository/npm/tinylib/-/tinylib-1.0.0.tgz"
    )
    assert second.json()["versions"]["1.0.0"]["dist"]["tarball"] == (
        f"{BASE}/tinylib/-/tinylib-1.0.0.tgz"
    )
    assert first["ETag"] != second["ETag"]


def test_packument_etag_answers_304(client, writer):
    _publish(client, writer, "tinylib", "1.0.0")
    etag = client.get(ROOT + "tinylib", **writer)["ETag"]

    response = client.get(ROOT + "tinylib", HTTP_IF_NONE_MATCH=etag, **writer)

    assert response.status_code == 304
    assert response.content == b""


def test_packument_costs_the_same_queries_for_any_number_of_versions(
    client, repository, django_assert_num_queries, writer
):
    repository.anonymous_read = True
    repository.save()
    _publish(client, writer, "one", "1.0.0")
    for minor in range(12):
        _publish(client, writer, "many", f"1.{minor}.0")

    with django_assert_num_queries(2):  # the repository, the document
        one = client.get(ROOT + "one")
    with django_assert_num_queries(2):
        many = client.get(ROOT + "many")

    assert (one.status_code, many.status_code) == (200, 200)
    assert len(many.json()["versions"]) == 12


@pytest.mark.parametrize(
    ("_case", "spec", "expected"), [("by version", "1.0.0", "1.0.0"), ("by tag", "beta", "1.1.0")]
)
def test_version_document(client, writer, _case, spec, expected):
    _publish(client, writer, "tinylib", "1.0.0")
    _publish(client, writer, "tinylib", "1.1.0", tag="beta")

    response = client.get(f"{ROOT}tinylib/{spec}", **writer)

    assert response.status_code == 200
    assert response.json()["version"] == expected
    assert response.json()["dist"]["tarball"] == f"{BASE}/tinylib/-/tinylib-{expected}.tgz"


def test_publish_with_a_tag_keeps_latest_and_records_history(client, writer):
    _publish(client, writer, "tinylib", "1.0.0")
    _publish(client, writer, "tinylib", "2.0.0-rc.1", tag="next")

    tags = client.get(ROOT + "-/package/tinylib/dist-tags", **writer).json()

    assert tags == {"latest": "1.0.0", "next": "2.0.0-rc.1"}
    assert list(TagEvent.objects.order_by("id").values_list("tag", "to_version")) == [
        ("latest", "1.0.0"),
        ("next", "2.0.0-rc.1"),
    ]


def test_republish_of_a_version_is_refused_with_npms_message(client, writer):
    _publish(client, writer, "tinylib", "1.0.0")
    document_before = Document.objects.get(key="packument:tinylib").content

    response = _put(client, "tinylib", publish_body("tinylib", "1.0.0", readme="other"), writer)

    assert response.status_code == 403
    assert response.json() == {
        "error": "You cannot publish over the previously published versions: 1.0.0."
    }
    assert Version.objects.count() == 1
    assert bytes(Document.objects.get(key="packument:tinylib").content) == bytes(document_before)


def _tampered_body():
    body = json.loads(publish_body("tinylib", "1.0.0"))
    other = make_tarball({"name": "tinylib", "version": "1.0.0", "evil": True})
    body["_attachments"]["tinylib-1.0.0.tgz"] = {
        "data": base64.b64encode(other).decode(),
        "length": len(other),
    }
    return json.dumps(body).encode()


def _mismatched_manifest_body():
    data = make_tarball({"name": "other", "version": "1.0.0"})
    return publish_body("tinylib", "1.0.0", tarball=data)


@pytest.mark.parametrize(
    ("_case", "body", "message"),
    [
        ("integrity mismatch", _tampered_body(), "does not match the tarball"),
        ("package.json names another package", _mismatched_manifest_body(), "'other'@'1.0.0'"),
        ("not json", b"{nope", "not valid JSON"),
        ("not a gzip tarball", publish_body("tinylib", "1.0.0", tarball=b"x" * 10), "gzip"),
    ],
)
def test_bad_publish_is_refused_and_changes_nothing(client, writer, _case, body, message):
    response = _put(client, "tinylib", body, writer)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert Package.objects.exists() is False
    assert Asset.objects.exists() is False
    assert Blob.objects.exists() is False
    assert Document.objects.exists() is False


@pytest.mark.parametrize(
    ("_case", "role", "status"),
    [("anonymous", None, 401), ("reader", Role.READ, 403), ("writer", Role.WRITE, 201)],
)
def test_publish_permissions(client, repository, make_user, make_token, _case, role, status):
    auth = {}
    if role is not None:
        auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(make_user(repository, role))}"}

    response = _put(client, "tinylib", publish_body("tinylib", "1.0.0"), auth)

    assert response.status_code == status
    assert Version.objects.exists() is (status == 201)
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="registry"'
        assert response.json() == {"error": "authentication required"}


@pytest.mark.parametrize(
    ("_case", "anonymous_read", "status"), [("private", False, 401), ("public", True, 200)]
)
def test_anonymous_read(client, repository, writer, _case, anonymous_read, status):
    _publish(client, writer, "tinylib", "1.0.0")
    repository.anonymous_read = anonymous_read
    repository.save()

    packument = client.get(ROOT + "tinylib")
    tarball = client.get(ROOT + "tinylib/-/tinylib-1.0.0.tgz")
    tarball.close()

    assert (packument.status_code, tarball.status_code) == (status, status)


@pytest.mark.parametrize(
    ("_case", "path", "status"),
    [
        ("unknown package", "nothing", 404),
        ("unknown version", "tinylib/9.9.9", 404),
        ("unknown tarball", "tinylib/-/tinylib-9.9.9.tgz", 404),
        ("invalid name", "Capital%20Name", 400),
        ("unknown route", "-/nothing/here", 404),
    ],
)
def test_read_errors_are_npm_json(client, writer, _case, path, status):
    _publish(client, writer, "tinylib", "1.0.0")

    response = client.get(ROOT + path, **writer)

    assert response.status_code == status
    assert list(response.json()) == ["error"]


def test_tarball_is_the_published_bytes(client, writer):
    data = make_tarball({"name": "tinylib", "version": "1.0.0"})
    _put(client, "tinylib", publish_body("tinylib", "1.0.0", tarball=data), writer)

    response = client.get(ROOT + "tinylib/-/tinylib-1.0.0.tgz", **writer)

    content = b"".join(response.streaming_content)
    response.close()
    assert response.status_code == 200
    assert hashlib.sha256(content).hexdigest() == hashlib.sha256(data).hexdigest()


def _unpublish_version(client, auth):
    return client.delete(ROOT + "tinylib/-/tinylib-1.0.0.tgz", **auth)


def _unpublish_package(client, auth):
    rev = Package.objects.get(name="tinylib").metadata["rev"]
    return client.delete(f"{ROOT}tinylib/-rev/{rev}", **auth)


@pytest.mark.parametrize(
    ("_case", "unpublish"),
    [("npm unpublish tinylib@1.0.0", _unpublish_version), ("--force", _unpublish_package)],
)
def test_an_unpublished_version_never_returns_with_other_bytes(client, writer, _case, unpublish):
    _publish(client, writer, "tinylib", "1.1.0")
    first = publish_body("tinylib", "1.0.0")
    assert _put(client, "tinylib", first, writer).status_code == 201
    assert unpublish(client, writer).status_code == 200
    state = list(Version.objects.values_list("version", flat=True)), Asset.objects.count()

    other = _put(client, "tinylib", publish_body("tinylib", "1.0.0", readme="other"), writer)

    assert other.status_code == 403
    assert other.json() == {
        "error": "You cannot publish over the previously published versions: 1.0.0."
    }
    assert (list(Version.objects.values_list("version", flat=True)), Asset.objects.count()) == state
    assert _put(client, "tinylib", first, writer).status_code == 201  # the same tarball again
    assert Version.objects.filter(version="1.0.0").count() == 1


def test_redeploy_repository_accepts_other_bytes_for_an_unpublished_version(
    client, repository, writer
):
    repository.allow_redeploy = True
    repository.save()
    _publish(client, writer, "tinylib", "1.0.0")
    assert _unpublish_version(client, writer).status_code == 200
    body = publish_body("tinylib", "1.0.0", readme="other")

    response = _put(client, "tinylib", body, writer)

    assert response.status_code == 201
    integrity = json.loads(body)["versions"]["1.0.0"]["dist"]["integrity"]
    assert Version.objects.get(version="1.0.0").metadata["integrity"] == integrity


def test_install_fields_are_served_from_the_tarball_not_the_body(client, writer):
    tarball = make_tarball(
        {
            "name": "tinylib",
            "version": "1.0.0",
            "description": "tiny",
            "scripts": {"postinstall": "node setup.js"},
            "bin": "cli.js",
        },
        files={"cli.js": b"", "npm-shrinkwrap.json": b"{}"},
    )
    body = json.loads(publish_body("tinylib", "1.0.0", tarball=tarball, description="shown"))
    body["versions"]["1.0.0"].update(
        scripts={"test": "x"},
        dependencies={"evil": "*"},
        bin={"ls": "evil.js"},
        hasInstallScript=False,
        _hasShrinkwrap=False,
        bundledDependencies=["evil"],
    )
    assert _put(client, "tinylib", json.dumps(body), writer).status_code == 201

    full = client.get(ROOT + "tinylib", **writer).json()["versions"]["1.0.0"]
    abbreviated = client.get(ROOT + "tinylib", HTTP_ACCEPT=MIME_NPM_ABBREVIATED, **writer).json()[
        "versions"
    ]["1.0.0"]

    install = {
        "scripts": {"postinstall": "node setup.js"},
        "bin": {"tinylib": "cli.js"},
        "hasInstallScript": True,
        "_hasShrinkwrap": True,
    }
    assert {key: full.get(key) for key in (*install, "dependencies", "description")} == {
        **install,
        "dependencies": None,
        "description": "shown",  # what people read stays the publisher's
    }
    assert "bundledDependencies" not in full
    assert {key: abbreviated.get(key) for key in (*install, "dependencies")} == {
        **install,
        "scripts": None,  # the abbreviated document never carries scripts, only the flag
        "dependencies": None,
    }
