"""pypiserver 2.x as a peer PyPI index: a directory of real distributions, HTML pages only.

``pypi-server run`` serves ``/simple/`` (PEP 503 HTML, ``#sha256=`` fragments) and the files
below ``/packages/``; every request is logged, so tests count what a proxy fetched.
"""

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.live import BIN, free_port, settled_text

REQUEST_LINE = re.compile(r"<LocalRequest: (GET|HEAD) https?://[^/]+(\S+)>")


@dataclass
class PypiServer:
    """A running pypiserver; ``stop`` and ``start`` again on the same port and directory."""

    directory: Path
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def simple_url(self) -> str:
        return f"{self.url}/simple/"

    def start(self) -> "PypiServer":
        """Start serving ``directory`` (no authentication) and wait until it answers."""
        executable = BIN / "pypi-server"
        if not executable.exists():
            pytest.skip("pypiserver is not installed (pip install pypiserver==2.4.2)")
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(executable), "run", "-p", str(self.port), "-i", "127.0.0.1"]
                + ["-a", ".", "-P", ".", "-v", "--log-req-frmt", "%(bottle.request)s"]
                + [str(self.directory)],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.simple_url, timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pypiserver did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def requests_for(self, path_prefix: str) -> list[str]:
        """The paths requested so far that start with ``path_prefix``."""
        text = settled_text(self.log)
        paths = [path for _method, path in REQUEST_LINE.findall(text)]
        return [path for path in paths if path.startswith(path_prefix)]
