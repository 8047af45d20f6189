"""The proxy core against a real (tiny, scripted) HTTP upstream: verification, auth, caching."""

import base64
import hashlib
import json
import ssl
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone

from audit.models import Action, AuditEvent
from formats.errors import (
    UpstreamDigestMismatch,
    UpstreamMissing,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from formats.models import Asset, ProxyEntry, Repository
from formats.proxy.documents import proxy_document
from formats.proxy.files import proxy_asset, proxy_file
from formats.proxy.invalidation import proxy_invalidate
from formats.proxy.upstream import _pool, upstream_open
from formats.services import repository_create
from storage.models import Blob
from tests.live import free_port, make_certificate


class Upstream:
    """An HTTP server answering from ``routes``: path -> (status, headers, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                upstream.seen.append((self.path, dict(self.headers)))
                status, headers, body = upstream.answer(self.path, dict(self.headers))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        status, extra, body = self.routes.get(path, (404, {}, b"no"))
        if status == 200 and extra.get("ETag") and headers.get("If-None-Match") == extra["ETag"]:
            return 304, {"ETag": extra["ETag"]}, b""
        return status, extra, body

    def requests_for(self, path: str) -> int:
        return sum(1 for seen, _ in self.seen if seen == path)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def proxy(db, upstream) -> Repository:
    return repository_create(
        name="proxy", format="raw", kind="proxy", upstream_url=upstream.url + "/"
    )


def test_a_file_is_verified_stored_once_and_served_from_the_cache(proxy, upstream):
    content = b"wheel bytes" * 1000
    upstream.routes["/f.whl"] = (200, {}, content)
    expected = {"sha256": hashlib.sha256(content).hexdigest()}

    first = proxy_asset(
        repository=proxy, path="f.whl", url=upstream.url + "/f.whl", expected=expected
    )
    second = proxy_asset(
        repository=proxy, path="f.whl", url=upstream.url + "/f.whl", expected=expected
    )

    assert first.pk == second.pk
    assert first.blob_id == expected["sha256"]
    assert first.metadata["proxy"]["upstream_url"] == upstream.url + "/f.whl"
    assert upstream.requests_for("/f.whl") == 1


def test_tampered_bytes_are_refused_and_nothing_is_stored(proxy, upstream):
    upstream.routes["/f.whl"] = (200, {}, b"evil bytes")
    declared = {"sha256": hashlib.sha256(b"good bytes").hexdigest()}

    with pytest.raises(UpstreamDigestMismatch) as refused:
        proxy_asset(repository=proxy, path="f.whl", url=upstream.url + "/f.whl", expected=declared)

    assert refused.value.http_status == 502
    assert not Asset.objects.filter(repository=proxy).exists()
    assert not Blob.objects.filter(pk=hashlib.sha256(b"evil bytes").hexdigest()).exists()


@override_settings(PROXY_VERIFY_FIRST_SIZE=1024)
def test_a_large_cold_file_streams_and_a_mismatch_cuts_it_without_storing(proxy, upstream, client):
    good = bytes(range(256)) * 4096
    upstream.routes["/big.bin"] = (200, {}, good)
    Repository.objects.filter(pk=proxy.pk).update(anonymous_read=True)

    response = client.get("/repository/proxy/big.bin")
    assert response.streaming
    assert b"".join(response.streaming_content) == good
    assert (
        Asset.objects.get(repository=proxy, path="big.bin").blob_id
        == hashlib.sha256(good).hexdigest()
    )


@override_settings(PROXY_VERIFY_FIRST_SIZE=1024)
def test_a_streamed_file_that_does_not_match_is_cut_short_and_not_stored(proxy, upstream, rf):
    upstream.routes["/bad.bin"] = (200, {}, bytes(range(256)) * 4096)

    streamed = proxy_file(
        rf.get("/repository/proxy/bad.bin"),
        repository=proxy,
        path="bad.bin",
        url=upstream.url + "/bad.bin",
        expected={"sha256": "0" * 64},
    )
    with pytest.raises(UpstreamDigestMismatch):
        b"".join(streamed.streaming_content)
    assert not Asset.objects.filter(repository=proxy, path="bad.bin").exists()


def _close(response) -> None:
    """Close ``response`` as the server does, keeping the test's connection (as Django's test
    client does: the end-of-request signal would close it)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def test_a_cold_file_is_served_before_its_bookkeeping_which_follows_the_response(
    proxy, upstream, rf
):
    upstream.routes["/f.tgz"] = (200, {}, b"tarball")
    recorded = []

    response = proxy_file(
        rf.get("/repository/proxy/f.tgz"),
        repository=proxy,
        path="f.tgz",
        url=upstream.url + "/f.tgz",
        on_stored=lambda asset: recorded.append(asset.path),
    )
    sent = b"".join(response)

    assert (sent, recorded) == (b"tarball", [])  # the client has it; nothing recorded yet
    assert AuditEvent.objects.filter(action=Action.ASSET_CACHE).count() == 1  # but audited
    _close(response)
    assert recorded == ["f.tgz"]


