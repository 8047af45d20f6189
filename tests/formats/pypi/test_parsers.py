import io
import json
import tarfile
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from formats.pypi.parsers import (
    MIME_PYPI_SIMPLE_V1_HTML,
    MIME_PYPI_SIMPLE_V1_JSON,
    MIME_TEXT_HTML,
    CoreMetadata,
    DistributionFile,
    InvalidDistribution,
    SimpleFile,
    check_filename_matches,
    negotiate_simple_content_type,
    normalize_project_name,
    parse_core_metadata,
    parse_distribution_filename,
    read_core_metadata,
    render_project_json,
    render_simple_index_html,
    render_simple_index_json,
    render_simple_project_html,
    render_simple_project_json,
    validate_project_name,
)

FULL_METADATA = b"""\
Metadata-Version: 2.4
Name: Foo_Bar
Version: 1.0-alpha1
Summary: A tiny test project
Home-page: https://example.invalid/home
Download-URL: https://example.invalid/download
Author: Ada
Author-email: Ada <ada@example.invalid>
Maintainer: Bob
Maintainer-email: bob@example.invalid
License-Expression: MIT
License-File: LICENSE
Keywords: alpha,beta , gamma
Classifier: Programming Language :: Python :: 3
Classifier: Typing :: Typed
Platform: any
Requires-Python: >=3.8,<4
Requires-Dist: requests>=2
Requires-Dist: rich; extra == "cli"
Provides-Extra: cli
Project-URL: Source, https://example.invalid/src
Project-URL: Issues, https://example.invalid/issues
Dynamic: license-file
Description-Content-Type: text/markdown

# Foo Bar

Hello.
"""


def metadata_bytes(name: str = "foo-bar", version: str = "1.0", extra: str = "") -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{extra}\n".encode()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def write_tar_gz(
    path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None
) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return path


def make_wheel(tmp_path: Path, filename: str, members: dict[str, bytes]) -> Path:
    return write_zip(tmp_path / filename, {"foo_bar/__init__.py": b"", **members})


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "name", "expected"),
    [
        ("already normalized", "django", "django"),
        ("dots and underscores", "Foo.Bar_baz", "foo-bar-baz"),
        ("runs of separators collapse", "A--b__c.-_d", "a-b-c-d"),
        ("single character", "X", "x"),
        ("digits", "0x10c", "0x10c"),
    ],
)
def test_normalize_project_name(_case, name, expected):
    assert normalize_project_name(name) == expected


@pytest.mark.parametrize(
    ("_case", "name"),
    [
        ("empty", ""),
        ("leading separator", "-foo"),
        ("trailing separator", "foo."),
        ("space", "foo bar"),
        ("path traversal", "../etc"),
        ("non-ascii", "föö"),
        ("slash", "foo/bar"),
    ],
)
def test_normalize_project_name_refuses_invalid_names(_case, name):
    with pytest.raises(InvalidDistribution) as excinfo:
        normalize_project_name(name)
    assert str(excinfo.value) == (
        f"Invalid project name {name!r}: names must start and end with a letter or digit "
        "and contain only ASCII letters, digits, '.', '_' and '-'."
    )


def test_validate_project_name_returns_name_unchanged():
    assert validate_project_name("Foo.Bar") == "Foo.Bar"


def test_invalid_distribution_is_a_value_error():
    assert issubclass(InvalidDistribution, ValueError)


# --- filenames -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "filename", "expected"),
    [
        (
            "pure wheel",
            "foo_bar-1.0-py3-none-any.whl",
            DistributionFile(
                filename="foo_bar-1.0-py3-none-any.whl",
                name="foo_bar",
                normalized_name="foo-bar",
                version="1.0",
                kind="bdist_wheel",
                python_tag="py3",
                abi_tag="none",
                platform_tag="any",
                build_tag="",
                archive_format="whl",
            ),
        ),
        (
            "wheel with build tag, compressed tags and unnormalized version",
            "Foo_Bar-1.0_alpha1-2b-cp311.cp312-abi3-manylinux_2_17_x86_64.whl",
            DistributionFile(
                filename="Foo_Bar-1.0_alpha1-2b-cp311.cp312-abi3-manylinux_2_17_x86_64.whl",
                name="Foo_Bar",
                normalized_name="foo-bar",
                version="1.0a1",
                kind="bdist_wheel",
                python_tag="cp311.cp312",
                abi_tag="abi3",
                platform_tag="manylinux_2_17_x86_64",
                build_tag="2b",
                archive_format="whl",
            ),
        ),
        (
            "sdist tar.gz",
            "foo_bar-1.0.post1.tar.gz",
            DistributionFile(
                filename="foo_bar-1.0.post1.tar.gz",
                name="foo_bar",
                normalized_name="foo-bar",
                version="1.0.post1",
                kind="sdist",
                python_tag="source",
                archive_format="tar.gz",
            ),
        ),
        (
            "legacy sdist with dashes in the name",
            "Foo-Bar-2.0rc1.tar.gz",
            DistributionFile(
                filename="Foo-Bar-2.0rc1.tar.gz",
                name="Foo-Bar",
                normalized_name="foo-bar",
                version="2.0rc1",
                kind="sdist",
                python_tag="source",
                archive_format="tar.gz",
            ),
        ),
        (
            "sdist zip",
            "foo.bar-3.zip",
            DistributionFile(
                filename="foo.bar-3.zip",
                name="foo.bar",
                normalized_name="foo-bar",
                version="3",
                kind="sdist",
                python_tag="source",
                archive_format="zip",
            ),
        ),
    ],
)
def test_parse_distribution_filename(_case, filename, expected):
    assert parse_distribution_filename(filename) == expected


