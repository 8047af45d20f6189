"""Maven's version order (``ComparableVersion`` of Maven 3.8) and what a SNAPSHOT is.

https://maven.apache.org/pom.html#version-order-specification. Pure: no Django.
"""

import functools
import re

SNAPSHOT_SUFFIX = "-SNAPSHOT"
# yyyyMMdd.HHmmss of a timestamped SNAPSHOT build.
SNAPSHOT_TIMESTAMP_RE = re.compile(r"\d{8}\.\d{6}")


def is_snapshot(version: str, /) -> bool:
    """Return whether ``version`` is a SNAPSHOT, base (``1.0-SNAPSHOT``) or timestamped.

    Args:
        version: A version string.

    Returns:
        True for ``X-SNAPSHOT`` (any case, as Maven accepts) and ``X-yyyyMMdd.HHmmss-N``.
    """
    if version.upper().endswith(SNAPSHOT_SUFFIX) or version.upper() == "SNAPSHOT":
        return True
    head, sep, build = version.rpartition("-")
    if not sep or not build.isdigit():
        return False
    stem, sep, stamp = head.rpartition("-")
    return bool(sep) and stem != "" and SNAPSHOT_TIMESTAMP_RE.fullmatch(stamp) is not None


# Known qualifiers in ascending order; the empty string stands for a release.
_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_QUALIFIER_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT_QUALIFIERS = {"a": "alpha", "b": "beta", "m": "milestone"}
_RELEASE_RANK = _QUALIFIERS.index("")

# An item is an int (number), a str (qualifier, already aliased) or a list (a "-" sublist).
_Item = int | str | list


def _qualifier_rank(qualifier: str) -> tuple[int, str]:
    # Unknown qualifiers sort after all known ones, among themselves lexically.
    if qualifier in _QUALIFIERS:
        return (_QUALIFIERS.index(qualifier), "")
    return (len(_QUALIFIERS), qualifier)


def _is_null(item: _Item) -> bool:
    if isinstance(item, list):
        return not item
    if isinstance(item, int):
        return item == 0
    return _qualifier_rank(item)[0] == _RELEASE_RANK


def _compare_item(left: _Item | None, right: _Item | None) -> int:
    """Compare two items; ``None`` stands for padding past the end of the shorter list."""
    if left is None:
        return 0 if right is None else -_compare_item(right, None)
    if isinstance(left, int):
        if right is None:
            return 0 if left == 0 else 1
        if isinstance(right, int):
            return (left > right) - (left < right)
        return 1  # 1.1 > 1-sp and 1.1 > 1-1
    if isinstance(left, str):
        if right is None:
            # Compared with nothing, a qualifier counts as older or newer than a release.
            return _cmp(_qualifier_rank(left), (_RELEASE_RANK, ""))
        if isinstance(right, str):
            return _cmp(_qualifier_rank(left), _qualifier_rank(right))
        return -1  # 1.rc < 1.1 and 1.rc < 1-1
    if right is None:
        # Every item counts, not just the first: 1-ga.1 > 1 (MNG-6964).
        return next((r for r in (_compare_item(item, None) for item in left) if r), 0)
    if isinstance(right, int):
        return -1  # 1-1 < 1.1
    if isinstance(right, str):
        return 1  # 1-1 > 1-sp
    for index in range(max(len(left), len(right))):
        result = _compare_item(
            left[index] if index < len(left) else None,
            right[index] if index < len(right) else None,
        )
        if result:
            return result
    return 0


def _cmp(left: tuple[int, str], right: tuple[int, str]) -> int:
    return (left > right) - (left < right)


def _make_item(token: str, *, numeric: bool, followed_by_digit: bool = False) -> _Item:
    if numeric:
        return int(token)
    if followed_by_digit and token in _SHORT_QUALIFIERS:
        return _SHORT_QUALIFIERS[token]
    return _QUALIFIER_ALIASES.get(token, token)


