"""Writing ``maven-metadata.xml`` in the shape Maven 3 writes it, from the registry's model.

https://maven.apache.org/ref/3.8.7/maven-repository-metadata/repository-metadata.html. Pure: no
Django.
"""

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from formats.maven.metadata import MavenPlugin
from formats.maven.versions import (
    SNAPSHOT_SUFFIX,
    SNAPSHOT_TIMESTAMP_RE,
    is_snapshot,
    version_sort_key,
)

_LAST_UPDATED_RE = re.compile(r"\d{14}")


def format_last_updated(*, when: datetime) -> str:
    """Format an aware datetime as Maven's ``lastUpdated``/``updated`` (``yyyyMMddHHmmss`` UTC).

    Args:
        when: A timezone-aware datetime.

    Returns:
        The UTC timestamp as 14 digits.

    Raises:
        ValueError: If ``when`` is naive.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("lastUpdated needs a timezone-aware datetime")
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def _text_element(tag: str, value: str, indent: int) -> str:
    return f"{'  ' * indent}<{tag}>{escape(value)}</{tag}>\n"


def render_artifact_metadata(
    *,
    group_id: str,
    artifact_id: str,
    versions: Iterable[str],
    last_updated: datetime,
) -> bytes:
    """Render artifact-level ``maven-metadata.xml`` in the shape Maven 3 writes.

    Versions are de-duplicated and sorted with Maven's ordering. ``latest`` is the highest
    version and ``release`` the highest non-SNAPSHOT one; both are omitted when there is none,
    as Maven does.

    Args:
        group_id: Dotted group id.
        artifact_id: Artifact id.
        versions: Base versions present in the repository (``1.0``, ``1.1-SNAPSHOT``...).
        last_updated: Aware datetime of the last change.

    Returns:
        The UTF-8 XML document, ending with a newline.
    """
    ordered = sorted(set(versions), key=version_sort_key)
    releases = [v for v in ordered if not is_snapshot(v)]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        "<metadata>\n",
        _text_element("groupId", group_id, 1),
        _text_element("artifactId", artifact_id, 1),
        "  <versioning>\n",
    ]
    if ordered:
        lines.append(_text_element("latest", ordered[-1], 2))
    if releases:
        lines.append(_text_element("release", releases[-1], 2))
    if ordered:
        lines.append("    <versions>\n")
        lines.extend(_text_element("version", v, 3) for v in ordered)
        lines.append("    </versions>\n")
    lines.append(_text_element("lastUpdated", format_last_updated(when=last_updated), 2))
    lines += ["  </versioning>\n", "</metadata>\n"]
    return "".join(lines).encode()


def render_snapshot_metadata(
    *,
    group_id: str,
    artifact_id: str,
    base_version: str,
    timestamp: str,
    build_number: int,
    snapshot_versions: Iterable[tuple[str | None, str, str, str]],
    last_updated: datetime,
) -> bytes:
    """Render snapshot-version ``maven-metadata.xml`` (``.../1.0-SNAPSHOT/``) as Maven 3 does.

    Args:
        group_id: Dotted group id.
        artifact_id: Artifact id.
        base_version: The ``X-SNAPSHOT`` version of the folder.
        timestamp: ``yyyyMMdd.HHmmss`` of the latest build.
        build_number: Number of the latest build (1-based).
        snapshot_versions: ``(classifier, extension, value, updated)`` per file, in the order to
            write them; ``classifier`` is ``None`` or ``""`` for the main artifact, ``value``
            the timestamped version and ``updated`` ``yyyyMMddHHmmss``.
        last_updated: Aware datetime of the last change.

    Returns:
        The UTF-8 XML document (``modelVersion="1.1.0"``), ending with a newline.

    Raises:
        ValueError: If the version is not a SNAPSHOT or a timestamp is malformed.
    """
    if not base_version.endswith(SNAPSHOT_SUFFIX):
        raise ValueError(f"{base_version!r} is not a SNAPSHOT version")
    if not SNAPSHOT_TIMESTAMP_RE.fullmatch(timestamp):
        raise ValueError(f"snapshot timestamp {timestamp!r} is not yyyyMMdd.HHmmss")
    if build_number < 1:
        raise ValueError(f"build number {build_number} must be positive")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<metadata modelVersion="1.1.0">\n',
        _text_element("groupId", group_id, 1),
        _text_element("artifactId", artifact_id, 1),
        "  <versioning>\n",
        _text_element("lastUpdated", format_last_updated(when=last_updated), 2),
        "    <snapshot>\n",
        _text_element("timestamp", timestamp, 3),
        _text_element("buildNumber", str(build_number), 3),
        "    </snapshot>\n",
        "    <snapshotVersions>\n",
    ]
    for classifier, extension, value, updated in snapshot_versions:
        if not _LAST_UPDATED_RE.fullmatch(updated):
            raise ValueError(f"snapshotVersion updated {updated!r} is not yyyyMMddHHmmss")
        lines.append("      <snapshotVersion>\n")
        if classifier:
            lines.append(_text_element("classifier", classifier, 4))
        lines.append(_text_element("extension", extension, 4))
        lines.append(_text_element("value", value, 4))
        lines.append(_text_element("updated", updated, 4))
        lines.append("      </snapshotVersion>\n")
    lines += [
        "    </snapshotVersions>\n",
        "  </versioning>\n",
        _text_element("version", base_version, 1),
        "</metadata>\n",
    ]
    return "".join(lines).encode()


def render_group_metadata(*, plugins: Iterable[MavenPlugin]) -> bytes:
    """Render group-level ``maven-metadata.xml`` listing plugin prefixes.

    Args:
        plugins: Plugins of the group; written sorted by prefix.

    Returns:
        The UTF-8 XML document, ending with a newline.
    """
    lines = ['<?xml version="1.0" encoding="UTF-8"?>\n', "<metadata>\n", "  <plugins>\n"]
    for plugin in sorted(plugins, key=lambda p: (p.prefix, p.artifact_id)):
        lines.append("    <plugin>\n")
        if plugin.name:
            lines.append(_text_element("name", plugin.name, 3))
        lines.append(_text_element("prefix", plugin.prefix, 3))
        lines.append(_text_element("artifactId", plugin.artifact_id, 3))
        lines.append("    </plugin>\n")
    lines += ["  </plugins>\n", "</metadata>\n"]
    return "".join(lines).encode()
