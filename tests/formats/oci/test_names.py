import hashlib

import pytest

from formats.oci import names
from formats.oci.errors import DigestInvalid, TagInvalid
from formats.oci.manifests import EMPTY_DIGEST, EMPTY_JSON
from formats.oci.names import Digest
from registry_project.errors import InvalidName, RegistryError

A = "a" * 64


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("sha256", f"sha256:{A}", Digest("sha256", A)),
        ("sha512", f"sha512:{'0f' * 64}", Digest("sha512", "0f" * 64)),
    ],
)
def test_parse_digest_accepts_registered_algorithms(_case, value, expected):
    digest = names.parse_digest(value)
    assert digest == expected
    assert str(digest) == value


@pytest.mark.parametrize(
    ("_case", "value", "message"),
    [
        ("no colon", A, "digest must be <algorithm>:<hex>"),
        ("empty", "", "digest must be <algorithm>:<hex>"),
        ("unknown algorithm", f"md5:{A[:32]}", "unsupported digest algorithm 'md5'"),
        ("uppercase algorithm", f"SHA256:{A}", "unsupported digest algorithm 'SHA256'"),
        ("short hex", f"sha256:{A[:63]}", "sha256 digest must be 64 lowercase hex characters"),
        ("long hex", f"sha256:{A}0", "sha256 digest must be 64 lowercase hex characters"),
        (
            "uppercase hex",
            f"sha256:{'A' * 64}",
            "sha256 digest must be 64 lowercase hex characters",
        ),
        ("non hex", f"sha256:{'g' * 64}", "sha256 digest must be 64 lowercase hex characters"),
        (
            "trailing newline",
            f"sha256:{A[:63]}\n",
            "sha256 digest must be 64 lowercase hex characters",
        ),
        (
            "sha512 with sha256 length",
            f"sha512:{A}",
            "sha512 digest must be 128 lowercase hex characters",
        ),
    ],
)
def test_parse_digest_rejects_malformed(_case, value, message):
    with pytest.raises(DigestInvalid) as excinfo:
        names.parse_digest(value)
    assert excinfo.value.message == message
    assert excinfo.value.code == "DIGEST_INVALID"
    assert excinfo.value.detail == {"digest": value}
    assert isinstance(excinfo.value, RegistryError)


def test_digest_of_hashes_bytes():
    assert str(names.digest_of(EMPTY_JSON)) == EMPTY_DIGEST
    assert names.digest_of(b"x", algorithm="sha512") == Digest(
        "sha512", hashlib.sha512(b"x").hexdigest()
    )


def test_digest_of_rejects_unknown_algorithm():
    with pytest.raises(DigestInvalid, match="unsupported digest algorithm 'md5'"):
        names.digest_of(b"x", algorithm="md5")


@pytest.mark.parametrize(
    ("_case", "name"),
    [
        ("single component", "app"),
        ("nested", "team/app/api"),
        ("period", "team/app.v2"),
        ("single underscore", "my_app"),
        ("double underscore", "my__app"),
        ("multiple dashes", "my---app"),
        ("digits", "0/9"),
        ("max length", "a" * 255),
    ],
)
def test_validate_name_accepts_spec_grammar(_case, name):
    assert names.validate_name(name) == name


@pytest.mark.parametrize(
    ("_case", "name"),
    [
        ("empty", ""),
        ("uppercase", "Team/app"),
        ("leading slash", "/team/app"),
        ("trailing slash", "team/app/"),
        ("double slash", "team//app"),
        ("dot dot", "team/../app"),
        ("triple underscore", "my___app"),
        ("leading separator", "-app"),
        ("trailing separator", "app-"),
        ("mixed separators", "a._b"),
        ("colon", "team/app:1"),
        ("trailing newline", "app\n"),
        ("too long", "a" * 256),
    ],
)
def test_validate_name_rejects_invalid(_case, name):
    with pytest.raises(InvalidName) as excinfo:
        names.validate_name(name)
    assert excinfo.value.code == "NAME_INVALID"
    assert excinfo.value.detail == {"name": name}


@pytest.mark.parametrize(
    ("_case", "tag"),
    [
        ("simple", "latest"),
        ("version", "v1.2.3-rc.1"),
        ("leading underscore", "_x"),
        ("mixed case", "Release_2"),
        ("max length", "a" * 128),
    ],
)
def test_validate_tag_accepts_spec_grammar(_case, tag):
    assert names.validate_tag(tag) == tag


@pytest.mark.parametrize(
    ("_case", "tag"),
    [
        ("empty", ""),
        ("leading dot", ".hidden"),
        ("leading dash", "-x"),
        ("slash", "a/b"),
        ("colon", "a:b"),
        ("plus", "1.0+build"),
        ("too long", "a" * 129),
        ("trailing newline", "latest\n"),
    ],
)
def test_validate_tag_rejects_invalid(_case, tag):
    with pytest.raises(TagInvalid) as excinfo:
        names.validate_tag(tag)
    assert excinfo.value.code == "TAG_INVALID"
    assert excinfo.value.detail == {"tag": tag}


@pytest.mark.parametrize(
    ("_case", "reference", "expected"),
    [
        ("tag", "latest", False),
        ("digest", f"sha256:{A}", True),
        ("malformed digest still a digest", "sha256:zz", True),
    ],
)
def test_is_digest_reference(_case, reference, expected):
    assert names.is_digest_reference(reference) is expected


def test_parse_reference_returns_digest_or_tag():
    assert names.parse_reference(f"sha256:{A}") == Digest("sha256", A)
    assert names.parse_reference("v1") == "v1"
    with pytest.raises(DigestInvalid):
        names.parse_reference("sha256:zz")
    with pytest.raises(TagInvalid):
        names.parse_reference("-bad")