@pytest.mark.parametrize(
    ("_case", "filename", "message"),
    [
        (
            "windows installer",
            "foo-1.0.win32.exe",
            "Invalid distribution filename 'foo-1.0.win32.exe': only wheels (.whl) and sdists "
            "(.tar.gz, .zip) are accepted.",
        ),
        (
            "egg",
            "foo-1.0-py3.11.egg",
            "Invalid distribution filename 'foo-1.0-py3.11.egg': only wheels (.whl) and sdists "
            "(.tar.gz, .zip) are accepted.",
        ),
        (
            "bzip2 sdist",
            "foo-1.0.tar.bz2",
            "Invalid distribution filename 'foo-1.0.tar.bz2': only wheels (.whl) and sdists "
            "(.tar.gz, .zip) are accepted.",
        ),
        (
            "path traversal",
            "../foo-1.0.tar.gz",
            "Invalid distribution filename '../foo-1.0.tar.gz'.",
        ),
        ("directory", "dir/foo-1.0.tar.gz", "Invalid distribution filename 'dir/foo-1.0.tar.gz'."),
        ("empty", "", "Invalid distribution filename ''."),
        (
            "wheel missing a tag",
            "foo-1.0-py3-none.whl",
            "Invalid wheel filename 'foo-1.0-py3-none.whl': expected "
            "{name}-{version}[-{build}]-{python}-{abi}-{platform}.whl.",
        ),
        (
            "sdist with a bad version",
            "foo-notaversion.tar.gz",
            "Invalid sdist filename 'foo-notaversion.tar.gz': expected {name}-{version}.tar.gz "
            "or .zip with a valid version.",
        ),
        (
            "sdist without version",
            "foo.tar.gz",
            "Invalid sdist filename 'foo.tar.gz': expected {name}-{version}.tar.gz or .zip "
            "with a valid version.",
        ),
        (
            "sdist with an invalid name",
            "-foo-1.0.tar.gz",
            "Invalid sdist filename '-foo-1.0.tar.gz': '-foo' is not a valid project name.",
        ),
    ],
)
def test_parse_distribution_filename_refuses(_case, filename, message):
    with pytest.raises(InvalidDistribution) as excinfo:
        parse_distribution_filename(filename)
    assert str(excinfo.value) == message


# --- reading metadata out of archives ------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "filename", "dist_info"),
    [
        ("escaped name", "foo_bar-1.0-py3-none-any.whl", "foo_bar-1.0.dist-info"),
        ("old tools kept the case", "Foo_Bar-1.0-py3-none-any.whl", "Foo_Bar-1.0.dist-info"),
        ("normalization-equal dir", "foo_bar-1.0-py3-none-any.whl", "Foo.Bar-1.0.0.dist-info"),
    ],
)
def test_read_core_metadata_from_wheel(tmp_path, _case, filename, dist_info):
    wheel = make_wheel(
        tmp_path,
        filename,
        {
            f"{dist_info}/METADATA": metadata_bytes(),
            f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\n",
            f"{dist_info}/RECORD": b"",
        },
    )

    assert read_core_metadata(wheel, filename=filename) == metadata_bytes()


def test_read_core_metadata_from_sdist_tar_gz(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz",
        {
            "foo_bar-1.0/pyproject.toml": b"[project]\n",
            # setuptools also ships an egg-info copy deeper down; it is not the one to read.
            "foo_bar-1.0/src/foo_bar.egg-info/PKG-INFO": metadata_bytes(version="9"),
            "foo_bar-1.0/PKG-INFO": metadata_bytes(),
        },
    )

    assert read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz") == metadata_bytes()


