"""Garbage collection with no grace period while clients keep uploading the same content.

Real processes, as in production: the gunicorn server (two workers) takes raw-file PUTs and
DELETEs and OCI pushes of images that share layers, from several client threads at once,
while a collector process (``tests/storage/gc_loop.py``) runs the OCI reachability GC and the
blob store's GC back to back with grace 0. Afterwards every stored blob is read back and
hashed, and every file and tag the clients last saw stored is fetched over HTTP.
"""

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urljoin

import pytest
import requests

from access.models import Role
from access.services import role_grant
from formats.models import Tag
from formats.oci.manifests import MIME_OCI_CONFIG, MIME_OCI_LAYER_TAR_GZIP, MIME_OCI_MANIFEST
from formats.oci.models import OciManifest
from formats.oci.services import oci_gc
from storage.backends import blob_backend
from storage.models import Blob
from tests.factories import RepositoryFactory
from tests.live import ROOT, child_environment

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.environment_store]

LOAD_SECONDS = 30
# Every OCI client pushes at least this many images over TAGS tags, however slow the machine,
# so some manifests are left untagged for the collector.
MIN_OCI_TURNS = 4
TAGS = 2
RAW_CLIENTS = 4
OCI_CLIENTS = 2
# Few distinct contents, so clients keep re-sending what another one just made garbage.
FILES = [os.urandom(64 * 1024 + n) for n in range(6)]
LAYERS = [os.urandom(32 * 1024 + n) for n in range(4)]
RETRIES = 50
TIMEOUT = 60


class Client:
    """One client's view: what it last stored, and every answer it did not expect."""

    def __init__(self, base: str, auth: tuple[str, str], seed: int) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.auth = auth
        self.random = random.Random(seed)
        self.unexpected: list[str] = []

    def send(self, method: str, url: str, expected: set[int], **kwargs) -> requests.Response:
        """Send, retrying the retryable (503: content collected before it was used)."""
        for _ in range(RETRIES):
            response = self.session.request(
                method, urljoin(self.base, url), timeout=TIMEOUT, **kwargs
            )
            if response.status_code != 503:
                break
            time.sleep(0.02)
        if response.status_code not in expected:
            self.unexpected.append(f"{method} {url}: {response.status_code} {response.text[:300]}")
        return response


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _raw_client(client: Client, number: int, deadline: float) -> dict[str, str]:
    """PUT files of shared content, deleting older ones; return path -> sha256 left stored."""
    stored: dict[str, str] = {}
    order: deque[str] = deque()
    for turn in range(10**9):
        if time.monotonic() >= deadline:
            break
        content = client.random.choice(FILES)
        path = f"/repository/stress-raw/c{number}/{turn}.bin"
        if client.send("PUT", path, {201}, data=content).status_code == 201:
            stored[path] = _sha256(content)
            order.append(path)
        if len(order) > 2:
            old = order.popleft()
            if client.send("DELETE", old, {204}).status_code == 204:
                del stored[old]
    return stored


def _push_blob(client: Client, image: str, data: bytes, chunked: bool) -> None:
    digest = f"sha256:{_sha256(data)}"
    if not chunked:
        client.send("POST", f"/v2/{image}/blobs/uploads/?digest={digest}", {201}, data=data)
        return
    # With no grace period every idle session is abandoned: the collector may cancel it between
    # two requests, and the client starts over (BLOB_UPLOAD_UNKNOWN), as the spec lets it.
    for _ in range(RETRIES):
        started = client.send("POST", f"/v2/{image}/blobs/uploads/", {202})
        if started.status_code != 202:
            return
        headers = {"Content-Type": "application/octet-stream"}
        patched = client.send(
            "PATCH", started.headers["Location"], {202, 404}, data=data, headers=headers
        )
        if patched.status_code == 202:
            location = patched.headers["Location"]
            separator = "&" if "?" in location else "?"
            finished = client.send("PUT", f"{location}{separator}digest={digest}", {201, 404})
            if finished.status_code == 201:
                return
            patched = finished
        if "BLOB_UPLOAD_UNKNOWN" not in patched.text:
            client.unexpected.append(f"upload of {digest}: {patched.status_code} {patched.text}")
            return


def _descriptor(media_type: str, data: bytes) -> dict:
    return {"mediaType": media_type, "digest": f"sha256:{_sha256(data)}", "size": len(data)}


