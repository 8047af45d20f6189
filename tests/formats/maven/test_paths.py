"""Paths of the Maven 2 layout (formats.maven.paths)."""

import pytest

from formats.maven.errors import MavenPathInvalid
from formats.maven.paths import CHECKSUM_ALGORITHMS, MavenPath, PathKind, parse_path
from registry_project.errors import RegistryError


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
    with pytest.raises(MavenPathInvalid, match=message.replace(".", r"\.")):
        parse_path(path=path)


def test_an_invalid_path_is_the_400_mvn_is_answered_with():
    assert issubclass(MavenPathInvalid, RegistryError)
    assert (MavenPathInvalid.code, MavenPathInvalid.http_status) == ("PATH_INVALID", 400)


def test_checksum_suffixes_map_to_hashlib_names():
    assert CHECKSUM_ALGORITHMS == {
        "md5": "md5",
        "sha1": "sha1",
        "sha256": "sha256",
        "sha512": "sha512",
    }