def test_read_core_metadata_from_sdist_zip(tmp_path):
    sdist = write_zip(
        tmp_path / "Foo-Bar-1.0.zip",
        {"Foo-Bar-1.0/setup.py": b"", "Foo-Bar-1.0/PKG-INFO": metadata_bytes()},
    )

    assert read_core_metadata(sdist, filename="Foo-Bar-1.0.zip") == metadata_bytes()


@pytest.mark.parametrize(
    ("_case", "members", "message"),
    [
        (
            "no dist-info at all",
            {},
            "foo_bar-1.0-py3-none-any.whl has no foo_bar-1.0.dist-info/METADATA file.",
        ),
        (
            "dist-info of another project",
            {"other-1.0.dist-info/METADATA": metadata_bytes()},
            "foo_bar-1.0-py3-none-any.whl has no foo_bar-1.0.dist-info/METADATA file.",
        ),
        (
            "dist-info of another version",
            {"foo_bar-2.0.dist-info/METADATA": metadata_bytes()},
            "foo_bar-1.0-py3-none-any.whl has no foo_bar-1.0.dist-info/METADATA file.",
        ),
        (
            "METADATA nested too deep",
            {"foo_bar/foo_bar-1.0.dist-info/METADATA": metadata_bytes()},
            "foo_bar-1.0-py3-none-any.whl has no foo_bar-1.0.dist-info/METADATA file.",
        ),
        (
            "two candidate dist-info dirs",
            {
                "foo_bar-1.0.dist-info/METADATA": metadata_bytes(),
                "Foo.Bar-1.0.dist-info/METADATA": metadata_bytes(name="evil"),
            },
            "foo_bar-1.0-py3-none-any.whl has several metadata files: "
            "Foo.Bar-1.0.dist-info/METADATA, foo_bar-1.0.dist-info/METADATA.",
        ),
    ],
)
def test_read_core_metadata_refuses_wheel_without_single_metadata(
    tmp_path, _case, members, message
):
    wheel = make_wheel(tmp_path, "foo_bar-1.0-py3-none-any.whl", members)

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(wheel, filename="foo_bar-1.0-py3-none-any.whl")
    assert str(excinfo.value) == message


def test_read_core_metadata_refuses_zip_bomb_metadata(tmp_path):
    bomb = b"Metadata-Version: 2.1\nName: foo-bar\nVersion: 1.0\n\n" + b"\0" * (2 * 1024 * 1024)
    wheel = make_wheel(
        tmp_path, "foo_bar-1.0-py3-none-any.whl", {"foo_bar-1.0.dist-info/METADATA": bomb}
    )
    assert wheel.stat().st_size < 10_000  # it really is a small file expanding to 2 MiB

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(wheel, filename="foo_bar-1.0-py3-none-any.whl")
    assert str(excinfo.value) == "foo_bar-1.0.dist-info/METADATA is larger than 1048576 bytes."


def test_read_core_metadata_enforces_cap_on_bytes_read_not_declared_size(tmp_path):
    data = metadata_bytes(extra="Summary: " + "x" * 200)
    wheel = make_wheel(
        tmp_path, "foo_bar-1.0-py3-none-any.whl", {"foo_bar-1.0.dist-info/METADATA": data}
    )

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(wheel, filename="foo_bar-1.0-py3-none-any.whl", max_size=100)
    assert str(excinfo.value) == "foo_bar-1.0.dist-info/METADATA is larger than 100 bytes."


@pytest.mark.parametrize(
    ("_case", "filename", "content", "message"),
    [
        (
            "not a zip",
            "foo_bar-1.0-py3-none-any.whl",
            b"this is not a zip file",
            "foo_bar-1.0-py3-none-any.whl is not a valid whl archive: File is not a zip file",
        ),
        (
            "not gzip",
            "foo_bar-1.0.tar.gz",
            b"this is not gzip",
            "foo_bar-1.0.tar.gz is not a valid tar.gz archive: Not a gzipped file (b'th')",
        ),
        (
            "empty sdist zip",
            "foo_bar-1.0.zip",
            b"",
            "foo_bar-1.0.zip is not a valid zip archive: File is not a zip file",
        ),
    ],
)
def test_read_core_metadata_refuses_corrupt_archives(tmp_path, _case, filename, content, message):
    path = tmp_path / filename
    path.write_bytes(content)

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(path, filename=filename)
    assert str(excinfo.value) == message


