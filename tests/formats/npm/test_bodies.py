"""formats.npm.bodies: the PUT/POST bodies npm 11 sends."""

import base64
import copy
import hashlib
import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from formats.npm import bodies
from formats.npm.bodies import MetadataChanges, MetadataUpdate, PublishRequest, PutKind
from formats.npm.errors import IntegrityInvalid, PackageInvalid, PublishInvalid
from tests.formats.npm.helpers import (
    DATA,
    TINYPKG_INTEGRITY,
    TINYPKG_SHASUM,
    captured_tarball,
    dumps,
    load,
    publish_document,
)

# --- publish -----------------------------------------------------------------------------------


def test_parse_publish_body_accepts_captured_npm11_publish():
    body = (DATA / "publish_tinypkg.json").read_bytes()

    publish = bodies.parse_publish_body(body=body, url_name="tinypkg")

    tarball = captured_tarball()
    assert publish == PublishRequest(
        name="tinypkg",
        version="1.0.0",
        manifest=json.loads(body)["versions"]["1.0.0"],
        dist_tags={"latest": "1.0.0"},
        tarball=tarball,
        tarball_filename="tinypkg-1.0.0.tgz",
        integrity=TINYPKG_INTEGRITY,
        shasum=TINYPKG_SHASUM,
        sha512_hex=hashlib.sha512(tarball).hexdigest(),
        sha1_hex=TINYPKG_SHASUM,
        readme="# tinypkg\n\nHello.\n",
        access=None,
    )
    assert len(publish.tarball) == 278
    assert publish.sri_sha512 == TINYPKG_INTEGRITY


def test_parse_publish_body_accepts_captured_scoped_publish():
    body = (DATA / "publish_scoped.json").read_bytes()

    publish = bodies.parse_publish_body(body=body, url_name="@acme/widget")

    assert (publish.name, publish.version, publish.access) == ("@acme/widget", "2.0.0", "public")
    # npm 11 keys a scoped attachment by the full name, slash included.
    assert publish.tarball_filename == "@acme/widget-2.0.0.tgz"
    assert publish.manifest["dependencies"] == {"tinypkg": "^1.0.0"}
    assert publish.readme == "x\n"


def test_parse_publish_body_accepts_bare_attachment_name_for_scoped_package():
    body = publish_document(name="@acme/widget")
    body["_attachments"] = {"widget-1.0.0.tgz": body["_attachments"]["@acme/widget-1.0.0.tgz"]}

    publish = bodies.parse_publish_body(body=dumps(body), url_name="@acme/widget")

    assert publish.tarball_filename == "widget-1.0.0.tgz"


def _set_dist(field, value):
    def mutate(body):
        body["versions"]["1.0.0"]["dist"][field] = value

    return mutate


def _set_attachment(field, value):
    def mutate(body):
        body["_attachments"]["tinypkg-1.0.0.tgz"][field] = value

    return mutate


def _add_version(body):
    body["versions"]["1.0.1"] = {**body["versions"]["1.0.0"], "version": "1.0.1"}


def _add_attachment(body):
    body["_attachments"]["tinypkg-1.0.1.tgz"] = body["_attachments"]["tinypkg-1.0.0.tgz"]


def _rename_attachment(body):
    body["_attachments"] = {"other-1.0.0.tgz": body["_attachments"]["tinypkg-1.0.0.tgz"]}


def _set(key, value):
    def mutate(body):
        body[key] = value

    return mutate


def _drop(key):
    def mutate(body):
        del body[key]

    return mutate


def _set_manifest(key, value):
    def mutate(body):
        body["versions"]["1.0.0"][key] = value

    return mutate


_WRONG_SHA512 = "sha512-" + base64.b64encode(hashlib.sha512(b"other").digest()).decode()


