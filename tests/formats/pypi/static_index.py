"""A tiny simple index over real HTTP, as a proxy's upstream: pages and files the test sets.

It counts requests per path, answers If-None-Match with 304, can be switched to failing
(503) or closed, and serves whatever a test puts in it, including pages that declare a digest
their file does not have.
"""

import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class StaticIndex:
    """The upstream's state; ``url`` is its simple index (``.../simple/``)."""

    pages: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path: (body, type)
    files: dict[str, bytes] = field(default_factory=dict)
    hits: Counter = field(default_factory=Counter)
    not_modified: Counter = field(default_factory=Counter)
    failing: bool = False
    delay: float = 0.0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def file_url(self, filename: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{filename}"

    def add_file(self, filename: str, content: bytes) -> str:
        """Serve ``content`` at ``/files/<filename>``; return its sha256."""
        self.files[f"/files/{filename}"] = content
        return hashlib.sha256(content).hexdigest()


def _handler(index: StaticIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            index.hits[self.path] += 1
            if index.delay:
                time.sleep(index.delay)
            if index.failing:
                self._send(503, b"down", "text/plain")
                return
            if self.path in index.pages:
                body, content_type = index.pages[self.path]
            elif self.path in index.files:
                body, content_type = index.files[self.path], "application/octet-stream"
            else:
                self._send(404, b"not found", "text/plain")
                return
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                index.not_modified[self.path] += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._send(200, body, content_type, ETag=etag)

        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


class RunningIndex:
    """A started StaticIndex server; ``close`` stops it (its port then refuses connections)."""

    def __init__(self) -> None:
        self.state = StaticIndex()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.server.daemon_threads = True
        self.state.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
