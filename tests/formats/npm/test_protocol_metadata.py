"""Deprecate, unpublish and dist-tags, as npm 11 sends them."""

import json

import pytest

from access.models import Role
from formats.models import Asset, Document, Package, Tag, TagEvent, Version
from tests.factories import RepositoryFactory
from tests.formats.npm.helpers import publish_body

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

ROOT = "/repository/npm/"


@pytest.fixture
def repository():
    return RepositoryFactory(name="npm", format="npm")


@pytest.fixture
def auth_for(repository, make_user, make_token):
    def make(role):
        user = make_user(repository, role)
        return {"HTTP_AUTHORIZATION": f"Bearer {make_token(user)}"}

    return make


@pytest.fixture
def owner(auth_for):
    return auth_for(Role.DELETE)


@pytest.fixture
def published(client, owner):
    for version in ("1.0.0", "1.1.0"):
        body = publish_body("tinylib", version)
        response = client.put(ROOT + "tinylib", body, content_type="application/json", **owner)
        assert response.status_code == 201
    client.put(
        ROOT + "-/package/tinylib/dist-tags/beta",
        json.dumps("1.0.0"),
        content_type="application/json",
        **owner,
    )


def _write_copy(client, auth, name="tinylib"):
    response = client.get(f"{ROOT}{name}?write=true", **auth)
    assert response.status_code == 200
    return response.json()


def _put_json(client, path, document, auth):
    return client.put(ROOT + path, json.dumps(document), content_type="application/json", **auth)


def test_deprecate_and_undeprecate(client, owner, published):
    document = _write_copy(client, owner)
    document["versions"]["1.0.0"]["deprecated"] = "use 1.1.0"

    deprecated = _put_json(client, "tinylib", document, owner)
    after = _write_copy(client, owner)
    after["versions"]["1.0.0"]["deprecated"] = ""
    undeprecated = _put_json(client, "tinylib", after, owner)

    assert deprecated.status_code == 201
    assert undeprecated.status_code == 201
    assert Version.objects.get(version="1.0.0").deprecated == ""
    assert "deprecated" not in _write_copy(client, owner)["versions"]["1.0.0"]


def test_deprecation_is_served_in_both_packuments(client, owner, published):
    document = _write_copy(client, owner)
    document["versions"]["1.0.0"]["deprecated"] = "use 1.1.0"
    _put_json(client, "tinylib", document, owner)

    full = client.get(ROOT + "tinylib", **owner).json()
    abbreviated = client.get(
        ROOT + "tinylib", HTTP_ACCEPT="application/vnd.npm.install-v1+json", **owner
    ).json()

    assert full["versions"]["1.0.0"]["deprecated"] == "use 1.1.0"
    assert abbreviated["versions"]["1.0.0"]["deprecated"] == "use 1.1.0"
    assert Version.objects.get(version="1.0.0").deprecated == "use 1.1.0"


def test_stale_revision_is_refused(client, owner, published):
    document = _write_copy(client, owner)
    document["versions"]["1.0.0"]["deprecated"] = "old"
    _put_json(client, "tinylib", document, owner)
    document["versions"]["1.0.0"]["deprecated"] = "stale"

    response = _put_json(client, "tinylib", document, owner)

    assert response.status_code == 409
    assert "stale" in response.json()["error"]
    assert Version.objects.get(version="1.0.0").deprecated == "old"


def test_unpublish_one_version_as_npm_does(client, owner, published):
    document = _write_copy(client, owner)
    rev = document["_rev"]
    del document["versions"]["1.0.0"]
    del document["dist-tags"]["beta"]

    put = _put_json(client, f"tinylib/-rev/{rev}", document, owner)
    new_rev = _write_copy(client, owner)["_rev"]
    delete = client.delete(f"{ROOT}tinylib/-/tinylib-1.0.0.tgz/-rev/{new_rev}", **owner)

    assert put.status_code == 201
    assert delete.status_code == 404  # the PUT already removed it; npm ignores this 404
    assert list(Version.objects.values_list("version", flat=True)) == ["1.1.0"]
    assert list(Asset.objects.values_list("path", flat=True)) == ["tinylib/-/tinylib-1.1.0.tgz"]
    assert client.get(ROOT + "-/package/tinylib/dist-tags", **owner).json() == {"latest": "1.1.0"}
    assert ("beta", "delete", "1.0.0") in TagEvent.objects.values_list(
        "tag", "action", "from_version"
    )


