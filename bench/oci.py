"""OCI side by side: this registry against CNCF Distribution (Debian ``docker-registry``).

Measures, with both servers started here on free loopback ports:
- push and pull wall time (skopeo) of an image of 5 layers of 50 MB of random bytes;
- manifest GET requests/s at a fixed concurrency (wrk, or a threaded Python client).

Run: ``.venv/bin/python bench/oci.py [--rounds 2] [--layers 5] [--layer-mb 50]``. Not part of the
test suite; it cleans up after itself. Ours runs the production settings module with gunicorn.
"""

import argparse
import json
import os
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
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USER, PASSWORD = "bench", "bench-password-1234"
REPOSITORY = "bench"
ACCEPT = "application/vnd.oci.image.manifest.v1+json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (401 is fine)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


@contextmanager
def distribution(work: Path) -> Iterator[str]:
    """Run CNCF Distribution with a filesystem store and deletes enabled."""
    port = free_port()
    config = work / "distribution.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {work / 'distribution-store'}}}, "
        "delete: {enabled: true}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    log = work / "distribution.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/", process, log)
        yield f"127.0.0.1:{port}"
    finally:
        stop(process)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@contextmanager
def ours(work: Path, workers: int, threads: int) -> Iterator[tuple[str, str]]:
    """Run this registry with the production settings, a fresh var dir, a user and a repo.

    Yields its host and an API token of the user (what CI systems log in with; a password
    would add a deliberately slow PBKDF2 check to every token request).
    """
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry_project.settings.base",
        "REGISTRY_VAR_DIR": str(work / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "createrepo", REPOSITORY, "--format", "oci", "--public")
    manage(env, "createuser", USER, "--password", PASSWORD)
    manage(env, "grant", "user", USER, REPOSITORY, "delete")
    token = manage(env, "createtoken", USER).splitlines()[-1]
    log = work / "ours.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "registry_project.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "0",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/", process, log)
        yield f"127.0.0.1:{port}", token
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def build_image(path: Path, *, layers: int, layer_mb: int) -> None:
    """Build an OCI layout tagged ``bench`` with ``layers`` layers of random bytes (umoci)."""
    subprocess.run(["umoci", "init", "--layout", str(path)], check=True)
    subprocess.run(["umoci", "new", "--image", f"{path}:bench"], check=True)
    for number in range(layers):
        payload = path.parent / f"layer-{number}.bin"
        with payload.open("wb") as handle:
            for _ in range(layer_mb):
                handle.write(os.urandom(1024 * 1024))
        subprocess.run(
            ["umoci", "insert", "--image", f"{path}:bench", str(payload), f"/layer-{number}.bin"],
            check=True,
            capture_output=True,
        )
        payload.unlink()


class Skopeo:
    def __init__(self, work: Path) -> None:
        self.work = work
        (work / "registries.d").mkdir(parents=True, exist_ok=True)
        (work / "tmp").mkdir(exist_ok=True)
        (work / "registries.conf").write_text("")
        self.env = {
            **os.environ,
            "CONTAINERS_REGISTRIES_CONF": str(work / "registries.conf"),
            "REGISTRY_AUTH_FILE": str(work / "auth.json"),
        }

    def copy(self, source: str, destination: str, *creds: str) -> float:
        started = time.perf_counter()
        subprocess.run(
            [
                "skopeo",
                "--insecure-policy",
                "--registries.d",
                str(self.work / "registries.d"),
                "--tmpdir",
                str(self.work / "tmp"),
                "copy",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                *creds,
                source,
                destination,
            ],
            check=True,
            capture_output=True,
            env=self.env,
        )
        return time.perf_counter() - started