def _parse_version(version: str) -> list:
    """Tokenize a version into nested item lists following ComparableVersion's rules.

    ``.`` separates items within a list, ``-`` opens a sublist, and a switch between letters
    and digits acts as ``-``, so ``1.0alpha1`` reads as ``[1, [alpha, [1]]]``.
    """
    text = version.lower()
    root: list = []
    current = root
    opened: list[list] = [root]
    numeric = False
    start = 0

    def open_sublist() -> None:
        nonlocal current
        sub: list = []
        current.append(sub)
        current = sub
        opened.append(sub)

    for index, char in enumerate(text):
        if char in ".-":
            if index == start:
                current.append(0)
            else:
                current.append(_make_item(text[start:index], numeric=numeric))
            start = index + 1
            if char == "-":
                open_sublist()
        elif char.isdigit() and char.isascii():
            if not numeric and index > start:
                # Maven 3.8 reads "1.0.0.X1" as "1.0.0-X1": a qualifier never sits in a list
                # that already holds items.
                if current:
                    open_sublist()
                current.append(_make_item(text[start:index], numeric=False, followed_by_digit=True))
                start = index
                open_sublist()
            numeric = True
        else:
            if numeric and index > start:
                current.append(_make_item(text[start:index], numeric=True))
                start = index
                open_sublist()
            numeric = False
    if len(text) > start:
        if not numeric and current:
            open_sublist()
        current.append(_make_item(text[start:], numeric=numeric))
    for items in reversed(opened):
        _trim_all(items)
    return root


def _trim_all(items: list) -> None:
    # Walk back from the end dropping nulls; a sublist is skipped (kept) but does not stop the
    # walk, a non-null number or qualifier does.
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if _is_null(item):
            del items[index]
        elif not isinstance(item, list):
            break


def _canonical(items: list) -> str:
    out = ""
    for item in items:
        if out:
            out += "-" if isinstance(item, list) else "."
        out += _canonical(item) if isinstance(item, list) else str(item)
    return out


@functools.total_ordering
class MavenVersion:
    """A version ordered like Maven's ``ComparableVersion`` (the Maven 3.8 rules).

    ``1.0-alpha < 1.0-beta < 1.0-milestone < 1.0-rc < 1.0-SNAPSHOT < 1.0 < 1.0-sp < 1.0.1``;
    numbers compare numerically, unknown qualifiers sort after ``sp`` case-insensitively, and
    ``1 == 1.0 == 1-ga == 1.0.0-final``.

    Attributes:
        value: The original version string.
        canonical: Maven's canonical spelling; equal versions share it.
    """

    __slots__ = ("_items", "canonical", "value")

    def __init__(self, value: str) -> None:
        self.value = value
        self._items = _parse_version(value)
        self.canonical = _canonical(self._items)

    def __repr__(self) -> str:
        return f"MavenVersion({self.value!r})"

    def __str__(self) -> str:
        return self.value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MavenVersion):
            return NotImplemented
        return self.canonical == other.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)

    def __lt__(self, other: "MavenVersion") -> bool:
        if not isinstance(other, MavenVersion):
            return NotImplemented
        return _compare_item(self._items, other._items) < 0


def compare_versions(left: str, right: str, /) -> int:
    """Compare two versions with Maven's ordering.

    Args:
        left: A version string.
        right: Another version string.

    Returns:
        A negative number, zero or a positive number as ``left`` is older, equal or newer.
    """
    return _compare_item(_parse_version(left), _parse_version(right))


def version_sort_key(version: str, /) -> MavenVersion:
    """Return a sort key ordering versions like Maven, for ``sorted(..., key=version_sort_key)``.

    Args:
        version: A version string.

    Returns:
        A comparable `MavenVersion`.
    """
    return MavenVersion(version)


_RELEASE_PART = re.compile(r"\d+(\.\d+)*")


def is_prerelease(version: str, /) -> bool:
    """Return whether ``version`` comes before the release it leads to.

    SNAPSHOTs, and qualifiers Maven orders before a release: ``1.0-alpha-1``, ``2.0-M3``,
    ``3.1-rc1``; ``1.0``, ``1.0-sp1`` and ``1.0.Final`` are releases.
    """
    if is_snapshot(version):
        return True
    release = _RELEASE_PART.match(version)
    return release is not None and compare_versions(version, release.group()) < 0
