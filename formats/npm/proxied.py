"""Packuments of other registries: what a proxy stores of them, and how a group merges members.

A proxied packument is stored as three lines of compact JSON (JSON escapes every newline in a
string, so a line is one whole document and serving one needs no parsing):

1. the full packument with each tarball URL pointing at ``base`` (the registry-root
   placeholder the views substitute), at the path a hosted repository would use;
2. the abbreviated ("corgi") packument built from it;
3. ``{file name: {"url", "integrity", "shasum", "version"}}``: where each tarball is upstream
   and what it must hash to. Never served.

Pure: no Django.
"""

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from formats.npm.errors import PackageInvalid
from formats.npm.metadata import ABBREVIATED_VERSION_FIELDS
from formats.npm.names import tarball_filename, tarball_path, validate_version

LINES = 3


class PackumentInvalid(ValueError):
    """the upstream's packument is not a JSON object of the requested package"""


def _dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def abbreviate(full: Mapping[str, Any]) -> dict[str, Any]:
    """Return the abbreviated packument of a full one (install fields of each version)."""
    versions = full.get("versions") or {}
    time = full.get("time") or {}
    return {
        "name": full.get("name"),
        "modified": time.get("modified", ""),
        "dist-tags": dict(full.get("dist-tags") or {}),
        "versions": {
            number: {key: manifest[key] for key in ABBREVIATED_VERSION_FIELDS if key in manifest}
            for number, manifest in versions.items()
        },
    }


def proxied_layout(*, body: bytes, name: str, base: str) -> bytes:
    """Turn an upstream packument into the three stored lines (see the module docstring).

    Versions that are not semver or declare no tarball are left out: they could not be
    installed through this registry's tarball paths.

    Raises:
        PackumentInvalid: ``body`` is not a JSON object naming package ``name``.
    """
    try:
        upstream = json.loads(body)
    except ValueError as error:
        raise PackumentInvalid(f"the upstream's packument of {name} is not JSON") from error
    if not isinstance(upstream, dict) or upstream.get("name", name) != name:
        raise PackumentInvalid(f"the upstream's answer is not the packument of {name}")
    upstream.pop("_attachments", None)
    versions, files = {}, {}
    raw_versions = upstream.get("versions")
    for number, manifest in (raw_versions if isinstance(raw_versions, dict) else {}).items():
        dist = manifest.get("dist") if isinstance(manifest, dict) else None
        if not isinstance(dist, dict) or not isinstance(dist.get("tarball"), str):
            continue
        try:
            validate_version(version=number)
        except PackageInvalid:
            continue
        files[tarball_filename(name=name, version=number)] = {
            "url": dist["tarball"],
            "integrity": dist.get("integrity", ""),
            "shasum": dist.get("shasum", ""),
            "version": number,
        }
        served = {**dist, "tarball": f"{base}/{tarball_path(name=name, version=number)}"}
        versions[number] = {**manifest, "dist": served}
    upstream["versions"] = versions
    return b"\n".join((_dumps(upstream), _dumps(abbreviate(upstream)), _dumps(files)))


def layout_part(content: bytes, *, abbreviated: bool) -> bytes:
    """Return the full (or abbreviated) packument of a stored layout, unparsed."""
    return content.split(b"\n", LINES - 1)[1 if abbreviated else 0]


def layout_files(content: bytes) -> dict[str, dict[str, str]]:
    """Return the tarballs of a stored layout by file name."""
    return json.loads(content.split(b"\n", LINES - 1)[LINES - 1])


def expected_digests(*, integrity: str, shasum: str) -> dict[str, str]:
    """Return the hex digests a tarball must match, from ``dist.integrity``/``dist.shasum``.

    Every sha512 and sha1 entry of the SRI string counts (unknown algorithms are ignored);
    ``shasum`` is the sha1 of old packages that have no ``integrity``.
    """
    expected: dict[str, str] = {}
    for entry in integrity.split() if isinstance(integrity, str) else []:
        algorithm, _, value = entry.partition("-")
        if algorithm in ("sha512", "sha1"):
            try:
                expected[algorithm] = base64.b64decode(value.split("?")[0], validate=True).hex()
            except (binascii.Error, ValueError):
                continue
    if isinstance(shasum, str) and len(shasum) == 40 and "sha1" not in expected:
        expected["sha1"] = shasum.lower()
    return expected


def merge_packuments(documents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge one package's packuments from a group's members, first member first.

    The first member that has a version serves it; dist-tags and the package's own fields
    (README, description, ...) come from the first member; ``time`` is merged with the same
    rule (``created`` the earliest, ``modified`` the latest). Works for abbreviated
    packuments too (``modified`` at the top is the latest).
    """
    merged: dict[str, Any] = dict(documents[0])
    versions: dict[str, Any] = {}
    time: dict[str, str] = {}
    for document in documents:
        for number, manifest in (document.get("versions") or {}).items():
            versions.setdefault(number, manifest)
        for key, value in (document.get("time") or {}).items():
            time.setdefault(key, value)
    stamps = [d.get("time") or {} for d in documents]
    created = [s["created"] for s in stamps if s.get("created")]
    modified = [s["modified"] for s in stamps if s.get("modified")]
    if created:
        time["created"] = min(created)
    if modified:
        time["modified"] = max(modified)
    merged["versions"] = versions
    if time:
        merged["time"] = time
    tops = [d["modified"] for d in documents if isinstance(d.get("modified"), str)]
    if tops:
        merged["modified"] = max(tops)
    merged.pop("_rev", None)
    return merged


def merged_body(documents: Sequence[bytes]) -> bytes:
    """Merge serialized packuments (``merge_packuments``) back into compact JSON."""
    return _dumps(merge_packuments([json.loads(document) for document in documents]))