def test_read_core_metadata_refuses_truncated_tar_gz(tmp_path):
    whole = write_tar_gz(
        tmp_path / "whole.tar.gz", {"foo_bar-1.0/PKG-INFO": metadata_bytes() * 50}
    ).read_bytes()
    path = tmp_path / "foo_bar-1.0.tar.gz"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(path, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value).startswith("foo_bar-1.0.tar.gz is not a valid tar.gz archive: ")


def test_read_core_metadata_refuses_sdist_without_pkg_info(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz",
        {"foo_bar-1.0/src/foo_bar.egg-info/PKG-INFO": metadata_bytes()},
    )

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value) == "foo_bar-1.0.tar.gz has no foo_bar-1.0/PKG-INFO file."


def test_read_core_metadata_refuses_pkg_info_symlink(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz", {}, symlinks={"foo_bar-1.0/PKG-INFO": "/etc/passwd"}
    )

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value) == "foo_bar-1.0/PKG-INFO in foo_bar-1.0.tar.gz is not a regular file."


def test_read_core_metadata_refuses_duplicate_pkg_info(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz",
        {"foo_bar-1.0/PKG-INFO": metadata_bytes(), "Foo.Bar-1.0/PKG-INFO": metadata_bytes()},
    )

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value) == "foo_bar-1.0.tar.gz has several foo_bar-1.0/PKG-INFO files."


def test_read_core_metadata_refuses_oversized_pkg_info(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz", {"foo_bar-1.0/PKG-INFO": b"x" * (1024 * 1024 + 1)}
    )

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value) == "foo_bar-1.0/PKG-INFO is larger than 1048576 bytes."


def test_read_core_metadata_bounds_decompression_of_sdists(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz",
        {"foo_bar-1.0/padding.bin": b"\0" * 200_000, "foo_bar-1.0/PKG-INFO": metadata_bytes()},
    )

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz", max_uncompressed_size=100_000)
    assert str(excinfo.value) == "The archive expands to more than 100000 bytes."


def test_read_core_metadata_refuses_invalid_filename_before_opening(tmp_path):
    missing = tmp_path / "does-not-exist"

    with pytest.raises(InvalidDistribution) as excinfo:
        read_core_metadata(missing, filename="foo-1.0.egg")
    assert str(excinfo.value) == (
        "Invalid distribution filename 'foo-1.0.egg': only wheels (.whl) and sdists "
        "(.tar.gz, .zip) are accepted."
    )


# --- parsing metadata ----------------------------------------------------------------------


def test_parse_core_metadata_reads_every_field():
    assert parse_core_metadata(FULL_METADATA) == CoreMetadata(
        metadata_version="2.4",
        name="Foo_Bar",
        version="1.0a1",
        summary="A tiny test project",
        description="# Foo Bar\n\nHello.\n",
        description_content_type="text/markdown",
        keywords=("alpha", "beta", "gamma"),
        home_page="https://example.invalid/home",
        download_url="https://example.invalid/download",
        author="Ada",
        author_email="Ada <ada@example.invalid>",
        maintainer="Bob",
        maintainer_email="bob@example.invalid",
        license=None,
        license_expression="MIT",
        license_files=("LICENSE",),
        classifiers=("Programming Language :: Python :: 3", "Typing :: Typed"),
        platforms=("any",),
        requires_python=">=3.8,<4",
        requires_dist=("requests>=2", 'rich; extra == "cli"'),
        provides_extra=("cli",),
        project_urls={
            "Source": "https://example.invalid/src",
            "Issues": "https://example.invalid/issues",
        },
        dynamic=("license-file",),
    )


def test_parse_core_metadata_minimal():
    metadata = parse_core_metadata(b"Metadata-Version: 1.0\nName: x\nVersion: 0\n")

    assert metadata == CoreMetadata(metadata_version="1.0", name="x", version="0")
    assert metadata.normalized_name == "x"


@pytest.mark.parametrize(
    ("_case", "raw", "expected"),
    [
        (
            "field newer than the declared Metadata-Version (setuptools License-File in 2.1)",
            metadata_bytes(extra="License-File: LICENSE"),
            CoreMetadata(
                metadata_version="2.1", name="foo-bar", version="1.0", license_files=("LICENSE",)
            ),
        ),
        (
            "unknown minor Metadata-Version",
            b"Metadata-Version: 2.9\nName: foo-bar\nVersion: 1.0\n",
            CoreMetadata(metadata_version="2.9", name="foo-bar", version="1.0"),
        ),
        (
            "unknown fields are ignored",
            metadata_bytes(extra="X-Custom: 1"),
            CoreMetadata(metadata_version="2.1", name="foo-bar", version="1.0"),
        ),
        (
            "blank Requires-Python",
            metadata_bytes(extra="Requires-Python: "),
            CoreMetadata(metadata_version="2.1", name="foo-bar", version="1.0"),
        ),
        (
            "description in the header",
            metadata_bytes(extra="Description: hello"),
            CoreMetadata(
                metadata_version="2.1", name="foo-bar", version="1.0", description="hello"
            ),
        ),
    ],
)
def test_parse_core_metadata_is_lenient_where_installers_do_not_care(_case, raw, expected):
    assert parse_core_metadata(raw) == expected


