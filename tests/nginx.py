"""nginx for the tests and benchmarks: our production configuration, or plain static files.

The end-to-end tests and bench/maven.py run the file we ship (deploy/nginx.conf), with only its
addresses and folders replaced, inside a minimal main configuration of their own; the
benchmarks also run a static nginx, the limit to compare with.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.live import settled_text

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_CONF = ROOT / "deploy" / "nginx.conf"
NGINX = "/usr/sbin/nginx"
MAIN_CONF = """
{user}
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    {access_log}
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    include {root}/server.conf;
}}
"""


def render_production_conf(
    *,
    upstream: str,
    listen: str,
    mirror_dir: Path,
    blob_dir: Path,
    cache_dir: Path,
    downloads_dir: Path,
    access_log: str,
) -> str:
    """Return deploy/nginx.conf with its docker-compose addresses and folders replaced.

    ``access_log`` replaces the access_log directive of the main log.

    Raises:
        ValueError: the file no longer contains one of the literals replaced here.
    """
    text = DEPLOY_CONF.read_text()
    replacements = {
        "server web:8000;": f"server {upstream};",
        "listen 80;": f"listen {listen};",
        "/var/lib/registry/mirror": str(mirror_dir),
        "/var/lib/registry/blobs/": f"{blob_dir}/",
        "/var/cache/nginx/registry-auth": str(cache_dir),
        "/var/log/registry/downloads/": f"{downloads_dir}/",
        "access_log /var/log/nginx/access.log;": access_log,
    }
    for literal, value in replacements.items():
        if literal not in text:
            raise ValueError(f"{DEPLOY_CONF} no longer contains {literal!r}")
        text = text.replace(literal, value)
    return text


class Nginx:
    """nginx on a free loopback port, its files in ``root``; subclasses say what it serves."""

    def __init__(
        self, root: Path, *, workers: int = 1, access_log: bool = True, binary: str = NGINX
    ) -> None:
        self.root = root
        self.binary = binary
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = f"access_log {root}/access.log;" if access_log else "access_log off;"
        self.main_conf = MAIN_CONF.format(
            # As root, workers would run as nobody, who cannot enter pytest's 0700 folders.
            user="user root;" if os.geteuid() == 0 else "",
            workers=workers,
            root=root,
            access_log=self.access_log,
        )
        self.process: subprocess.Popen | None = None

    def server_conf(self) -> str:
        """Return the ``http``-level configuration: the server blocks."""
        raise NotImplementedError

    def access_lines(self) -> list[str]:
        """Return the access log's lines, once nginx has written the last request's."""
        return settled_text(self.root / "access.log").splitlines()

    @property
    def error_log(self) -> str:
        log = self.root / "error.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""

    def start(self) -> "Nginx":
        """Write the configuration, start nginx and wait until it accepts connections."""
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        (self.root / "server.conf").write_text(self.server_conf())
        (self.root / "nginx.conf").write_text(self.main_conf)
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.root / "nginx.conf"), "-p", str(self.root)]
            + ["-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not start:\n{self.error_log}")

    def stop(self) -> None:
        """Stop nginx (graceful quit, then kill)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "Nginx":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ProductionNginx(Nginx):
    """nginx proxying to ``upstream`` (host:port) with the configuration production runs.

    It logs the downloads it sends from the mirror in ``downloads_dir`` (the registry's
    MIRROR_DOWNLOADS_DIR).
    """

    def __init__(
        self,
        root: Path,
        *,
        upstream: str,
        mirror_dir: Path,
        blob_dir: Path,
        downloads_dir: Path,
        **options: Any,
    ) -> None:
        super().__init__(root, **options)
        self.cache_dir = root / "auth-cache"
        self.conf = render_production_conf(
            upstream=upstream,
            listen=f"127.0.0.1:{self.port}",
            mirror_dir=mirror_dir,
            blob_dir=blob_dir,
            cache_dir=self.cache_dir,
            downloads_dir=downloads_dir,
            access_log=self.access_log,
        )

    def server_conf(self) -> str:
        return self.conf


class StaticNginx(Nginx):
    """nginx sending the files under ``serve`` with sendfile: the static-file limit.

    ``types`` is the body of nginx's ``types`` block (what Content-Type each extension gets).
    """

    def __init__(self, root: Path, *, serve: Path, types: str = "", **options: Any) -> None:
        super().__init__(root, **options)
        self.serve = serve
        self.types = types

    def server_conf(self) -> str:
        return (
            f"types {{ {self.types} }}\n"
            f"server {{ listen 127.0.0.1:{self.port}; root {self.serve};"
            " location / { autoindex on; } }\n"
        )
