"""A proxy's view of an upstream simple index: its project pages, normalized to one form.

An upstream answers PEP 691 JSON or PEP 503 HTML (pypiserver knows only HTML); either is read
into the same stored JSON document, from which this repository renders both representations
with its own file URLs. Only files of the requested project with a wheel or sdist filename
and an http(s) URL are kept.

- Simple repository API: https://packaging.python.org/en/latest/specifications/simple-repository-api/

Pure Python: nothing here touches Django or the database.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from formats.pypi.errors import InvalidUpload
from formats.pypi.names import parse_distribution_filename
from formats.pypi.renderers import MIME_PYPI_SIMPLE_V1_JSON, SimpleFile

# Ask for JSON, take HTML (PEP 691 section "Version + Format Selection").
UPSTREAM_ACCEPT = (
    f"{MIME_PYPI_SIMPLE_V1_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
)
HASH_NAMES = ("sha256", "sha384", "sha512", "sha1", "md5")
MAX_FILES = 100_000


@dataclass(frozen=True)
class UpstreamFile:
    """One file of a cached upstream page.

    Attributes:
        filename: The distribution filename.
        url: Its absolute upstream URL, without fragment.
        version: The normalized version the filename names.
        hashes: Hex digests by hashlib name, as the upstream declared them.
        requires_python: ``Requires-Python`` as declared, if any.
        yanked: ``False``, ``True`` or the reason (PEP 592).
        upload_time: The PEP 700 upload time, when the upstream gave one.
        size: Size in bytes, when the upstream gave it.
        core_metadata_sha256: sha256 of the PEP 658 ``.metadata`` file the upstream offers.
    """

    filename: str
    url: str
    version: str
    hashes: dict[str, str]
    requires_python: str | None = None
    yanked: bool | str = False
    upload_time: datetime | None = None
    size: int | None = None
    core_metadata_sha256: str | None = None

    def simple_file(self, url: str) -> SimpleFile:
        """Return the file as the renderers take it, downloadable from ``url``."""
        file = SimpleFile(
            filename=self.filename,
            url=url,
            hashes=self.hashes,
            version=self.version,
            requires_python=self.requires_python,
            yanked=self.yanked,
            core_metadata_sha256=self.core_metadata_sha256,
        )
        if self.size is not None:
            file["size"] = self.size
        if self.upload_time is not None:
            file["upload_time"] = self.upload_time
        return file


def upstream_project_url(upstream: str, project: str) -> str:
    """Return the URL of ``project``'s page below the simple index at ``upstream``."""
    return upstream.rstrip("/") + f"/{project}/"


# --- reading the upstream's answer ------------------------------------------------------------