def test_tarball_delete_removes_its_version(client, owner, published):
    rev = _write_copy(client, owner)["_rev"]

    response = client.delete(f"{ROOT}tinylib/-/tinylib-1.1.0.tgz/-rev/{rev}", **owner)

    assert response.status_code == 200
    assert list(Version.objects.values_list("version", flat=True)) == ["1.0.0"]
    assert dict(Tag.objects.values_list("name", "version__version")) == {
        "latest": "1.0.0",
        "beta": "1.0.0",
    }


def test_unpublish_package(client, owner, published):
    rev = _write_copy(client, owner)["_rev"]

    response = client.delete(f"{ROOT}tinylib/-rev/{rev}", **owner)

    assert response.status_code == 200
    assert Package.objects.exists() is False
    assert Document.objects.exists() is False
    assert client.get(ROOT + "tinylib", **owner).status_code == 404


@pytest.mark.parametrize(("_case", "role", "status"), [("writer", Role.WRITE, 403)])
def test_unpublish_needs_delete_role(client, auth_for, owner, published, _case, role, status):
    auth = auth_for(role)
    document = _write_copy(client, auth)
    del document["versions"]["1.0.0"]
    del document["dist-tags"]["beta"]

    put = _put_json(client, f"tinylib/-rev/{document['_rev']}", document, auth)
    delete = client.delete(f"{ROOT}tinylib/-rev/{document['_rev']}", **auth)

    assert (put.status_code, delete.status_code) == (status, status)
    assert Version.objects.count() == 2


def test_metadata_update_cannot_add_versions(client, owner, published):
    document = _write_copy(client, owner)
    document["versions"]["9.0.0"] = dict(document["versions"]["1.0.0"], version="9.0.0")

    response = _put_json(client, "tinylib", document, owner)

    assert response.status_code == 400
    assert response.json() == {"error": "versions 9.0.0 cannot be added without a tarball"}
    assert Version.objects.count() == 2


@pytest.mark.parametrize(("_case", "path"), [("unscoped", "tinylib"), ("scoped", "@acme%2fwidget")])
def test_dist_tag_add_ls_rm(client, owner, _case, path):
    name = path.replace("%2f", "/")
    for version in ("1.0.0", "1.1.0"):
        body = publish_body(name, version)
        client.put(ROOT + path, body, content_type="application/json", **owner)
    tags_url = f"{ROOT}-/package/{path}/dist-tags"

    added = client.put(f"{tags_url}/beta", '"1.0.0"', content_type="application/json", **owner)
    listed = client.get(tags_url, **owner).json()
    removed = client.delete(f"{tags_url}/beta", **owner)

    assert added.status_code == 201
    assert listed == {"latest": "1.1.0", "beta": "1.0.0"}
    assert removed.status_code == 200
    assert client.get(tags_url, **owner).json() == {"latest": "1.1.0"}
    assert list(
        TagEvent.objects.filter(tag="beta").order_by("id").values_list("action", "from_version")
    ) == [("set", ""), ("delete", "1.0.0")]
    assert client.get(f"{ROOT}{path}", **owner).json()["dist-tags"] == {"latest": "1.1.0"}


@pytest.mark.parametrize(
    ("_case", "tag", "body", "status", "error"),
    [
        ("unknown version", "beta", '"9.9.9"', 404, "tinylib 9.9.9 not found"),
        (
            "not a version",
            "beta",
            '"banana"',
            400,
            "invalid version 'banana': not a semver version",
        ),
        (
            "tag is a version",
            "v2",
            '"1.0.0"',
            400,
            "invalid dist-tag 'v2': a tag cannot be a valid semver range",
        ),
        # npm install tinylib@1.x resolves a range: a tag named 1.x could never be installed.
        (
            "tag is an x-range",
            "1.x",
            '"1.0.0"',
            400,
            "invalid dist-tag '1.x': a tag cannot be a valid semver range",
        ),
        (
            "tag is a tilde range",
            "~1.2",
            '"1.0.0"',
            400,
            "invalid dist-tag '~1.2': a tag cannot be a valid semver range",
        ),
        (
            "tag is star",
            "*",
            '"1.0.0"',
            400,
            "invalid dist-tag '*': a tag cannot be a valid semver range",
        ),
        (
            "tag is a caret range",
            "%5E2.0.0",
            '"1.0.0"',
            400,
            "invalid dist-tag '^2.0.0': must be a non-empty URL-safe string",
        ),
        ("not json", "beta", "{", 400, None),
    ],
)
def test_dist_tag_add_errors(client, owner, published, _case, tag, body, status, error):
    before = list(TagEvent.objects.values_list("id", flat=True))

    response = client.put(
        f"{ROOT}-/package/tinylib/dist-tags/{tag}", body, content_type="application/json", **owner
    )

    assert response.status_code == status
    if error:
        assert response.json() == {"error": error}
    assert list(TagEvent.objects.values_list("id", flat=True)) == before
    assert client.get(ROOT + "-/package/tinylib/dist-tags", **owner).json() == {
        "latest": "1.1.0",
        "beta": "1.0.0",
    }


