"""Reading core metadata out of wheels and sdists (formats.pypi.archives)."""

import pytest

from formats.pypi.archives import read_core_metadata
from formats.pypi.errors import InvalidUpload
from formats.pypi.metadata import check_filename_matches, parse_core_metadata
from formats.pypi.names import (
    parse_distribution_filename,
)
from tests.formats.pypi.archive_files import (
    FULL_METADATA,
    make_wheel,
    metadata_bytes,
    write_tar_gz,
    write_zip,
)

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

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(wheel, filename="foo_bar-1.0-py3-none-any.whl")
    assert str(excinfo.value) == message


def test_read_core_metadata_refuses_zip_bomb_metadata(tmp_path):
    bomb = b"Metadata-Version: 2.1\nName: foo-bar\nVersion: 1.0\n\n" + b"\0" * (2 * 1024 * 1024)
    wheel = make_wheel(
        tmp_path, "foo_bar-1.0-py3-none-any.whl", {"foo_bar-1.0.dist-info/METADATA": bomb}
    )
    assert wheel.stat().st_size < 10_000  # it really is a small file expanding to 2 MiB

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(wheel, filename="foo_bar-1.0-py3-none-any.whl")
    assert str(excinfo.value) == "foo_bar-1.0.dist-info/METADATA is larger than 1048576 bytes."


def test_read_core_metadata_enforces_cap_on_bytes_read_not_declared_size(tmp_path):
    data = metadata_bytes(extra="Summary: " + "x" * 200)
    wheel = make_wheel(
        tmp_path, "foo_bar-1.0-py3-none-any.whl", {"foo_bar-1.0.dist-info/METADATA": data}
    )

    with pytest.raises(InvalidUpload) as excinfo:
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

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(path, filename=filename)
    assert str(excinfo.value) == message


def test_read_core_metadata_refuses_truncated_tar_gz(tmp_path):
    whole = write_tar_gz(
        tmp_path / "whole.tar.gz", {"foo_bar-1.0/PKG-INFO": metadata_bytes() * 50}
    ).read_bytes()
    path = tmp_path / "foo_bar-1.0.tar.gz"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(path, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value).startswith("foo_bar-1.0.tar.gz is not a valid tar.gz archive: ")


def test_read_core_metadata_refuses_sdist_without_pkg_info(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz",
        {"foo_bar-1.0/src/foo_bar.egg-info/PKG-INFO": metadata_bytes()},
    )

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value) == "foo_bar-1.0.tar.gz has no foo_bar-1.0/PKG-INFO file."


def test_read_core_metadata_refuses_pkg_info_symlink(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz", {}, symlinks={"foo_bar-1.0/PKG-INFO": "/etc/passwd"}
    )

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value) == "foo_bar-1.0/PKG-INFO in foo_bar-1.0.tar.gz is not a regular file."


def test_read_core_metadata_refuses_duplicate_pkg_info(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz",
        {"foo_bar-1.0/PKG-INFO": metadata_bytes(), "Foo.Bar-1.0/PKG-INFO": metadata_bytes()},
    )

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value) == "foo_bar-1.0.tar.gz has several foo_bar-1.0/PKG-INFO files."


def test_read_core_metadata_refuses_oversized_pkg_info(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz", {"foo_bar-1.0/PKG-INFO": b"x" * (1024 * 1024 + 1)}
    )

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz")
    assert str(excinfo.value) == "foo_bar-1.0/PKG-INFO is larger than 1048576 bytes."


def test_read_core_metadata_bounds_decompression_of_sdists(tmp_path):
    sdist = write_tar_gz(
        tmp_path / "foo_bar-1.0.tar.gz",
        {"foo_bar-1.0/padding.bin": b"\0" * 200_000, "foo_bar-1.0/PKG-INFO": metadata_bytes()},
    )

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(sdist, filename="foo_bar-1.0.tar.gz", max_uncompressed_size=100_000)
    assert str(excinfo.value) == "The archive expands to more than 100000 bytes."


def test_read_core_metadata_refuses_invalid_filename_before_opening(tmp_path):
    missing = tmp_path / "does-not-exist"

    with pytest.raises(InvalidUpload) as excinfo:
        read_core_metadata(missing, filename="foo-1.0.egg")
    assert str(excinfo.value) == (
        "Invalid distribution filename 'foo-1.0.egg': only wheels (.whl) and sdists "
        "(.tar.gz, .zip) are accepted."
    )


def test_wheel_round_trip_from_archive_to_checked_metadata(tmp_path):
    filename = "Foo_Bar-1.0a1-py3-none-any.whl"
    wheel = make_wheel(tmp_path, filename, {"Foo_Bar-1.0a1.dist-info/METADATA": FULL_METADATA})
    dist = parse_distribution_filename(filename)

    metadata = parse_core_metadata(read_core_metadata(wheel, filename=filename))

    check_filename_matches(dist, metadata=metadata)
    assert (metadata.normalized_name, metadata.version) == ("foo-bar", "1.0a1")
