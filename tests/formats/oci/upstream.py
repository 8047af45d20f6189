"""A scripted OCI upstream for protocol tests: a few images served over real HTTP, requests logged.

Just the pull side of the distribution API (manifests by tag or digest with ETag and 304,
blobs, tag lists), anonymous, with switches to lie (wrong bytes for chosen digests) and to be slow.
"""

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from formats.oci.manifests import MIME_OCI_MANIFEST
from tests.formats.oci.helpers import image_manifest


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass
class ScriptedUpstream:
    """What the upstream serves; ``requests`` is every (method, path) it was asked."""

    url: str = ""
    manifests: dict[str, dict[str, bytes]] = field(default_factory=dict)  # name -> ref -> bytes
    blobs: dict[str, dict[str, bytes]] = field(default_factory=dict)  # name -> digest -> bytes
    tampered: set[str] = field(default_factory=set)  # digests answered with other bytes
    delay: float = 0.0  # seconds before each answer to /v2/<name>/...
    requests: list[tuple[str, str]] = field(default_factory=list)

    def add_image(self, name: str, tag: str, seed: bytes = b"x") -> bytes:
        """Serve an image of one config and one layer under ``name:tag``; return its manifest."""
        config = b'{"architecture":"amd64","os":"linux","seed":"' + seed + b'"}'
        layer = b"upstream-layer-" + seed
        manifest = image_manifest(config, [layer])
        blobs = self.blobs.setdefault(name, {})
        blobs.update({_digest(config): config, _digest(layer): layer})
        refs = self.manifests.setdefault(name, {})
        refs[tag] = refs[_digest(manifest)] = manifest
        return manifest

    def asked(self, fragment: str) -> int:
        return sum(1 for _, path in self.requests if fragment in path)

    def answer(self, method: str, path: str, headers) -> tuple[int, dict[str, str], bytes]:
        self.requests.append((method, path))
        path = path.partition("?")[0]
        if path == "/v2/":
            return 200, {"Content-Type": "application/json"}, b"{}"
        time.sleep(self.delay)
        name, _, rest = path.removeprefix("/v2/").rpartition("/")
        name, _, kind = name.rpartition("/")
        if kind == "tags" and rest == "list" and name in self.manifests:
            tags = sorted(r for r in self.manifests[name] if ":" not in r)
            body = json.dumps({"name": name, "tags": tags}).encode()
            return 200, {"Content-Type": "application/json"}, body
        if kind == "manifests" and rest in self.manifests.get(name, {}):
            body = self.manifests[name][rest]
            etag = f'"{_digest(body)}"'
            head = {"Content-Type": MIME_OCI_MANIFEST, "ETag": etag}
            head["Docker-Content-Digest"] = _digest(body)
            if headers.get("If-None-Match") == etag:
                return 304, head, b""
            return 200, head, self._lie(rest, body)
        if kind == "blobs" and rest in self.blobs.get(name, {}):
            body = self.blobs[name][rest]
            return 200, {"Content-Type": "application/octet-stream"}, self._lie(rest, body)
        return 404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"NOT_FOUND"}]}'

    def _lie(self, reference: str, body: bytes) -> bytes:
        return body[::-1] + b"!" if reference in self.tampered else body


@pytest.fixture
def scripted_upstream() -> Iterator[ScriptedUpstream]:
    upstream = ScriptedUpstream()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            status, headers, body = upstream.answer(method, self.path, self.headers)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method == "GET" and status != 304:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self._serve("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve("HEAD")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield upstream
    server.shutdown()
    server.server_close()