def test_latest_cannot_be_removed(client, owner, published):
    response = client.delete(f"{ROOT}-/package/tinylib/dist-tags/latest", **owner)

    assert response.status_code == 400
    assert response.json() == {"error": "the latest dist-tag cannot be removed"}
    assert Tag.objects.filter(name="latest").exists()


def test_dist_tag_change_needs_write(client, auth_for, published):
    reader = auth_for(Role.READ)

    response = client.delete(f"{ROOT}-/package/tinylib/dist-tags/beta", **reader)

    assert response.status_code == 403
    assert Tag.objects.filter(name="beta").exists()


def _star_body(client, auth, username, *, starred):
    # What `npm star`/`npm unstar` (npm 11 lib/commands/star.js) PUTs after a ?write=true GET.
    copy = _write_copy(client, auth)
    users = dict(copy.get("users", {}))
    if starred:
        users[username] = True
    else:
        users.pop(username, None)
    return {"_id": copy["_id"], "_rev": copy["_rev"], "users": users}


def test_star_and_unstar_as_npm_sends_them(client, repository, make_user, make_token, published):
    reader = make_user(repository, Role.READ, username="bob")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(reader)}"}
    versions_before = list(Version.objects.values_list("version", "deprecated"))

    starred = _put_json(client, "tinylib", _star_body(client, auth, "bob", starred=True), auth)

    assert (starred.status_code, starred.json()) == (200, {"ok": True})
    assert client.get(ROOT + "tinylib", **auth).json()["users"] == {"bob": True}
    forged = _star_body(client, auth, "bob", starred=True)
    forged["users"]["mallory"] = True  # nobody stars for someone else
    assert _put_json(client, "tinylib", forged, auth).status_code == 200
    assert client.get(ROOT + "tinylib", **auth).json()["users"] == {"bob": True}

    unstarred = _put_json(client, "tinylib", _star_body(client, auth, "bob", starred=False), auth)

    assert (unstarred.status_code, unstarred.json()) == (200, {"ok": True})
    assert "users" not in client.get(ROOT + "tinylib", **auth).json()
    assert list(Version.objects.values_list("version", "deprecated")) == versions_before


def test_star_refusals_are_npm_errors_without_python_values(
    client, repository, make_user, make_token, published
):
    reader = make_user(repository, Role.READ, username="bob")
    read_only = {"HTTP_AUTHORIZATION": f"Bearer {make_token(reader, read_only=True)}"}
    owner_copy = {"HTTP_AUTHORIZATION": f"Bearer {make_token(reader)}"}
    stale = _star_body(client, owner_copy, "bob", starred=True) | {"_rev": "1-stale"}
    nameless = {"_id": "tinylib", "versions": {}}

    cases = [
        (_put_json(client, "tinylib", stale, owner_copy), 409),
        (
            _put_json(
                client, "tinylib", _star_body(client, read_only, "bob", starred=True), read_only
            ),
            403,
        ),
        (_put_json(client, "tinylib", nameless, owner_copy), 403),
        (_put_json(client, "nothing", {"_id": "nothing", "users": {"bob": True}}, owner_copy), 404),
    ]

    assert [response.status_code for response, _ in cases] == [status for _, status in cases]
    assert all("None" not in response.json()["error"] for response, _ in cases)
    assert "users" not in Package.objects.get(name="tinylib").metadata


@pytest.mark.parametrize(
    ("_case", "query", "status", "names"),
    [
        ("from of 20 digits is past the end", "from=99999999999999999999", 200, []),
        ("size of 20 digits is capped", "size=99999999999999999999", 200, ["tinylib"]),
        ("negative from", "from=-1", 400, None),
        ("5000 digits", "from=" + "9" * 5000, 400, None),
    ],
)
def test_search_paging_parameters(client, owner, published, _case, query, status, names):
    response = client.get(f"{ROOT}-/v1/search?text=tiny&{query}", **owner)

    assert response.status_code == status
    if names is None:
        assert list(response.json()) == ["error"]
    else:
        assert [hit["package"]["name"] for hit in response.json()["objects"]] == names
        assert response.json()["total"] == 1


def test_a_body_without_a_name_is_refused_without_python_values(client, owner, published):
    response = _put_json(client, "tinylib", {"_id": "tinylib", "versions": {}}, owner)

    assert response.status_code == 400
    assert response.json() == {"error": "the body has no package name; the URL names 'tinylib'"}