@pytest.mark.parametrize(
    ("_case", "raw", "message"),
    [
        (
            "missing Name",
            b"Metadata-Version: 2.1\nVersion: 1.0\n",
            "Core metadata has no Name field.",
        ),
        (
            "missing Version",
            b"Metadata-Version: 2.1\nName: foo\n",
            "Core metadata has no Version field.",
        ),
        (
            "missing Metadata-Version",
            b"Name: foo\nVersion: 1.0\n",
            "Core metadata has no Metadata-Version field.",
        ),
        (
            "two Names",
            b"Metadata-Version: 2.1\nName: foo\nName: bar\nVersion: 1.0\n",
            "Core metadata has more than one Name field.",
        ),
        (
            "major Metadata-Version 3",
            b"Metadata-Version: 3.0\nName: foo\nVersion: 1.0\n",
            "Unsupported Metadata-Version '3.0'.",
        ),
        (
            "invalid name",
            b"Metadata-Version: 2.1\nName: foo bar\nVersion: 1.0\n",
            "Invalid Name 'foo bar' in core metadata.",
        ),
        (
            "invalid version",
            metadata_bytes(version="one.two"),
            "Invalid Version 'one.two' in core metadata.",
        ),
        (
            "invalid Requires-Python",
            metadata_bytes(extra="Requires-Python: >=3.8 or so"),
            "Invalid Requires-Python '>=3.8 or so' in core metadata.",
        ),
        (
            "invalid Requires-Dist",
            metadata_bytes(extra="Requires-Dist: bad req !!!"),
            "Invalid Requires-Dist 'bad req !!!' in core metadata.",
        ),
        (
            "not UTF-8",
            b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nAuthor: \xff\n",
            "Core metadata is not valid UTF-8.",
        ),
        ("empty", b"", "Core metadata has no Metadata-Version field."),
    ],
)
def test_parse_core_metadata_refuses(_case, raw, message):
    with pytest.raises(InvalidDistribution) as excinfo:
        parse_core_metadata(raw)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("_case", "filename", "name", "version"),
    [
        ("identical", "foo_bar-1.0-py3-none-any.whl", "foo_bar", "1.0"),
        ("normalized names agree", "foo_bar-1.0-py3-none-any.whl", "Foo.Bar", "1.0"),
        ("normalized versions agree", "foo_bar-1.0a1.tar.gz", "foo-bar", "1.0-alpha1"),
        ("trailing zeros are equal versions", "foo_bar-1.0.0.tar.gz", "foo-bar", "1.0"),
    ],
)
def test_check_filename_matches_accepts(_case, filename, name, version):
    dist = parse_distribution_filename(filename)
    metadata = parse_core_metadata(metadata_bytes(name=name, version=version))

    assert check_filename_matches(dist, metadata=metadata) is None


@pytest.mark.parametrize(
    ("_case", "filename", "name", "version", "message"),
    [
        (
            "other project",
            "foo_bar-1.0-py3-none-any.whl",
            "foo-baz",
            "1.0",
            "Filename 'foo_bar-1.0-py3-none-any.whl' is for project 'foo-bar' but its metadata "
            "names 'foo-baz'.",
        ),
        (
            "other version",
            "foo_bar-1.0.tar.gz",
            "foo_bar",
            "1.1",
            "Filename 'foo_bar-1.0.tar.gz' is for version '1.0' but its metadata says '1.1'.",
        ),
    ],
)
def test_check_filename_matches_refuses(_case, filename, name, version, message):
    dist = parse_distribution_filename(filename)
    metadata = parse_core_metadata(metadata_bytes(name=name, version=version))

    with pytest.raises(InvalidDistribution) as excinfo:
        check_filename_matches(dist, metadata=metadata)
    assert str(excinfo.value) == message


def test_wheel_round_trip_from_archive_to_checked_metadata(tmp_path):
    filename = "Foo_Bar-1.0a1-py3-none-any.whl"
    wheel = make_wheel(tmp_path, filename, {"Foo_Bar-1.0a1.dist-info/METADATA": FULL_METADATA})
    dist = parse_distribution_filename(filename)

    metadata = parse_core_metadata(read_core_metadata(wheel, filename=filename))

    check_filename_matches(dist, metadata=metadata)
    assert (metadata.normalized_name, metadata.version) == ("foo-bar", "1.0a1")


