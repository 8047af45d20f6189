"""Validation of the paths clients put files at."""

import re

from formats.errors import InvalidPath

MAX_PATH_LENGTH = 1024
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\\]")


def validate_path(path: str) -> str:
    """Return ``path`` if it is a safe relative path, else raise InvalidPath.

    Refused: absolute paths, empty, ``.`` or ``..`` segments, backslashes and control characters.
    """
    if not path or len(path) > MAX_PATH_LENGTH:
        raise InvalidPath("path is empty or too long", path=path[:100])
    if path.startswith("/") or FORBIDDEN_CHARACTERS.search(path):
        raise InvalidPath("path must be relative and printable", path=path[:100])
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        raise InvalidPath("path has an empty, '.' or '..' segment", path=path[:100])
    return path
