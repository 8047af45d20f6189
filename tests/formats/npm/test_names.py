"""formats.npm.names: validate-npm-package-name, semver versions, dist-tags."""

import pytest

from formats.npm import names
from formats.npm.errors import PackageInvalid


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
    assert names.validate_name(name=name) == name


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
    with pytest.raises(PackageInvalid) as excinfo:
        names.validate_name(name=name)
    assert str(excinfo.value) == f"invalid package name {name!r}: {message}"


@pytest.mark.parametrize(
    ("_case", "name"),
    [("capitals", "JSONStream"), ("core module", "http"), ("special", "wow!")],
)
def test_validate_name_keeps_names_valid_for_old_packages(_case, name):
    assert names.validate_name(name=name, new_package=False) == name


@pytest.mark.parametrize(
    ("_case", "name", "expected"),
    [("unscoped", "tinypkg", (None, "tinypkg")), ("scoped", "@acme/widget", ("acme", "widget"))],
)
def test_split_name(_case, name, expected):
    assert names.split_name(name=name) == expected


def test_split_name_rejects_scope_without_name():
    with pytest.raises(PackageInvalid, match=r"^invalid package name '@acme': a scoped name is "):
        names.split_name(name="@acme")


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
    assert names.decode_name_from_url(segment=segment) == expected


@pytest.mark.parametrize(
    ("_case", "segment"),
    [("traversal", "..%2f..%2fetc"), ("double escaped", "@acme%252fwidget"), ("empty", "")],
)
def test_decode_name_from_url_rejects(_case, segment):
    with pytest.raises(PackageInvalid):
        names.decode_name_from_url(segment=segment)


def test_decode_name_from_url_applies_new_package_rules_on_request():
    with pytest.raises(PackageInvalid, match="capital letters"):
        names.decode_name_from_url(segment="JSONStream", new_package=True)


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
        assert names.validate_version(version=version) == version
    else:
        with pytest.raises(PackageInvalid, match=r"not a semver version$"):
            names.validate_version(version=version)


RANGE = "a tag cannot be a valid semver range"
NOT_URL_SAFE = "must be a non-empty URL-safe string"


@pytest.mark.parametrize(
    ("_case", "tag", "refusal"),
    [
        ("latest", "latest", None),
        ("beta", "next-beta", None),
        ("ends in a number", "canary-1", None),
        ("starts with rc", "rc.1", None),
        ("x-range with a suffix is no range", "2.x-beta", None),
        ("version", "1.0.0", RANGE),
        ("v-prefixed version", "v1.0.0", RANGE),
        ("prerelease version", "1.0.0-beta.1", RANGE),
        ("v-prefixed major", "v2", RANGE),
        ("major", "1", RANGE),
        ("major.minor", "1.2", RANGE),
        ("x-range", "1.x", RANGE),
        ("x-range of a minor", "1.2.x", RANGE),
        ("bare x", "x", RANGE),
        ("star", "*", RANGE),
        ("tilde", "~1.2", RANGE),
        ("caret is not URL-safe", "^2.0.0", NOT_URL_SAFE),
        ("comparator is not URL-safe", ">=1", NOT_URL_SAFE),
        ("slash", "a/b", NOT_URL_SAFE),
        ("empty", "", NOT_URL_SAFE),
    ],
)
def test_validate_dist_tag(_case, tag, refusal):
    if refusal is None:
        assert names.validate_dist_tag(tag=tag) == tag
    else:
        with pytest.raises(PackageInvalid) as excinfo:
            names.validate_dist_tag(tag=tag)
        assert str(excinfo.value) == f"invalid dist-tag {tag!r}: {refusal}"


@pytest.mark.parametrize(
    ("_case", "name", "filename", "path"),
    [
        ("unscoped", "tinypkg", "tinypkg-1.0.0.tgz", "tinypkg/-/tinypkg-1.0.0.tgz"),
        ("scoped", "@acme/widget", "widget-1.0.0.tgz", "@acme/widget/-/widget-1.0.0.tgz"),
    ],
)
def test_tarball_filename_and_path(_case, name, filename, path):
    assert names.tarball_filename(name=name, version="1.0.0") == filename
    assert names.tarball_path(name=name, version="1.0.0") == path
    assert names.parse_tarball_filename(name=name, filename=filename) == "1.0.0"


@pytest.mark.parametrize(
    ("_case", "filename"),
    [
        ("other package", "other-1.0.0.tgz"),
        ("not a tgz", "tinypkg-1.0.0.tar"),
        ("not a version", "tinypkg-latest.tgz"),
    ],
)
def test_parse_tarball_filename_rejects(_case, filename):
    with pytest.raises(PackageInvalid):
        names.parse_tarball_filename(name="tinypkg", filename=filename)


def test_validate_name_rejects_non_strings():
    with pytest.raises(PackageInvalid, match="^invalid package name None: name must be a string$"):
        names.validate_name(name=None)
