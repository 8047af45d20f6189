"""Benchmark the PyPI format against pypiserver, side by side, on this machine.

All servers run under gunicorn with the same worker model (gthread, as bench/harness.py runs
ours) on loopback and hold the same 200 projects x 5 versions of tiny wheels. pypiserver runs
twice: with its default directory-scanning backend and with its watchdog-cached backend.
Measured: requests/s of ``/simple/<project>/`` at a fixed concurrency (wrk if installed, else
a threaded Python client) and the wall time of a ``pip install`` of 20 packages into a fresh
virtualenv from each index.

Usage: ``.venv/bin/python bench/pypi.py [--workers 4] [--concurrency 32] [--duration 10]``.
It needs loopback only, except ``pip install pypiserver`` into a temporary bench virtualenv.
Not part of the test suite.
"""

import argparse
import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import requests
from harness import (
    ROOT,
    RegistryServer,
    free_port,
    print_table,
    requests_per_second,
    stop,
    wait_for,
)

from tests.formats.pypi.dists import make_wheel  # the same wheels the tests use

THREADS = 8
PROJECTS = 200
VERSIONS = 5
INSTALL_COUNT = 20
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


def project_name(index: int) -> str:
    return f"bench-pkg-{index:03d}"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the machine's pip settings (local mirrors, find-links)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, **extra)
    return env


def run(*args: object, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def install_pypiserver(work: Path) -> Path:
    """Install pypiserver (with watchdog, for its cached backend) and gunicorn from PyPI."""
    venv = work / "bench-venv"
    print("installing pypiserver and gunicorn into", venv, flush=True)
    run(sys.executable, "-m", "venv", venv)
    run(
        venv / "bin/python",
        "-m",
        "pip",
        "install",
        "--isolated",
        "-q",
        "pypiserver[cache]",
        "gunicorn",
        env=clean_env(),
    )
    return venv


def start_pypiserver(
    venv: Path, packages: Path, backend: str, gunicorn_options: list[str], stack: ExitStack
) -> str:
    """Start pypiserver under gunicorn with ``gunicorn_options``; return its simple index URL."""
    version = run(venv / "bin/python", "-c", "import pypiserver; print(pypiserver.__version__)")
    url = f"http://127.0.0.1:{free_port()}"
    app = (
        f"pypiserver:app(root='{packages}', authenticate=[], password_file='.', "
        f"disable_fallback=True, backend_arg='{backend}')"
    )
    log = venv.parent / f"pypiserver-{backend}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [venv / "bin/gunicorn", *gunicorn_options, "-b", url.removeprefix("http://"), app],
            env=clean_env(),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    stack.callback(stop, process)
    wait_for(f"{url}/simple/", process, log)
    print(f"pypiserver {version.strip()} ({backend}) on {url}", flush=True)
    return f"{url}/simple/"


def start_registry(
    server: RegistryServer, wheels: list[tuple[str, bytes]], stack: ExitStack
) -> str:
    """Start our server, upload ``wheels`` with twine's request; return the simple index URL."""
    stack.enter_context(server)
    token = server.create_token("bench", format="pypi", public=True)
    upload_wheels(server.url, token, wheels)
    return f"{server.url}/repository/bench/simple/"


def upload_wheels(url: str, token: str, wheels: list[tuple[str, bytes]]) -> None:
    """Upload ``wheels`` to the repository ``bench`` of our server at ``url``, as twine does."""
    print(f"registry on {url}; uploading {len(wheels)} wheels", flush=True)
    started = time.monotonic()
    local = threading.local()

    def upload(item: tuple[str, bytes]) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        filename, content = item
        name, version = filename.split("-")[:2]
        response = session.post(
            f"{url}/repository/bench/",
            auth=("__token__", token),
            data={
                ":action": "file_upload",
                "name": name,
                "version": version,
                "filetype": "bdist_wheel",
                "sha256_digest": hashlib.sha256(content).hexdigest(),
            },
            files={"content": (filename, content)},
            timeout=60,
        )
        if response.status_code != 200:
            raise SystemExit(
                f"upload of {filename} failed: {response.status_code} {response.reason}"
            )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(upload, wheels))
    print(f"uploaded in {time.monotonic() - started:.1f}s", flush=True)


def simple_rate(simple_url: str, options: argparse.Namespace) -> float:
    """Throughput of GET <simple>/<project>/ over random projects, with pip's Accept header."""
    return requests_per_second(
        [f"{simple_url}{project_name(i)}/" for i in range(PROJECTS)],
        headers={"Accept": PIP_ACCEPT},
        connections=options.concurrency,
        seconds=options.duration,
    )


def install_seconds(simple_url: str, work: Path, runs: int) -> list[float]:
    """Wall times of pip installing 20 packages into a fresh virtualenv."""
    times = []
    packages = [project_name(i) for i in range(0, PROJECTS, PROJECTS // INSTALL_COUNT)]
    for attempt in range(runs):
        target = work / f"target-{abs(hash(simple_url))}-{attempt}"
        run(sys.executable, "-m", "venv", "--without-pip", target)
        started = time.monotonic()
        run(
            sys.executable,
            "-m",
            "pip",
            "--python",
            target / "bin/python",
            "install",
            "--isolated",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "-q",
            "--index-url",
            simple_url,
            *packages,
            env=clean_env(),
        )
        times.append(time.monotonic() - started)
        shutil.rmtree(target)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--install-runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pypi-") as temp, ExitStack() as stack:
        work = Path(temp)
        packages = work / "pypiserver-packages"
        packages.mkdir()
        wheels = [
            make_wheel(project_name(p), f"1.{v}", requires_python=">=3.8")
            for p in range(PROJECTS)
            for v in range(VERSIONS)
        ]
        for filename, content in wheels:
            (packages / filename).write_bytes(content)
        venv = install_pypiserver(work)
        server = RegistryServer(work / "registry-var", workers=options.workers, threads=THREADS)
        # pypiserver runs under the same gunicorn worker model as ours.
        servers = {
            "pypiserver": start_pypiserver(
                venv, packages, "simple-dir", server.gunicorn_options, stack
            ),
            "pypiserver cached-dir": start_pypiserver(
                venv, packages, "cached-dir", server.gunicorn_options, stack
            ),
            "registry": start_registry(server, wheels, stack),
        }
        rates, installs = {}, {}
        for label, url in servers.items():
            rates[label] = [simple_rate(url, options)]
            installs[label] = install_seconds(url, work, options.install_runs)
            print(f"{label}: {rates[label][0]:.0f} req/s", flush=True)
    columns = ["registry", "pypiserver", "pypiserver cached-dir"]
    print_table(
        f"{PROJECTS} projects x {VERSIONS} versions; gunicorn gthread {options.workers} workers"
        f" x {THREADS} threads each; concurrency {options.concurrency}; {os.cpu_count()} CPUs",
        columns,
        [
            ("simple req/s", [rates[label] for label in columns], ">= 1.5x"),
            (f"pip install {INSTALL_COUNT} (s)", [installs[label] for label in columns], "<= 1.0x"),
        ],
    )


if __name__ == "__main__":
    main()
