"""Tests for the pure Maven 2 protocol layer (formats.maven.parsers)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from formats.maven.parsers import (
    CHECKSUM_ALGORITHMS,
    InvalidChecksum,
    InvalidMetadata,
    InvalidPath,
    InvalidPom,
    MavenMetadata,
    MavenPath,
    MavenPlugin,
    MavenVersion,
    PathKind,
    PomDependency,
    PomInfo,
    PomLicense,
    PomParent,
    SnapshotVersion,
    compare_versions,
    is_snapshot,
    parse_checksum_file,
    parse_metadata,
    parse_path,
    parse_pom,
    render_artifact_metadata,
    render_group_metadata,
    render_snapshot_metadata,
    version_sort_key,
)

# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "path", "expected"),
    [
        (
            "release jar",
            "com/example/lib/1.0/lib-1.0.jar",
            MavenPath(
                path="com/example/lib/1.0/lib-1.0.jar",
                kind=PathKind.ARTIFACT,
                group_id="com.example",
                artifact_id="lib",
                version="1.0",
                extension="jar",
            ),
        ),
        (
            "classifier",
            "com/example/lib/1.0/lib-1.0-sources.jar",
            MavenPath(
                path="com/example/lib/1.0/lib-1.0-sources.jar",
                kind=PathKind.ARTIFACT,
                group_id="com.example",
                artifact_id="lib",
                version="1.0",
                classifier="sources",
                extension="jar",
            ),
        ),
        (
            "double extension",
            "org/x/dist/2.1/dist-2.1-bin.tar.gz",
            MavenPath(
                path="org/x/dist/2.1/dist-2.1-bin.tar.gz",
                kind=PathKind.ARTIFACT,
                group_id="org.x",
                artifact_id="dist",
                version="2.1",
                classifier="bin",
                extension="tar.gz",
            ),
        ),
        (
            "signature is an ordinary file",
            "com/example/lib/1.0/lib-1.0.jar.asc",
            MavenPath(
                path="com/example/lib/1.0/lib-1.0.jar.asc",
                kind=PathKind.ARTIFACT,
                group_id="com.example",
                artifact_id="lib",
                version="1.0",
                extension="jar.asc",
            ),
        ),
        (
            "checksum of artifact",
            "com/example/lib/1.0/lib-1.0.pom.sha1",
            MavenPath(
                path="com/example/lib/1.0/lib-1.0.pom.sha1",
                kind=PathKind.ARTIFACT,
                group_id="com.example",
                artifact_id="lib",
                version="1.0",
                extension="pom",
                checksum="sha1",
            ),
        ),
        (
            "timestamped snapshot with classifier",
            "com/example/lib/1.0-SNAPSHOT/lib-1.0-20261126.201500-3-tests.jar.sha512",
            MavenPath(
                path="com/example/lib/1.0-SNAPSHOT/lib-1.0-20261126.201500-3-tests.jar.sha512",
                kind=PathKind.ARTIFACT,
                group_id="com.example",
                artifact_id="lib",
                version="1.0-SNAPSHOT",
                timestamp="20261126.201500",
                build_number=3,
                classifier="tests",
                extension="jar",
                checksum="sha512",
            ),
        ),
        (
            "non-unique snapshot file",
            "com/example/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.pom",
            MavenPath(
                path="com/example/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.pom",
                kind=PathKind.ARTIFACT,
                group_id="com.example",
                artifact_id="lib",
                version="1.0-SNAPSHOT",
                extension="pom",
            ),
        ),
        (
            "artifact id with hyphens and dotted version",
            "io/x/my-lib-core/1.2.3/my-lib-core-1.2.3.jar",
            MavenPath(
                path="io/x/my-lib-core/1.2.3/my-lib-core-1.2.3.jar",
                kind=PathKind.ARTIFACT,
                group_id="io.x",
                artifact_id="my-lib-core",
                version="1.2.3",
                extension="jar",
            ),
        ),
        (
            "artifact metadata",
            "com/example/lib/maven-metadata.xml",
            MavenPath(
                path="com/example/lib/maven-metadata.xml",
                kind=PathKind.ARTIFACT_METADATA,
                group_id="com.example",
                artifact_id="lib",
                extension="xml",
            ),
        ),
        (
            "checksum of snapshot metadata",
            "com/example/lib/1.0-SNAPSHOT/maven-metadata.xml.md5",
            MavenPath(
                path="com/example/lib/1.0-SNAPSHOT/maven-metadata.xml.md5",
                kind=PathKind.SNAPSHOT_METADATA,
                group_id="com.example",
                artifact_id="lib",
                version="1.0-SNAPSHOT",
                extension="xml",
                checksum="md5",
            ),
        ),
        (
            "single-folder group metadata",
            "plugins/maven-metadata.xml",
            MavenPath(
                path="plugins/maven-metadata.xml",
                kind=PathKind.GROUP_METADATA,
                group_id="plugins",
                extension="xml",
            ),
        ),
        ("directory", "com/example/", MavenPath(path="com/example/", kind=PathKind.DIRECTORY)),
        ("root", "", MavenPath(path="", kind=PathKind.DIRECTORY)),
    ],
)
def test_parse_path_classifies(_case, path, expected):
    assert parse_path(path=path) == expected


def test_parse_path_derived_properties():
    parsed = parse_path(path="com/example/lib/1.0-SNAPSHOT/lib-1.0-20261126.201500-3.jar.sha256")

    assert parsed.is_checksum is True
    assert parsed.is_metadata is False
    assert parsed.target_path == "com/example/lib/1.0-SNAPSHOT/lib-1.0-20261126.201500-3.jar"
    assert parsed.file_version == "1.0-20261126.201500-3"


def test_artifact_metadata_can_be_read_as_group_metadata():
    parsed = parse_path(path="org/apache/maven/plugins/maven-metadata.xml")

    assert parsed.as_group_metadata() == MavenPath(
        path="org/apache/maven/plugins/maven-metadata.xml",
        kind=PathKind.GROUP_METADATA,
        group_id="org.apache.maven.plugins",
        extension="xml",
    )


@pytest.mark.parametrize(
    ("_case", "path", "message"),
    [
        ("traversal", "com/../etc/passwd", "relative segment '..'"),
        ("dot segment", "com/./lib/1.0/lib-1.0.jar", "relative segment '.'"),
        ("absolute", "/com/example/lib/1.0/lib-1.0.jar", "absolute path"),
        ("backslash", "com\\example/lib/1.0/lib-1.0.jar", "backslash"),
        ("empty segment", "com//lib/1.0/lib-1.0.jar", "empty segment"),
        ("space", "com/example/lib/1.0/lib 1.0.jar", "disallowed characters"),
        ("percent", "com/example/lib/1.0/lib-1.0%2ejar", "disallowed characters"),
        ("hidden segment", "com/.git/config", "disallowed characters"),
        ("artifact id mismatch", "com/example/lib/1.0/other-1.0.jar", "does not start with"),
        ("version mismatch", "com/example/lib/1.0/lib-1.1.jar", "does not match version"),
        ("version prefix only", "com/example/lib/1.0/lib-1.00.jar", "does not match version"),
        ("no extension", "com/example/lib/1.0/lib-1.0", "does not match version"),
        ("empty classifier", "com/example/lib/1.0/lib-1.0-.jar", "empty classifier"),
        ("classifier without extension", "com/example/lib/1.0/lib-1.0-sources", "no extension"),
        ("trailing dot", "com/example/lib/1.0/lib-1.0.jar.", "no valid extension"),
        ("bad timestamp", "com/example/lib/1.0-SNAPSHOT/lib-1.0-2026.1-1.jar", "does not match"),
        (
            "build number zero",
            "com/example/lib/1.0-SNAPSHOT/lib-1.0-20261126.201500-0.jar",
            "match",
        ),
        ("too shallow", "lib/1.0/lib-1.0.jar", "is not <group>"),
        ("metadata at root", "maven-metadata.xml", "at the repository root"),
        ("unicode", "com/exämple/lib/1.0/lib-1.0.jar", "disallowed characters"),
    ],
)
def test_parse_path_rejects(_case, path, message):
    with pytest.raises(InvalidPath, match=message.replace(".", r"\.")):
        parse_path(path=path)


def test_invalid_path_is_a_value_error():
    assert issubclass(InvalidPath, ValueError)


# --- versions ----------------------------------------------------------------------------------

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


# --- metadata ----------------------------------------------------------------------------------

LAST_UPDATED = datetime(2026, 11, 26, 20, 44, 13, tzinfo=UTC)

# Written by mvn 3.8.7 / maven-deploy-plugin 3.1.1 on its second `mvn deploy` of a SNAPSHOT.
MAVEN_SNAPSHOT_METADATA = b"""\
<?xml version="1.0" encoding="UTF-8"?>
<metadata modelVersion="1.1.0">
  <groupId>com.example</groupId>
  <artifactId>lib</artifactId>
  <versioning>
    <lastUpdated>20261126204413</lastUpdated>
    <snapshot>
      <timestamp>20261126.204413</timestamp>
      <buildNumber>2</buildNumber>
    </snapshot>
    <snapshotVersions>
      <snapshotVersion>
        <extension>pom</extension>
        <value>1.0-20261126.204413-2</value>
        <updated>20261126204413</updated>
      </snapshotVersion>
      <snapshotVersion>
        <extension>jar</extension>
        <value>1.0-20261126.204413-2</value>
        <updated>20261126204413</updated>
      </snapshotVersion>
    </snapshotVersions>
  </versioning>
  <version>1.0-SNAPSHOT</version>
