"""Plumbing shared by the benchmarks: our server, waiting, HTTP load and result tables."""

import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from http.client import HTTPConnection
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# The benchmarks use the project's test helpers (wheels, nginx) as the tests do.
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
USER = "bench"
PASSWORD = "bench-password-1234"
# Picks a random path per request; -H headers reach it through wrk.headers.
WRK_SCRIPT = """
local paths = {%s}
math.randomseed(42)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    url: str,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
    *,
    timeout: float = 60,
) -> None:
    """Wait until ``url`` answers below 500 (a 401 is up too); fail early if ``process`` exits.

    Raises:
        RuntimeError: on exit or timeout, with the end of ``log``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{url} did not come up\n{tail}")


def stop(process: subprocess.Popen) -> None:
    """Terminate ``process``, killing it if it does not exit within 20 seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RegistryServer:
    """Our server as production runs it: gunicorn, base settings, a fresh ``var_dir``.

    The database is SQLite in ``var_dir`` unless DATABASE_URL is set in the environment. The
    server log is ``var_dir/server.log``; it is printed when start-up or the ``with`` body fails.
    """

    def __init__(
        self,
        var_dir: Path,
        *,
        worker_class: str = "gthread",
        workers: int = 4,
        threads: int = 8,
        backlog: int = 2048,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.var_dir = var_dir
        self.log = var_dir / "server.log"
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.gunicorn_options = [
            *("--config", str(ROOT / "deploy" / "gunicorn.conf.py")),  # as make run and compose
            *("--worker-class", worker_class, "--workers", str(workers)),
            *("--threads", str(threads), "--backlog", str(backlog), "--timeout", "0"),
            # Under ``stop``'s 20 s, so the master ends its workers itself before it is killed.
            *("--graceful-timeout", "10"),
        ]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "registry_project.settings.base",
            "REGISTRY_VAR_DIR": str(var_dir),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        """Run ``manage.py`` against this server's database; return its stripped stdout."""
        return self.python("manage.py", *args)

    def python(self, script: str, *args: str) -> str:
        """Run a Python ``script`` (relative to the checkout) in this server's environment.

        Returns its stripped stdout.

        Raises:
            RuntimeError: the script failed; the message ends with its stderr.
        """
        result = subprocess.run(
            [sys.executable, script, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{script} {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout.strip()

    def create_token(
        self, repository: str, *, format: str, role: str = "write", public: bool = False
    ) -> str:
        """Create ``repository``, user ``USER`` with ``role`` on it; return an API token of USER.

        Benchmarks authenticate with tokens, as CI does; the user's password is ``PASSWORD``
        (bench/auth.py measures what signing in with it costs).
        """
        self.manage("createrepo", repository, "--format", format, *(["--public"] if public else []))
        self.manage("createuser", USER, "--password", PASSWORD)
        self.manage("grant", "user", USER, repository, role)
        return self.manage("createtoken", USER).splitlines()[-1]

    def start(self) -> None:
        """Migrate the database and start gunicorn; return once it answers."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput", "-v", "0")
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "registry_project.wsgi", "--bind", self.host]
                + self.gunicorn_options,
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(f"{self.url}/-/health", self.process, self.log, timeout=300)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop gunicorn if it runs."""
        if self.process is not None:
            stop(self.process)

    def __enter__(self) -> "RegistryServer":
        self.start()
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        self.stop()
        if exc_type is not None:
            print(f"--- end of {self.log}\n{self.log.read_text()[-3000:]}", file=sys.stderr)


def load_client() -> str:
    """Name what ``requests_per_second`` measures with: wrk when installed."""
    return "wrk" if shutil.which("wrk") else "python threads"


def requests_per_second(
    urls: Sequence[str],
    *,
    headers: Mapping[str, str] | None = None,
    connections: int,
    seconds: int,
    warmup: int = 0,
) -> float:
    """Measure GETs/s of random picks from ``urls`` (one host) over ``connections`` connections.

    Runs ``warmup`` unmeasured seconds first.

    Raises:
        RuntimeError: if any response has a status of 400 or more.
    """
    measure = _wrk_rate if shutil.which("wrk") else _threaded_rate
    if warmup:
        measure(urls, headers or {}, connections, warmup)
    return measure(urls, headers or {}, connections, seconds)


def _wrk_rate(
    urls: Sequence[str], headers: Mapping[str, str], connections: int, seconds: int
) -> float:
    return _wrk_run(urls, headers, connections, seconds).rate


class WrkResult(NamedTuple):
    """What one wrk run measured: requests/s and latency percentiles in milliseconds."""

    rate: float
    p50_ms: float
    p99_ms: float


def wrk_latency(
    urls: Sequence[str],
    *,
    headers: Mapping[str, str] | None = None,
    connections: int,
    seconds: int,
) -> WrkResult:
    """Measure GETs of random picks from ``urls`` with wrk: requests/s, p50 and p99.

    Raises:
        RuntimeError: if any response has a status of 400 or more.
    """
    return _wrk_run(urls, headers or {}, connections, seconds)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _percentile_ms(output: str, percent: int) -> float:
    found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    if found is None:
        raise RuntimeError(f"no {percent}% latency in wrk's output:\n{output}")
    return float(found[1]) * _UNITS_MS[found[2]]


def _target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _wrk_run(
    urls: Sequence[str], headers: Mapping[str, str], connections: int, seconds: int
) -> WrkResult:
    script = ""
    if len(urls) > 1:
        script = WRK_SCRIPT % ", ".join(f'"{_target(url)}"' for url in urls)
    return wrk_script(urls[0], script, headers=headers, connections=connections, seconds=seconds)


def wrk_script(
    url: str,
    script: str,
    *,
    headers: Mapping[str, str] | None = None,
    connections: int,
    seconds: int,
) -> WrkResult:
    """Run wrk against ``url`` with the Lua ``script`` (none if empty); return what it measured.

    Raises:
        RuntimeError: if any response has a status of 400 or more.
    """
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in output:
        raise RuntimeError(f"errors while measuring {url}:\n{output}")
    if "Socket errors" in output:
        print(f"wrk against {url}: {output}", file=sys.stderr)
    return WrkResult(
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        p50_ms=_percentile_ms(output, 50),
        p99_ms=_percentile_ms(output, 99),
    )


def _threaded_rate(
    urls: Sequence[str], headers: Mapping[str, str], connections: int, seconds: int
) -> float:
    parts = [urlsplit(url) for url in urls]
    counts = [0] * connections
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    def worker(slot: int) -> None:
        connection = HTTPConnection(parts[0].hostname, parts[0].port, timeout=30)
        pick = random.Random(slot)
        while time.monotonic() < deadline and not failures:
            path = pick.choice(parts).path
            connection.request("GET", path, headers=dict(headers))
            response = connection.getresponse()
            response.read()
            if response.status >= 400:
                failures.append(f"{path}: {response.status}")
            counts[slot] += 1

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"errors while measuring {urls[0]}: {failures[0]}")
    return sum(counts) / (time.monotonic() - started)


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[Sequence[float]], str]]
) -> None:
    """Print a row per measure: the median of each column's samples, then ratios and a goal.

    Each row is ``(label, samples per column, goal)``; the ratios divide the first column (ours)
    by each of the others.
    """
    headers = [*columns, *(f"{columns[0]}/{peer}" for peer in columns[1:])]
    widths = [max(len(header) + 2, 12) for header in headers]
    first = max(len(label) for label, _, _ in rows) + 2
    print(f"\n{title}")
    cells = "".join(f"{header:>{width}}" for header, width in zip(headers, widths, strict=True))
    print(f"{'measure':<{first}}{cells}  goal")
    for label, samples, goal in rows:
        values = [statistics.median(column) for column in samples]
        values += [values[0] / value for value in values[1:]]
        cells = "".join(f"{value:>{width}.2f}" for value, width in zip(values, widths, strict=True))
        print(f"{label:<{first}}{cells}  {goal}")