@pytest.mark.parametrize(
    ("_case", "mutate", "error", "message"),
    [
        (
            "integrity mismatch",
            _set_dist("integrity", _WRONG_SHA512),
            IntegrityInvalid,
            f"dist.integrity {_WRONG_SHA512} does not match the tarball ({TINYPKG_INTEGRITY})",
        ),
        (
            "integrity with no known algorithm",
            _set_dist("integrity", "md5-AAAA"),
            IntegrityInvalid,
            "dist.integrity 'md5-AAAA' has no supported hash",
        ),
        (
            "shasum mismatch",
            _set_dist("shasum", "0" * 40),
            IntegrityInvalid,
            f"dist.shasum {'0' * 40} does not match the tarball's sha1 {TINYPKG_SHASUM}",
        ),
        (
            "no digest at all",
            lambda body: body["versions"]["1.0.0"].update(dist={"tarball": "x"}),
            PublishInvalid,
            "dist must carry integrity or shasum",
        ),
        (
            "two versions in one publish",
            _add_version,
            PublishInvalid,
            "a publish must contain exactly one version, got 2",
        ),
        (
            "two attachments",
            _add_attachment,
            PublishInvalid,
            "a publish must contain exactly one attachment, got 2",
        ),
        (
            "attachment named after another package",
            _rename_attachment,
            PublishInvalid,
            "attachment 'other-1.0.0.tgz' does not match tinypkg@1.0.0",
        ),
        (
            "bad base64",
            _set_attachment("data", "H4sI!!!notbase64"),
            PublishInvalid,
            "attachment 'tinypkg-1.0.0.tgz' is not valid base64: Only base64 data is allowed",
        ),
        (
            "length mismatch",
            _set_attachment("length", 279),
            PublishInvalid,
            "attachment 'tinypkg-1.0.0.tgz' declares length 279, but its data decodes to 278 bytes",
        ),
        (
            "body name differs from URL",
            _set("name", "other"),
            PublishInvalid,
            "package name 'other' in the body does not match the URL 'tinypkg'",
        ),
        (
            "_id differs from URL",
            _set("_id", "other"),
            PublishInvalid,
            "_id 'other' does not match the URL 'tinypkg'",
        ),
        (
            "version document names another package",
            _set_manifest("name", "other"),
            PublishInvalid,
            "version document 'other'@'1.0.0' does not match tinypkg@1.0.0",
        ),
        (
            "missing dist-tags",
            _drop("dist-tags"),
            PublishInvalid,
            "dist-tags must be an object of strings",
        ),
        (
            "empty dist-tags",
            _set("dist-tags", {}),
            PublishInvalid,
            "dist-tags must name at least one tag",
        ),
        (
            "dist-tag pointing at another version",
            _set("dist-tags", {"latest": "0.9.0"}),
            PublishInvalid,
            "dist-tag 'latest' points at '0.9.0', not the published 1.0.0",
        ),
        (
            "dist-tag that is a version",
            _set("dist-tags", {"1.0.0": "1.0.0"}),
            PackageInvalid,
            "invalid dist-tag '1.0.0': a tag cannot be a valid semver range",
        ),
        (
            "unknown access",
            _set("access", "everyone"),
            PublishInvalid,
            "access must be public or restricted, got 'everyone'",
        ),
        (
            "no attachments",
            _drop("_attachments"),
            PublishInvalid,
            "a publish must contain exactly one attachment, got 0",
        ),
    ],
)
def test_parse_publish_body_rejects(_case, mutate, error, message):
    body = load("publish_tinypkg.json")
    mutate(body)

    with pytest.raises(error) as excinfo:
        bodies.parse_publish_body(body=dumps(body), url_name="tinypkg")

    assert type(excinfo.value) is error
    assert str(excinfo.value).startswith(message)


@pytest.mark.parametrize(
    ("_case", "body", "message"),
    [
        ("not JSON", b"{nope", "publish body is not valid JSON: "),
        ("not UTF-8", b"\xff\xfe", "publish body is not valid JSON: "),
        ("JSON array", b"[]", "publish body must be a JSON object"),
    ],
)
def test_parse_publish_body_rejects_non_objects(_case, body, message):
    with pytest.raises(PublishInvalid) as excinfo:
        bodies.parse_publish_body(body=body, url_name="tinypkg")
    assert str(excinfo.value).startswith(message)


def test_parse_publish_body_rejects_publish_for_other_url():
    with pytest.raises(PublishInvalid, match="does not match the URL 'othername'"):
        bodies.parse_publish_body(
            body=(DATA / "publish_tinypkg.json").read_bytes(), url_name="othername"
        )


def test_parse_publish_body_applies_new_package_name_rules():
    body = publish_document(name="JSONStream")
    with pytest.raises(PackageInvalid, match="name can no longer contain capital letters"):
        bodies.parse_publish_body(body=dumps(body), url_name="JSONStream")


def test_check_integrity_uses_strongest_algorithm_and_any_of_its_hashes():
    data = b"payload"
    sha1 = "sha1-" + base64.b64encode(b"\0" * 20).decode()  # wrong, but weaker: ignored
    sha512_good = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    bodies.check_integrity(integrity=f"{sha1} {_WRONG_SHA512} {sha512_good}", data=data)


