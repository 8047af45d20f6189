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
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import (
    USER,
    RegistryServer,
    free_port,
    load_client,
    print_table,
    requests_per_second,
    stop,
    wait_for,
)

REPOSITORY = "bench"
ACCEPT = "application/vnd.oci.image.manifest.v1+json"


@contextmanager
def distribution(work: Path) -> Iterator[str]:
    """Run CNCF Distribution with a filesystem store and deletes enabled; yield its host."""
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
        wait_for(f"http://127.0.0.1:{port}/v2/", process, log)
        yield f"127.0.0.1:{port}"
    finally:
        stop(process)


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


def manifest_get(
    base: str, image: str, *, seconds: int, connections: int, warmup: int = 0
) -> float:
    """Return manifest GETs/s of ``image``:1 under ``base`` (host/repository), anonymously."""
    host, _, repository = base.partition("/")
    url = f"http://{host}/v2/{repository}/{image}/manifests/1"
    return requests_per_second(
        [url], headers={"Accept": ACCEPT}, connections=connections, seconds=seconds, warmup=warmup
    )


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

    work = Path(tempfile.mkdtemp(prefix="bench-oci-"))
    results: dict[str, dict[str, list[float]]] = {"ours": {}, "distribution": {}}
    try:
        skopeo = Skopeo(work / "skopeo")
        with (
            # Distribution does not fsync blobs; neither do we here, so both pay the same disk cost.
            RegistryServer(
                work / "var",
                workers=args.workers,
                threads=args.threads,
                env={"BLOB_FSYNC": "0"},
            ) as ours,
            distribution(work) as peer_host,
        ):
            token = ours.create_token(REPOSITORY, format="oci", role="delete", public=True)
            targets = {
                "ours": (f"{ours.host}/{REPOSITORY}", ("--dest-creds", f"{USER}:{token}")),
                "distribution": (f"{peer_host}/{REPOSITORY}", ()),
            }
            # Warm up: every gunicorn worker imports views and opens its database connection on
            # its first request; a long-running registry has paid that long ago.
            warm = work / "warm" / "layout"
            warm.parent.mkdir()
            build_image(warm, layers=1, layer_mb=1)
            for base, creds in targets.values():
                skopeo.copy(f"oci:{warm}:bench", f"docker://{base}/warm:1", *creds)
                manifest_get(base, "warm", seconds=1, connections=args.concurrency)
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
                rate = manifest_get(
                    base, "app-0", seconds=args.seconds, connections=args.concurrency, warmup=2
                )
                results[name]["manifest_get"] = [rate]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    size = args.layers * args.layer_mb
    print_table(
        f"OCI benchmark: {args.layers} x {args.layer_mb} MB layers ({size} MB), "
        f"{args.rounds} rounds (median), manifest GET at concurrency {args.concurrency} "
        f"for {args.seconds}s ({load_client()}); "
        f"ours: gunicorn gthread {args.workers}x{args.threads}",
        list(results),
        [
            (label, [results[name][key] for name in results], goal)
            for label, key, goal in (
                ("push wall time (s)", "push", "<= 1.0"),
                ("pull wall time (s)", "pull", "<= 1.0"),
                ("manifest GET (req/s)", "manifest_get", ">= 1.0"),
            )
        ],
    )
    print("\nraw:", json.dumps(results))


if __name__ == "__main__":
    main()
