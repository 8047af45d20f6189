"""A real registry process (gunicorn) and a real Celery worker for end-to-end tests.

Both run the test settings against the test database that pytest-django created, so data a
transactional test writes is what they see.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest
import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def database_url() -> str:
    """Return a DATABASE_URL for the test database currently configured in this process."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{credentials}{host}/{db['NAME']}"


def settled_text(path: Path, *, settle: float = 0.2, limit: float = 3.0) -> str:
    """Return a server's log once it stopped growing for ``settle`` seconds (or after ``limit``).

    Servers write a request's access-log line after they sent the response, so a client that
    has its answer may look before the line is there.
    """

    def read() -> str:
        return path.read_text(errors="replace") if path.exists() else ""

    deadline = time.monotonic() + limit
    text = read()
    while time.monotonic() < deadline:
        time.sleep(settle)
        again = read()
        if again == text:
            break
        text = again
    return text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_answering(process: subprocess.Popen, url: str, log: Path, *, limit: float = 60) -> None:
    """Wait until ``url`` answers any HTTP status; raise if ``process`` exits or time runs out."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited: {log.read_text()[-2000:]}")
        try:
            requests.get(url, timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):  # not up, or slow on a busy machine
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{process.args[0]} did not answer within {limit:.0f} s")


def child_environment(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry_project.settings.test",
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files)."""

    cert: Path
    key: Path


def make_certificate(directory: Path) -> Certificate:
    """Create a throwaway certificate valid for https://127.0.0.1 (clients trust it by file)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Certificate(cert=cert, key=key)


@dataclass
class LiveServer:
    url: str
    host: str  # host:port, as OCI image references and npmrc entries want it
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _spawn_server(
    port: int, output: BinaryIO, env: dict[str, str], tls: Certificate | None
) -> subprocess.Popen:
    tls_options = ["--certfile", str(tls.cert), "--keyfile", str(tls.key)] if tls else []
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "registry_project.wsgi",
            "--config",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "8",
            # gunicorn's access log too: tests count the requests a server answered by its lines.
            "--access-logfile",
            "-",
            *tls_options,
        ],
        cwd=ROOT,
        env=child_environment(**env),
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def start_server(
    log_dir: Path,
    *,
    tls: Certificate | None = None,
    port: int | None = None,
    **env: str,
) -> LiveServer:
    """Start gunicorn on a loopback port and wait until /-/health answers.

    ``env`` adds environment variables (settings) to the server's; with ``tls`` it serves
    HTTPS (the LiveServer's url says so). ``port`` is a free one unless given.
    """
    port = port or free_port()
    log = log_dir / "server.log"
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(log_dir / "prometheus"))  # this server's own
    with log.open("wb") as output:
        process = _spawn_server(port, output, env, tls)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    verify = str(tls.cert) if tls else True
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"registry server exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/-/health", timeout=2, verify=verify).status_code == 200:
                return LiveServer(url=url, host=f"127.0.0.1:{port}", process=process, log=log)
        except (requests.ConnectionError, requests.Timeout):  # busy machine: slow first answer
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"registry server did not start: {log.read_text()[-2000:]}")


def start_worker(
    log_dir: Path, queue: str, *, hostname: str = "", pool: str = "solo", **env: str
) -> subprocess.Popen:
    """Start a Celery worker consuming ``queue`` from the configured broker (``env``: settings).

    Workers sharing a broker need distinct ``hostname``s (Celery's ``-n``); ``pool`` is
    Celery's (``prefork`` forks two processes, as production's default pool does).
    """
    with (log_dir / "worker.log").open("wb") as output:
        return subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "registry_project",
                "worker",
                "--pool",
                pool,
                *(["--concurrency", "2"] if pool == "prefork" else []),
                "--queues",
                queue,
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                *(["--hostname", hostname] if hostname else []),
            ],
            cwd=ROOT,
            env=child_environment(CELERY_TASK_DEFAULT_QUEUE=queue, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def start_beat(log_dir: Path, queue: str, **env: str) -> subprocess.Popen:
    """Start Celery beat on the database schedule, sending to ``queue``, re-reading its rows
    every second (``env``: settings)."""
    with (log_dir / "beat.log").open("wb") as output:
        return subprocess.Popen(
            [str(BIN / "celery"), "-A", "registry_project", "beat", "--loglevel", "INFO"]
            + ["--max-interval", "1", "--pidfile", "", "--schedule", str(log_dir / "beat.db")],
            cwd=ROOT,
            env=child_environment(CELERY_TASK_DEFAULT_QUEUE=queue, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def within_token_cache(probe: Callable[[], str], expected: str) -> str:
    """Return ``probe()`` once it answers ``expected``, or its last answer after the token cache.

    Each web process keeps a token it verified for TOKEN_CACHE_SECONDS (access/token_cache.py):
    a token revoked through one process is refused by the others within that time, not at once.
    """
    deadline = time.monotonic() + settings.TOKEN_CACHE_SECONDS + 1
    answer = probe()
    while answer != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = probe()
    return answer


def require_client(name: str) -> str:
    """Return the path of client ``name``; skip without it, or fail when REQUIRE_CLIENTS=1."""
    path = shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)
    if path is None:
        message = f"{name} is not installed on this machine"
        if os.environ.get("REQUIRE_CLIENTS") == "1":
            pytest.fail(f"{message} (REQUIRE_CLIENTS=1)")
        pytest.skip(message)
    return path


def database_quiet_wait(*, limit: float = 5.0) -> None:
    """Wait until no other session is inside a transaction on the test database (PostgreSQL).

    A live server may still be at work for a request its client has had the answer to (a
    proxy records a cold file's version after the last byte); a test's closing flush
    (TRUNCATE) racing that work deadlocks. Past ``limit`` the flush goes ahead anyway.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return  # SQLite's writers wait for each other (busy timeout)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)