def test_a_failing_bookkeeping_hook_leaves_the_file_cached_and_served(proxy, upstream, rf, caplog):
    upstream.routes["/f.tgz"] = (200, {}, b"tarball")

    def broken(asset):
        raise RuntimeError("bookkeeping bug")

    response = proxy_file(
        rf.get("/repository/proxy/f.tgz"),
        repository=proxy,
        path="f.tgz",
        url=upstream.url + "/f.tgz",
        on_stored=broken,
    )
    sent = b"".join(response)
    _close(response)

    assert sent == b"tarball"
    assert Asset.objects.filter(repository=proxy, path="f.tgz").exists()
    assert "recording the cached f.tgz of proxy failed" in caplog.text


def test_documents_are_fresh_for_the_ttl_then_revalidated_with_304(proxy, upstream):
    upstream.routes["/doc"] = (200, {"ETag": '"v1"', "Content-Type": "application/json"}, b"{}")

    first = proxy_document(repository=proxy, key="doc", url=upstream.url + "/doc")
    proxy_document(repository=proxy, key="doc", url=upstream.url + "/doc")
    assert upstream.requests_for("/doc") == 1
    ProxyEntry.objects.update(checked=timezone.now() - timedelta(hours=1))
    again = proxy_document(repository=proxy, key="doc", url=upstream.url + "/doc")

    assert upstream.seen[-1][1].get("If-None-Match") == '"v1"'
    assert again.content == first.content == b"{}"
    assert again.etag == first.etag
    assert not again.stale


def test_a_transform_runs_on_new_bodies_only(proxy, upstream):
    upstream.routes["/doc"] = (200, {"ETag": '"v1"'}, b"http://upstream/x")
    calls = []

    def rewrite(content: bytes, content_type: str) -> bytes:
        calls.append(content)
        return content.replace(b"http://upstream", b"@@HERE@@")

    doc = proxy_document(repository=proxy, key="doc", url=upstream.url + "/doc", transform=rewrite)
    proxy_invalidate(repository=proxy)
    proxy_document(repository=proxy, key="doc", url=upstream.url + "/doc", transform=rewrite)

    assert doc.content == b"@@HERE@@/x"
    assert len(calls) == 1  # the revalidation answered 304


def test_stale_documents_are_served_when_the_upstream_fails(proxy, upstream):
    upstream.routes["/doc"] = (200, {}, b"cached")
    proxy_document(repository=proxy, key="doc", url=upstream.url + "/doc")
    ProxyEntry.objects.update(checked=timezone.now() - timedelta(hours=1))
    upstream.routes["/doc"] = (503, {}, b"down")

    served = proxy_document(repository=proxy, key="doc", url=upstream.url + "/doc")

    assert served.content == b"cached"
    assert served.stale
    with pytest.raises(UpstreamUnavailable, match="answered HTTP 503"):
        proxy_document(repository=proxy, key="never", url=upstream.url + "/doc")


