"""Maven's version order (formats.maven.versions)."""

import pytest

from formats.maven.versions import MavenVersion, compare_versions, is_snapshot, version_sort_key

# From Maven's ComparableVersionTest (each list is strictly ascending). Maven 3.8 reads "2.0.a" as
# "2-a" (MNG-5568), so it moved before "2-1" and its twin "2.0.0.a" is in the equality cases.
VERSIONS_QUALIFIER = [
    "1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2", "1-beta123", "1-m2", "1-m11",
    "1-rc", "1-cr2", "1-rc123", "1-SNAPSHOT", "1", "1-sp", "1-sp2", "1-sp123", "1-abc", "1-def",
    "1-pom-1", "1-1-snapshot", "1-1", "1-2", "1-123",
]  # fmt: skip
VERSIONS_NUMBER = [
    "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
    "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11",
    "11", "11.a", "11b", "11c", "11m",
]  # fmt: skip


@pytest.mark.parametrize(
    ("_case", "versions"),
    [("qualifiers", VERSIONS_QUALIFIER), ("numbers", VERSIONS_NUMBER)],
)
def test_version_lists_are_strictly_ascending(_case, versions):
    for i, low in enumerate(versions):
        for high in versions[i + 1 :]:
            assert compare_versions(low, high) < 0, (low, high)
            assert compare_versions(high, low) > 0, (high, low)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("1", "1"), ("1", "1.0"), ("1", "1.0.0"), ("1.0", "1.0.0"), ("1", "1-0"), ("1", "1.0-0"),
        ("1.0", "1.0-0"), ("2.0.a", "2.0.0.a"), ("1a", "1-a"), ("1a", "1.0-a"),
        ("1a", "1.0.0-a"), ("1.0a", "1-a"),
        ("1x", "1-x"), ("1x", "1.0-x"), ("1x", "1.0.0-x"), ("1ga", "1"), ("1release", "1"),
        ("1final", "1"), ("1cr", "1rc"), ("1a1", "1-alpha-1"), ("1b2", "1-beta-2"),
        ("1m3", "1-milestone-3"), ("1X", "1x"), ("1A", "1a"), ("1B", "1b"), ("1M", "1m"),
        ("1Ga", "1"), ("1GA", "1"), ("1Final", "1"), ("1FinaL", "1"), ("1FINAL", "1"),
        ("1Cr", "1Rc"), ("1cR", "1rC"), ("1m3", "1Milestone3"), ("1m3", "1MileStone3"),
        ("1m3", "1MILESTONE3"),
        ("1-abcdefghijklmnopqrstuvwxyz", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ],
)  # fmt: skip
def test_equal_versions(left, right):
    assert compare_versions(left, right) == 0
    assert MavenVersion(left) == MavenVersion(right)
    assert hash(MavenVersion(left)) == hash(MavenVersion(right))


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("1", "2"), ("1.5", "2"), ("1", "2.5"), ("1.0", "1.1"), ("1.1", "1.2"), ("1.0.0", "1.1"),
        ("1.0.1", "1.1"), ("1.1", "1.2.0"), ("1.0-alpha-1", "1.0"), ("1.0-alpha-1", "1.0-alpha-2"),
        ("1.0-alpha-1", "1.0-beta-1"), ("1.0-beta-1", "1.0-SNAPSHOT"), ("1.0-SNAPSHOT", "1.0"),
        ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"), ("1.0", "1.0-1"), ("1.0-1", "1.0-2"),
        ("1.0.0", "1.0-1"), ("2.0-1", "2.0.1"), ("2.0.1-klm", "2.0.1-lmn"), ("2.0.1", "2.0.1-xyz"),
        ("2.0.1", "2.0.1-123"), ("2.0.1-xyz", "2.0.1-123"),
        # Maven 3.8 specifics checked against maven-artifact-3.8.7.jar on this machine:
        ("1.0-RC1", "1.0.0.RC2"), ("1", "1.0-ga.1"), ("2147483647", "2147483648"),
        ("9223372036854775807", "123456789012345678901234567890"),
        ("1.0-20261126.201500-3", "1.0-20261126.201500-12"),
    ],
)  # fmt: skip
def test_version_order(low, high):
    assert compare_versions(low, high) < 0
    assert compare_versions(high, low) > 0
    assert MavenVersion(low) < MavenVersion(high)


def test_sort_key_gives_maven_order():
    shuffled = ["1.0.1", "1.0", "1.0-rc", "1.0-sp", "1.0-alpha", "1.0-SNAPSHOT", "1.0-beta"]

    assert sorted(shuffled, key=version_sort_key) == [
        "1.0-alpha", "1.0-beta", "1.0-rc", "1.0-SNAPSHOT", "1.0", "1.0-sp", "1.0.1",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("version", "canonical"),
    [
        ("1.0.0", "1"), ("1.0-alpha-1", "1-alpha-1"), ("2.0.a", "2-a"), ("11.a2", "11-alpha-2"),
        ("1.0.0.RC1", "1-rc-1"), ("1-1.foo-bar1baz-.1", "1-1.foo-bar-1-baz-0.1"),
        ("1.0-final-1", "1-1"),
    ],
)  # fmt: skip
def test_canonical_form(version, canonical):
    assert MavenVersion(version).canonical == canonical


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.0-SNAPSHOT", True), ("1.0-snapshot", True), ("1.0-20261126.201500-3", True),
        ("1.0", False), ("1.0-SNAPSHOTS", False), ("1.0-20261126-3", False),
        ("20261126.201500-3", False), ("SNAPSHOT", True),
    ],
)  # fmt: skip
def test_is_snapshot(version, expected):
    assert is_snapshot(version) is expected
