"""Parsing POMs (formats.maven.pom)."""

import pytest

from formats.maven.errors import PomInvalid
from formats.maven.pom import PomDependency, PomInfo, PomLicense, PomParent, parse_pom
from tests.formats.maven.conftest import (
    BILLION_LAUGHS,
    DOCTYPE_ONLY,
    XXE,
)

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
    with pytest.raises(PomInvalid, match=message):
        parse_pom(raw=raw)
