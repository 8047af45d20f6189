"""npm side by side: this registry against Verdaccio, with the same packages, in one run.

Starts both servers on free loopback ports, publishes the same N packages x M versions to each
over HTTP (the body ``npm publish`` sends), then measures

* packument requests/s, full (``Accept: application/json``) and abbreviated
  (``application/vnd.npm.install-v1+json``), at a fixed concurrency over random packages
  (wrk when installed, else a threaded Python client);
* wall time of ``npm install`` of 20 of the packages into a fresh project with a clean cache.

Usage: ``.venv/bin/python bench/npm.py [--packages 200] [--versions 10] [--verdaccio-dir DIR]``.
Verdaccio (6.8.0, no uplinks) is installed with npm into ``--verdaccio-dir`` when missing. Not
part of the test suite.
"""

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from harness import (
    RegistryServer,
    free_port,
    load_client,
    print_table,
    requests_per_second,
    stop,
    wait_for,
)

VERDACCIO_VERSION = "6.8.0"
MIME_ABBREVIATED = "application/vnd.npm.install-v1+json"
MIME_JSON = "application/json"


def npm_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env["HOME"] = str(home)
    return env


class Verdaccio:
    """Verdaccio from the npm registry, no uplinks, htpasswd auth, storage in the work dir."""

    def __init__(self, work: Path, install_dir: Path) -> None:
        self.work = work / "verdaccio"
        self.work.mkdir()
        self.install_dir = install_dir
        self.port = free_port()
        self.registry = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None

    def install(self) -> Path:
        binary = self.install_dir / "node_modules" / ".bin" / "verdaccio"
        if binary.exists():
            return binary
        self.install_dir.mkdir(parents=True, exist_ok=True)
        (self.install_dir / "package.json").write_text(
            json.dumps(
                {
                    "private": True,
                    "dependencies": {"verdaccio": VERDACCIO_VERSION},
                    "overrides": {"node-fetch": "2.7.0"},
                }
            )
        )
        npmrc = self.install_dir / "npmrc"
        npmrc.write_text("update-notifier=false\n")
        print(f"installing verdaccio {VERDACCIO_VERSION} into {self.install_dir}", flush=True)
        subprocess.run(
            ["npm", "install", "--userconfig", str(npmrc), "--cache", "./.npm-cache"]
            + ["--no-audit", "--no-fund"],
            cwd=self.install_dir,
            env=npm_env(self.install_dir),
            check=True,
        )
        return binary

    def start(self) -> str:
        binary = self.install()
        config = self.work / "config.yaml"
        config.write_text(
            f"""storage: {self.work / "storage"}
plugins: {self.work / "plugins"}
auth:
  htpasswd:
    file: {self.work / "htpasswd"}
    max_users: 1000
uplinks: {{}}
packages:
  '@*/*':
    access: $all
    publish: $authenticated
    unpublish: $authenticated
  '**':
    access: $all
    publish: $authenticated
    unpublish: $authenticated
middlewares:
  audit:
    enabled: false
log: {{type: stdout, format: pretty, level: warn}}
listen: 127.0.0.1:{self.port}
"""
        )
        log = self.work / "verdaccio.log"
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [str(binary), "--config", str(config)],
                cwd=self.work,
                env=npm_env(self.work),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_for(f"{self.registry}-/ping", self.process, log)
        response = requests.put(
            f"{self.registry}-/user/org.couchdb.user:bench",
            json={"name": "bench", "password": "bench-password"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["token"]

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def tarball(name: str, version: str, dependencies: dict[str, str]) -> bytes:
    manifest = {"name": name, "version": version, "main": "index.js", "license": "MIT"}
    if dependencies:
        manifest["dependencies"] = dependencies
    files = {
        "package/package.json": json.dumps(manifest, indent=2).encode(),
        "package/index.js": f"module.exports = {json.dumps(name + '@' + version)};\n".encode(),
        "package/README.md": f"# {name}\n\nVersion {version}.\n".encode(),
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 499162500
            archive.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def publish_body(name: str, version: str, dependencies: dict[str, str]) -> bytes:
    data = tarball(name, version, dependencies)
    manifest = {"name": name, "version": version, "main": "index.js", "license": "MIT"}
    if dependencies:
        manifest["dependencies"] = dependencies
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    return json.dumps(
        {
            "_id": name,
            "name": name,
            "dist-tags": {"latest": version},
            "versions": {
                version: {
                    **manifest,
                    "_id": f"{name}@{version}",
                    "readme": f"# {name}\n",
                    "dist": {
                        "integrity": integrity,
                        "shasum": hashlib.sha1(data).hexdigest(),
                        "tarball": f"http://placeholder/{name}/-/{name}-{version}.tgz",
                    },
                }
            },
            "access": None,
            "_attachments": {
                f"{name}-{version}.tgz": {
                    "content_type": "application/octet-stream",
                    "data": base64.b64encode(data).decode(),
                    "length": len(data),
                }
            },
        }
    ).encode()


def dependencies_of(index: int, packages: int) -> dict[str, str]:
    # The first 20 packages form a chain, so an install resolves through the registry.
    return {f"pkg-{index + 1:03d}": "^1.0.0"} if index < 19 and index + 1 < packages else {}


def publish_all(registry: str, token: str, packages: int, versions: int) -> float:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": MIME_JSON})

    def publish_package(index: int) -> None:
        name = f"pkg-{index:03d}"
        for minor in range(versions):
            body = publish_body(name, f"1.{minor}.0", dependencies_of(index, packages))
            response = session.put(f"{registry}{name}", data=body, timeout=60)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"publish {name}: {response.status_code} {response.text}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(publish_package, range(packages)))
    return time.perf_counter() - started


def packument_rate(registry: str, accept: str, args: argparse.Namespace) -> float:
    """Return packument GETs/s over random packages, after a 2-second warm-up."""
    urls = [f"{registry}pkg-{index:03d}" for index in range(args.packages)]
    return requests_per_second(
        urls,
        headers={"Accept": accept},
        connections=args.connections,
        seconds=args.seconds,
        warmup=2,
    )


def install_time(registry: str, token: str, work: Path, run: int) -> float:
    project = work / f"install-{run}"
    project.mkdir()
    npmrc = project / ".npmrc-bench"
    host_path = registry.split(":", 1)[1]
    npmrc.write_text(
        f"registry={registry}\n{host_path}:_authToken={token}\n"
        f"audit=false\nfund=false\nupdate-notifier=false\ncache={project / 'cache'}\n"
    )
    dependencies = {f"pkg-{i:03d}": "^1.0.0" for i in range(20)}
    (project / "package.json").write_text(
        json.dumps(
            {"name": "bench-app", "version": "1.0.0", "private": True, "dependencies": dependencies}
        )
    )
    started = time.perf_counter()
    subprocess.run(
        ["npm", "install", "--userconfig", str(npmrc), "--no-audit", "--no-fund"],
        cwd=project,
        env=npm_env(project),
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    lock = json.loads((project / "package-lock.json").read_text())
    resolved = lock["packages"]["node_modules/pkg-000"]["resolved"]
    assert resolved.startswith(registry), resolved
    shutil.rmtree(project)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--installs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--verdaccio-dir",
        type=Path,
        default=Path.home() / ".cache" / "registry-bench" / f"verdaccio-{VERDACCIO_VERSION}",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-npm-"))
    verdaccio = Verdaccio(work, args.verdaccio_dir)
    # No fsync: Verdaccio does not fsync what it stores either.
    server = RegistryServer(
        work / "ours-var",
        worker_class=args.worker_class,
        workers=args.workers,
        threads=args.threads,
        env={"BLOB_FSYNC": "0", "LOG_LEVEL": "ERROR"},
    )
    kinds = {"full": MIME_JSON, "abbreviated": MIME_ABBREVIATED}
    try:
        with server:
            token = server.create_token("npm", format="npm", role="delete", public=True)
            registries = {
                "ours": (f"{server.url}/repository/npm/", token),
                "verdaccio": (verdaccio.registry, verdaccio.start()),
            }
            for name, (registry, token) in registries.items():
                seconds = publish_all(registry, token, args.packages, args.versions)
                print(f"{name}: published {args.packages}x{args.versions} in {seconds:.1f}s")
            # Rounds alternate the servers so that load from elsewhere on the machine hits both.
            rates: dict[str, dict[str, list[float]]] = {kind: {} for kind in kinds}
            for _ in range(args.rounds):
                for kind, accept in kinds.items():
                    for name, (registry, _) in registries.items():
                        rate = packument_rate(registry, accept, args)
                        rates[kind].setdefault(name, []).append(rate)
            installs: dict[str, list[float]] = {name: [] for name in registries}
            for run in range(args.installs):
                order = list(registries) if run % 2 == 0 else list(reversed(registries))
                for name in order:
                    installs[name].append(install_time(*registries[name], work, run))
    finally:
        verdaccio.stop()
        shutil.rmtree(work, ignore_errors=True)

    print_table(
        f"{args.packages} packages x {args.versions} versions, {args.connections} connections "
        f"({load_client()}, median of {args.rounds} alternating rounds), ours: gunicorn "
        f"{args.worker_class} {args.workers} workers x {args.threads} threads, "
        f"{os.cpu_count()} CPUs",
        list(registries),
        [
            ("packument full (req/s)", list(rates["full"].values()), ">= 1.5x"),
            ("packument abbreviated (req/s)", list(rates["abbreviated"].values()), ">= 1.5x"),
            (
                f"npm install 20 pkgs (s, median of {args.installs})",
                list(installs.values()),
                "<= 1.0x",
            ),
        ],
    )


if __name__ == "__main__":
    main()
