import base64
import copy
import gzip
import hashlib
import io
import json
import tarfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from formats.npm import parsers
from formats.npm.parsers import (
    IntegrityMismatch,
    InvalidPackage,
    InvalidPublish,
    InvalidTarball,
    MetadataChanges,
    MetadataUpdate,
    PublishRequest,
    PutKind,
)

DATA = Path(__file__).parent / "data"
BASE_URL = "http://registry.test/repository/npm/"
T0 = datetime(2026, 11, 26, 20, 43, 52, 123456, tzinfo=UTC)
# The package that npm 11.19.1 published in data/publish_tinypkg.json.
TINYPKG_JSON = {
    "name": "tinypkg",
    "version": "1.0.0",
    "description": "A tiny package",
    "main": "index.js",
    "license": "MIT",
    "keywords": ["tiny"],
}
TINYPKG_INTEGRITY = (
    "sha512-/VugrbbWbgRMIfJKKlxPM7l6JiqjNzg32tA44XfEKLfS+kkEaFvQcdIjm3iWad+u"
    "HdC/QYnrADu4Eh+00eCrnA=="
)
TINYPKG_SHASUM = "243c6d2ef490ff0d30d51729680527927f5a1ffb"


def _load(name):
    return json.loads((DATA / name).read_text())


def _dumps(document):
    return json.dumps(document).encode()