</metadata>
"""


def test_render_snapshot_metadata_matches_what_maven_writes():
    rendered = render_snapshot_metadata(
        group_id="com.example",
        artifact_id="lib",
        base_version="1.0-SNAPSHOT",
        timestamp="20261126.204413",
        build_number=2,
        snapshot_versions=[
            (None, "pom", "1.0-20261126.204413-2", "20261126204413"),
            ("", "jar", "1.0-20261126.204413-2", "20261126204413"),
        ],
        last_updated=LAST_UPDATED,
    )

    assert rendered == MAVEN_SNAPSHOT_METADATA


def test_render_snapshot_metadata_writes_classifier_first():
    rendered = render_snapshot_metadata(
        group_id="g",
        artifact_id="a",
        base_version="2-SNAPSHOT",
        timestamp="20261126.204413",
        build_number=7,
        snapshot_versions=[("sources", "jar", "2-20261126.204413-7", "20261126204413")],
        last_updated=LAST_UPDATED,
    )

    assert (
        b"      <snapshotVersion>\n"
        b"        <classifier>sources</classifier>\n"
        b"        <extension>jar</extension>\n"
    ) in rendered


@pytest.mark.parametrize(
    ("_case", "overrides", "message"),
    [
        ("release version", {"base_version": "1.0"}, "is not a SNAPSHOT"),
        ("bad timestamp", {"timestamp": "2026-11-26"}, "yyyyMMdd.HHmmss"),
        ("zero build", {"build_number": 0}, "must be positive"),
        ("naive datetime", {"last_updated": LAST_UPDATED.replace(tzinfo=None)}, "timezone-aware"),
    ],
)
def test_render_snapshot_metadata_rejects(_case, overrides, message):
    arguments = {
        "group_id": "g",
        "artifact_id": "a",
        "base_version": "1.0-SNAPSHOT",
        "timestamp": "20261126.204413",
        "build_number": 1,
        "snapshot_versions": [],
        "last_updated": LAST_UPDATED,
    } | overrides

    with pytest.raises(ValueError, match=message):
        render_snapshot_metadata(**arguments)


def test_render_artifact_metadata_sorts_and_picks_latest_and_release():
    rendered = render_artifact_metadata(
        group_id="com.example",
        artifact_id="util",
        versions=["1.10", "2.0-SNAPSHOT", "1.9", "1.10", "1.0-rc1"],
        last_updated=datetime(2026, 11, 26, 21, 44, 13, tzinfo=timezone(timedelta(hours=1))),
    )

    assert rendered == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<metadata>\n"
        b"  <groupId>com.example</groupId>\n"
        b"  <artifactId>util</artifactId>\n"
        b"  <versioning>\n"
        b"    <latest>2.0-SNAPSHOT</latest>\n"
        b"    <release>1.10</release>\n"
        b"    <versions>\n"
        b"      <version>1.0-rc1</version>\n"
        b"      <version>1.9</version>\n"
        b"      <version>1.10</version>\n"
        b"      <version>2.0-SNAPSHOT</version>\n"
        b"    </versions>\n"
        b"    <lastUpdated>20261126204413</lastUpdated>\n"
        b"  </versioning>\n"
        b"</metadata>\n"
    )


def test_render_artifact_metadata_without_release_omits_release():
    rendered = render_artifact_metadata(
        group_id="g", artifact_id="a", versions=["1.0-SNAPSHOT"], last_updated=LAST_UPDATED
    )

    assert b"<release>" not in rendered
    assert parse_metadata(raw=rendered) == MavenMetadata(
        group_id="g",
        artifact_id="a",
        latest="1.0-SNAPSHOT",
        versions=("1.0-SNAPSHOT",),
        last_updated="20261126204413",
    )


def test_render_artifact_metadata_escapes_text():
    rendered = render_artifact_metadata(
        group_id="g", artifact_id="a", versions=["1<&>"], last_updated=LAST_UPDATED
    )

    assert b"<version>1&lt;&amp;&gt;</version>" in rendered
    assert parse_metadata(raw=rendered).versions == ("1<&>",)


def test_parse_snapshot_metadata_written_by_maven():
    assert parse_metadata(raw=MAVEN_SNAPSHOT_METADATA) == MavenMetadata(
        group_id="com.example",
        artifact_id="lib",
        version="1.0-SNAPSHOT",
        last_updated="20261126204413",
        snapshot_timestamp="20261126.204413",
        snapshot_build_number=2,
        snapshot_versions=(
            SnapshotVersion(None, "pom", "1.0-20261126.204413-2", "20261126204413"),
            SnapshotVersion(None, "jar", "1.0-20261126.204413-2", "20261126204413"),
        ),
    )


def test_parse_metadata_with_namespace_and_plugins():
    raw = b"""<?xml version="1.0"?>
