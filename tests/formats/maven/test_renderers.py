"""maven-metadata.xml as Maven 3 writes it (formats.maven.renderers)."""

from datetime import datetime, timedelta, timezone

import pytest

from formats.maven.metadata import MavenMetadata, MavenPlugin, parse_metadata
from formats.maven.renderers import (
    render_artifact_metadata,
    render_group_metadata,
    render_snapshot_metadata,
)
from tests.formats.maven.conftest import (
    LAST_UPDATED,
    MAVEN_SNAPSHOT_METADATA,
)


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


def test_render_group_metadata_round_trips():
    plugins = [
        MavenPlugin(prefix="jar", artifact_id="maven-jar-plugin"),
        MavenPlugin(prefix="deploy", artifact_id="maven-deploy-plugin", name="Deploy"),
    ]

    rendered = render_group_metadata(plugins=plugins)

    assert parse_metadata(raw=rendered).plugins == (plugins[1], plugins[0])
