"""The Content-Types of a Maven repository's files: one table for the registry and its mirror.

Maven's layout (https://maven.apache.org/repository/layout.html) names no types; these are what
Nexus and Artifactory send. deploy/nginx.conf gives mirrored files the same ones.
"""

import mimetypes

from formats.maven.paths import CHECKSUM_ALGORITHMS

MIME_XML = "application/xml"
MIME_JAVA_ARCHIVE = "application/java-archive"
MIME_CHECKSUM = "text/plain"
MIME_DEFAULT = "application/octet-stream"
# By the last extension of the file name (``jar`` of ``lib-1.0.jar``).
MIME_BY_EXTENSION: dict[str, str] = {
    "pom": MIME_XML,
    "xml": MIME_XML,
    "jar": MIME_JAVA_ARCHIVE,
    "war": MIME_JAVA_ARCHIVE,
    "ear": MIME_JAVA_ARCHIVE,
    "module": "application/json",  # Gradle module metadata
    "asc": "text/plain",
}


# What nginx sends the mirror's files with (the Maven part of the mirror location's ``types``
# in deploy/nginx.conf): the table above, checksums as text.
MIRROR_TYPES: dict[str, str] = {
    **MIME_BY_EXTENSION,
    **dict.fromkeys(CHECKSUM_ALGORITHMS, MIME_CHECKSUM),
}


def media_type_for(*, extension: str) -> str:
    """Return the Content-Type served for a file with ``extension`` (``tar.gz``, ``jar.asc``)."""
    last = extension.rsplit(".", 1)[-1]
    if last in MIME_BY_EXTENSION:
        return MIME_BY_EXTENSION[last]
    return mimetypes.guess_type(f"file.{extension}")[0] or MIME_DEFAULT
