"""What the web UI shows of an image manifest: platforms, layers, config and referrers."""

import json
import logging

from formats.oci.manifests import MAX_MANIFEST_SIZE, ParsedManifest, parse_manifest
from formats.oci.models import OciManifest
from formats.plugin import Blob, DetailTable, RegistryError, Version, blob_read_small

logger = logging.getLogger(__name__)

MAX_CONFIG_SIZE = 1024 * 1024  # image configs are a few KiB; a larger one is not shown
CONFIG_FIELDS = ("Entrypoint", "Cmd", "WorkingDir", "User", "Env", "ExposedPorts", "Labels")


def oci_version_tables(version: Version) -> list[DetailTable]:
    """Return the tables of a manifest's page: platforms (index), layers, config, referrers."""
    manifest = OciManifest.objects.select_related("blob").filter(version=version).first()
    if manifest is None:
        return []
    try:
        raw = blob_read_small(blob=manifest.blob, limit=MAX_MANIFEST_SIZE)
        parsed = parse_manifest(raw, content_type=manifest.media_type)
    except (RegistryError, ValueError, OSError) as error:
        logger.warning("manifest %s of %s cannot be shown: %s", manifest.digest, version, error)
        return []
    tables = [_platforms(parsed), _layers(parsed), _config(parsed), _referrers(manifest)]
    return [table for table in tables if table.rows]


def _platforms(parsed: ParsedManifest) -> DetailTable:
    rows = []
    for child in parsed.manifests:
        platform = child.platform
        parts = (platform.os, platform.architecture, platform.variant) if platform else ()
        name = "/".join(part for part in parts if part) or "-"
        rows.append((name, str(child.digest), str(child.size)))
    return DetailTable("Platforms", ("Platform", "Manifest", "Size (bytes)"), rows)


def _layers(parsed: ParsedManifest) -> DetailTable:
    rows = [(str(layer.digest), layer.media_type, str(layer.size)) for layer in parsed.layers]
    return DetailTable("Layers", ("Digest", "Media type", "Size (bytes)"), rows)


def _config(parsed: ParsedManifest) -> DetailTable:
    rows: list[tuple[str, str]] = []
    if parsed.config is not None:
        rows.append(("Digest", str(parsed.config.digest)))
        blob = Blob.objects.filter(sha256=parsed.config.digest.hex).first()
        settings = _config_settings(blob) if blob is not None else {}
        rows.extend((key, json.dumps(settings[key])) for key in CONFIG_FIELDS if settings.get(key))
    return DetailTable("Config", ("Field", "Value"), rows)


def _config_settings(blob: Blob) -> dict:
    """The ``config`` object of an image configuration, or nothing if it is not one."""
    try:
        document = json.loads(blob_read_small(blob=blob, limit=MAX_CONFIG_SIZE))
    except (ValueError, OSError):
        return {}
    settings = document.get("config") if isinstance(document, dict) else None
    return settings if isinstance(settings, dict) else {}


def _referrers(manifest: OciManifest) -> DetailTable:
    referrers = OciManifest.objects.filter(
        package=manifest.package_id, subject_digest=manifest.digest
    ).order_by("digest")
    rows = [
        (referrer.artifact_type or referrer.media_type, referrer.digest, str(referrer.size))
        for referrer in referrers
    ]
    return DetailTable("Referrers", ("Artifact type", "Digest", "Size (bytes)"), rows)
