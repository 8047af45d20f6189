import pytest

from formats.errors import InvalidPath
from formats.paths import validate_path


@pytest.mark.parametrize("path", ["a", "a/b/c.tar.gz", "dir/file with space.txt", "x/.hidden"])
def test_relative_paths_are_accepted(path):
    assert validate_path(path) == path


@pytest.mark.parametrize(
    ("_case", "path"),
    [
        ("empty", ""),
        ("absolute", "/etc/passwd"),
        ("parent segment", "a/../../etc/passwd"),
        ("dot segment", "a/./b"),
        ("empty segment", "a//b"),
        ("trailing slash", "a/b/"),
        ("backslash", "a\\..\\b"),
        ("control character", "a/b\x00c"),
        ("too long", "a" * 1025),
    ],
)
def test_unsafe_paths_are_refused(_case, path):
    with pytest.raises(InvalidPath):
        validate_path(path)
