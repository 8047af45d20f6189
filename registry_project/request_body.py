"""Large request bodies read straight from the client's socket into the caller's buffer.

A WSGI ``wsgi.input`` hands out new ``bytes`` objects, and gunicorn's copies each received
byte through two buffers before returning it; for a gigabyte upload those copies cost more CPU
than hashing it. When the server is gunicorn and the body has a Content-Length, ``socket_body``
returns a stream whose ``readinto`` receives into the caller's buffer with ``recv_into``, while
keeping gunicorn's own count of what is left of the body: keep-alive and pipelined requests
behave exactly as if gunicorn had read the bytes itself.

Those are gunicorn internals, not its API: at import the module checks that the installed
gunicorn still has each one, and without them it logs a warning and ``socket_body`` always
answers None, so bodies are read through ``wsgi.input`` (slower, never wrong).
"""

import io
import logging
from collections.abc import Mapping
from typing import Any

import gunicorn
from gunicorn.http import body as gunicorn_body
from gunicorn.http import unreader as gunicorn_unreader

from registry_project.errors import BodyIncomplete

logger = logging.getLogger(__name__)


def gunicorn_internals_missing() -> list[str]:
    """Return the gunicorn internals ``SocketBody`` uses that the installed gunicorn lacks."""
    classes = [
        (gunicorn_body, "Body"),
        (gunicorn_body, "LengthReader"),
        (gunicorn_unreader, "IterUnreader"),
        (gunicorn_unreader, "SocketUnreader"),
    ]
    missing = [f"{module.__name__}.{name}" for module, name in classes if not hasattr(module, name)]
    if missing:
        return missing
    try:
        reader = gunicorn_body.LengthReader(gunicorn_unreader.IterUnreader([]), 0)
        body = gunicorn_body.Body(reader)
    except TypeError:
        return ["Body(LengthReader(unreader, length))"]
    attributes = {
        "Body.buf": (body, "buf"),
        "Body.failed": (body, "failed"),
        "Body.reader": (body, "reader"),
        "LengthReader.length": (reader, "length"),
        "LengthReader.unreader": (reader, "unreader"),
        "Unreader.take_buffered": (reader.unreader, "take_buffered"),
        "Unreader.unread": (reader.unreader, "unread"),
    }
    return [label for label, (owner, name) in attributes.items() if not hasattr(owner, name)]


MISSING_INTERNALS = gunicorn_internals_missing()
if MISSING_INTERNALS:
    logger.warning(
        "gunicorn %s lacks %s: request bodies are read through wsgi.input",
        gunicorn.__version__,
        ", ".join(MISSING_INTERNALS),
    )


class SocketBody(io.RawIOBase):
    """The rest of a gunicorn request body of known length, received with ``recv_into``."""

    def __init__(self, body: Any, reader: Any, sock: Any) -> None:
        super().__init__()
        self._body = body
        self._reader = reader
        self._sock = sock
        # Bytes gunicorn already took off the socket: first what Body buffered, then the
        # unreader's read-ahead, which may run past this body into a pipelined request.
        held = body.buf.getvalue()
        body.buf = io.BytesIO()
        ahead = reader.unreader.take_buffered()
        mine = ahead[: reader.length]
        reader.unreader.unread(ahead[reader.length :])
        reader.length -= len(mine)
        self._held = memoryview(held + mine)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Read ``size`` bytes (all that is left when negative), fewer only at the end."""
        left = len(self._held) + self._reader.length
        size = left if size is None or size < 0 else min(size, left)
        data = bytearray(size)
        view = memoryview(data)
        filled = 0
        while filled < size and (count := self.readinto(view[filled:])):
            filled += count
        del view
        del data[filled:]
        return bytes(data)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._held:
            count = min(len(view), len(self._held))
            view[:count] = self._held[:count]
            self._held = self._held[count:]
            return count
        wanted = min(len(view), self._reader.length)
        if wanted == 0:
            return 0
        try:
            count = self._sock.recv_into(view[:wanted])
        except OSError:
            self._body.failed = True  # where the next request starts is unknown now
            raise
        if count == 0:
            self._body.failed = True
            raise BodyIncomplete(f"the body ended {self._reader.length} bytes early")
        self._reader.length -= count
        return count


def socket_body(environ: Mapping[str, Any]) -> SocketBody | None:
    """Return the unread body of a gunicorn request with a Content-Length, or None otherwise.

    None means: read ``wsgi.input`` as usual (another WSGI server, the test client, a chunked
    body, or a body the application has started to read through Django).
    """
    body = environ.get("wsgi.input")
    sock = environ.get("gunicorn.socket")
    if MISSING_INTERNALS or sock is None or not isinstance(body, gunicorn_body.Body):
        return None
    if not isinstance(body.reader, gunicorn_body.LengthReader):
        return None
    if not isinstance(body.reader.unreader, gunicorn_unreader.SocketUnreader):
        return None
    return SocketBody(body, body.reader, sock)
