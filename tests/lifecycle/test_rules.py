"""Which versions a policy's rules select, over plain records (no database)."""

from datetime import UTC, datetime, timedelta

import pytest

from formats.lifecycle.rules import Candidate, Rules, pattern_check, removable

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _candidates(*specs: tuple[str, int]) -> list[Candidate]:
    """(version, age in days) in publication order; pk is the position."""
    return [
        Candidate(
            pk=pk,
            version=version,
            published_at=NOW - timedelta(days=age),
            last_used=NOW - timedelta(days=age),
            pinned=False,
            tagged=False,
        )
        for pk, (version, age) in enumerate(specs)
    ]


def _names(rules: Rules, candidates: list[Candidate]) -> set[str]:
    gone = removable(rules, candidates, now=NOW, is_prerelease=lambda v: "-" in v)
    return {c.version for c in candidates if c.pk in gone}


VERSIONS = _candidates(("1.0.0", 40), ("1.1.0-rc.1", 30), ("1.1.0", 20), ("2.0.0-beta", 5))


def test_keep_last_keeps_the_newest_per_package():
    assert _names(Rules(keep_last=2), VERSIONS) == {"1.0.0", "1.1.0-rc.1"}
    assert _names(Rules(keep_last=10), VERSIONS) == set()


def test_age_rules_remove_only_what_is_older_than_all_of_them():
    assert _names(Rules(older_than_days=25), VERSIONS) == {"1.0.0", "1.1.0-rc.1"}
    assert _names(Rules(older_than_days=25, unused_days=35), VERSIONS) == {"1.0.0"}
    assert _names(Rules(keep_last=3, older_than_days=1), VERSIONS) == {"1.0.0"}


def test_scope_narrows_the_rules():
    assert _names(Rules(older_than_days=1, prerelease_only=True), VERSIONS) == {
        "1.1.0-rc.1",
        "2.0.0-beta",
    }
    assert _names(Rules(keep_last=1, match="1.*"), VERSIONS) == {"1.0.0", "1.1.0-rc.1"}
    assert _names(Rules(older_than_days=1, match=r"\d+\.\d+\.\d+", match_regex=True), VERSIONS) == {
        "1.0.0",
        "1.1.0",
    }


def test_a_scope_without_a_rule_removes_nothing():
    assert _names(Rules(match="*"), VERSIONS) == set()
    assert _names(Rules(prerelease_only=True), VERSIONS) == set()


def test_pinned_and_tagged_versions_stay_unless_tags_are_included():
    candidates = [
        Candidate(pk=1, version="1", published_at=NOW, last_used=NOW, pinned=True, tagged=False),
        Candidate(pk=2, version="2", published_at=NOW, last_used=NOW, pinned=False, tagged=True),
        Candidate(pk=3, version="3", published_at=NOW, last_used=NOW, pinned=False, tagged=False),
    ]
    assert _names(Rules(older_than_days=0), candidates) == {"3"}
    assert _names(Rules(older_than_days=0, keep_tagged=False), candidates) == {"2", "3"}


def test_a_bad_regex_is_refused():
    pattern_check("[", regex=False)
    with pytest.raises(ValueError, match="invalid regular expression"):
        pattern_check("[", regex=True)
