"""Parsing maven-metadata.xml (formats.maven.metadata)."""

import pytest

from formats.maven.errors import MetadataInvalid
from formats.maven.metadata import MavenMetadata, MavenPlugin, SnapshotVersion, parse_metadata
from tests.formats.maven.conftest import (
    BILLION_LAUGHS,
    MAVEN_SNAPSHOT_METADATA,
    XXE,
)


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
    with pytest.raises(MetadataInvalid, match=message):
        parse_metadata(raw=raw)
