"""The HTTP client of proxy repositories: one pooled connection manager for every upstream.

Requests to the upstream's own origin carry the repository's upstream credentials (HTTP Basic
with a username, a bearer token without one), never the client's; files an upstream links on
other hosts are fetched without them. An upstream that answers 401 with a ``Bearer realm=...``
challenge (the Docker/OCI token flow) gets a token fetched from its realm, anonymously or with
the configured credentials, cached until it expires. Redirects are followed; credentials are
dropped when a redirect leaves the upstream's host (urllib3's default).
"""

import base64
import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlencode, urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError, TimeoutError

from formats.base import format_config
from formats.errors import UpstreamTimeout, UpstreamUnavailable
from formats.models import Repository
from registry_project.metrics import UPSTREAM_FETCHES

logger = logging.getLogger(__name__)
CHUNK_SIZE = 1024 * 1024
MAX_TOKEN_RESPONSE = 64 * 1024
PROBE_TIMEOUT = 3.0
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_tokens: dict[tuple[int, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


@cache
def _pool() -> urllib3.PoolManager:
    context = ssl.create_default_context()  # the system's CAs
    if settings.UPSTREAM_CA_FILE:
        context.load_verify_locations(settings.UPSTREAM_CA_FILE)
    return urllib3.PoolManager(num_pools=64, maxsize=32, ssl_context=context)


@dataclass
class UpstreamResponse:
    """An upstream's answer with its body not read yet; close it (or read it all) when done."""

    url: str
    status: int
    headers: Mapping[str, str]
    raw: urllib3.BaseHTTPResponse

    def read(self, limit: int) -> bytes:
        """Return the whole body; raise UpstreamUnavailable when it is larger than ``limit``."""
        try:
            body = self.raw.read(limit + 1, decode_content=True)
        except HTTPError as error:
            raise _failure(self.url, error) from error
        finally:
            self.close()
        if len(body) > limit:
            raise UpstreamUnavailable(f"{_host(self.url)} sent more than {limit} bytes")
        return body

    def stream(self) -> Iterator[bytes]:
        """Yield the body in chunks as it arrives (decoded if it was compressed in transit)."""
        try:
            yield from self.raw.stream(CHUNK_SIZE, decode_content=True)
        except HTTPError as error:
            raise _failure(self.url, error) from error
        finally:
            self.close()

    def close(self) -> None:
        """Hand the connection back; one with body left unread is closed, it cannot be reused."""
        if not self.raw.closed:
            self.raw.close()
        self.raw.release_conn()


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, f"{parts.hostname}:{parts.port or default}"


def _failure(url: str, error: Exception) -> UpstreamUnavailable:
    if isinstance(error, TimeoutError) or "timed out" in str(error):
        return UpstreamTimeout(f"upstream {_host(url)} did not answer in time")
    reason = getattr(error, "reason", None) or error
    return UpstreamUnavailable(f"upstream {_host(url)} is unreachable: {reason}")


@contextmanager
def upstream_errors(url: str) -> Iterator[None]:
    """Turn urllib3's failures while reading an upstream body into UpstreamUnavailable."""
    try:
        yield
    except HTTPError as error:
        raise _failure(url, error) from error


def _credentials(repository: Repository) -> str | None:
    if repository.upstream_username:
        pair = f"{repository.upstream_username}:{repository.upstream_password}"
        return "Basic " + base64.b64encode(pair.encode()).decode()
    if repository.upstream_password:
        return f"Bearer {repository.upstream_password}"
    return None


def _send(
    url: str, *, method: str, headers: dict[str, str], timeout: float | None
) -> urllib3.BaseHTTPResponse:
    limits = urllib3.Timeout(
        connect=settings.UPSTREAM_CONNECT_TIMEOUT if timeout is None else timeout,
        read=settings.UPSTREAM_READ_TIMEOUT if timeout is None else timeout,
    )
    retries = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5)
    try:
        return _pool().request(
            method, url, headers=headers, preload_content=False, timeout=limits, retries=retries
        )
    except HTTPError as error:
        raise _failure(url, error) from error


def _bearer_token(repository: Repository, challenge: str, url: str) -> str | None:
    """Fetch (or reuse) a token for a ``Bearer realm=...`` challenge; None if there is none."""
    params = dict(_CHALLENGE_PARAM.findall(challenge))
    realm = params.pop("realm", "")
    if not realm.startswith(("http://", "https://")):
        return None
    scope_key = f"{realm} {params.get('service', '')} {params.get('scope', '')}"
    with _tokens_lock:
        known = _tokens.get((repository.pk, scope_key))
    if known is not None and known[1] > time.monotonic():
        return known[0]
    query = urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
    headers = {"Accept": "application/json"}
    if repository.upstream_username:  # a bearer token of our own is no password for a realm
        headers["Authorization"] = _credentials(repository) or ""
    answer = _send(
        f"{realm}?{query}" if query else realm, method="GET", headers=headers, timeout=None
    )
    response = UpstreamResponse(url=realm, status=answer.status, headers=answer.headers, raw=answer)
    body = response.read(MAX_TOKEN_RESPONSE)
    if response.status != 200:
        logger.warning("token realm %s answered %s for %s", realm, response.status, url)
        return None
    try:
        document = json.loads(body)
        token = str(document.get("token") or document.get("access_token") or "")
        lifetime = float(document.get("expires_in") or 60)
    except (ValueError, AttributeError):
        return None
    if not token:
        return None
    with _tokens_lock:
        _tokens[(repository.pk, scope_key)] = (token, time.monotonic() + max(lifetime - 10, 5))
    return token


def upstream_open(
    *,
    repository: Repository,
    url: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> UpstreamResponse:
    """Send one request to ``repository``'s upstream and return its answer, body unread.

    Any status is returned (the caller decides what a 404 or a 304 means); only a failure to
    get an answer raises.

    Raises:
        UpstreamUnavailable: connection refused, reset, TLS or protocol error (502).
        UpstreamTimeout: no answer within the configured timeouts (504).
    """
    sent = {"User-Agent": "registry-proxy", **(headers or {})}
    credentials = _credentials(repository)
    if credentials and _origin(url) == _origin(repository.upstream_url):
        # Documents may link files on other hosts: those never see the upstream's secret.
        sent["Authorization"] = credentials
    started = time.monotonic()
    try:
        answer = _send(url, method=method, headers=sent, timeout=timeout)
        challenge = answer.headers.get("WWW-Authenticate", "")
        if answer.status == 401 and challenge.lower().startswith("bearer "):
            token = _bearer_token(repository, challenge, url)
            if token is not None:
                answer.drain_conn()
                answer.release_conn()
                sent["Authorization"] = f"Bearer {token}"
                answer = _send(url, method=method, headers=sent, timeout=timeout)
    except UpstreamUnavailable as error:  # and UpstreamTimeout
        UPSTREAM_FETCHES.labels(repository.name, error.code.lower().removeprefix("upstream_")).inc()
        logger.warning("upstream %s %s failed: %s", method, url, error.message)
        raise
    UPSTREAM_FETCHES.labels(repository.name, _result(answer.status)).inc()
    logger.info(
        "upstream %s %s -> %s in %.0f ms",
        method,
        url,
        answer.status,
        (time.monotonic() - started) * 1000,
    )
    return UpstreamResponse(url=url, status=answer.status, headers=answer.headers, raw=answer)


def _result(status: int) -> str:
    """The ``result`` label of an upstream answer: its status class (``2xx``, ``4xx``...)."""
    return "not_modified" if status == 304 else f"{status // 100}xx"


def upstream_probe_status(*, repository: Repository) -> str:
    """Return a one-line account of whether ``repository``'s upstream answers."""
    config = format_config(repository.format)
    url = config.upstream_probe_url(repository) if config is not None else repository.upstream_url
    try:
        response = upstream_open(repository=repository, url=url, timeout=PROBE_TIMEOUT)
    except UpstreamUnavailable as error:
        return f"unreachable: {error.message}"
    response.raw.drain_conn()
    response.close()
    return f"reachable: HTTP {response.status} from {url}"