# --- content negotiation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "accept", "expected"),
    [
        ("no Accept header", None, MIME_TEXT_HTML),
        ("blank Accept header", "  ", MIME_TEXT_HTML),
        (
            "pip",
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
            "text/html; q=0.01",
            MIME_PYPI_SIMPLE_V1_JSON,
        ),
        (
            "uv",
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
            "text/html;q=0.01",
            MIME_PYPI_SIMPLE_V1_JSON,
        ),
        ("curl", "*/*", MIME_TEXT_HTML),
        (
            "browser",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            MIME_TEXT_HTML,
        ),
        ("versioned HTML only", MIME_PYPI_SIMPLE_V1_HTML, MIME_PYPI_SIMPLE_V1_HTML),
        (
            "higher q wins over client order",
            "text/html;q=0.5, application/vnd.pypi.simple.v1+json",
            MIME_PYPI_SIMPLE_V1_JSON,
        ),
        (
            "exact match beats wildcard at equal q",
            "*/*, application/vnd.pypi.simple.v1+json",
            MIME_PYPI_SIMPLE_V1_JSON,
        ),
        (
            "client order breaks exact ties",
            "application/vnd.pypi.simple.v1+json, text/html",
            MIME_PYPI_SIMPLE_V1_JSON,
        ),
        ("type wildcard", "application/*", MIME_PYPI_SIMPLE_V1_HTML),
        ("case-insensitive", "Application/VND.PyPI.Simple.V1+JSON", MIME_PYPI_SIMPLE_V1_JSON),
        (
            "specific q=0 excludes despite wildcard",
            "text/html;q=0, */*;q=0.1",
            MIME_PYPI_SIMPLE_V1_HTML,
        ),
        (
            "malformed q is ignored",
            "text/html;q=high, application/*;q=0.3",
            MIME_PYPI_SIMPLE_V1_HTML,
        ),
        ("nothing acceptable", "application/json", None),
        ("everything refused", "*/*;q=0", None),
        ("garbage", "garbage", None),
    ],
)
def test_negotiate_simple_content_type(_case, accept, expected):
    assert negotiate_simple_content_type(accept) == expected


# --- simple API rendering ------------------------------------------------------------------

UPLOADED = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)

SIMPLE_FILES: list[SimpleFile] = [
    {
        "filename": "foo_bar-1.10.tar.gz",
        "url": "../../files/foo_bar-1.10.tar.gz",
        "hashes": {"sha256": "c" * 64},
        "version": "1.10",
        "size": 300,
        "upload_time": datetime(2024, 5, 7, tzinfo=timezone(timedelta(hours=2))),
    },
    {
        "filename": "foo_bar-1.9-py3-none-any.whl",
        "url": "https://files.example.invalid/foo_bar-1.9-py3-none-any.whl",
        "hashes": {"sha256": "b" * 64, "md5": "d" * 32},
        "version": "1.9",
        "size": 200,
        "upload_time": UPLOADED,
        "requires_python": ">=3.8,<4",
        "yanked": 'broken "build" <oops>',
        "core_metadata_sha256": "e" * 64,
    },
    {
        "filename": "foo_bar-1.9.tar.gz",
        "url": "https://files.example.invalid/foo_bar-1.9.tar.gz",
        "hashes": {"sha256": "a" * 64},
        "version": "1.9",
        "size": 100,
        "upload_time": UPLOADED,
        "requires_python": ">=3.8,<4",
        "yanked": "",
    },
]


def test_render_simple_project_html():
    body = render_simple_project_html(name="Foo_Bar", files=SIMPLE_FILES)

    assert body.decode() == (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "  <head>\n"
        '    <meta charset="utf-8">\n'
        '    <meta name="pypi:repository-version" content="1.1">\n'
        "    <title>Links for foo-bar</title>\n"
        "  </head>\n"
        "  <body>\n"
        "    <h1>Links for foo-bar</h1>\n"
        '    <a href="https://files.example.invalid/foo_bar-1.9-py3-none-any.whl#sha256='
        + "b"
        * 64
        + '" data-requires-python="&gt;=3.8,&lt;4" '
        'data-yanked="broken &quot;build&quot; &lt;oops&gt;" '
        'data-core-metadata="sha256=' + "e" * 64 + '" '
        'data-dist-info-metadata="sha256=' + "e" * 64 + '">'
        "foo_bar-1.9-py3-none-any.whl</a><br>\n"
        '    <a href="https://files.example.invalid/foo_bar-1.9.tar.gz#sha256='
        + "a"
        * 64
        + '" data-requires-python="&gt;=3.8,&lt;4" data-yanked="">foo_bar-1.9.tar.gz</a><br>\n'
        '    <a href="../../files/foo_bar-1.10.tar.gz#sha256='
        + "c"
        * 64
        + '">foo_bar-1.10.tar.gz</a><br>\n'
        "  </body>\n"
        "</html>\n"
    )


