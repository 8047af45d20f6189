"""The floor of the proxy benchmark: nginx sending, from disk, the very documents and files our
hosted repository serves (npm packuments and tarballs, PEP 691 simple pages, wheels and their
PEP 658 metadata files). No server can answer a client faster than static files with sendfile,
so a client's install from here is the least time any registry can give it; what remains is the
client's own work (resolving, unpacking, linking, installing).
"""

import json
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import harness  # noqa: F401  (puts the checkout on sys.path, for tests.nginx)
import requests

from tests.nginx import Nginx

MIME_PYPI_JSON = "application/vnd.pypi.simple.v1+json"


class FloorNginx(Nginx):
    """nginx serving a mirror under ``serve``: ``/<npm name>`` from ``packuments/<name>.json``,
    everything else as the file at its path (a folder's ``index.json`` as a PEP 691 page)."""

    def __init__(self, root: Path, *, serve: Path) -> None:
        super().__init__(root, access_log=False)
        self.serve = serve

    def server_conf(self) -> str:
        return (
            f"server {{ listen 127.0.0.1:{self.port}; root {self.serve};\n"
            " location ~ ^/npm/(?<name>[^/]+)$ {"
            " default_type application/json; try_files /npm/packuments/$name.json =404; }\n"
            f" location / {{ index index.json; types {{ {MIME_PYPI_JSON} json;"
            " application/octet-stream tgz whl metadata; } } }\n"
        )


def _get(session: requests.Session, url: str, accept: str) -> bytes:
    response = session.get(url, headers={"Accept": accept}, timeout=60)
    response.raise_for_status()
    return response.content


def npm_floor(*, hosted: str, names: list[str], accept: str, serve: Path, base: str) -> str:
    """Mirror the packuments of ``names`` in the npm registry ``hosted`` (as npm asks for them,
    tarball URLs moved to ``base``/npm/) and their tarballs; return the floor's registry URL."""
    session = requests.Session()
    registry = f"{base}/npm/"
    (serve / "npm" / "packuments").mkdir(parents=True, exist_ok=True)
    for name in names:
        body = _get(session, hosted + name, accept)
        packument = json.loads(body)
        for manifest in packument["versions"].values():
            tarball = manifest["dist"]["tarball"]
            relative = tarball.removeprefix(hosted)
            target = serve / "npm" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_get(session, tarball, "*/*"))
            manifest["dist"]["tarball"] = registry + relative
        (serve / "npm" / "packuments" / f"{name}.json").write_text(json.dumps(packument))
    return registry


def pypi_floor(*, hosted: str, projects: list[str], serve: Path, base: str) -> str:
    """Mirror the PEP 691 pages of ``projects`` in the simple index ``hosted``, with the files
    and metadata files they link (same relative links); return the floor's index URL."""
    session = requests.Session()
    root = urlsplit(hosted).path  # /repository/<name>/simple/
    for project in projects:
        page_url = f"{hosted}{project}/"
        body = _get(session, page_url, MIME_PYPI_JSON)
        folder = serve / root.lstrip("/") / project
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.json").write_bytes(body)
        for file in json.loads(body)["files"]:
            url = urljoin(page_url, file["url"]).split("#", 1)[0]
            wanted = [url] + ([url + ".metadata"] if file.get("core-metadata") else [])
            for link in wanted:
                target = serve / urlsplit(link).path.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(_get(session, link, "*/*"))
    return f"{base}{root}"