class _LinkParser(HTMLParser):
    """Collect the anchors of a PEP 503 page: attributes and text of each ``<a>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and len(self.links) < MAX_FILES:
            self._open, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.links.append((self._open, "".join(self._text).strip()))
            self._open = None


def _metadata_hash(value: object) -> str | None:
    """The sha256 a PEP 658/714 core-metadata declaration gives (``"sha256=..."`` or a dict)."""
    if isinstance(value, str) and value.startswith("sha256="):
        value = {"sha256": value.removeprefix("sha256=")}
    if isinstance(value, dict) and isinstance(value.get("sha256"), str):
        return _hex(value["sha256"])
    return None


def _hex(value: str) -> str | None:
    lowered = value.strip().lower()
    return lowered if lowered and all(c in "0123456789abcdef" for c in lowered) else None


def _html_files(content: bytes, page_url: str) -> list[dict[str, Any]]:
    parser = _LinkParser()
    parser.feed(content.decode("utf-8", errors="replace"))
    parser.close()
    files = []
    for attrs, text in parser.links:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urldefrag(urljoin(page_url, href))
        algorithm, _, digest = fragment.partition("=")
        yanked = attrs.get("data-yanked")
        metadata = attrs.get("data-core-metadata") or attrs.get("data-dist-info-metadata")
        files.append(
            {
                "filename": text or unquote(urlsplit(url).path.rpartition("/")[2]),
                "url": url,
                "hashes": {algorithm: digest} if algorithm and digest else {},
                "requires-python": attrs.get("data-requires-python"),
                "yanked": False if yanked is None else (yanked or True),
                "core-metadata": metadata,
            }
        )
    return files


def _json_files(content: bytes, page_url: str) -> list[dict[str, Any]]:
    document = json.loads(content)
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, list):
        raise ValueError("the upstream's JSON page has no files list")
    parsed = []
    for file in files[:MAX_FILES]:
        if isinstance(file, dict) and isinstance(file.get("url"), str):
            url, _fragment = urldefrag(urljoin(page_url, file["url"]))
            parsed.append({**file, "url": url})
    return parsed


def _upload_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _cleaned(raw: dict[str, Any], project: str) -> dict[str, Any] | None:
    """One file in the stored form, or None when it is not a file of ``project`` to serve."""
    filename, url = raw.get("filename"), raw["url"]
    if not isinstance(filename, str) or urlsplit(url).scheme not in ("http", "https"):
        return None
    try:
        dist = parse_distribution_filename(filename)
    except InvalidUpload:
        return None
    if dist.normalized_name != project:
        return None
    declared = raw.get("hashes")
    hashes: dict[str, Any] = declared if isinstance(declared, dict) else {}
    cleaned_hashes = {
        name: digest
        for name in HASH_NAMES
        if isinstance(hashes.get(name), str) and (digest := _hex(hashes[name]))
    }
    requires_python = raw.get("requires-python")
    yanked = raw.get("yanked", False)
    size = raw.get("size")
    upload_time = _upload_time(raw.get("upload-time"))
    return {
        "filename": filename,
        "url": url,
        "version": dist.version,
        "hashes": cleaned_hashes,
        "requires-python": requires_python if isinstance(requires_python, str) else None,
        "yanked": yanked if isinstance(yanked, (bool, str)) else bool(yanked),
        "upload-time": upload_time.isoformat() if upload_time else None,
        "size": size if isinstance(size, int) and size >= 0 else None,
        "core-metadata": _metadata_hash(raw.get("core-metadata") or raw.get("dist-info-metadata")),
    }


def upstream_page_normalize(
    content: bytes, content_type: str, *, page_url: str, project: str
) -> bytes:
    """Read an upstream project page (PEP 691 JSON or PEP 503 HTML) into the stored form.

    Args:
        content: The body the upstream sent.
        content_type: Its Content-Type.
        page_url: The URL it came from; relative file URLs are resolved against it.
        project: The normalized project name the page was asked for.

    Returns:
        UTF-8 JSON ``{"name": project, "files": [...]}``, first file of each filename kept.

    Raises:
        ValueError: The body is neither a JSON page nor decodable.
    """
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type.endswith("json"):
        raw_files = _json_files(content, page_url)
    else:
        raw_files = _html_files(content, page_url)
    files: dict[str, dict[str, Any]] = {}
    for raw in raw_files:
        cleaned = _cleaned(raw, project)
        if cleaned is not None:
            files.setdefault(cleaned["filename"], cleaned)
    document = {"name": project, "files": list(files.values())}
    return json.dumps(document, separators=(",", ":")).encode()


def stored_page_files(content: bytes) -> list[UpstreamFile]:
    """Return the files of a page that ``upstream_page_normalize`` stored."""
    files = []
    for file in json.loads(content)["files"]:
        upload_time = file.get("upload-time")
        files.append(
            UpstreamFile(
                filename=file["filename"],
                url=file["url"],
                version=file["version"],
                hashes=file["hashes"],
                requires_python=file.get("requires-python"),
                yanked=file.get("yanked", False),
                upload_time=datetime.fromisoformat(upload_time) if upload_time else None,
                size=file.get("size"),
                core_metadata_sha256=file.get("core-metadata"),
            )
        )
    return files
