"""Packuments: the full and abbreviated package documents ``GET /<name>`` serves.

Implements https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md (full
and abbreviated "corgi" forms, negotiated by ``Accept: application/vnd.npm.install-v1+json``).
Pure: no Django.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from formats.npm.names import tarball_path

MIME_JSON = "application/json"
MIME_NPM_ABBREVIATED = "application/vnd.npm.install-v1+json"
MIME_NPM_TARBALL = "application/octet-stream"

MAX_PACKUMENT_README_CHARS = 65536

# Fields of a version kept in the abbreviated ("corgi") document that ``npm install`` asks for.
ABBREVIATED_VERSION_FIELDS = (
    "name",
    "version",
    "deprecated",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bin",
    "directories",
    "dist",
    "engines",
    "cpu",
    "os",
    "_hasShrinkwrap",
    "hasInstallScript",
    "funding",
    "license",
)
# Hoisted from the latest version to the top of the full packument, as the public registry does.
HOISTED_FIELDS = (
    "description",
    "author",
    "bugs",
    "contributors",
    "homepage",
    "keywords",
    "license",
    "repository",
)
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")


def format_time(value: datetime) -> str:
    """Format a timezone-aware datetime as npm does: UTC, milliseconds, ``Z``.

    Raises:
        ValueError: ``value`` is naive.
    """
    if value.tzinfo is None:
        raise ValueError("npm times must be timezone-aware")
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def parse_time(value: str) -> datetime:
    """Parse a time written by ``format_time`` back into an aware datetime.

    Raises:
        ValueError: ``value`` is not in that form.
    """
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _has_install_script(manifest: Mapping[str, Any]) -> bool:
    if manifest.get("hasInstallScript") is True:
        return True
    scripts = manifest.get("scripts")
    return isinstance(scripts, dict) and any(scripts.get(s) for s in INSTALL_SCRIPTS)


def build_version_document(
    *, name: str, record: Mapping[str, Any], tarball_base_url: str
) -> dict[str, Any]:
    """Build the document of one version (``GET /<name>/<version>``), as in the packument.

    Args:
        name: Package name.
        record: One version record, as in ``build_packument``'s ``versions``.
        tarball_base_url: As for ``build_packument``.
    """
    version = record["version"]
    document = {
        key: value
        for key, value in record.get("manifest", {}).items()
        # READMEs live once at the top; _attachments and _rev never belong in a version.
        if key not in ("readme", "readmeFilename", "_attachments", "_rev", "dist", "deprecated")
    }
    dist: dict[str, Any] = {
        "integrity": record["integrity"],
        "shasum": record["shasum"],
        "tarball": f"{tarball_base_url.rstrip('/')}/{tarball_path(name=name, version=version)}",
    }
    for source_key, dist_key in (("file_count", "fileCount"), ("unpacked_size", "unpackedSize")):
        if record.get(source_key) is not None:
            dist[dist_key] = record[source_key]
    document.update(name=name, version=version, _id=f"{name}@{version}", dist=dist)
    if _has_install_script(document):
        document["hasInstallScript"] = True
    if record.get("deprecated"):
        document["deprecated"] = record["deprecated"]
    return document


def _latest(versions: Sequence[Mapping[str, Any]], dist_tags: Mapping[str, str]) -> Mapping:
    by_version = {record["version"]: record for record in versions}
    if dist_tags.get("latest") in by_version:
        return by_version[dist_tags["latest"]]
    return max(versions, key=lambda record: record["published_at"]) if versions else {}


def build_packument(
    *,
    name: str,
    versions: Sequence[Mapping[str, Any]],
    dist_tags: Mapping[str, str],
    tarball_base_url: str,
    created: datetime,
    modified: datetime,
    rev: str | None = None,
    readme: str = "",
    readme_filename: str = "",
    maintainers: Sequence[Mapping[str, str]] = (),
    users: Mapping[str, bool] | None = None,
) -> dict[str, Any]:
    """Build the full package document served for ``GET /<name>`` with ``Accept: application/json``.

    Args:
        name: Package name.
        versions: One dict per version with keys ``version``, ``manifest`` (the published
            version document), ``integrity``, ``shasum``, ``published_at`` (aware datetime) and
            optionally ``deprecated``, ``file_count``, ``unpacked_size``.
        dist_tags: Tag -> version.
        tarball_base_url: Absolute URL of the registry root the client uses
            (``http://host/repository/npm/``); tarball URLs are built under it.
        created: When the package was first published.
        modified: When the package last changed.
        rev: Document revision. ``npm unpublish`` and ``npm deprecate`` echo it back in
            ``/-rev/<rev>`` URLs, so serve one whenever the request has ``?write=true``.
        readme: README of the latest version; truncated to 64 KiB as the public registry does.
        readme_filename: File the README came from.
        maintainers: ``[{"name", "email"}]``.
        users: Who starred the package (``{"alice": true}``), as the public registry lists it.

    Returns:
        A JSON-serializable dict.
    """
    latest_manifest = _latest(versions, dist_tags).get("manifest", {})
    document: dict[str, Any] = {"_id": name}
    if rev is not None:
        document["_rev"] = rev
    document["name"] = name
    document.update({key: latest_manifest[key] for key in HOISTED_FIELDS if key in latest_manifest})
    document["dist-tags"] = dict(dist_tags)
    document["versions"] = {
        record["version"]: build_version_document(
            name=name, record=record, tarball_base_url=tarball_base_url
        )
        for record in versions
    }
    time = {"created": format_time(created), "modified": format_time(modified)}
    time.update({record["version"]: format_time(record["published_at"]) for record in versions})
    document["time"] = time
    document["maintainers"] = [dict(m) for m in maintainers]
    document["readme"] = readme[:MAX_PACKUMENT_README_CHARS]
    if readme_filename:
        document["readmeFilename"] = readme_filename
    if users:
        document["users"] = dict(users)
    return document


def build_abbreviated_packument(
    *,
    name: str,
    versions: Sequence[Mapping[str, Any]],
    dist_tags: Mapping[str, str],
    tarball_base_url: str,
    modified: datetime,
) -> dict[str, Any]:
    """Build the install-only document for ``Accept: application/vnd.npm.install-v1+json``.

    Args:
        name: Package name.
        versions: As for ``build_packument``.
        dist_tags: Tag -> version.
        tarball_base_url: As for ``build_packument``.
        modified: When the package last changed.

    Returns:
        A JSON-serializable dict with ``name``, ``modified``, ``dist-tags`` and ``versions``.
    """
    abbreviated: dict[str, dict[str, Any]] = {}
    for record in versions:
        full = build_version_document(name=name, record=record, tarball_base_url=tarball_base_url)
        abbreviated[record["version"]] = {
            key: full[key] for key in ABBREVIATED_VERSION_FIELDS if key in full
        }
    return {
        "name": name,
        "modified": format_time(modified),
        "dist-tags": dict(dist_tags),
        "versions": abbreviated,
    }
