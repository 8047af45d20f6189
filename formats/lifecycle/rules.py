"""Which versions of one package a cleanup policy removes: pure evaluation, no database."""

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Rules:
    """The version rules of a policy (see ``CleanupPolicy``)."""

    keep_last: int | None = None
    older_than_days: int | None = None
    unused_days: int | None = None
    match: str = ""
    match_regex: bool = False
    prerelease_only: bool = False
    keep_tagged: bool = True

    @property
    def removes_versions(self) -> bool:
        """A policy removes versions only with a count or an age rule; scope alone does not."""
        return any(
            rule is not None for rule in (self.keep_last, self.older_than_days, self.unused_days)
        )

    def matches(self, version: str) -> bool:
        """Whether ``version`` is in the pattern's scope (everything without a pattern)."""
        if not self.match:
            return True
        if self.match_regex:
            return re.fullmatch(self.match, version) is not None
        return fnmatch.fnmatchcase(version, self.match)


@dataclass(frozen=True)
class Candidate:
    """What the rules know of a version."""

    pk: int
    version: str
    published_at: datetime
    last_used: datetime
    pinned: bool
    tagged: bool


def pattern_check(pattern: str, *, regex: bool) -> None:
    """Raise ValueError when ``pattern`` is not a valid regular expression (globs always are)."""
    if regex:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None


def removable(
    rules: Rules,
    candidates: Iterable[Candidate],
    *,
    now: datetime,
    is_prerelease: Callable[[str], bool],
) -> set[int]:
    """Return the ids of the versions ``rules`` remove among one package's ``candidates``.

    In scope are the versions matching the pattern (and prereleases, with ``prerelease_only``).
    Of those, the ``keep_last`` most recently published stay; of the rest, a version goes when
    it is older than every age rule set, unless it is pinned or (with ``keep_tagged``) a tag
    points at it. What other versions still need is the format's to add back
    (``FormatConfig.cleanup_needs``).
    """
    if not rules.removes_versions:
        return set()
    scope = [
        c
        for c in candidates
        if rules.matches(c.version) and (not rules.prerelease_only or is_prerelease(c.version))
    ]
    scope.sort(key=lambda c: (c.published_at, c.pk), reverse=True)
    if rules.keep_last is not None:
        scope = scope[rules.keep_last :]
    gone = set()
    for candidate in scope:
        if candidate.pinned or (rules.keep_tagged and candidate.tagged):
            continue
        if rules.older_than_days is not None and candidate.published_at > now - timedelta(
            days=rules.older_than_days
        ):
            continue
        if rules.unused_days is not None and candidate.last_used > now - timedelta(
            days=rules.unused_days
        ):
            continue
        gone.add(candidate.pk)
    return gone