def test_render_simple_project_json():
    body = render_simple_project_json(name="Foo_Bar", files=SIMPLE_FILES)

    assert json.loads(body) == {
        "meta": {"api-version": "1.1"},
        "name": "foo-bar",
        "versions": ["1.9", "1.10"],
        "files": [
            {
                "filename": "foo_bar-1.9-py3-none-any.whl",
                "url": "https://files.example.invalid/foo_bar-1.9-py3-none-any.whl",
                "hashes": {"sha256": "b" * 64, "md5": "d" * 32},
                "requires-python": ">=3.8,<4",
                "size": 200,
                "upload-time": "2024-05-06T07:08:09.123456Z",
                "yanked": 'broken "build" <oops>',
                "core-metadata": {"sha256": "e" * 64},
                "data-dist-info-metadata": {"sha256": "e" * 64},
            },
            {
                "filename": "foo_bar-1.9.tar.gz",
                "url": "https://files.example.invalid/foo_bar-1.9.tar.gz",
                "hashes": {"sha256": "a" * 64},
                "requires-python": ">=3.8,<4",
                "size": 100,
                "upload-time": "2024-05-06T07:08:09.123456Z",
                "yanked": True,
                "core-metadata": False,
                "data-dist-info-metadata": False,
            },
            {
                "filename": "foo_bar-1.10.tar.gz",
                "url": "../../files/foo_bar-1.10.tar.gz",
                "hashes": {"sha256": "c" * 64},
                "requires-python": None,
                "size": 300,
                "upload-time": "2024-05-06T22:00:00Z",
                "yanked": False,
                "core-metadata": False,
                "data-dist-info-metadata": False,
            },
        ],
    }
    assert b"dist-info-metadata" not in body.replace(b"data-dist-info-metadata", b"")


def test_render_simple_project_json_refuses_naive_upload_time():
    naive: SimpleFile = {**SIMPLE_FILES[0], "upload_time": datetime(2024, 1, 1)}  # noqa: DTZ001

    with pytest.raises(ValueError, match="^upload_time must be timezone-aware$"):
        render_simple_project_json(name="foo", files=[naive])


def test_render_simple_project_pages_without_files():
    assert json.loads(render_simple_project_json(name="Foo", files=[])) == {
        "meta": {"api-version": "1.1"},
        "name": "foo",
        "versions": [],
        "files": [],
    }
    assert b"<h1>Links for foo</h1>\n  </body>" in render_simple_project_html(name="Foo", files=[])


def test_render_simple_index_html():
    body = render_simple_index_html(projects=["Zope.Interface", "a_b", "<script>"])

    assert body.decode() == (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "  <head>\n"
        '    <meta charset="utf-8">\n'
        '    <meta name="pypi:repository-version" content="1.1">\n'
        "    <title>Simple index</title>\n"
        "  </head>\n"
        "  <body>\n"
        "    <h1>Simple index</h1>\n"
        '    <a href="&lt;script&gt;/">&lt;script&gt;</a><br>\n'
        '    <a href="a-b/">a_b</a><br>\n'
        '    <a href="zope-interface/">Zope.Interface</a><br>\n'
        "  </body>\n"
        "</html>\n"
    )


def test_render_simple_index_json():
    body = render_simple_index_json(projects=["Zope.Interface", "a_b"])

    assert json.loads(body) == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "a_b"}, {"name": "Zope.Interface"}],
    }


# --- JSON API rendering --------------------------------------------------------------------