# --- other PUT bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "fixture", "expected"),
    [
        ("npm publish", "publish_tinypkg.json", PutKind.PUBLISH),
        ("npm deprecate", "deprecate_tinypkg.json", PutKind.METADATA_UPDATE),
        ("npm unpublish name@version", "unpublish_version_tinypkg.json", PutKind.METADATA_UPDATE),
    ],
)
def test_classify_put_body_on_captured_bodies(_case, fixture, expected):
    assert bodies.classify_put_body(body=(DATA / fixture).read_bytes()) is expected


def test_parse_put_body_dispatches_publish():
    body = (DATA / "publish_tinypkg.json").read_bytes()
    assert isinstance(bodies.parse_put_body(body=body, url_name="tinypkg"), PublishRequest)


def test_parse_put_body_refuses_publish_to_revision_url():
    body = (DATA / "publish_tinypkg.json").read_bytes()
    with pytest.raises(PublishInvalid, match="^a publish cannot target a revision URL$"):
        bodies.parse_put_body(body=body, url_name="tinypkg", rev="3-abc")


def test_captured_deprecate_yields_the_deprecation():
    body = (DATA / "deprecate_tinypkg.json").read_bytes()

    update = bodies.parse_put_body(body=body, url_name="tinypkg")
    changes = bodies.diff_metadata_update(
        update=update,
        current_versions={"1.0.0": None, "1.0.1": None},
        current_dist_tags={"latest": "1.0.1"},
    )

    assert isinstance(update, MetadataUpdate)
    assert (update.name, update.rev, sorted(update.versions)) == (
        "tinypkg",
        "2-abc",
        ["1.0.0", "1.0.1"],
    )
    assert changes == MetadataChanges(
        deprecated={"1.0.0": "use 1.0.1"},
        undeprecated=(),
        removed_versions=(),
        dist_tags_set={},
        dist_tags_removed=(),
    )


def test_captured_unpublish_of_one_version_yields_the_removed_version():
    body = (DATA / "unpublish_version_tinypkg.json").read_bytes()

    update = bodies.parse_put_body(body=body, url_name="tinypkg", rev="3-abc")
    changes = bodies.diff_metadata_update(
        update=update,
        current_versions={"1.0.0": "use 1.0.1", "1.0.1": None},
        current_dist_tags={"latest": "1.0.1"},
    )

    assert update.rev == "3-abc"
    assert changes == MetadataChanges(
        deprecated={},
        undeprecated=(),
        removed_versions=("1.0.0",),
        dist_tags_set={},
        dist_tags_removed=(),
    )
    assert changes.is_empty is False


def test_diff_metadata_update_sees_undeprecation_and_tag_changes():
    document = load("deprecate_tinypkg.json")
    document["versions"]["1.0.0"]["deprecated"] = ""
    document["dist-tags"] = {"latest": "1.0.0"}
    update = bodies.parse_metadata_update(body=dumps(document), url_name="tinypkg")

    changes = bodies.diff_metadata_update(
        update=update,
        current_versions={"1.0.0": "old", "1.0.1": None},
        current_dist_tags={"latest": "1.0.1", "beta": "1.0.1"},
    )

    assert changes == MetadataChanges(
        deprecated={},
        undeprecated=("1.0.0",),
        removed_versions=(),
        dist_tags_set={"latest": "1.0.0"},
        dist_tags_removed=("beta",),
    )


def test_diff_metadata_update_unchanged_is_empty():
    update = bodies.parse_metadata_update(
        body=(DATA / "deprecate_tinypkg.json").read_bytes(), url_name="tinypkg"
    )
    changes = bodies.diff_metadata_update(
        update=update,
        current_versions={"1.0.0": "use 1.0.1", "1.0.1": None},
        current_dist_tags={"latest": "1.0.1"},
    )
    assert changes.is_empty is True


@pytest.mark.parametrize(
    ("_case", "current_versions", "dist_tags", "message"),
    [
        (
            "adds a version without tarball",
            {"1.0.0": None},
            {"latest": "1.0.1"},
            "versions 1.0.1 cannot be added without a tarball",
        ),
        (
            "tag points at a version not kept",
            {"1.0.0": None, "1.0.1": None, "2.0.0": None},
            {"latest": "2.0.0"},
            "dist-tag 'latest' points at '2.0.0', which is not kept",
        ),
    ],
)
def test_diff_metadata_update_rejects(_case, current_versions, dist_tags, message):
    document = load("deprecate_tinypkg.json")
    document["dist-tags"] = dist_tags
    update = bodies.parse_metadata_update(body=dumps(document), url_name="tinypkg")

    with pytest.raises(PublishInvalid) as excinfo:
        bodies.diff_metadata_update(
            update=update, current_versions=current_versions, current_dist_tags={}
        )
    assert str(excinfo.value) == message


