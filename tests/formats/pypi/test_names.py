"""Project names and distribution filenames (formats.pypi.names)."""

import pytest

from formats.pypi.errors import InvalidUpload
from formats.pypi.names import (
    DistributionFile,
    normalize_project_name,
    parse_distribution_filename,
    validate_project_name,
)

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
        # Both passed the hand-written rule (``$`` before a final newline, IGNORECASE folding
        # U+212A to K); packaging's canonicalize_name(validate=True) refuses them.
        ("trailing newline", "foo\n"),
        ("Kelvin sign", "\u212aelvin"),
    ],
)
def test_normalize_project_name_refuses_invalid_names(_case, name):
    with pytest.raises(InvalidUpload) as excinfo:
        normalize_project_name(name)
    assert str(excinfo.value) == (
        f"Invalid project name {name!r}: names must start and end with a letter or digit "
        "and contain only ASCII letters, digits, '.', '_' and '-'."
    )


def test_validate_project_name_returns_name_unchanged():
    assert validate_project_name("Foo.Bar") == "Foo.Bar"


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
    with pytest.raises(InvalidUpload) as excinfo:
        parse_distribution_filename(filename)
    assert str(excinfo.value) == message
