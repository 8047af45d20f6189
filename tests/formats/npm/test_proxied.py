"""The stored layout of proxied packuments, declared digests, and group merges (pure)."""

import base64
import hashlib
import json

import pytest

from formats.npm import proxied

BASE = "\x00base\x00"


def _upstream(**versions: dict) -> bytes:
    return json.dumps(
        {
            "_id": "left",
            "name": "left",
            "dist-tags": {"latest": "1.1.0"},
            "versions": versions,
            "time": {"created": "2020-01-01T00:00:00.000Z", "1.0.0": "2020-01-01T00:00:00.000Z"},
            "_attachments": {"x": "y"},
            "readme": "line one\nline two",
        }
    ).encode()


def _version(number: str, tarball: str = "https://up.example/left/-/left-{v}.tgz") -> dict:
    return {
        "name": "left",
        "version": number,
        "dependencies": {"dep": "^1"},
        "scripts": {"test": "x"},
        "dist": {"tarball": tarball.format(v=number), "integrity": "sha512-AA==", "shasum": "ab"},
    }


def test_layout_points_tarballs_here_and_remembers_the_upstream_ones():
    layout = proxied.proxied_layout(
        body=_upstream(
            **{
                "1.0.0": _version("1.0.0"),
                "1.1.0": _version("1.1.0", "https://cdn.example/elsewhere.tgz"),
            }
        ),
        name="left",
        base=BASE,
    )
    full = json.loads(proxied.layout_part(layout, abbreviated=False))
    abbreviated = json.loads(proxied.layout_part(layout, abbreviated=True))
    assert full["versions"]["1.1.0"]["dist"]["tarball"] == f"{BASE}/left/-/left-1.1.0.tgz"
    assert full["time"]["1.0.0"] == "2020-01-01T00:00:00.000Z"  # upstream times kept
    assert full["readme"] == "line one\nline two"
    assert "_attachments" not in full
    assert abbreviated["versions"]["1.0.0"] == {
        "name": "left",
        "version": "1.0.0",
        "dependencies": {"dep": "^1"},
        "dist": full["versions"]["1.0.0"]["dist"],
    }
    assert abbreviated["dist-tags"] == {"latest": "1.1.0"}
    assert proxied.layout_files(layout)["left-1.1.0.tgz"] == {
        "url": "https://cdn.example/elsewhere.tgz",
        "integrity": "sha512-AA==",
        "shasum": "ab",
        "version": "1.1.0",
    }


def test_layout_of_a_scoped_package_and_versions_it_cannot_serve():
    body = json.dumps(
        {
            "name": "@s/right",
            "versions": {
                "2.0.0": {"dist": {"tarball": "http://up/@s/right/-/right-2.0.0.tgz"}},
                "not/semver": {"dist": {"tarball": "http://up/x.tgz"}},
                "3.0.0": {"dist": {}},
            },
        }
    ).encode()
    layout = proxied.proxied_layout(body=body, name="@s/right", base=BASE)
    full = json.loads(proxied.layout_part(layout, abbreviated=False))
    assert list(full["versions"]) == ["2.0.0"]
    assert full["versions"]["2.0.0"]["dist"]["tarball"] == f"{BASE}/@s/right/-/right-2.0.0.tgz"
    assert list(proxied.layout_files(layout)) == ["right-2.0.0.tgz"]


@pytest.mark.parametrize(
    "body", [b"<html>", b"[]", json.dumps({"name": "other", "versions": {}}).encode()]
)
def test_an_answer_that_is_not_this_packument_is_refused(body):
    with pytest.raises(proxied.PackumentInvalid):
        proxied.proxied_layout(body=body, name="left", base=BASE)


def test_expected_digests_from_integrity_and_shasum():
    data = b"tarball"
    sha512 = base64.b64encode(hashlib.sha512(data).digest()).decode()
    sha1 = hashlib.sha1(data).hexdigest()
    assert proxied.expected_digests(integrity=f"sha512-{sha512}", shasum=sha1) == {
        "sha512": hashlib.sha512(data).hexdigest(),
        "sha1": sha1,
    }
    assert proxied.expected_digests(integrity="", shasum=sha1.upper()) == {"sha1": sha1}
    assert proxied.expected_digests(integrity="sha256-AAAA md5-!!", shasum="short") == {}


def test_merge_first_member_wins_per_version_and_for_tags():
    first = {
        "name": "p",
        "_rev": "3-abc",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {"from": "first"}},
        "time": {"created": "2021-01-01", "modified": "2021-06-01", "1.0.0": "2021-01-01"},
        "readme": "first",
    }
    second = {
        "name": "p",
        "dist-tags": {"latest": "2.0.0", "next": "3.0.0"},
        "versions": {"1.0.0": {"from": "second"}, "2.0.0": {"from": "second"}},
        "time": {"created": "2020-01-01", "modified": "2020-06-01", "1.0.0": "2020-01-01"},
        "readme": "second",
    }
    merged = proxied.merge_packuments([first, second])
    assert merged["versions"] == {"1.0.0": {"from": "first"}, "2.0.0": {"from": "second"}}
    assert merged["dist-tags"] == {"latest": "1.0.0"}
    assert merged["time"] == {
        "created": "2020-01-01",
        "modified": "2021-06-01",
        "1.0.0": "2021-01-01",
    }
    assert merged["readme"] == "first"
    assert "_rev" not in merged  # a group's packument is no write copy


def test_merge_of_abbreviated_packuments_keeps_the_latest_modified():
    merged = proxied.merge_packuments(
        [
            {"name": "p", "modified": "2020-01-01", "dist-tags": {}, "versions": {"1.0.0": {}}},
            {"name": "p", "modified": "2022-01-01", "dist-tags": {}, "versions": {"2.0.0": {}}},
        ]
    )
    assert (merged["modified"], sorted(merged["versions"])) == ("2022-01-01", ["1.0.0", "2.0.0"])