def test_parse_metadata_update_rejects_other_package():
    with pytest.raises(PublishInvalid, match="does not match the URL 'other'"):
        bodies.parse_metadata_update(
            body=(DATA / "deprecate_tinypkg.json").read_bytes(), url_name="other"
        )


@pytest.mark.parametrize(
    ("_case", "body", "expected"),
    [
        ("captured dist-tag add body", b'"1.0.1"', "1.0.1"),
        ("prerelease", b'"2.0.0-rc.1"', "2.0.0-rc.1"),
    ],
)
def test_parse_dist_tag_body(_case, body, expected):
    assert bodies.parse_dist_tag_body(body=body) == expected


@pytest.mark.parametrize(
    ("_case", "body", "error"),
    [
        ("bare string", b"1.0.1", PublishInvalid),
        ("object", b'{"v": "1.0.1"}', PublishInvalid),
        ("range", b'"^1.0.0"', PackageInvalid),
    ],
)
def test_parse_dist_tag_body_rejects(_case, body, error):
    with pytest.raises(error) as excinfo:
        bodies.parse_dist_tag_body(body=body)

    assert type(excinfo.value) is error


def _captured_login_body(command, index):
    exchange = load("npm11_exchanges.json")["commands"][command][index]
    return exchange["path"].split("/-/user/")[1].split("/")[0], dumps(exchange["body"])


@pytest.mark.parametrize(
    ("_case", "command", "index", "expected"),
    [
        (
            "npm login, new user",
            "npm login --auth-type=legacy (new user)",
            0,
            bodies.LoginRequest(name="alice", password="<password>", email=None, rev=None),
        ),
        (
            "npm login retry after 409",
            "npm login --auth-type=legacy (existing user, 409 path)",
            2,
            bodies.LoginRequest(
                name="bob", password="<password>", email="b@example.com", rev="7-xyz"
            ),
        ),
        (
            "npm adduser",
            "npm adduser --auth-type=legacy",
            0,
            bodies.LoginRequest(
                name="carol", password="<password>", email="carol@example.com", rev=None
            ),
        ),
    ],
)
def test_parse_login_body_on_captured_bodies(_case, command, index, expected):
    url_user, body = _captured_login_body(command, index)
    assert bodies.parse_login_body(body=body, url_user=url_user) == expected


def test_parse_login_body_rejects_name_mismatch():
    with pytest.raises(
        PublishInvalid, match="^user name 'alice' does not match the URL 'mallory'$"
    ):
        bodies.parse_login_body(
            body=b'{"name": "alice", "password": "pw"}', url_user="org.couchdb.user:mallory"
        )


def test_parse_search_query_on_captured_npm_search():
    path = load("npm11_exchanges.json")["commands"]["npm search tiny"][0]["path"]
    params = dict(parse_qsl(urlsplit(path).query))

    assert bodies.parse_search_query(params=params) == bodies.SearchQuery(
        text="tiny", size=20, offset=0
    )


@pytest.mark.parametrize(
    ("_case", "params", "expected"),
    [
        ("defaults", {}, bodies.SearchQuery(text="", size=20, offset=0)),
        (
            "size capped",
            {"text": " a b ", "size": "9999", "from": "40"},
            bodies.SearchQuery("a b", 250, 40),
        ),
    ],
)
def test_parse_search_query(_case, params, expected):
    assert bodies.parse_search_query(params=params) == expected


@pytest.mark.parametrize(
    ("_case", "params"), [("not a number", {"size": "x"}), ("negative", {"from": "-1"})]
)
def test_parse_search_query_rejects(_case, params):
    with pytest.raises(PackageInvalid):
        bodies.parse_search_query(params=params)


def test_fixtures_are_left_untouched_by_parsing():
    document = load("deprecate_tinypkg.json")
    before = copy.deepcopy(document)
    update = bodies.parse_metadata_update(body=dumps(document), url_name="tinypkg")
    bodies.diff_metadata_update(
        update=update, current_versions={"1.0.0": None, "1.0.1": None}, current_dist_tags={}
    )
    assert document == before
