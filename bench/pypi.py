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
import io
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from contextlib import ExitStack
from pathlib import Path

import requests
from harness import RegistryServer, free_port

THREADS = 8

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PROJECTS = 200
VERSIONS = 5
INSTALL_COUNT = 20
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
WRK_SCRIPT = """
local paths = {%s}
math.randomseed(42)
wrk.headers["Accept"] = "%s"
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def project_name(index: int) -> str:
    return f"bench-pkg-{index:03d}"


def make_wheel(name: str, version: str) -> tuple[str, bytes]:
    """Build a minimal valid wheel in memory."""
    stem = f"{name.replace('-', '_')}-{version}"
    module = name.replace("-", "_")
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{stem}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            "Summary: benchmark package\nRequires-Python: >=3.8\n\n"
        ).encode(),
        f"{stem}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(
        f"{path},sha256={hashlib.sha256(data).hexdigest()},{len(data)}\n"
        for path, data in files.items()
    )
    files[f"{stem}.dist-info/RECORD"] = (record + f"{stem}.dist-info/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return f"{stem}-py3-none-any.whl", buffer.getvalue()


def gunicorn_workers(workers: int) -> list[object]:
    """The worker model RegistryServer uses, so both servers run the same way."""
    return ["--worker-class", "gthread", "--workers", workers, "--threads", THREADS]


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


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")


def start(args: list[object], *, env: dict[str, str], log: Path, stack: ExitStack):
    output = log.open("wb")
    stack.callback(output.close)
    process = subprocess.Popen(
        [str(a) for a in args], env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
    )

    def stop() -> None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()

    stack.callback(stop)
    return process


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
    venv: Path, packages: Path, backend: str, workers: int, stack: ExitStack
) -> str:
    version = run(venv / "bin/python", "-c", "import pypiserver; print(pypiserver.__version__)")
    port = free_port()
    app = (
        f"pypiserver:app(root='{packages}', authenticate=[], password_file='.', "
        f"disable_fallback=True, backend_arg='{backend}')"
    )
    log = venv.parent / f"pypiserver-{backend}.log"
    process = start(
        [venv / "bin/gunicorn", *gunicorn_workers(workers), "-b", f"127.0.0.1:{port}", app],
        env=clean_env(),
        log=log,
        stack=stack,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/simple/", process, log)
    print(f"pypiserver {version.strip()} ({backend}) on {url}", flush=True)
    return f"{url}/simple/"


def start_registry(work: Path, wheels: list[tuple[str, bytes]], workers: int, stack: ExitStack):
    server = stack.enter_context(RegistryServer(work / "registry-var", workers=workers))
    server.manage("createrepo", "bench", "--format", "pypi", "--public")
    server.manage("createuser", "bencher", "--password", "bench-password-1")
    server.manage("grant", "user", "bencher", "bench", "write")
    token = server.manage("createtoken", "bencher").strip()
    url = server.url
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
    return f"{url}/repository/bench/simple/"


def requests_per_second(simple_url: str, concurrency: int, duration: int, work: Path) -> float:
    """Throughput of GET <simple>/<project>/ over random projects, with pip's Accept header."""
    base = re.sub(r"^http://[^/]+", "", simple_url)
    paths = [f"{base}{project_name(i)}/" for i in range(PROJECTS)]
    check = requests.get(
        simple_url.rstrip("/") + "/" + paths[0][len(base) :],
        timeout=10,
        headers={"Accept": PIP_ACCEPT},
    )
    if check.status_code != 200:
        raise SystemExit(f"{simple_url}: {check.status_code}")
    wrk = shutil.which("wrk")
    if wrk:
        script = work / "simple.lua"
        script.write_text(WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), PIP_ACCEPT))
        host = re.match(r"^(http://[^/]+)", simple_url).group(1)
        output = run(wrk, "-t", "2", "-c", concurrency, "-d", f"{duration}s", "-s", script, host)
        if "Non-2xx" in output or "Socket errors" in output:
            print(output)
        return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return _threaded_rps(simple_url, paths, concurrency, duration)


def _threaded_rps(simple_url: str, paths: list[str], concurrency: int, duration: int) -> float:
    host = re.match(r"^(http://[^/]+)", simple_url).group(1)
    deadline = time.monotonic() + duration
    counts = [0] * concurrency

    def worker(slot: int) -> None:
        session = requests.Session()
        rng = random.Random(slot)
        while time.monotonic() < deadline:
            session.get(host + rng.choice(paths), headers={"Accept": PIP_ACCEPT}, timeout=10)
            counts[slot] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / duration


def install_seconds(simple_url: str, work: Path, runs: int) -> float:
    """Median wall time of pip installing 20 packages into a fresh virtualenv."""
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
    return statistics.median(times)


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
            make_wheel(project_name(p), f"1.{v}") for p in range(PROJECTS) for v in range(VERSIONS)
        ]
        for filename, content in wheels:
            (packages / filename).write_bytes(content)
        venv = install_pypiserver(work)
        servers = {
            "pypiserver": start_pypiserver(venv, packages, "simple-dir", options.workers, stack),
            "pypiserver cached-dir": start_pypiserver(
                venv, packages, "cached-dir", options.workers, stack
            ),
            "registry": start_registry(work, wheels, options.workers, stack),
        }
        results = {}
        for label, url in servers.items():
            rps = requests_per_second(url, options.concurrency, options.duration, work)
            seconds = install_seconds(url, work, options.install_runs)
            results[label] = (rps, seconds)
            print(f"{label}: {rps:.0f} req/s, pip install {seconds:.2f}s", flush=True)
    print_table(results, options)


def print_table(results: dict[str, tuple[float, float]], options: argparse.Namespace) -> None:
    ours_rps, ours_install = results["registry"]
    print()
    print(
        f"{PROJECTS} projects x {VERSIONS} versions; gunicorn gthread {options.workers} workers"
        f" x {THREADS} threads each; concurrency {options.concurrency}; {os.cpu_count()} CPUs"
    )
    print(f"{'server':24}{'simple req/s':>14}{'ratio':>9}{'install 20 (s)':>16}{'ratio':>9}")
    for label, (rps, seconds) in results.items():
        print(
            f"{label:24}{rps:>14.0f}{ours_rps / rps:>8.2f}x"
            f"{seconds:>16.2f}{ours_install / seconds:>8.2f}x"
        )
    print("ratio = registry / server; goals: req/s ratio >= 1.5x, install ratio <= 1.0x")


if __name__ == "__main__":
    main()
