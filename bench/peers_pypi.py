"""pypiserver (the PyPI upstream, serving a folder of wheels) and devpi-server (the peer proxy: a
mirror index of that upstream) for the proxy benchmark, run from this virtualenv."""

import subprocess
from pathlib import Path

from harness import BIN, free_port, stop, wait_for
from pypi import clean_env

DEVPI_ROOT_PASSWORD = "bench-root-password"


class Process:
    """A peer server process with its log in ``work``."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def spawn(self, command: list[str], ready: str, name: str) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        log = self.work / f"{name}.log"
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                command, cwd=self.work, env=clean_env(), stdout=output, stderr=subprocess.STDOUT
            )
        wait_for(ready, self.process, log, timeout=300)  # devpi takes minutes on a busy machine

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class PypiServer(Process):
    """pypiserver serving ``packages`` without authentication; ``simple`` is its index URL.

    No fallback: a name it does not have is a 404, not a redirect to the public index.
    """

    def start(self, packages: Path) -> None:
        self.simple = f"{self.url}/simple/"
        command = [str(BIN / "pypi-server"), "run", "-v", "--disable-fallback"]
        command += ["-p", str(self.port), "-i", "127.0.0.1", "-a", ".", "-P", "."]
        self.spawn([*command, str(packages)], self.simple, "pypiserver")

    def requests_served(self) -> int:
        """Requests logged so far (``-v`` logs each), the start-up probe included."""
        return (self.work / "pypiserver.log").read_text(errors="replace").count("<LocalRequest: ")


class Devpi(Process):
    """devpi-server with a fresh server dir; ``mirror`` adds a mirror index of an upstream.

    No ``--offline-mode``: offline, a mirror index serves only what it cached before.
    """

    def devpi(self, *args: str) -> None:
        command = [str(BIN / "devpi"), "--clientdir", str(self.work / "client"), *args]
        result = subprocess.run(
            command, cwd=self.work, env=clean_env(), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"devpi {' '.join(args)} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> None:
        server_dir = self.work / "server"
        subprocess.run(
            [str(BIN / "devpi-init"), "--serverdir", str(server_dir)]
            + ["--root-passwd", DEVPI_ROOT_PASSWORD],
            env=clean_env(),
            capture_output=True,
            check=True,
        )
        command = [str(BIN / "devpi-server"), "--serverdir", str(server_dir)]
        self.spawn([*command, "--host", "127.0.0.1", "--port", str(self.port)], self.url, "devpi")
        self.devpi("use", self.url)
        self.devpi("login", "root", "--password", DEVPI_ROOT_PASSWORD)

    def mirror(self, name: str, upstream: str) -> str:
        """Create the mirror index ``root/NAME`` of ``upstream``; return its simple index URL."""
        self.devpi("index", "-c", f"root/{name}", "type=mirror", f"mirror_url={upstream}")
        return f"{self.url}/root/{name}/+simple/"