def _tgz(files, *, mode=0o644):
    """Gzip tarball of ``{member name: bytes}``, in order."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def _publish_body(*, name="demo", version="1.0.0", tarball=None, **overrides):
    tarball = tarball or _tgz({"package/package.json": _dumps({"name": name, "version": version})})
    document = {
        "_id": name,
        "name": name,
        "description": "demo",
        "dist-tags": {"latest": version},
        "versions": {
            version: {
                "name": name,
                "version": version,
                "_id": f"{name}@{version}",
                "dist": {
                    "integrity": "sha512-"
                    + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
                    "shasum": hashlib.sha1(tarball).hexdigest(),
                    "tarball": f"http://x/{name}/-/{name}-{version}.tgz",
                },
            }
        },
        "access": None,
        "_attachments": {
            f"{name}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(tarball).decode(),
                "length": len(tarball),
            }
        },
    }
    document.update(overrides)
    return document


def _captured_tarball():
    body = _load("publish_tinypkg.json")
    return base64.b64decode(body["_attachments"]["tinypkg-1.0.0.tgz"]["data"])


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "name"),
    [
        ("plain", "tinypkg"),
        ("scoped", "@acme/widget"),
        ("dots dashes underscores inside", "a.b-c_d"),
        ("exactly 214 characters", "x" * 214),
        ("digits first", "3d-engine"),
    ],
)
def test_validate_name_accepts_new_package_names(_case, name):
    assert parsers.validate_name(name=name) == name


@pytest.mark.parametrize(
    ("_case", "name", "message"),
    [
        ("empty", "", "name length must be greater than zero"),
        ("leading period", ".hidden", "name cannot start with a period"),
        ("leading hyphen", "-dash", "name cannot start with a hyphen"),
        ("leading underscore", "_private", "name cannot start with an underscore"),
        (
            "surrounding spaces",
            " pad ",
            "name cannot contain leading or trailing spaces; "
            "name can only contain URL-friendly characters",
        ),
        ("excluded", "node_modules", "node_modules is not a valid package name"),
        ("core module", "fs", "fs is a core module name"),
        ("too long", "x" * 215, "name can no longer contain more than 214 characters"),
        ("capitals", "JSONStream", "name can no longer contain capital letters"),
        ("special characters", "wow!", 'name can no longer contain special characters ("~\'!()*")'),
        ("slash without scope", "a/b", "name can only contain URL-friendly characters"),
        ("percent", "a%2fb", "name can only contain URL-friendly characters"),
        ("scope with two slashes", "@a/b/c", "name can only contain URL-friendly characters"),
        ("scoped bare starts with period", "@acme/.x", "name cannot start with a period"),
        (
            "path traversal",
            "../etc",
            "name cannot start with a period; name can only contain URL-friendly characters",
        ),
    ],
)
def test_validate_name_rejects_with_reason(_case, name, message):
    with pytest.raises(InvalidPackage) as excinfo:
        parsers.validate_name(name=name)
    assert str(excinfo.value) == f"invalid package name {name!r}: {message}"


@pytest.mark.parametrize(
    ("_case", "name"),
    [("capitals", "JSONStream"), ("core module", "http"), ("special", "wow!")],
)
def test_validate_name_keeps_names_valid_for_old_packages(_case, name):
    assert parsers.validate_name(name=name, new_package=False) == name


@pytest.mark.parametrize(
    ("_case", "name", "expected"),
    [("unscoped", "tinypkg", (None, "tinypkg")), ("scoped", "@acme/widget", ("acme", "widget"))],
)
def test_split_name(_case, name, expected):
    assert parsers.split_name(name=name) == expected


def test_split_name_rejects_scope_without_name():
    with pytest.raises(InvalidPackage, match=r"^invalid package name '@acme': a scoped name is "):
        parsers.split_name(name="@acme")


@pytest.mark.parametrize(
    ("_case", "segment", "expected"),
    [
        ("plain", "tinypkg", "tinypkg"),
        ("escaped lowercase %2f as npm sends", "@acme%2fwidget", "@acme/widget"),
        ("escaped uppercase %2F", "@acme%2Fwidget", "@acme/widget"),
        ("unescaped as in tarball URLs", "@acme/widget", "@acme/widget"),
        ("escaped @ too", "%40acme%2fwidget", "@acme/widget"),
        ("old package with capitals", "JSONStream", "JSONStream"),
    ],
)
def test_decode_name_from_url(_case, segment, expected):
    assert parsers.decode_name_from_url(segment=segment) == expected


@pytest.mark.parametrize(
    ("_case", "segment"),
    [("traversal", "..%2f..%2fetc"), ("double escaped", "@acme%252fwidget"), ("empty", "")],
)
def test_decode_name_from_url_rejects(_case, segment):
    with pytest.raises(InvalidPackage):
        parsers.decode_name_from_url(segment=segment)


def test_decode_name_from_url_applies_new_package_rules_on_request():
    with pytest.raises(InvalidPackage, match="capital letters"):
        parsers.decode_name_from_url(segment="JSONStream", new_package=True)


@pytest.mark.parametrize(
    ("_case", "name", "expected"),
    [("unscoped", "tinypkg", "tinypkg"), ("scoped", "@acme/widget", "@acme%2fwidget")],
)
def test_encode_name_for_url(_case, name, expected):
    assert parsers.encode_name_for_url(name=name) == expected


@pytest.mark.parametrize(
    ("_case", "version", "valid"),
    [
        ("release", "1.0.0", True),
        ("prerelease and build", "2.0.0-rc.1+build.5", True),
        ("leading v", "v1.0.0", False),
        ("two parts", "1.0", False),
        ("leading zero", "01.0.0", False),
        ("path", "../1.0.0", False),
    ],
)
def test_validate_version(_case, version, valid):
    if valid:
        assert parsers.validate_version(version=version) == version
    else:
        with pytest.raises(InvalidPackage, match=r"not a semver version$"):
            parsers.validate_version(version=version)


@pytest.mark.parametrize(
    ("_case", "tag", "valid"),
    [
        ("latest", "latest", True),
        ("beta", "next-beta", True),
        ("version", "1.0.0", False),
        ("v-prefixed major", "v2", False),
        ("major.minor", "1.2", False),
        ("slash", "a/b", False),
        ("empty", "", False),
    ],
)
def test_validate_dist_tag(_case, tag, valid):
    if valid:
        assert parsers.validate_dist_tag(tag=tag) == tag
    else:
        with pytest.raises(InvalidPackage, match=r"^invalid dist-tag "):
            parsers.validate_dist_tag(tag=tag)


@pytest.mark.parametrize(
    ("_case", "name", "filename", "path"),
    [
        ("unscoped", "tinypkg", "tinypkg-1.0.0.tgz", "tinypkg/-/tinypkg-1.0.0.tgz"),
        ("scoped", "@acme/widget", "widget-1.0.0.tgz", "@acme/widget/-/widget-1.0.0.tgz"),
    ],
)
def test_tarball_filename_and_path(_case, name, filename, path):
    assert parsers.tarball_filename(name=name, version="1.0.0") == filename
    assert parsers.tarball_path(name=name, version="1.0.0") == path
    assert parsers.parse_tarball_filename(name=name, filename=filename) == "1.0.0"


@pytest.mark.parametrize(
    ("_case", "filename"),
    [
        ("other package", "other-1.0.0.tgz"),
        ("not a tgz", "tinypkg-1.0.0.tar"),
        ("not a version", "tinypkg-latest.tgz"),
    ],
)
def test_parse_tarball_filename_rejects(_case, filename):
    with pytest.raises(InvalidPackage):
        parsers.parse_tarball_filename(name="tinypkg", filename=filename)


# --- publish -----------------------------------------------------------------------------------


def test_parse_publish_body_accepts_captured_npm11_publish():
    body = (DATA / "publish_tinypkg.json").read_bytes()

    publish = parsers.parse_publish_body(body=body, url_name="tinypkg")

    tarball = _captured_tarball()
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

    publish = parsers.parse_publish_body(body=body, url_name="@acme/widget")

    assert (publish.name, publish.version, publish.access) == ("@acme/widget", "2.0.0", "public")
    # npm 11 keys a scoped attachment by the full name, slash included.
    assert publish.tarball_filename == "@acme/widget-2.0.0.tgz"
    assert publish.manifest["dependencies"] == {"tinypkg": "^1.0.0"}
    assert publish.readme == "x\n"


def test_parse_publish_body_accepts_bare_attachment_name_for_scoped_package():
    body = _publish_body(name="@acme/widget")
    body["_attachments"] = {"widget-1.0.0.tgz": body["_attachments"]["@acme/widget-1.0.0.tgz"]}

    publish = parsers.parse_publish_body(body=_dumps(body), url_name="@acme/widget")

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
            IntegrityMismatch,
            f"dist.integrity {_WRONG_SHA512} does not match the tarball ({TINYPKG_INTEGRITY})",
        ),
        (
            "integrity with no known algorithm",
            _set_dist("integrity", "md5-AAAA"),
            IntegrityMismatch,
            "dist.integrity 'md5-AAAA' has no supported hash",
        ),
        (
            "shasum mismatch",
            _set_dist("shasum", "0" * 40),
            IntegrityMismatch,
            f"dist.shasum {'0' * 40} does not match the tarball's sha1 {TINYPKG_SHASUM}",
        ),
        (
            "no digest at all",
            lambda body: body["versions"]["1.0.0"].update(dist={"tarball": "x"}),
            InvalidPublish,
            "dist must carry integrity or shasum",
        ),
        (
            "two versions in one publish",
            _add_version,
            InvalidPublish,
            "a publish must contain exactly one version, got 2",
        ),
        (
            "two attachments",
            _add_attachment,
            InvalidPublish,
            "a publish must contain exactly one attachment, got 2",
        ),
        (
            "attachment named after another package",
            _rename_attachment,
            InvalidPublish,
            "attachment 'other-1.0.0.tgz' does not match tinypkg@1.0.0",
        ),
        (
            "bad base64",
            _set_attachment("data", "H4sI!!!notbase64"),
            InvalidPublish,
            "attachment 'tinypkg-1.0.0.tgz' is not valid base64: Only base64 data is allowed",
        ),
        (
            "length mismatch",
            _set_attachment("length", 279),
            InvalidPublish,
            "attachment 'tinypkg-1.0.0.tgz' declares length 279, but its data decodes to 278 bytes",
        ),
        (
            "body name differs from URL",
            _set("name", "other"),
            InvalidPublish,
            "package name 'other' in the body does not match the URL 'tinypkg'",
        ),
        (
            "_id differs from URL",
            _set("_id", "other"),
            InvalidPublish,
            "_id 'other' does not match the URL 'tinypkg'",
        ),
        (
            "version document names another package",
            _set_manifest("name", "other"),
            InvalidPublish,
            "version document 'other'@'1.0.0' does not match tinypkg@1.0.0",
        ),
        (
            "missing dist-tags",
            _drop("dist-tags"),
            InvalidPublish,
            "dist-tags must be an object of strings",
        ),
        (
            "empty dist-tags",
            _set("dist-tags", {}),
            InvalidPublish,
            "dist-tags must name at least one tag",
        ),
        (
            "dist-tag pointing at another version",
            _set("dist-tags", {"latest": "0.9.0"}),
            InvalidPublish,
            "dist-tag 'latest' points at '0.9.0', not the published 1.0.0",
        ),
        (
            "dist-tag that looks like a version",
            _set("dist-tags", {"1.0.0": "1.0.0"}),
            InvalidPublish,
            "invalid dist-tag '1.0.0': a tag cannot look like a version",
        ),
        (
            "unknown access",
            _set("access", "everyone"),
            InvalidPublish,
            "access must be public or restricted, got 'everyone'",
        ),
        (
            "no attachments",
            _drop("_attachments"),
            InvalidPublish,
            "a publish must contain exactly one attachment, got 0",
        ),
    ],
)
def test_parse_publish_body_rejects(_case, mutate, error, message):
    body = _load("publish_tinypkg.json")
    mutate(body)

    with pytest.raises(error) as excinfo:
        parsers.parse_publish_body(body=_dumps(body), url_name="tinypkg")

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
    with pytest.raises(InvalidPublish) as excinfo:
        parsers.parse_publish_body(body=body, url_name="tinypkg")
    assert str(excinfo.value).startswith(message)


def test_parse_publish_body_rejects_publish_for_other_url():
    with pytest.raises(InvalidPublish, match="does not match the URL 'othername'"):
        parsers.parse_publish_body(
            body=(DATA / "publish_tinypkg.json").read_bytes(), url_name="othername"
        )


def test_parse_publish_body_applies_new_package_name_rules():
    body = _publish_body(name="JSONStream")
    with pytest.raises(InvalidPackage, match="name can no longer contain capital letters"):
        parsers.parse_publish_body(body=_dumps(body), url_name="JSONStream")


def test_validate_name_rejects_non_strings():
    with pytest.raises(InvalidPackage, match="^invalid package name None: name must be a string$"):
        parsers.validate_name(name=None)


def test_check_integrity_uses_strongest_algorithm_and_any_of_its_hashes():
    data = b"payload"
    sha1 = "sha1-" + base64.b64encode(b"\0" * 20).decode()  # wrong, but weaker: ignored
    sha512_good = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    parsers.check_integrity(integrity=f"{sha1} {_WRONG_SHA512} {sha512_good}", data=data)


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
    assert parsers.classify_put_body(body=(DATA / fixture).read_bytes()) is expected


def test_parse_put_body_dispatches_publish():
    body = (DATA / "publish_tinypkg.json").read_bytes()
    assert isinstance(parsers.parse_put_body(body=body, url_name="tinypkg"), PublishRequest)


def test_parse_put_body_refuses_publish_to_revision_url():
    body = (DATA / "publish_tinypkg.json").read_bytes()
    with pytest.raises(InvalidPublish, match="^a publish cannot target a revision URL$"):
        parsers.parse_put_body(body=body, url_name="tinypkg", rev="3-abc")


def test_captured_deprecate_yields_the_deprecation():
    body = (DATA / "deprecate_tinypkg.json").read_bytes()

    update = parsers.parse_put_body(body=body, url_name="tinypkg")
    changes = parsers.diff_metadata_update(
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

    update = parsers.parse_put_body(body=body, url_name="tinypkg", rev="3-abc")
    changes = parsers.diff_metadata_update(
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
    document = _load("deprecate_tinypkg.json")
    document["versions"]["1.0.0"]["deprecated"] = ""
    document["dist-tags"] = {"latest": "1.0.0"}
    update = parsers.parse_metadata_update(body=_dumps(document), url_name="tinypkg")

    changes = parsers.diff_metadata_update(
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
    update = parsers.parse_metadata_update(
        body=(DATA / "deprecate_tinypkg.json").read_bytes(), url_name="tinypkg"
    )
    changes = parsers.diff_metadata_update(
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
    document = _load("deprecate_tinypkg.json")
    document["dist-tags"] = dist_tags
    update = parsers.parse_metadata_update(body=_dumps(document), url_name="tinypkg")

    with pytest.raises(InvalidPublish) as excinfo:
        parsers.diff_metadata_update(
            update=update, current_versions=current_versions, current_dist_tags={}
        )
    assert str(excinfo.value) == message


def test_parse_metadata_update_rejects_other_package():
    with pytest.raises(InvalidPublish, match="does not match the URL 'other'"):
        parsers.parse_metadata_update(
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
    assert parsers.parse_dist_tag_body(body=body) == expected


@pytest.mark.parametrize(
    ("_case", "body"),
    [("bare string", b"1.0.1"), ("object", b'{"v": "1.0.1"}'), ("range", b'"^1.0.0"')],
)
def test_parse_dist_tag_body_rejects(_case, body):
    with pytest.raises(InvalidPublish):
        parsers.parse_dist_tag_body(body=body)


def _captured_login_body(command, index):
    exchange = _load("npm11_exchanges.json")["commands"][command][index]
    return exchange["path"].split("/-/user/")[1].split("/")[0], _dumps(exchange["body"])


@pytest.mark.parametrize(
    ("_case", "command", "index", "expected"),
    [
        (
            "npm login, new user",
            "npm login --auth-type=legacy (new user)",
            0,
            parsers.LoginRequest(name="alice", password="<password>", email=None, rev=None),
        ),
        (
            "npm login retry after 409",
            "npm login --auth-type=legacy (existing user, 409 path)",
            2,
            parsers.LoginRequest(
                name="bob", password="<password>", email="b@example.com", rev="7-xyz"
            ),
        ),
        (
            "npm adduser",
            "npm adduser --auth-type=legacy",
            0,
            parsers.LoginRequest(
                name="carol", password="<password>", email="carol@example.com", rev=None
            ),
        ),
    ],
)
def test_parse_login_body_on_captured_bodies(_case, command, index, expected):
    url_user, body = _captured_login_body(command, index)
    assert parsers.parse_login_body(body=body, url_user=url_user) == expected


def test_parse_login_body_rejects_name_mismatch():
    with pytest.raises(
        InvalidPublish, match="^user name 'alice' does not match the URL 'mallory'$"
    ):
        parsers.parse_login_body(
            body=b'{"name": "alice", "password": "pw"}', url_user="org.couchdb.user:mallory"
        )


# --- tarballs ----------------------------------------------------------------------------------


def test_read_tarball_manifest_on_captured_npm_pack_tarball():
    contents = parsers.read_tarball_manifest(source=io.BytesIO(_captured_tarball()))

    assert contents == parsers.TarballContents(
        manifest=TINYPKG_JSON,
        readme="# tinypkg\n\nHello.\n",
        readme_filename="README.md",
        root="package",
        file_count=3,
        unpacked_size=122 + 20 + 18,  # package.json, index.js, README.md as npm packed them
        files=frozenset({"package.json", "index.js", "README.md"}),
    )


def test_read_tarball_manifest_reads_from_path(tmp_path):
    path = tmp_path / "demo.tgz"
    path.write_bytes(_tgz({"package/package.json": b'{"name": "demo", "version": "1.0.0"}'}))

    contents = parsers.read_tarball_manifest(source=path)

    assert contents.manifest == {"name": "demo", "version": "1.0.0"}
    assert (contents.readme, contents.readme_filename) == ("", "")


@pytest.mark.parametrize(
    ("_case", "files", "root", "readme_filename", "readme"),
    [
        (
            "root directory not called package",
            {"node-demo/README": b"plain", "node-demo/package.json": b"{}"},
            "node-demo",
            "README",
            "plain",
        ),
        (
            "readme.markdown in lower case",
            {"package/package.json": b"{}", "package/readme.markdown": b"md"},
            "package",
            "readme.markdown",
            "md",
        ),
        (
            "markdown preferred over txt and bare",
            {
                "package/README.txt": b"txt",
                "package/README": b"bare",
                "package/Readme.MD": b"upper md",
                "package/package.json": b"{}",
            },
            "package",
            "Readme.MD",
            "upper md",
        ),
        (
            "nested README ignored",
            {"package/package.json": b"{}", "package/docs/README.md": b"nested"},
            "package",
            "",
            "",
        ),
        (
            "invalid UTF-8 replaced",
            {"package/package.json": b"{}", "package/README.md": b"caf\xe9"},
            "package",
            "README.md",
            "caf\ufffd",
        ),
    ],
)
def test_read_tarball_manifest_finds_root_and_readme(_case, files, root, readme_filename, readme):
    contents = parsers.read_tarball_manifest(source=io.BytesIO(_tgz(files)))
    assert (contents.root, contents.readme_filename, contents.readme) == (
        root,
        readme_filename,
        readme,
    )


def test_read_tarball_manifest_truncates_readme():
    tarball = _tgz({"package/package.json": b"{}", "package/README.md": b"abcdef"})
    contents = parsers.read_tarball_manifest(source=io.BytesIO(tarball), max_readme_size=3)
    assert contents.readme == "abc"


def test_read_tarball_manifest_ignores_symlinks():
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        link = tarfile.TarInfo("package/evil")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
        info = tarfile.TarInfo("package/package.json")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"{}"))

    contents = parsers.read_tarball_manifest(source=io.BytesIO(gzip.compress(raw.getvalue())))

    assert (contents.manifest, contents.file_count) == ({}, 1)


@pytest.mark.parametrize(
    ("_case", "files", "message"),
    [
        (
            "path traversal",
            {"package/package.json": b"{}", "package/../../evil": b"x"},
            "tarball member 'package/../../evil' escapes the package directory",
        ),
        (
            "absolute path",
            {"/etc/cron.d/evil": b"x", "package/package.json": b"{}"},
            "tarball member '/etc/cron.d/evil' has an absolute path",
        ),
        (
            "windows drive path",
            {"C:/evil": b"x", "package/package.json": b"{}"},
            "tarball member 'C:/evil' has an absolute path",
        ),
        (
            "oversized member",
            {"package/package.json": b"{}", "package/big.bin": b"x" * 101},
            "tarball member 'package/big.bin' is 101 bytes, over the limit of 100",
        ),
        (
            "no package.json",
            {"package/index.js": b"1"},
            "tarball has no package.json in its top directory",
        ),
        (
            "package.json only nested",
            {"package/lib/package.json": b"{}"},
            "tarball has no package.json in its top directory",
        ),
        (
            "package.json not JSON",
            {"package/package.json": b"{nope"},
            "package/package.json is not valid JSON: ",
        ),
        (
            "package.json not an object",
            {"package/package.json": b"[1]"},
            "package/package.json must be a JSON object",
        ),
    ],
)
def test_read_tarball_manifest_rejects(_case, files, message):
    with pytest.raises(InvalidTarball) as excinfo:
        parsers.read_tarball_manifest(source=io.BytesIO(_tgz(files)), max_member_size=100)
    assert str(excinfo.value).startswith(message)


def test_read_tarball_manifest_caps_total_size():
    files = {"package/package.json": b"{}", "package/a": b"x" * 60, "package/b": b"x" * 60}
    with pytest.raises(InvalidTarball, match="^tarball unpacks to more than 100 bytes$"):
        parsers.read_tarball_manifest(source=io.BytesIO(_tgz(files)), max_total_size=100)


def test_read_tarball_manifest_caps_member_count():
    files = {f"package/{i}": b"" for i in range(3)}
    with pytest.raises(InvalidTarball, match="^tarball has more than 2 members$"):
        parsers.read_tarball_manifest(source=io.BytesIO(_tgz(files)), max_members=2)


@pytest.mark.parametrize(
    ("_case", "data"),
    [
        ("not gzip", b"PK\x03\x04 this is a zip"),
        ("empty", b""),
        ("truncated gzip", _tgz({"package/package.json": b"{}"})[:30]),
        ("gzip of garbage", gzip.compress(b"not a tar archive at all" * 40)),
    ],
)
def test_read_tarball_manifest_rejects_unreadable_archives(_case, data):
    with pytest.raises(InvalidTarball):
        parsers.read_tarball_manifest(source=io.BytesIO(data))


def test_check_manifest_matches_accepts_captured_publish():
    publish = parsers.parse_publish_body(
        body=(DATA / "publish_tinypkg.json").read_bytes(), url_name="tinypkg"
    )
    contents = parsers.read_tarball_manifest(source=io.BytesIO(publish.tarball))

    assert parsers.check_manifest_matches(contents=contents, publish=publish) is None


@pytest.mark.parametrize(
    ("_case", "package_json", "message"),
    [
        (
            "other name",
            {"name": "evil", "version": "1.0.0"},
            "tarball package.json is 'evil'@'1.0.0', but the publish is for demo@1.0.0",
        ),
        (
            "other version",
            {"name": "demo", "version": "9.9.9"},
            "tarball package.json is 'demo'@'9.9.9', but the publish is for demo@1.0.0",
        ),
        (
            "no version",
            {"name": "demo"},
            "tarball package.json is 'demo'@None, but the publish is for demo@1.0.0",
        ),
    ],
)
def test_check_manifest_matches_refuses(_case, package_json, message):
    tarball = _tgz({"package/package.json": _dumps(package_json)})
    publish = parsers.parse_publish_body(
        body=_dumps(_publish_body(tarball=tarball)), url_name="demo"
    )
    contents = parsers.read_tarball_manifest(source=io.BytesIO(tarball))

    with pytest.raises(InvalidPublish) as excinfo:
        parsers.check_manifest_matches(contents=contents, publish=publish)
    assert str(excinfo.value) == message


def test_check_manifest_matches_accepts_v_prefixed_version_like_npm():
    tarball = _tgz({"package/package.json": b'{"name": "demo", "version": "v1.0.0"}'})
    publish = parsers.parse_publish_body(
        body=_dumps(_publish_body(tarball=tarball)), url_name="demo"
    )
    contents = parsers.read_tarball_manifest(source=io.BytesIO(tarball))
    assert parsers.check_manifest_matches(contents=contents, publish=publish) is None


# --- documents served --------------------------------------------------------------------------


def _records():
    manifest_100 = _load("publish_tinypkg.json")["versions"]["1.0.0"]
    manifest_200 = {
        "name": "tinypkg",
        "version": "2.0.0",
        "description": "Newer",
        "license": "MIT",
        "dependencies": {"left-pad": "^1.0.0"},
        "scripts": {"postinstall": "node build.js", "test": "jest"},
        "repository": {"type": "git", "url": "git+https://example.com/tiny.git"},
        "readme": "ignored in versions",
        "dist": {"tarball": "http://attacker.example/evil.tgz"},
    }
    return [
        {
            "version": "1.0.0",
            "manifest": manifest_100,
            "integrity": TINYPKG_INTEGRITY,
            "shasum": TINYPKG_SHASUM,
            "published_at": T0,
            "deprecated": "use 2",
            "file_count": 3,
            "unpacked_size": 190,
        },
        {
            "version": "2.0.0",
            "manifest": manifest_200,
            "integrity": "sha512-two",
            "shasum": "2" * 40,
            "published_at": T0 + timedelta(days=1),
        },
    ]


def test_build_packument_full_form():
    document = parsers.build_packument(
        name="tinypkg",
        versions=_records(),
        dist_tags={"latest": "2.0.0"},
        tarball_base_url=BASE_URL,
        created=T0,
        modified=T0 + timedelta(days=1, seconds=5),
        rev="4-0a1b",
        readme="# tinypkg 2",
        readme_filename="README.md",
        maintainers=[{"name": "alice", "email": "alice@example.com"}],
    )

    assert document == {
        "_id": "tinypkg",
        "_rev": "4-0a1b",
        "name": "tinypkg",
        "description": "Newer",
        "license": "MIT",
        "repository": {"type": "git", "url": "git+https://example.com/tiny.git"},
        "dist-tags": {"latest": "2.0.0"},
        "versions": {
            "1.0.0": {
                "name": "tinypkg",
                "version": "1.0.0",
                "description": "A tiny package",
                "main": "index.js",
                "license": "MIT",
                "keywords": ["tiny"],
                "_id": "tinypkg@1.0.0",
                "_nodeVersion": "20.20.2",
                "_npmVersion": "11.19.1",
                "dist": {
                    "integrity": TINYPKG_INTEGRITY,
                    "shasum": TINYPKG_SHASUM,
                    "tarball": "http://registry.test/repository/npm/tinypkg/-/tinypkg-1.0.0.tgz",
                    "fileCount": 3,
                    "unpackedSize": 190,
                },
                "deprecated": "use 2",
            },
            "2.0.0": {
                "name": "tinypkg",
                "version": "2.0.0",
                "description": "Newer",
                "license": "MIT",
                "dependencies": {"left-pad": "^1.0.0"},
                "scripts": {"postinstall": "node build.js", "test": "jest"},
                "repository": {"type": "git", "url": "git+https://example.com/tiny.git"},
                "_id": "tinypkg@2.0.0",
                "dist": {
                    "integrity": "sha512-two",
                    "shasum": "2" * 40,
                    "tarball": "http://registry.test/repository/npm/tinypkg/-/tinypkg-2.0.0.tgz",
                },
                "hasInstallScript": True,
            },
        },
        "time": {
            "created": "2026-11-26T20:43:52.123Z",
            "modified": "2026-11-27T20:43:57.123Z",
            "1.0.0": "2026-11-26T20:43:52.123Z",
            "2.0.0": "2026-11-27T20:43:52.123Z",
        },
        "maintainers": [{"name": "alice", "email": "alice@example.com"}],
        "readme": "# tinypkg 2",
        "readmeFilename": "README.md",
    }


def test_build_packument_scoped_tarball_url_is_unescaped_and_readme_truncated():
    record = {**_records()[1], "manifest": {"name": "@acme/widget", "version": "2.0.0"}}

    document = parsers.build_packument(
        name="@acme/widget",
        versions=[record],
        dist_tags={"latest": "2.0.0"},
        tarball_base_url="http://h/",
        created=T0,
        modified=T0,
        readme="x" * 70000,
    )

    assert (
        document["versions"]["2.0.0"]["dist"]["tarball"]
        == "http://h/@acme/widget/-/widget-2.0.0.tgz"
    )
    assert len(document["readme"]) == 65536
    assert "_rev" not in document


def test_build_abbreviated_packument_keeps_install_fields_only():
    document = parsers.build_abbreviated_packument(
        name="tinypkg",
        versions=_records(),
        dist_tags={"latest": "2.0.0", "old": "1.0.0"},
        tarball_base_url=BASE_URL,
        modified=T0 + timedelta(days=1),
    )

    assert document == {
        "name": "tinypkg",
        "modified": "2026-11-27T20:43:52.123Z",
        "dist-tags": {"latest": "2.0.0", "old": "1.0.0"},
        "versions": {
            "1.0.0": {
                "name": "tinypkg",
                "version": "1.0.0",
                "deprecated": "use 2",
                "dist": {
                    "integrity": TINYPKG_INTEGRITY,
                    "shasum": TINYPKG_SHASUM,
                    "tarball": "http://registry.test/repository/npm/tinypkg/-/tinypkg-1.0.0.tgz",
                    "fileCount": 3,
                    "unpackedSize": 190,
                },
                "license": "MIT",
            },
            "2.0.0": {
                "name": "tinypkg",
                "version": "2.0.0",
                "dependencies": {"left-pad": "^1.0.0"},
                "dist": {
                    "integrity": "sha512-two",
                    "shasum": "2" * 40,
                    "tarball": "http://registry.test/repository/npm/tinypkg/-/tinypkg-2.0.0.tgz",
                },
                "hasInstallScript": True,
                "license": "MIT",
            },
        },
    }


def test_format_time_converts_to_utc_milliseconds():
    value = datetime(2026, 1, 2, 5, 4, 5, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert parsers.format_time(value) == "2026-01-02T03:04:05.999Z"


def test_format_time_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="^npm times must be timezone-aware$"):
        parsers.format_time(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value is the point


def test_parse_search_query_on_captured_npm_search():
    path = _load("npm11_exchanges.json")["commands"]["npm search tiny"][0]["path"]
    params = dict(parse_qsl(urlsplit(path).query))

    assert parsers.parse_search_query(params=params) == parsers.SearchQuery(
        text="tiny", size=20, offset=0
    )


@pytest.mark.parametrize(
    ("_case", "params", "expected"),
    [
        ("defaults", {}, parsers.SearchQuery(text="", size=20, offset=0)),
        (
            "size capped",
            {"text": " a b ", "size": "9999", "from": "40"},
            parsers.SearchQuery("a b", 250, 40),
        ),
    ],
)
def test_parse_search_query(_case, params, expected):
    assert parsers.parse_search_query(params=params) == expected


@pytest.mark.parametrize(
    ("_case", "params"), [("not a number", {"size": "x"}), ("negative", {"from": "-1"})]
)
def test_parse_search_query_rejects(_case, params):
    with pytest.raises(InvalidPackage):
        parsers.parse_search_query(params=params)


def test_build_search_results():
    result = parsers.build_search_results(
        hits=[
            {
                "name": "tinypkg",
                "version": "1.0.0",
                "description": "A tiny package",
                "keywords": ["tiny"],
                "date": T0,
                "links": {"npm": "http://registry.test/-/web/detail/tinypkg"},
                "publisher": {"username": "alice", "email": "alice@example.com"},
                "maintainers": [{"username": "alice", "email": "alice@example.com"}],
                "score": 0.5,
            },
            {"name": "@acme/widget", "version": "2.0.0", "date": T0},
        ],
        total=7,
        now=T0,
    )

    assert result == {
        "objects": [
            {
                "package": {
                    "name": "tinypkg",
                    "version": "1.0.0",
                    "description": "A tiny package",
                    "keywords": ["tiny"],
                    "date": "2026-11-26T20:43:52.123Z",
                    "links": {"npm": "http://registry.test/-/web/detail/tinypkg"},
                    "publisher": {"username": "alice", "email": "alice@example.com"},
                    "maintainers": [{"username": "alice", "email": "alice@example.com"}],
                },
                "score": {
                    "final": 0.5,
                    "detail": {"quality": 0.5, "popularity": 0.5, "maintenance": 0.5},
                },
                "searchScore": 0.5,
            },
            {
                "package": {
                    "name": "@acme/widget",
                    "version": "2.0.0",
                    "description": "",
                    "keywords": [],
                    "date": "2026-11-26T20:43:52.123Z",
                    "links": {},
                    "publisher": {},
                    "maintainers": [],
                },
                "score": {
                    "final": 1.0,
                    "detail": {"quality": 1.0, "popularity": 1.0, "maintenance": 1.0},
                },
                "searchScore": 1.0,
            },
        ],
        "total": 7,
        "time": "Thu Nov 26 2026 20:43:52 GMT+0000 (Coordinated Universal Time)",
    }


def test_empty_audit_answers():
    assert parsers.empty_audit_bulk() == {}
    quick = parsers.empty_audit_quick()
    assert quick == {
        "actions": [],
        "advisories": {},
        "muted": [],
        "metadata": {
            "vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0},
            "dependencies": 0,
            "devDependencies": 0,
            "optionalDependencies": 0,
            "totalDependencies": 0,
        },
    }
    quick["advisories"]["x"] = 1
    assert parsers.empty_audit_quick()["advisories"] == {}


def test_mime_constants_match_what_npm11_sends():
    commands = _load("npm11_exchanges.json")["commands"]
    publish_probe = commands["npm publish"][0]["headers"]
    install = commands["npm install tinypkg"]

    assert publish_probe["accept"].startswith(parsers.MIME_NPM_ABBREVIATED + ";")
    assert install[0]["headers"]["accept"] == parsers.MIME_JSON
    assert install[1]["headers"][parsers.HEADER_PACOTE_INTEGRITY] == (
        "sha512-PUhEbF1vNIJruA3+SSW9IFRPakCi+y1YRexEKHRcLGOXKxX8R3di0PV8dh0cNdqAZqRt54jNTjrfuk4QllVvVQ=="
    )
    assert {e["headers"][parsers.HEADER_NPM_COMMAND] for e in commands["npm publish"]} == {
        "publish"
    }


def test_fixtures_are_left_untouched_by_parsing():
    document = _load("deprecate_tinypkg.json")
    before = copy.deepcopy(document)
    update = parsers.parse_metadata_update(body=_dumps(document), url_name="tinypkg")
    parsers.diff_metadata_update(
        update=update, current_versions={"1.0.0": None, "1.0.1": None}, current_dist_tags={}
    )
    assert document == before
