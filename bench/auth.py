"""Benchmark password authentication against token authentication, side by side, on our server.

pip (like mvn) sends its credentials with every request. The server runs the base settings, so
passwords are checked with the real PBKDF2 hasher (about a second of CPU each); the verified-
password cache (access/backends.py) should make a password cost what a token costs. Measured:
the wall time of a ``pip install`` of 20 packages from a private repository into a fresh
virtualenv, with ``user:password`` and with ``__token__:token`` in the index URL, alternating,
the first run of each on a cold cache (the password's one PBKDF2 check per web process it
reaches is in that run); and, less noisy on a busy machine, the latency of single GETs of a
simple page with each credential, alternating.

Usage: ``.venv/bin/python bench/auth.py [--workers 2] [--runs 5] [--cache-url redis://...]``.
Loopback only. Not part of the test suite.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import requests
from harness import PASSWORD, USER, RegistryServer, print_table
from pypi import INSTALL_COUNT, PROJECTS, install_seconds, project_name, upload_wheels

from tests.formats.pypi.dists import make_wheel  # the same wheels the tests use

VERSIONS = 2
THREADS = 8
GETS = 200


def get_latencies(urls: dict[str, str]) -> dict[str, list[float]]:
    """Milliseconds of ``GETS`` GETs of one simple page per credential, alternating.

    One connection carries both, so both reach the same web process.
    """
    session = requests.Session()
    latencies: dict[str, list[float]] = {label: [] for label in urls}
    for _ in range(GETS):
        for label, url in urls.items():
            started = time.perf_counter()
            response = session.get(f"{url}{project_name(0)}/", timeout=60)
            latencies[label].append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"GET with {label}: {response.status_code}")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (make run: 2)")
    parser.add_argument("--runs", type=int, default=5, help="pip installs per credential")
    parser.add_argument(
        "--cache-url", default="", help="CACHE_URL of the server (default: per process)"
    )
    options = parser.parse_args()
    env = {"CACHE_URL": options.cache_url} if options.cache_url else {}
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as temp:
        work = Path(temp)
        server = RegistryServer(
            work / "registry-var", workers=options.workers, threads=THREADS, env=env
        )
        with server:
            token = server.create_token("bench", format="pypi", role="write")
            installed = range(0, PROJECTS, PROJECTS // INSTALL_COUNT)  # what install_seconds asks
            upload_wheels(
                server.url,
                token,
                [make_wheel(project_name(p), f"1.{v}") for p in installed for v in range(VERSIONS)],
            )
            host = server.host
            urls = {
                "password": f"http://{USER}:{PASSWORD}@{host}/repository/bench/simple/",
                "token": f"http://__token__:{token}@{host}/repository/bench/simple/",
            }
            times: dict[str, list[float]] = {label: [] for label in urls}
            for run in range(options.runs):
                for label, url in urls.items():
                    times[label] += install_seconds(url, work, 1)
                    print(f"run {run + 1} {label}: {times[label][-1]:.2f}s", flush=True)
            latencies = get_latencies(urls)
    columns = list(urls)
    print_table(
        f"pip install of {INSTALL_COUNT} packages from a private repository; gunicorn gthread"
        f" {options.workers} workers x {THREADS} threads; cache"
        f" {options.cache_url or 'per process'}; {os.cpu_count()} CPUs",
        columns,
        [
            (f"GET simple page, median of {GETS} (ms)", [latencies[c] for c in columns], "<= 1.1x"),
            ("first install, cold cache (s)", [[times[c][0]] for c in columns], "(one hash)"),
            (
                f"installs 2-{options.runs}, median (s)",
                [times[c][1:] for c in columns],
                "<= 1.1x",
            ),
            (f"all {options.runs} installs, median (s)", [times[c] for c in columns], "<= 1.1x"),
        ],
    )


if __name__ == "__main__":
    main()
