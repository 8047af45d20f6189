"""formats.npm.metadata: full and abbreviated packuments."""

from datetime import datetime, timedelta, timezone

import pytest

from formats.npm import metadata
from tests.formats.npm.helpers import (
    BASE_URL,
    T0,
    TINYPKG_INTEGRITY,
    TINYPKG_SHASUM,
    load,
)


def _records():
    manifest_100 = load("publish_tinypkg.json")["versions"]["1.0.0"]
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
    document = metadata.build_packument(
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

    document = metadata.build_packument(
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
    document = metadata.build_abbreviated_packument(
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
    assert metadata.format_time(value) == "2026-01-02T03:04:05.999Z"


def test_format_time_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="^npm times must be timezone-aware$"):
        metadata.format_time(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value is the point


def test_mime_constants_match_what_npm11_sends():
    commands = load("npm11_exchanges.json")["commands"]
    publish_probe = commands["npm publish"][0]["headers"]
    install = commands["npm install tinypkg"]

    assert publish_probe["accept"].startswith(metadata.MIME_NPM_ABBREVIATED + ";")
    assert install[0]["headers"]["accept"] == metadata.MIME_JSON
