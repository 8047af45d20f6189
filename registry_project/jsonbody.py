"""JSON from clients, refused before parsing when it nests deeper than any real document.

Python's ``json`` recurses once per level and raises RecursionError somewhere below 1000
levels, depending on how deep the caller's stack already is: a 100 000-deep ``[[[[...]]]]``
body turned into a 500 wherever JSON was read. The nesting is counted first, outside strings,
in linear time, so the parser never recurses far. ``MAX_DEPTH`` (64) is ten times the deepest
package.json in npm's own tree (6 levels, ``exports`` conditions) plus the 3 levels an npm
publish body wraps it in; OCI manifests and indexes nest 4 levels, management API bodies 2.
Nothing here imports Django, so pure parsers use it too.
"""

import json
import re
from typing import Any

from registry_project.errors import DocumentTooDeep

MAX_DEPTH = 64

_BRACKET = re.compile(r"[\[\]{}]")
_OPENING = frozenset("[{")


def _string_end(text: str, start: int) -> int:
    """Return the index of the quote closing the string opened at ``start``, or -1."""
    end = start
    while True:
        end = text.find('"', end + 1)
        if end == -1:
            return -1
        backslashes = end - 1
        while text[backslashes] == "\\":
            backslashes -= 1
        if (end - 1 - backslashes) % 2 == 0:  # an even run of backslashes escapes nothing
            return end


def check_depth(text: str, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse ``text`` if its arrays and objects nest deeper than ``max_depth``.

    Strings are skipped with ``str.find`` (memchr speed: a base64 tarball costs almost
    nothing); brackets are counted only between them.

    Raises:
        DocumentTooDeep: the nesting exceeds ``max_depth``.
    """
    depth = position = 0
    while position < len(text):
        quote = text.find('"', position)
        stop = len(text) if quote == -1 else quote
        for bracket in _BRACKET.finditer(text, position, stop):
            if text[bracket.start()] in _OPENING:
                depth += 1
                if depth > max_depth:
                    raise DocumentTooDeep(f"JSON document nested deeper than {max_depth} levels")
            else:
                depth -= 1
        if quote == -1:
            return
        end = _string_end(text, quote)
        if end == -1:
            return  # unterminated: json.loads says so
        position = end + 1


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH, **options: Any) -> Any:
    """Parse a JSON document as ``json.loads`` does, after checking its nesting depth.

    Args:
        data: The document; bytes are decoded as ``json.loads`` decodes them (UTF-8/16/32).
        max_depth: Deepest nesting of arrays and objects allowed.
        **options: Passed to ``json.loads`` (``parse_constant``...).

    Raises:
        DocumentTooDeep: the nesting exceeds ``max_depth`` (a ValueError too).
        UnicodeDecodeError: ``data`` is bytes in no JSON encoding.
        json.JSONDecodeError: ``data`` is not JSON.
    """
    text = (
        data.decode(json.detect_encoding(data), "surrogatepass")
        if isinstance(data, bytes)
        else data
    )
    check_depth(text, max_depth=max_depth)
    return json.loads(text, **options)


class BoundedJSONDecoder(json.JSONDecoder):
    """A ``json.JSONDecoder`` with the same limit, for APIs that take a decoder class.

    Django's ``forms.JSONField`` (the admin's repository ``config``) turns only
    ``JSONDecodeError`` into a form error, so a document too deep is reported as one.
    """

    def decode(self, s: str, *args: Any, **kwargs: Any) -> Any:
        try:
            check_depth(s)
        except DocumentTooDeep as error:
            raise json.JSONDecodeError(error.message, s, 0) from None
        return super().decode(s, *args, **kwargs)
