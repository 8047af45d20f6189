"""Bodies received straight from gunicorn's socket: the bytes, and the connection after them."""

import base64
import hashlib
import importlib
import io
import logging
import os
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader, Unreader

from access.models import Role
from formats.models import Asset
from registry_project import request_body
from registry_project.request_body import gunicorn_internals_missing, socket_body
from storage.backends import blob_backend
from tests.factories import RepositoryFactory

NEXT_REQUEST = b"GET /next HTTP/1.1\r\nHost: registry\r\n\r\n"


@pytest.mark.parametrize(
    ("_case", "read_ahead"),
    [
        ("gunicorn read the whole body and the next request ahead", 10**6),
        ("gunicorn read part of the body ahead, the rest is on the socket", 5000),
        ("gunicorn read nothing ahead", 0),
    ],
)
def test_socket_body_takes_the_body_and_leaves_the_next_request_to_gunicorn(_case, read_ahead):
    content = os.urandom(300_000)
    wire = content + NEXT_REQUEST
    server, client = socket.socketpair()
    with server, client:
        server.settimeout(10)  # a byte lost or kept back fails the test instead of hanging it
        unreader = SocketUnreader(server)
        unreader.unread(wire[:read_ahead])  # what gunicorn's parser took off the socket
        sender = threading.Thread(target=client.sendall, args=(wire[read_ahead:],))
        sender.start()
        reader = LengthReader(unreader, len(content))
        body = Body(reader)
        first = body.read(7)  # Django may have started: Body then buffers beyond what it gave

        stream = socket_body({"wsgi.input": body, "gunicorn.socket": server})
        received = bytearray(first)
        buffer = bytearray(64 * 1024)
        while count := stream.readinto(buffer):
            received += buffer[:count]

        next_request = unreader.read(len(NEXT_REQUEST))
        sender.join()

        assert bytes(received) == content
        assert reader.length == 0
        assert next_request == NEXT_REQUEST


def test_socket_body_is_only_for_gunicorn_bodies_of_known_length():
    server, client = socket.socketpair()
    with server, client:
        assert socket_body({"wsgi.input": io.BytesIO(b"x"), "gunicorn.socket": server}) is None
        assert socket_body({"wsgi.input": Body(LengthReader(SocketUnreader(server), 1))}) is None


def test_the_pinned_gunicorn_has_every_internal_the_socket_reader_uses():
    assert gunicorn_internals_missing() == []
    assert request_body.MISSING_INTERNALS == []


@pytest.fixture
def gunicorn_without_take_buffered(monkeypatch):
    monkeypatch.delattr(Unreader, "take_buffered")
    yield
    monkeypatch.undo()
    importlib.reload(request_body)  # back to the real gunicorn's answer for later tests


def test_a_gunicorn_without_the_internals_is_logged_and_read_through_wsgi_input(
    gunicorn_without_take_buffered, caplog
):
    with caplog.at_level(logging.WARNING, logger="registry_project.request_body"):
        importlib.reload(request_body)
    server, client = socket.socketpair()
    with server, client:
        body = Body(LengthReader(SocketUnreader(server), 1))
        answer = socket_body({"wsgi.input": body, "gunicorn.socket": server})

    assert request_body.MISSING_INTERNALS == ["Unreader.take_buffered"]
    assert [record.getMessage() for record in caplog.records] == [
        "gunicorn 27.0.1 lacks Unreader.take_buffered: request bodies are read through wsgi.input"
    ]
    assert answer is None


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=30)


def _put(path: str, authorization: str, body: bytes, *, length: int | None = None) -> bytes:
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: registry\r\nAuthorization: {authorization}\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    )
    return head.encode() + body


def _get(path: str, authorization: str) -> bytes:
    head = f"GET {path} HTTP/1.1\r\nHost: registry\r\nAuthorization: {authorization}\r\n\r\n"
    return head.encode()


def _responses(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """Read ``count`` HTTP/1.1 responses with Content-Length bodies from ``sock``."""
    buffered = b""
    answers = []
    for _ in range(count):
        while b"\r\n\r\n" not in buffered:
            buffered += sock.recv(65536)
        head, _, buffered = buffered.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(headers.get("Content-Length", "0"))
        while len(buffered) < length:
            buffered += sock.recv(65536)
        answers.append((int(lines[0].split()[1]), buffered[:length]))
        buffered = buffered[length:]
    return answers


@pytest.fixture
def writer_auth(make_user, make_token):
    repository = RepositoryFactory(name="bodies", format="raw")
    user = make_user(repository, Role.WRITE)
    secret = base64.b64encode(f"{user.username}:{make_token(user)}".encode()).decode()
    return repository, f"Basic {secret}"


@pytest.mark.e2e
def test_pipelined_requests_after_a_large_body_are_answered_in_order(live_registry, writer_auth):
    repository, auth = writer_auth
    content = os.urandom(5 * 1024 * 1024 + 3)
    with _connect(live_registry.url) as sock:
        # Both requests in one send: the server reads the second from what follows the body.
        sock.sendall(_put("/repository/bodies/a.bin", auth, content) + _get("/-/health", auth))
        (put_status, _), (health_status, health_body) = _responses(sock, 2)
        sock.sendall(_get("/repository/bodies/a.bin", auth))
        [(get_status, downloaded)] = _responses(sock, 1)

    assert (put_status, health_status, get_status) == (201, 200, 200)
    assert b'"status"' in health_body
    assert hashlib.sha256(downloaded).hexdigest() == hashlib.sha256(content).hexdigest()
    assert Asset.objects.get(repository=repository, path="a.bin").blob.size == len(content)


@pytest.mark.e2e
def test_a_body_cut_short_stores_nothing(live_registry, writer_auth):
    repository, auth = writer_auth
    temp_before = set(os.listdir(blob_backend().temp_dir))
    with _connect(live_registry.url) as sock:
        sock.sendall(_put("/repository/bodies/cut.bin", auth, os.urandom(300_000), length=10**7))
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass  # the server closes the connection: there is nobody to answer

    deadline = time.monotonic() + 10
    while set(os.listdir(blob_backend().temp_dir)) - temp_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Asset.objects.filter(repository=repository).exists() is False
    assert set(os.listdir(blob_backend().temp_dir)) - temp_before == set()


@pytest.mark.e2e
def test_a_pom_read_whole_from_the_socket_is_stored_as_sent(live_registry, make_user, make_token):
    # A POM is read into memory (to parse it) before it is stored: SocketBody.read, not readinto.
    repository = RepositoryFactory(name="poms", format="maven")
    user = make_user(repository, Role.WRITE)
    auth = "Basic " + base64.b64encode(f"{user.username}:{make_token(user)}".encode()).decode()
    pom = (
        b'<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        b"<groupId>org.example</groupId><artifactId>lib</artifactId><version>1.0</version>"
        b"</project>"
    )
    path = "/repository/poms/org/example/lib/1.0/lib-1.0.pom"
    with _connect(live_registry.url) as sock:
        sock.sendall(_put(path, auth, pom) + _get(path, auth))
        (put_status, _), (get_status, served) = _responses(sock, 2)

    assert (put_status, get_status) == (201, 200)
    assert served == pom
