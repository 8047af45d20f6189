"""Parsing core metadata and matching it with the filename (formats.pypi.metadata)."""

import pytest

from formats.pypi.errors import InvalidUpload
from formats.pypi.metadata import CoreMetadata, check_filename_matches, parse_core_metadata
from formats.pypi.names import (
    parse_distribution_filename,
)
from tests.formats.pypi.archive_files import (
    FULL_METADATA,
    metadata_bytes,
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
    with pytest.raises(InvalidUpload) as excinfo:
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

    with pytest.raises(InvalidUpload) as excinfo:
        check_filename_matches(dist, metadata=metadata)
    assert str(excinfo.value) == message
