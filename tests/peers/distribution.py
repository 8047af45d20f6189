"""CNCF Distribution (Debian's ``docker-registry``) as a peer OCI registry in tests.

Filesystem storage in a temporary directory, on a free loopback port; optionally behind
htpasswd (Basic) authentication. Its access log (stderr, one line per request) lets a test
count what a proxy fetched from it. Images are pushed to it with skopeo from umoci layouts.
"""

import re
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.formats.oci.clients import Layout, Skopeo
from tests.live import free_port, require_client, settled_text

# Distribution logs each request as ``"GET /v2/... HTTP/1.1" 200 ...`` (combined log format).
_ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>[0-9]{3})')


def bcrypt_hash(password: str) -> str:
    """Return a cheap (cost 4) bcrypt hash for htpasswd: libxcrypt's, through the stdlib."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # deprecated in 3.11, but the only bcrypt the stdlib has

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


@dataclass
class Distribution:
    """A running ``docker-registry`` process."""

    url: str
    host: str
    process: subprocess.Popen
    log: Path
    credentials: tuple[str, str] | None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def requests_seen(self, method: str, path_pattern: str) -> list[str]:
        """Return the paths of logged requests with ``method`` whose path matches the pattern."""
        pattern = re.compile(path_pattern)
        return [
            match["path"]
            for match in _ACCESS_LINE.finditer(settled_text(self.log))
            if match["method"] == method and pattern.search(match["path"])
        ]

    def push(self, skopeo: Skopeo, layout: Layout, *, tag: str, image: str) -> None:
        """Copy ``layout:tag`` to ``image`` (``name:tag``) in this registry."""
        creds = ["--dest-creds", ":".join(self.credentials)] if self.credentials else []
        skopeo(
            "copy",
            "--dest-tls-verify=false",
            *creds,
            f"oci:{layout.path}:{tag}",
            f"docker://{self.host}/{image}",
        )


def start_distribution(
    directory: Path, *, credentials: tuple[str, str] | None = None, port: int | None = None
) -> Distribution:
    """Start Distribution with its storage and log under ``directory``; wait until it answers.

    With ``credentials`` (user, password) every request needs them (htpasswd, Basic). ``port``
    lets a test restart it where a proxy already points.
    """
    binary = require_client("docker-registry")
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    auth = ""
    if credentials is not None:
        htpasswd = directory / "htpasswd"
        htpasswd.write_text(f"{credentials[0]}:{bcrypt_hash(credentials[1])}\n")
        auth = f"auth:\n  htpasswd:\n    realm: peer\n    path: {htpasswd}\n"
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: false\n"
        f"storage:\n  filesystem:\n    rootdirectory: {directory / 'storage'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        f"{auth}"
    )
    log = directory / "distribution.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/v2/", timeout=2).status_code in (200, 401):
                return Distribution(
                    url=url,
                    host=f"127.0.0.1:{port}",
                    process=process,
                    log=log,
                    credentials=credentials,
                )
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"docker-registry did not start: {log.read_text()[-2000:]}")