def expected_json_api_files():
    return {
        "wheel": {
            "comment_text": "",
            "digests": {"sha256": "b" * 64, "md5": "d" * 32},
            "downloads": -1,
            "filename": "foo_bar-1.9-py3-none-any.whl",
            "has_sig": False,
            "md5_digest": "d" * 32,
            "packagetype": "bdist_wheel",
            "python_version": "py3",
            "requires_python": ">=3.8,<4",
            "size": 200,
            "upload_time": "2024-05-06T07:08:09",
            "upload_time_iso_8601": "2024-05-06T07:08:09.123456Z",
            "url": "https://files.example.invalid/foo_bar-1.9-py3-none-any.whl",
            "yanked": True,
            "yanked_reason": 'broken "build" <oops>',
        },
        "sdist_19": {
            "comment_text": "",
            "digests": {"sha256": "a" * 64},
            "downloads": -1,
            "filename": "foo_bar-1.9.tar.gz",
            "has_sig": False,
            "md5_digest": None,
            "packagetype": "sdist",
            "python_version": "source",
            "requires_python": ">=3.8,<4",
            "size": 100,
            "upload_time": "2024-05-06T07:08:09",
            "upload_time_iso_8601": "2024-05-06T07:08:09.123456Z",
            "url": "https://files.example.invalid/foo_bar-1.9.tar.gz",
            "yanked": True,
            "yanked_reason": None,
        },
        "sdist_110": {
            "comment_text": "",
            "digests": {"sha256": "c" * 64},
            "downloads": -1,
            "filename": "foo_bar-1.10.tar.gz",
            "has_sig": False,
            "md5_digest": None,
            "packagetype": "sdist",
            "python_version": "source",
            "requires_python": None,
            "size": 300,
            "upload_time": "2024-05-06T22:00:00",
            "upload_time_iso_8601": "2024-05-06T22:00:00.000000Z",
            "url": "../../files/foo_bar-1.10.tar.gz",
            "yanked": False,
            "yanked_reason": None,
        },
    }


def files_by_version():
    return {
        "1.10": [SIMPLE_FILES[0]],
        "1.9": [SIMPLE_FILES[2], SIMPLE_FILES[1]],
        "2.0.dev1": [],
    }


def test_render_project_json_for_project():
    metadata = parse_core_metadata(FULL_METADATA.replace(b"1.0-alpha1", b"1.9"))
    files = expected_json_api_files()

    document = json.loads(
        render_project_json(
            metadata=metadata,
            files_by_version=files_by_version(),
            project_url="https://r.invalid/project/foo-bar/",
            release_url="https://r.invalid/project/foo-bar/1.9/",
            last_serial=42,
            yanked="broken build",
        )
    )

    assert document == {
        "info": {
            "author": "Ada",
            "author_email": "Ada <ada@example.invalid>",
            "bugtrack_url": None,
            "classifiers": ["Programming Language :: Python :: 3", "Typing :: Typed"],
            "description": "# Foo Bar\n\nHello.\n",
            "description_content_type": "text/markdown",
            "docs_url": None,
            "download_url": "https://example.invalid/download",
            "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
            "dynamic": ["license-file"],
            "home_page": "https://example.invalid/home",
            "keywords": "alpha,beta,gamma",
            "license": None,
            "license_expression": "MIT",
            "license_files": ["LICENSE"],
            "maintainer": "Bob",
            "maintainer_email": "bob@example.invalid",
            "name": "Foo_Bar",
            "package_url": "https://r.invalid/project/foo-bar/",
            "platform": "any",
            "project_url": "https://r.invalid/project/foo-bar/",
            "project_urls": {
                "Source": "https://example.invalid/src",
                "Issues": "https://example.invalid/issues",
            },
            "provides_extra": ["cli"],
            "release_url": "https://r.invalid/project/foo-bar/1.9/",
            "requires_dist": ["requests>=2", 'rich; extra == "cli"'],
            "requires_python": ">=3.8,<4",
            "summary": "A tiny test project",
            "version": "1.9",
            "yanked": True,
            "yanked_reason": "broken build",
        },
        "last_serial": 42,
        "releases": {
            "1.9": [files["wheel"], files["sdist_19"]],
            "1.10": [files["sdist_110"]],
            "2.0.dev1": [],
        },
        "urls": [files["wheel"], files["sdist_19"]],
        "vulnerabilities": [],
    }
    assert list(document["releases"]) == ["1.9", "1.10", "2.0.dev1"]


def test_render_project_json_for_release_has_no_releases():
    metadata = parse_core_metadata(metadata_bytes(name="foo_bar", version="1.10"))

    document = json.loads(
        render_project_json(
            metadata=metadata,
            files_by_version=files_by_version(),
            project_url="https://r.invalid/project/foo-bar/",
            release_url="https://r.invalid/project/foo-bar/1.10/",
            last_serial=7,
            include_releases=False,
        )
    )

    assert sorted(document) == ["info", "last_serial", "urls", "vulnerabilities"]
    assert document["urls"] == [expected_json_api_files()["sdist_110"]]
    assert (document["info"]["yanked"], document["info"]["yanked_reason"]) == (False, None)
    assert (document["info"]["keywords"], document["info"]["requires_dist"]) == (None, None)