def test_404s_are_remembered_for_the_negative_ttl(proxy, upstream):
    for _ in range(2):
        with pytest.raises(UpstreamMissing):
            proxy_document(repository=proxy, key="gone", url=upstream.url + "/gone")
    assert upstream.requests_for("/gone") == 1
    Repository.objects.filter(pk=proxy.pk).update(negative_ttl=0)
    proxy.refresh_from_db()
    with pytest.raises(UpstreamMissing):
        proxy_document(repository=proxy, key="gone", url=upstream.url + "/gone")
    assert upstream.requests_for("/gone") == 2


def test_an_unreachable_upstream_is_a_502_naming_it(db):
    port = free_port()
    dead = repository_create(
        name="dead", format="raw", kind="proxy", upstream_url=f"http://127.0.0.1:{port}/"
    )

    assert dead.upstream_status.startswith("unreachable")
    with pytest.raises(UpstreamUnavailable, match=f"127.0.0.1:{port}"):
        proxy_asset(repository=dead, path="x", url=f"http://127.0.0.1:{port}/x")


@override_settings(UPSTREAM_READ_TIMEOUT=0.5)
def test_a_silent_upstream_is_a_504(db):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        silent = Repository.objects.create(
            name="silent", format="raw", kind="proxy", upstream_url=url
        )
        with pytest.raises(UpstreamTimeout) as timed_out:
            proxy_asset(repository=silent, path="x", url=url + "x")
    finally:
        listener.close()
    assert timed_out.value.http_status == 504


def test_configured_credentials_go_upstream_and_the_token_flow_is_followed(db, upstream):
    realm = upstream.url + "/token"
    upstream.routes["/token?service=up&scope=repository%3Ax%3Apull"] = (
        200,
        {"Content-Type": "application/json"},
        json.dumps({"token": "tok-1", "expires_in": 300}).encode(),
    )
    challenge = f'Bearer realm="{realm}",service="up",scope="repository:x:pull"'

    def answer(path, headers):
        if path == "/v2/x" and headers.get("Authorization") != "Bearer tok-1":
            return 401, {"WWW-Authenticate": challenge}, b""
        return Upstream.answer(upstream, path, headers)

    upstream.answer = answer
    upstream.routes["/v2/x"] = (200, {}, b"ok")
    proxy = repository_create(
        name="oci-like",
        format="raw",
        kind="proxy",
        upstream_url=upstream.url + "/",
        upstream_username="robot",
        upstream_password="s3cret",
    )
    upstream.seen.clear()

    response = upstream_open(repository=proxy, url=upstream.url + "/v2/x")
    assert response.status == 200
    assert response.read(100) == b"ok"
    basic = "Basic " + base64.b64encode(b"robot:s3cret").decode()
    token_request = [h for path, h in upstream.seen if path.startswith("/token")]
    assert token_request[0]["Authorization"] == basic
    assert upstream.seen[-1][1]["Authorization"] == "Bearer tok-1"

    # The token is reused while it is valid.
    upstream_open(repository=proxy, url=upstream.url + "/v2/x").close()
    assert sum(1 for path, _ in upstream.seen if path.startswith("/token")) == 1


def test_a_clients_own_credentials_never_go_upstream(
    proxy, upstream, client, make_user, make_token
):
    upstream.routes["/file.txt"] = (200, {}, b"hello")
    admin = make_user(is_superuser=True)
    pair = f"{admin.username}:{make_token(admin)}"
    basic = "Basic " + base64.b64encode(pair.encode()).decode()

    response = client.get("/repository/proxy/file.txt", HTTP_AUTHORIZATION=basic)

    assert response.status_code == 200
    assert b"".join(response) == b"hello"
    assert upstream.seen
    assert all("Authorization" not in headers for _, headers in upstream.seen)


