"""Rendering the documents pip, uv and poetry read: simple pages and the JSON API.

- Simple repository API (PEP 503, 592, 629, 658, 691, 700, 714):
  https://packaging.python.org/en/latest/specifications/simple-repository-api/
- JSON API (``/pypi/<project>/json``): https://docs.pypi.org/api/json/

Pure Python: nothing here touches Django or the database.
"""

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import NotRequired, TypedDict

from packaging.utils import canonicalize_name
from packaging.version import Version

from formats.pypi.metadata import CoreMetadata
from formats.pypi.names import parse_distribution_filename

MIME_PYPI_SIMPLE_V1_JSON = "application/vnd.pypi.simple.v1+json"
MIME_PYPI_SIMPLE_V1_HTML = "application/vnd.pypi.simple.v1+html"
MIME_TEXT_HTML = "text/html"
MIME_JSON = "application/json"

# PEP 700 is API version 1.1; the HTML pages carry the same number (PEP 629).
SIMPLE_API_VERSION = "1.1"
# A page whose sizes are not all known (proxied from HTML) cannot claim PEP 700.
SIMPLE_API_VERSION_WITHOUT_SIZES = "1.0"
HASH_PREFERENCE = ("sha256", "sha384", "sha512", "sha1", "md5")


class SimpleFile(TypedDict):
    """One file of a project, as the renderers take it.

    Keys:
        filename: The distribution filename.
        url: Where the file is downloaded from (absolute, or relative to the page).
        hashes: Hex digests by hashlib name (a proxied upstream may give another than sha256,
            or none).
        version: The normalized version of the release the file belongs to.
        size: Size in bytes (a proxied HTML page does not tell it).
        upload_time: When it was uploaded, timezone-aware (unknown for some upstreams).
        requires_python: The release's ``Requires-Python``, if any.
        yanked: ``False``, ``True`` or the yank reason (PEP 592).
        core_metadata_sha256: sha256 of the ``<url>.metadata`` file when it is served (PEP 658).
    """

    filename: str
    url: str
    hashes: Mapping[str, str]
    version: str
    size: NotRequired[int]
    upload_time: NotRequired[datetime]
    requires_python: NotRequired[str | None]
    yanked: NotRequired[bool | str]
    core_metadata_sha256: NotRequired[str | None]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("upload_time must be timezone-aware")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _yanked(file: SimpleFile) -> bool | str:
    yanked = file.get("yanked", False)
    if isinstance(yanked, str):
        # PEP 592: an empty reason is just "yanked".
        return yanked or True
    return bool(yanked)