<metadata xmlns="http://maven.apache.org/METADATA/1.1.0">
  <plugins>
    <plugin><name>Deploy</name><prefix>deploy</prefix>
      <artifactId>maven-deploy-plugin</artifactId></plugin>
  </plugins>
</metadata>"""

    assert parse_metadata(raw=raw) == MavenMetadata(
        plugins=(MavenPlugin(prefix="deploy", artifact_id="maven-deploy-plugin", name="Deploy"),)
    )


def test_render_group_metadata_round_trips():
    plugins = [
        MavenPlugin(prefix="jar", artifact_id="maven-jar-plugin"),
        MavenPlugin(prefix="deploy", artifact_id="maven-deploy-plugin", name="Deploy"),
    ]

    rendered = render_group_metadata(plugins=plugins)

    assert parse_metadata(raw=rendered).plugins == (plugins[1], plugins[0])


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<project><groupId>&lol3;</groupId><artifactId>a</artifactId><version>1</version></project>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<project><groupId>&xxe;</groupId><artifactId>a</artifactId><version>1</version></project>"""

DOCTYPE_ONLY = b"""<?xml version="1.0"?><!DOCTYPE project>
<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version></project>"""


@pytest.mark.parametrize(
    ("_case", "raw", "message"),
    [
        ("billion laughs", BILLION_LAUGHS.replace(b"project", b"metadata"), "unsafe XML"),
        ("xxe", XXE.replace(b"project", b"metadata"), "unsafe XML"),
        ("malformed", b"<metadata><versioning></metadata>", "malformed"),
        ("wrong root", b"<project/>", "expected <metadata>"),
        (
            "bad build number",
            (
                b"<metadata><versioning><snapshot><buildNumber>x</buildNumber></snapshot>"
                b"</versioning></metadata>"
            ),
            "not a number",
        ),
    ],
)
def test_parse_metadata_rejects(_case, raw, message):
    with pytest.raises(InvalidMetadata, match=message):
        parse_metadata(raw=raw)


