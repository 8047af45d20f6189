"""formats.npm.archives: package tarballs."""

import gzip
import io
import tarfile

import pytest

from formats.npm import archives, bodies
from formats.npm.errors import PublishInvalid
from tests.formats.npm.helpers import (
    DATA,
    TINYPKG_JSON,
    captured_tarball,
    dumps,
    publish_document,
    tgz,
)


def test_read_tarball_manifest_on_captured_npm_pack_tarball():
    contents = archives.read_tarball_manifest(source=io.BytesIO(captured_tarball()))

    assert contents == archives.TarballContents(
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
    path.write_bytes(tgz({"package/package.json": b'{"name": "demo", "version": "1.0.0"}'}))

    contents = archives.read_tarball_manifest(source=path)

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
    contents = archives.read_tarball_manifest(source=io.BytesIO(tgz(files)))
    assert (contents.root, contents.readme_filename, contents.readme) == (
        root,
        readme_filename,
        readme,
    )


def test_read_tarball_manifest_truncates_readme():
    tarball = tgz({"package/package.json": b"{}", "package/README.md": b"abcdef"})
    contents = archives.read_tarball_manifest(source=io.BytesIO(tarball), max_readme_size=3)
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

    contents = archives.read_tarball_manifest(source=io.BytesIO(gzip.compress(raw.getvalue())))

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
    with pytest.raises(PublishInvalid) as excinfo:
        archives.read_tarball_manifest(source=io.BytesIO(tgz(files)), max_member_size=100)
    assert str(excinfo.value).startswith(message)


def test_read_tarball_manifest_caps_total_size():
    files = {"package/package.json": b"{}", "package/a": b"x" * 60, "package/b": b"x" * 60}
    with pytest.raises(PublishInvalid, match="^tarball unpacks to more than 100 bytes$"):
        archives.read_tarball_manifest(source=io.BytesIO(tgz(files)), max_total_size=100)


def test_read_tarball_manifest_caps_member_count():
    files = {f"package/{i}": b"" for i in range(3)}
    with pytest.raises(PublishInvalid, match="^tarball has more than 2 members$"):
        archives.read_tarball_manifest(source=io.BytesIO(tgz(files)), max_members=2)


@pytest.mark.parametrize(
    ("_case", "data"),
    [
        ("not gzip", b"PK\x03\x04 this is a zip"),
        ("empty", b""),
        ("truncated gzip", tgz({"package/package.json": b"{}"})[:30]),
        ("gzip of garbage", gzip.compress(b"not a tar archive at all" * 40)),
    ],
)
def test_read_tarball_manifest_rejects_unreadable_archives(_case, data):
    with pytest.raises(PublishInvalid):
        archives.read_tarball_manifest(source=io.BytesIO(data))


def test_check_manifest_matches_accepts_captured_publish():
    publish = bodies.parse_publish_body(
        body=(DATA / "publish_tinypkg.json").read_bytes(), url_name="tinypkg"
    )
    contents = archives.read_tarball_manifest(source=io.BytesIO(publish.tarball))

    assert archives.check_manifest_matches(contents=contents, publish=publish) is None


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
    tarball = tgz({"package/package.json": dumps(package_json)})
    publish = bodies.parse_publish_body(
        body=dumps(publish_document(tarball=tarball)), url_name="demo"
    )
    contents = archives.read_tarball_manifest(source=io.BytesIO(tarball))

    with pytest.raises(PublishInvalid) as excinfo:
        archives.check_manifest_matches(contents=contents, publish=publish)
    assert str(excinfo.value) == message


def test_check_manifest_matches_accepts_v_prefixed_version_like_npm():
    tarball = tgz({"package/package.json": b'{"name": "demo", "version": "v1.0.0"}'})
    publish = bodies.parse_publish_body(
        body=dumps(publish_document(tarball=tarball)), url_name="demo"
    )
    contents = archives.read_tarball_manifest(source=io.BytesIO(tarball))
    assert archives.check_manifest_matches(contents=contents, publish=publish) is None
