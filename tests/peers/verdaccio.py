"""Verdaccio, a registry that is not ours, as the upstream of npm proxy tests.

Verdaccio 6.8.0 is installed once under ``/work/peers/verdaccio`` (``VERDACCIO`` names another
binary): see PEERS.md. One instance runs per test session on a free loopback port, with no
uplinks, an htpasswd user who publishes, and every request in its log (``fetches`` counts them).
"""

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.formats.npm.helpers import publish_body
from tests.live import free_port

DEFAULT_BINARY = "/work/peers/verdaccio/node_modules/.bin/verdaccio"
USER, PASSWORD = "peer", "peer-password"
CONFIG = """storage: {storage}
auth:
  htpasswd:
    file: {storage}/htpasswd
    max_users: 10
uplinks: {{}}
packages:
  "**":
    access: $all
    publish: $authenticated
    unpublish: $authenticated
listen: 127.0.0.1:{port}
log: {{type: stdout, format: pretty, level: http}}
"""


@dataclass
class Verdaccio:
    url: str  # the registry root, ending in "/"
    token: str
    process: subprocess.Popen
    log: Path

    def publish(self, name: str, version: str, **options: object) -> None:
        """Publish ``name@version`` (``publish_body``'s options) unless it is there already."""
        response = requests.put(
            f"{self.url}{name.replace('/', '%2f')}",
            data=publish_body(name, version, **options),  # type: ignore[arg-type]
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            timeout=30,
        )
        if response.status_code != 409:
            assert response.status_code in (200, 201), response.text

    def fetches(self, path: str) -> int:
        """Return how many GET requests for ``path`` (below the root) Verdaccio has logged.

        Verdaccio writes its log asynchronously, in order: once a marker request sent now shows
        in the log, every request before it does.
        """
        marker = f"-/marker-{uuid.uuid4().hex}"
        requests.get(f"{self.url}{marker}", timeout=10)
        deadline = time.monotonic() + 15
        text = self.log.read_text(errors="replace")
        while f"requested 'GET /{marker}'" not in text and time.monotonic() < deadline:
            time.sleep(0.1)
            text = self.log.read_text(errors="replace")
        return text.count(f"requested 'GET /{path}'")


def _binary() -> str:
    binary = os.environ.get("VERDACCIO", DEFAULT_BINARY)
    if not Path(binary).exists():
        message = f"Verdaccio is not installed at {binary} (see PEERS.md)"
        if os.environ.get("REQUIRE_CLIENTS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return binary


def start_verdaccio(directory: Path) -> Verdaccio:
    """Start Verdaccio serving ``directory`` and sign its publishing user up."""
    binary, port = _binary(), free_port()
    storage = directory / "storage"
    storage.mkdir(parents=True)
    config = directory / "config.yaml"
    config.write_text(CONFIG.format(storage=storage, port=port))
    log = directory / "verdaccio.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, "--config", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"verdaccio exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}-/ping", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"verdaccio did not start: {log.read_text()[-2000:]}")
    signup = requests.put(
        f"{url}-/user/org.couchdb.user:{USER}",
        data=json.dumps({"name": USER, "password": PASSWORD}),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert signup.status_code == 201, signup.text
    return Verdaccio(url=url, token=signup.json()["token"], process=process, log=log)


@pytest.fixture(scope="session")
def verdaccio(tmp_path_factory) -> Iterator[Verdaccio]:
    """A Verdaccio for the whole session; publish names unique to each test."""
    server = start_verdaccio(tmp_path_factory.mktemp("verdaccio"))
    yield server
    server.process.terminate()
    server.process.wait(timeout=20)