def _sorted_files(files: Iterable[SimpleFile]) -> list[SimpleFile]:
    return sorted(files, key=lambda f: (Version(f["version"]), f["filename"]))


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _page(title: str, body: list[str]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "  <head>",
        '    <meta charset="utf-8">',
        f'    <meta name="pypi:repository-version" content="{SIMPLE_API_VERSION}">',
        f"    <title>{html.escape(title)}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>{html.escape(title)}</h1>",
        *(f"    {line}" for line in body),
        "  </body>",
        "</html>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def render_simple_index_html(*, projects: Iterable[str]) -> bytes:
    """Render the PEP 503 root page listing every project.

    Args:
        projects: Project names as displayed; links use their normalized form, relative to
            the page (``foo-bar/``).

    Returns:
        The UTF-8 HTML page, projects sorted by normalized name.
    """
    body = [
        f'<a href="{html.escape(canonicalize_name(name))}/">{html.escape(name)}</a><br>'
        for name in sorted(projects, key=canonicalize_name)
    ]
    return _page("Simple index", body)


def render_simple_index_json(*, projects: Iterable[str]) -> bytes:
    """Render the PEP 691 root document listing every project.

    Args:
        projects: Project names as displayed.

    Returns:
        UTF-8 JSON ``{"meta": {"api-version": ...}, "projects": [{"name": ...}]}``, sorted by
        normalized name.
    """
    document = {
        "meta": {"api-version": SIMPLE_API_VERSION},
        "projects": [{"name": name} for name in sorted(projects, key=canonicalize_name)],
    }
    return _json_bytes(document)


def render_simple_project_html(*, name: str, files: Iterable[SimpleFile]) -> bytes:
    """Render a project's PEP 503 page with PEP 592, 658 and 714 attributes.

    Args:
        name: The project name; the page is titled with its normalized form.
        files: The project's files; they are sorted by version, then filename.

    Returns:
        The UTF-8 HTML page.
    """
    body = []
    for file in _sorted_files(files):
        hashes = file["hashes"]
        algorithm = next((name for name in HASH_PREFERENCE if hashes.get(name)), None)
        href = f"{file['url']}#{algorithm}={hashes[algorithm]}" if algorithm else file["url"]
        attributes = [f'href="{html.escape(href)}"']
        if requires_python := file.get("requires_python"):
            # Specifiers contain "<" and ">", which must be escaped inside attributes.
            attributes.append(f'data-requires-python="{html.escape(requires_python)}"')
        yanked = _yanked(file)
        if yanked is not False:
            reason = yanked if isinstance(yanked, str) else ""
            attributes.append(f'data-yanked="{html.escape(reason)}"')
        if metadata_sha256 := file.get("core_metadata_sha256"):
            # PEP 714 renamed the attribute; older pip versions only know the PEP 658 name.
            attributes.append(f'data-core-metadata="sha256={html.escape(metadata_sha256)}"')
            attributes.append(f'data-dist-info-metadata="sha256={html.escape(metadata_sha256)}"')
        body.append(f"<a {' '.join(attributes)}>{html.escape(file['filename'])}</a><br>")
    return _page(f"Links for {canonicalize_name(name)}", body)


def render_simple_project_json(*, name: str, files: Iterable[SimpleFile]) -> bytes:
    """Render a project's PEP 691 document with the PEP 700 additions.

    Args:
        name: The project name; the document carries its normalized form.
        files: The project's files; they are sorted by version, then filename.

    Returns:
        UTF-8 JSON with ``meta``, ``name``, ``versions`` (sorted) and ``files``.
    """
    ordered = _sorted_files(files)
    documents = []
    for file in ordered:
        metadata_sha256 = file.get("core_metadata_sha256")
        core_metadata: dict[str, str] | bool = (
            {"sha256": metadata_sha256} if metadata_sha256 else False
        )
        entry: dict[str, object] = {
            "filename": file["filename"],
            "url": file["url"],
            "hashes": dict(file["hashes"]),
            "requires-python": file.get("requires_python") or None,
        }
        if "size" in file:
            entry["size"] = file["size"]
        if "upload_time" in file:
            entry["upload-time"] = _utc(file["upload_time"]).isoformat() + "Z"
        entry["yanked"] = _yanked(file)
        entry["core-metadata"] = core_metadata
        # PEP 714: never emit "dist-info-metadata" (pip 22.3-23.1 crash on it); this
        # misspelt key is the one PyPI emitted, and those pip versions ignore it.
        entry["data-dist-info-metadata"] = core_metadata
        documents.append(entry)
    versions = sorted({file["version"] for file in ordered}, key=Version)
    sized = all("size" in file for file in ordered)
    api_version = SIMPLE_API_VERSION if sized else SIMPLE_API_VERSION_WITHOUT_SIZES
    document = {
        "meta": {"api-version": api_version},
        "name": canonicalize_name(name),
        "versions": versions,
        "files": documents,
    }
    return _json_bytes(document)


# --- rendering the JSON API -------------------------------------------------------------------


def _json_api_file(file: SimpleFile) -> dict[str, object]:
    dist = parse_distribution_filename(file["filename"])
    yanked = _yanked(file)
    utc = _utc(file["upload_time"])
    hashes = dict(file["hashes"])
    return {
        "comment_text": "",
        "digests": hashes,
        "downloads": -1,
        "filename": file["filename"],
        "has_sig": False,
        "md5_digest": hashes.get("md5"),
        "packagetype": dist.kind,
        "python_version": dist.python_tag,
        "requires_python": file.get("requires_python") or None,
        "size": file["size"],
        "upload_time": utc.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "url": file["url"],
        "yanked": yanked is not False,
        "yanked_reason": yanked if isinstance(yanked, str) else None,
    }


def render_project_json(
    *,
    metadata: CoreMetadata,
    files_by_version: Mapping[str, Sequence[SimpleFile]],
    project_url: str,
    release_url: str,
    last_serial: int,
    yanked: bool | str = False,
    include_releases: bool = True,
) -> bytes:
    """Render PyPI's JSON API document for a project or one of its releases.

    ``/pypi/<project>/json`` describes the latest release and lists all releases;
    ``/pypi/<project>/<version>/json`` describes the given release and, like PyPI today,
    has no ``releases`` key (pass ``include_releases=False``).

    Args:
        metadata: Core metadata of the release the ``info`` block describes.
        files_by_version: Every release's files, keyed by normalized version; releases
            without files may map to an empty list.
        project_url: Absolute URL of the project page (``info.project_url``/``package_url``).
        release_url: Absolute URL of the release page (``info.release_url``).
        last_serial: A number that grows with every change to the project.
        yanked: Whether the described release is yanked, or the yank reason.
        include_releases: Whether to include the ``releases`` map.

    Returns:
        UTF-8 JSON with ``info``, ``last_serial``, ``releases`` (optional), ``urls`` (the
        described release's files) and ``vulnerabilities`` (always empty).
    """
    if isinstance(yanked, str) and not yanked:
        yanked = True
    info = {
        "author": metadata.author,
        "author_email": metadata.author_email,
        "bugtrack_url": None,
        "classifiers": list(metadata.classifiers),
        "description": metadata.description,
        "description_content_type": metadata.description_content_type,
        "docs_url": None,
        "download_url": metadata.download_url,
        "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "dynamic": list(metadata.dynamic),
        "home_page": metadata.home_page,
        "keywords": ",".join(metadata.keywords) if metadata.keywords else None,
        "license": metadata.license,
        "license_expression": metadata.license_expression,
        "license_files": list(metadata.license_files),
        "maintainer": metadata.maintainer,
        "maintainer_email": metadata.maintainer_email,
        "name": metadata.name,
        "package_url": project_url,
        "platform": ", ".join(metadata.platforms) if metadata.platforms else None,
        "project_url": project_url,
        "project_urls": dict(metadata.project_urls) or None,
        "provides_extra": list(metadata.provides_extra),
        "release_url": release_url,
        "requires_dist": list(metadata.requires_dist) or None,
        "requires_python": metadata.requires_python,
        "summary": metadata.summary,
        "version": metadata.version,
        "yanked": yanked is not False,
        "yanked_reason": yanked if isinstance(yanked, str) else None,
    }
    document: dict[str, object] = {"info": info, "last_serial": last_serial}
    if include_releases:
        document["releases"] = {
            version: [_json_api_file(f) for f in _sorted_files(files_by_version[version])]
            for version in sorted(files_by_version, key=Version)
        }
    current = files_by_version.get(metadata.version, ())
    document["urls"] = [_json_api_file(f) for f in _sorted_files(current)]
    document["vulnerabilities"] = []
    return _json_bytes(document)