@pytest.fixture
def https_upstream(tmp_path, upstream) -> Iterator[tuple[Upstream, Path]]:
    certificate = make_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    upstream.server.socket = context.wrap_socket(upstream.server.socket, server_side=True)
    upstream.url = upstream.url.replace("http://", "https://")
    _pool.cache_clear()
    yield upstream, certificate.cert
    _pool.cache_clear()


def test_https_upstreams_are_verified_against_the_trusted_cas(db, https_upstream, settings):
    upstream, cert = https_upstream
    upstream.routes["/f"] = (200, {}, b"over tls")
    proxy = Repository.objects.create(
        name="tls", format="raw", kind="proxy", upstream_url=upstream.url + "/"
    )

    with pytest.raises(UpstreamUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        proxy_asset(repository=proxy, path="f", url=upstream.url + "/f")
    settings.UPSTREAM_CA_FILE = str(cert)
    _pool.cache_clear()
    asset = proxy_asset(repository=proxy, path="f", url=upstream.url + "/f")

    assert asset.blob_id == hashlib.sha256(b"over tls").hexdigest()


def test_upstream_credentials_go_to_the_upstreams_origin_only(db, upstream):
    other = Upstream()
    try:
        other.routes["/file"] = (200, {}, b"elsewhere")
        upstream.routes["/file"] = (200, {}, b"here")
        proxy = Repository.objects.create(
            name="creds",
            format="raw",
            kind="proxy",
            upstream_url=upstream.url + "/",
            upstream_password="secret-token",
        )

        upstream_open(repository=proxy, url=upstream.url + "/file").close()
        upstream_open(repository=proxy, url=other.url + "/file").close()
    finally:
        other.server.shutdown()
        other.server.server_close()

    assert upstream.seen[-1][1]["Authorization"] == "Bearer secret-token"
    assert "Authorization" not in other.seen[-1][1]


def test_a_document_larger_than_its_limit_is_an_upstream_failure_and_not_kept(proxy, upstream):
    upstream.routes["/big"] = (200, {}, b"x" * 2048)

    with pytest.raises(UpstreamUnavailable, match="sent more than 1024 bytes"):
        proxy_document(repository=proxy, key="big", url=upstream.url + "/big", max_size=1024)

    assert not ProxyEntry.objects.filter(key="big").exists()
    assert proxy_document(repository=proxy, key="big", url=upstream.url + "/big").content == (
        b"x" * 2048
    )


def test_a_corrupt_cached_file_is_never_served_stale_when_the_upstream_fails(
    proxy, upstream, client
):
    content = b"cached once" * 100
    upstream.routes["/f.bin"] = (200, {}, content)
    asset = proxy_asset(repository=proxy, path="f.bin", url=upstream.url + "/f.bin")
    Blob.objects.filter(pk=asset.blob_id).update(corrupt=timezone.now())  # as fsck marks it
    upstream.routes["/f.bin"] = (503, {}, b"down")

    with pytest.raises(UpstreamUnavailable, match="503"):
        proxy_asset(repository=proxy, path="f.bin", url=upstream.url + "/f.bin")

    upstream.routes["/f.bin"] = (200, {}, content)
    again = proxy_asset(repository=proxy, path="f.bin", url=upstream.url + "/f.bin")
    assert (again.pk, again.blob_id) == (asset.pk, asset.blob_id)
    assert Blob.objects.get(pk=asset.blob_id).corrupt is None
    assert upstream.requests_for("/f.bin") == 3


def test_a_file_a_proxy_keeps_is_audited_as_cached_once(proxy, upstream):
    upstream.routes["/kept.bin"] = (200, {}, b"kept bytes")

    for _ in range(2):
        proxy_asset(repository=proxy, path="kept.bin", url=upstream.url + "/kept.bin")

    (event,) = AuditEvent.objects.filter(action=Action.ASSET_CACHE)
    assert (event.repository, event.username, event.details["path"]) == ("proxy", "", "kept.bin")
    assert event.details["size"] == len(b"kept bytes")