def _oci_client(client: Client, number: int, deadline: float) -> dict[str, tuple[str, list]]:
    """Push images sharing layers, moving the tags; return tag URL -> (digest, blobs)."""
    image = f"stress-oci/app{number}"
    stored: dict[str, tuple[str, list]] = {}
    for turn in range(10**9):
        if turn >= MIN_OCI_TURNS and time.monotonic() >= deadline:
            break
        config = json.dumps({"client": number, "turn": turn}).encode()
        layers = client.random.sample(LAYERS, 2)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MIME_OCI_MANIFEST,
                "config": _descriptor(MIME_OCI_CONFIG, config),
                "layers": [_descriptor(MIME_OCI_LAYER_TAR_GZIP, layer) for layer in layers],
            }
        ).encode()
        url = f"/v2/{image}/manifests/t{turn % TAGS}"
        # A blob collected between its upload and the manifest is MANIFEST_BLOB_UNKNOWN: the
        # client uploads it again, as docker and skopeo do on a new push.
        for _ in range(RETRIES):
            for position, blob in enumerate([config, *layers]):
                _push_blob(client, image, blob, chunked=(turn + position) % 2 == 1)
            pushed = client.send(
                "PUT", url, {201, 400}, data=manifest, headers={"Content-Type": MIME_OCI_MANIFEST}
            )
            if pushed.status_code != 400:
                break
            if "MANIFEST_BLOB_UNKNOWN" not in pushed.text:
                client.unexpected.append(f"PUT {url}: 400 {pushed.text[:300]}")
                break
        if pushed.status_code == 201:
            stored[url] = (f"sha256:{_sha256(manifest)}", [config, *layers])
    return stored


def _run(work: Callable[[], dict]) -> dict:
    return work()


def test_gc_without_grace_never_loses_what_clients_stored(
    live_registry, make_user, make_token, tmp_path
):
    raw = RepositoryFactory(name="stress-raw", format="raw")
    oci = RepositoryFactory(name="stress-oci", format="oci")
    user = make_user(raw, Role.DELETE)
    role_grant(repository=oci, role=Role.DELETE, user=user)
    token = make_token(user)
    auth = (user.username, token)

    stop = tmp_path / "stop"
    collector = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.gc_loop", str(stop), str(4 * LOAD_SECONDS)],
        cwd=ROOT,
        env=child_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + LOAD_SECONDS
    clients = [Client(live_registry.url, auth, seed) for seed in range(RAW_CLIENTS + OCI_CLIENTS)]
    jobs = [
        (lambda c=c, n=n: _raw_client(c, n, deadline)) for n, c in enumerate(clients[:RAW_CLIENTS])
    ] + [
        (lambda c=c, n=n: _oci_client(c, n, deadline)) for n, c in enumerate(clients[RAW_CLIENTS:])
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(_run, jobs))
    stop.touch()
    output, errors = collector.communicate(timeout=120)
    assert collector.returncode == 0, errors[-3000:]
    passes = [json.loads(line) for line in output.splitlines()]

    problems = [problem for client in clients for problem in client.unexpected]
    assert problems == [], problems[:20]
    # The collector really raced the clients: it removed content they went on to send again.
    assert sum(result["blobs"] for result in passes) > 0

    backend = blob_backend()
    missing, corrupt = [], []
    for sha256 in Blob.objects.values_list("sha256", flat=True):
        if not backend.exists(Blob(sha256=sha256).path):
            missing.append(sha256)
            continue
        with backend.open(Blob(sha256=sha256).path) as stored:
            if hashlib.file_digest(stored, "sha256").hexdigest() != sha256:
                corrupt.append(sha256)
    assert (missing, corrupt) == ([], [])

    reader = Client(live_registry.url, auth, seed=0)
    raw_files = {path: sha for result in results[:RAW_CLIENTS] for path, sha in result.items()}
    assert raw_files
    for path, sha256 in raw_files.items():
        assert _sha256(reader.send("GET", path, {200}).content) == sha256
    tags = {url: pushed for result in results[RAW_CLIENTS:] for url, pushed in result.items()}
    # With no grace period a push can lose every race to the collector (a blob collected before
    # its manifest arrives): liveness is not what this proves, but each client got through.
    assert all(result for result in results[RAW_CLIENTS:])
    for url, (digest, blobs) in tags.items():
        manifest = reader.send("GET", url, {200}, headers={"Accept": MIME_OCI_MANIFEST})
        assert manifest.headers["Docker-Content-Digest"] == digest
        image = url.split("/manifests/")[0]
        for blob in blobs:
            fetched = reader.send("GET", f"{image}/blobs/sha256:{_sha256(blob)}", {200})
            assert fetched.content == blob
    assert reader.unexpected == []
    # What the race left behind is still collectable: one more pass leaves the tagged images.
    oci_gc(grace=timedelta(0), delete_untagged=True)
    assert OciManifest.objects.count() == len(tags), (
        list(OciManifest.objects.values_list("digest", "version_id", "pushed")),
        list(Tag.objects.values_list("name", "version_id", "package__name")),
        {url: d for r in results[RAW_CLIENTS:] for url, (d, _) in r.items()},
        passes[-5:],
    )