# --- POM ---------------------------------------------------------------------------------------

FULL_POM = b"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>com.example</groupId>
    <artifactId>parent</artifactId>
    <version>3.1</version>
  </parent>
  <artifactId>lib</artifactId>
  <packaging>bundle</packaging>
  <name> Example lib </name>
  <description>Does things.</description>
  <url>https://example.com/lib</url>
  <licenses>
    <license><name>Apache-2.0</name><url>https://www.apache.org/licenses/LICENSE-2.0</url></license>
    <license><name>MIT</name></license>
  </licenses>
  <properties><guava.version>33.0</guava.version></properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>managed</groupId><artifactId>only</artifactId><version>9</version></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>com.google.guava</groupId><artifactId>guava</artifactId>
      <version>${guava.version}</version></dependency>
    <dependency><groupId>${project.groupId}</groupId><artifactId>lib-api</artifactId>
      <version>${project.version}</version><classifier>tests</classifier><type>test-jar</type>
      <scope>test</scope><optional>true</optional></dependency>
    <dependency><groupId>org.x</groupId><artifactId>managed</artifactId>
      <version>${unknown.prop}</version></dependency>
    <dependency><groupId>org.x</groupId><artifactId>no-version</artifactId></dependency>
  </dependencies>
</project>
"""


def test_parse_pom_full():
    assert parse_pom(raw=FULL_POM) == PomInfo(
        group_id="com.example",
        artifact_id="lib",
        version="3.1",
        packaging="bundle",
        name="Example lib",
        description="Does things.",
        url="https://example.com/lib",
        parent=PomParent(group_id="com.example", artifact_id="parent", version="3.1"),
        licenses=(
            PomLicense(name="Apache-2.0", url="https://www.apache.org/licenses/LICENSE-2.0"),
            PomLicense(name="MIT", url=None),
        ),
        dependencies=(
            PomDependency(group_id="com.google.guava", artifact_id="guava", version="33.0"),
            PomDependency(
                group_id="com.example",
                artifact_id="lib-api",
                version="3.1",
                scope="test",
                optional=True,
                classifier="tests",
                type="test-jar",
            ),
            PomDependency(group_id="org.x", artifact_id="managed", version="${unknown.prop}"),
            PomDependency(group_id="org.x", artifact_id="no-version", version=None),
        ),
    )


def test_parse_pom_without_namespace_uses_defaults():
    raw = b"<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version></project>"

    assert parse_pom(raw=raw) == PomInfo(group_id="g", artifact_id="a", version="1")


def test_parse_pom_own_coordinates_win_over_parent():
    raw = b"""<project><parent><groupId>pg</groupId><artifactId>p</artifactId>
      <version>9</version></parent><groupId>g</groupId><artifactId>a</artifactId>
      <version>1</version></project>"""

    parsed = parse_pom(raw=raw)

    assert (parsed.group_id, parsed.version) == ("g", "1")


@pytest.mark.parametrize(
    ("_case", "raw", "message"),
    [
        ("billion laughs", BILLION_LAUGHS, "unsafe XML in POM: DTDForbidden"),
        ("xxe", XXE, "unsafe XML in POM: DTDForbidden"),
        ("any doctype", DOCTYPE_ONLY, "unsafe XML in POM: DTDForbidden"),
        ("malformed", b"<project><artifactId>a</project>", "malformed POM"),
        ("not xml", b"\x00\x01PK", "malformed POM"),
        ("wrong root", b"<metadata/>", "expected <project>"),
        ("no coordinates", b"<project><artifactId>a</artifactId></project>", "groupId, version"),
        ("no artifact id", b"<project><groupId>g</groupId><version>1</version></project>", "artif"),
    ],
)
def test_parse_pom_rejects(_case, raw, message):
    with pytest.raises(InvalidPom, match=message):
        parse_pom(raw=raw)


# --- checksums ---------------------------------------------------------------------------------

SHA1 = "ac23e943938ee4c1450939136c777e4c65fee10d"


@pytest.mark.parametrize(
    ("_case", "raw"),
    [
        ("bare, as mvn uploads it", SHA1.encode()),
        ("trailing newline", f"{SHA1}\n".encode()),
        ("uppercase", SHA1.upper().encode()),
        ("coreutils", f"{SHA1}  base-1.0.jar\n".encode()),
        ("coreutils binary", f"{SHA1} *base-1.0.jar".encode()),
        ("bsd tag", f"SHA1 (base-1.0.jar) = {SHA1}\n".encode()),
        ("crlf and spaces", f"  {SHA1}\r\n".encode()),
    ],
)
def test_parse_checksum_file(_case, raw):
    assert parse_checksum_file(raw=raw, algorithm="sha1") == SHA1


@pytest.mark.parametrize(
    ("_case", "raw", "algorithm"),
    [
        ("empty", b"", "sha1"),
        ("too short", SHA1[:-1].encode(), "sha1"),
        ("md5 length for sha1", b"d41d8cd98f00b204e9800998ecf8427e", "sha1"),
        ("sha1 length for sha256", SHA1.encode(), "sha256"),
        ("not hex", b"z" * 32, "md5"),
        ("html error page", b"<html>404</html>", "md5"),
        ("binary", b"\xff" * 40, "sha1"),
    ],
)
def test_parse_checksum_file_rejects(_case, raw, algorithm):
    with pytest.raises(InvalidChecksum):
        parse_checksum_file(raw=raw, algorithm=algorithm)


def test_parse_checksum_file_unknown_algorithm():
    with pytest.raises(ValueError, match="unknown checksum algorithm 'crc32'"):
        parse_checksum_file(raw=b"00", algorithm="crc32")


def test_checksum_suffixes_map_to_hashlib_names():
    assert CHECKSUM_ALGORITHMS == {
        "md5": "md5",
        "sha1": "sha1",
        "sha256": "sha256",
        "sha512": "sha512",
    }