def requests_per_second_wrk(
    url: str, *, concurrency: int, seconds: int, ok: tuple[int, ...] = (200,)
) -> float:
    result = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(concurrency),
            "-d",
            f"{seconds}s",
            "-H",
            f"Accept: {ACCEPT}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx" in result.stdout and ok == (200,):
        raise RuntimeError(f"errors while measuring {url}:\n{result.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def requests_per_second_python(
    url: str, *, concurrency: int, seconds: int, ok: tuple[int, ...] = (200,)
) -> float:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    count = [0] * concurrency
    deadline = time.monotonic() + seconds

    def worker(slot: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port)
        while time.monotonic() < deadline:
            connection.request("GET", parts.path, headers={"Accept": ACCEPT})
            response = connection.getresponse()
            response.read()
            if response.status not in ok:
                raise RuntimeError(f"{url}: {response.status}")
            count[slot] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(count) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--layer-mb", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    for tool in ("docker-registry", "skopeo", "umoci"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is required")
    measure: Callable[..., float] = (
        requests_per_second_wrk if shutil.which("wrk") else requests_per_second_python
    )

    work = Path(tempfile.mkdtemp(prefix="bench-oci-"))
    results: dict[str, dict[str, list[float]]] = {"ours": {}, "distribution": {}}
    try:
        skopeo = Skopeo(work / "skopeo")
        with (
            ours(work, args.workers, args.threads) as (our_host, token),
            distribution(work) as peer_host,
        ):
            targets = {
                "ours": (f"{our_host}/{REPOSITORY}", ("--dest-creds", f"{USER}:{token}")),
                "distribution": (f"{peer_host}/{REPOSITORY}", ()),
            }
            # Warm up: every gunicorn worker imports views and opens its database connection on
            # its first request; a long-running registry has paid that long ago.
            warm = work / "warm" / "layout"
            warm.parent.mkdir()
            build_image(warm, layers=1, layer_mb=1)
            for base, creds in targets.values():
                skopeo.copy(f"oci:{warm}:bench", f"docker://{base}/warm:1", *creds)
                host = base.partition("/")[0]
                measure(
                    f"http://{host}/v2/", concurrency=args.concurrency, seconds=1, ok=(200, 401)
                )
            for number in range(args.rounds):
                layout = work / f"image-{number}" / "layout"
                layout.parent.mkdir()
                build_image(layout, layers=args.layers, layer_mb=args.layer_mb)
                # Alternate who goes first so page-cache warmth does not favour one side.
                order = list(targets) if number % 2 == 0 else list(reversed(targets))
                for name in order:
                    base, creds = targets[name]
                    reference = f"docker://{base}/app-{number}:1"
                    push = skopeo.copy(f"oci:{layout}:bench", reference, *creds)
                    src_creds = tuple(c.replace("--dest", "--src") for c in creds)
                    pulled = work / f"pulled-{name}-{number}"
                    pull = skopeo.copy(reference, f"oci:{pulled}:bench", *src_creds)
                    shutil.rmtree(pulled)
                    results[name].setdefault("push", []).append(push)
                    results[name].setdefault("pull", []).append(pull)
                shutil.rmtree(layout.parent)
            for name, (base, _) in targets.items():
                host, _, image = base.partition("/")
                url = f"http://{host}/v2/{image}/app-0/manifests/1"
                measure(url, concurrency=args.concurrency, seconds=2)  # warm up
                rate = measure(url, concurrency=args.concurrency, seconds=args.seconds)
                results[name]["manifest_get"] = [rate]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    size = args.layers * args.layer_mb
    print(
        f"\nOCI benchmark: {args.layers} x {args.layer_mb} MB layers ({size} MB), "
        f"{args.rounds} rounds (median), manifest GET at concurrency {args.concurrency} "
        f"for {args.seconds}s ({measure.__name__.removeprefix('requests_per_second_')}); "
        f"ours: gunicorn gthread {args.workers}x{args.threads}\n"
    )
    print(f"{'metric':<24}{'ours':>14}{'distribution':>16}{'ours/peer':>12}  goal")
    rows = [
        ("push wall time (s)", "push", "<= 1.0"),
        ("pull wall time (s)", "pull", "<= 1.0"),
        ("manifest GET (req/s)", "manifest_get", ">= 1.0"),
    ]
    for label, key, goal in rows:
        mine = statistics.median(results["ours"][key])
        peer = statistics.median(results["distribution"][key])
        print(f"{label:<24}{mine:>14.2f}{peer:>16.2f}{mine / peer:>12.2f}  {goal}")
    print("\nraw:", json.dumps(results))


if __name__ == "__main__":
    main()
