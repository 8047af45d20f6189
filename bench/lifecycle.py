"""Lifecycle at scale: a cleanup of 100,000 versions and a GC of 1,000,000 blobs, under traffic.

What: synthetic content is bulk-loaded into a fresh PostgreSQL database and blob store next to
a live gunicorn, then the two housekeeping commands operators run are timed:

* ``manage.py cleanup npm`` with a keep-last policy over ``--versions`` npm versions in
  packages of ``--per-package`` versions each (all but the newest ``--keep-last`` of each go,
  through the formats' delete services, so the packuments stay true: checked over HTTP);
* ``manage.py gc`` over ``--blobs`` blobs: one per npm version (the removed ones become
  garbage), a fifth referenced by raw files, the rest referenced by nothing from the start.

How: rows are loaded with COPY (the load time is printed); every blob has its own small file
under the store, with the bytes its digest names, so GC really unlinks a million files. The
blobs are two days old, past the grace period. While the commands run, a load client pushes
and pulls through the server (raw PUT/GET of fresh files, npm publish/packument/tarball of its
own packages, at ``--rate`` requests/s) and the same client runs alone first (``idle``), so
push latency under housekeeping is a ratio to idle. The floor for GC is the time to unlink as
many files of the same size in a plain loop, measured in the same run.

Goals (issue 13, issue 16): cleanup of 100k versions < 60 s, GC of 1M blobs < 60 s, no
client error, push p99 during either close to idle (no push waits for a batch for long).

Usage: ``DATABASE_URL=postgres://USER@HOST:PORT/ANY .venv/bin/python bench/lifecycle.py
[--versions 100000] [--blobs 1000000]``. PostgreSQL only: the loader uses COPY, and the
1M-blob shape is the production one (SQLite is the embedded default for small registries).
The bench creates (and drops at the end) its own database ``<name>_lifecycle`` next to the
one DATABASE_URL names, and its blob store under a temporary folder (``--work`` to choose the
disk). Not part of the test suite.
"""

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from harness import USER, RegistryServer
from npm import MIME_JSON, publish_body

AGE = timedelta(days=2)  # of every loaded row: past the GC grace period and the age rules
FILES_PER_TASK = 10_000


def bench_database(url: str) -> str:
    """Return the URL of a fresh ``<name>_lifecycle`` database on DATABASE_URL's server."""
    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench/lifecycle.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = f"{parts.path.lstrip('/') or 'registry'}_lifecycle"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def blob_content(number: int) -> bytes:
    return b"lifecycle bench blob %d\n" % number


def copy_rows(model: type, fields: list[str], rows: Iterable[tuple]) -> None:
    """COPY ``rows`` (values of ``fields``, in order) into ``model``'s table."""
    from django.db import connection

    meta = model._meta
    # Django sets defaults in Python, not in the schema: the fields not given take theirs here.
    rest = [
        field
        for field in meta.concrete_fields
        if field.name not in fields and not field.primary_key
    ]
    defaults = tuple(field.get_default() for field in rest)
    columns = [meta.get_field(name).column for name in fields] + [field.column for field in rest]
    names = ", ".join(f'"{column}"' for column in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f'COPY "{meta.db_table}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(row + defaults)


def write_files(root: Path, numbers: range) -> None:
    """Store the bytes of blobs ``numbers`` as the filesystem backend lays them out."""
    from storage.models import blob_path

    for number in numbers:
        content = blob_content(number)
        path = root / blob_path(hashlib.sha256(content).hexdigest())
        path.write_bytes(content)


def load(args: argparse.Namespace, store: Path) -> dict[str, float]:
    """Bulk-load blobs, npm packages/versions/assets/tags and raw files; return seconds per step."""
    from django.db import connection, transaction
    from django.utils import timezone

    from formats.models import Asset, Package, Repository, Tag, Version
    from storage.models import Blob

    timings: dict[str, float] = {}
    old = timezone.now() - AGE
    started = time.perf_counter()
    for prefix in range(256):
        (store / "sha256" / f"{prefix:02x}").mkdir(parents=True, exist_ok=True)
    tasks = [range(s, min(s + FILES_PER_TASK, args.blobs)) for s in range(0, args.blobs, 10_000)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda numbers: write_files(store, numbers), tasks))
    timings["blob files"] = time.perf_counter() - started

    started = time.perf_counter()
    digests = [hashlib.sha256(blob_content(n)).hexdigest() for n in range(args.blobs)]
    with transaction.atomic():
        copy_rows(
            Blob,
            ["sha256", "size", "sha512", "sha1", "md5", "created", "last_written"],
            (
                (digest, len(blob_content(n)), "", "", "", old, old)
                for n, digest in enumerate(digests)
            ),
        )
    timings["blob rows"] = time.perf_counter() - started

    started = time.perf_counter()
    npm, raw = Repository.objects.get(name="npm"), Repository.objects.get(name="raw")
    packages = args.versions // args.per_package
    with transaction.atomic():
        copy_rows(
            Package,
            ["repository", "name", "normalized_name", "metadata", "created", "updated"],
            ((npm.pk, f"bulk-{p:06d}", f"bulk-{p:06d}", "{}", old, old) for p in range(packages)),
        )
        package_ids = dict(Package.objects.filter(repository=npm).values_list("name", "pk"))

        def versions() -> Iterator[tuple]:
            for p in range(packages):
                name = f"bulk-{p:06d}"
                for v in range(args.per_package):
                    record = {
                        "manifest": {"name": name, "version": f"1.0.{v}", "license": "MIT"},
                        "integrity": "sha512-" + "A" * 86 + "==",
                        "shasum": "0" * 40,
                        "file_count": 1,
                        "unpacked_size": 30,
                        "readme": "",
                        "readme_filename": "",
                    }
                    published = old - timedelta(minutes=args.per_package - v)
                    yield (package_ids[name], f"1.0.{v}", json.dumps(record), published)

        copy_rows(Version, ["package", "version", "metadata", "published_at"], versions())
        version_rows = Version.objects.filter(package__repository=npm).order_by("pk")
        version_list = list(version_rows.values_list("pk", "package__name", "version"))
        copy_rows(
            Asset,
            ["repository", "version", "path", "blob", "media_type", "metadata", "created"],
            (
                (npm.pk, pk, f"{name}/-/{name}-{version}.tgz", digests[n], "application/gzip")
                + ("{}", old)
                for n, (pk, name, version) in enumerate(version_list)
            ),
        )
        newest = {name: pk for pk, name, _ in version_list}
        copy_rows(
            Tag,
            ["package", "name", "version", "updated"],
            ((package_ids[name], "latest", pk, old) for name, pk in newest.items()),
        )
        start, count = len(version_list), args.blobs // 5
        copy_rows(
            Asset,
            ["repository", "path", "blob", "media_type", "metadata", "created"],
            (
                (raw.pk, f"bulk/{n}.txt", digests[n], "text/plain", "{}", old)
                for n in range(start, min(start + count, args.blobs))
            ),
        )
    timings["versions, assets, tags"] = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    timings["vacuum analyze"] = time.perf_counter() - started
    return timings


class LoadClient:
    """Pushes and pulls through the server at a steady pace, timing each request by phase."""

    def __init__(self, base: str, token: str, *, clients: int, rate: float) -> None:
        self.base = base
        self.token = token
        self.clients = clients
        self.interval = clients / rate
        self.phase = "idle"
        self.stopping = threading.Event()
        self.latencies: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def _timed(
        self, session: requests.Session, kind: str, method: str, url: str, expected: set[int], **kw
    ) -> requests.Response | None:
        phase = self.phase
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=120, **kw)
        except requests.RequestException as error:
            self.errors.append(f"{phase} {kind}: {error}")
            return None
        self.latencies[(phase, kind)].append(time.perf_counter() - started)
        if response.status_code not in expected:
            self.errors.append(f"{phase} {kind}: {response.status_code} {response.text[:200]}")
        return response

    def _run(self, number: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        pick = random.Random(number)
        raw_files: list[str] = []
        package, published = f"load-{number}", 0
        npm = f"{self.base}/repository/npm/"
        for turn in range(10**9):
            if self.stopping.is_set():
                return
            paced = time.monotonic() + self.interval
            step = turn % 4
            if step == 0:
                path = f"{self.base}/repository/raw/load/{number}/{turn}.bin"
                sent = self._timed(session, "push raw", "PUT", path, {201}, data=os.urandom(4096))
                if sent is not None and sent.status_code == 201:
                    raw_files.append(path)
            elif step == 1 and raw_files:
                self._timed(session, "pull raw", "GET", pick.choice(raw_files), {200})
            elif step == 2:
                sent = self._timed(
                    session,
                    "push npm",
                    "PUT",
                    f"{npm}{package}",
                    {200, 201},
                    data=publish_body(package, f"1.0.{published}", {}),
                    headers={"Content-Type": MIME_JSON},
                )
                published += sent is not None and sent.status_code in (200, 201)
            elif step == 3 and published:
                newest = f"1.0.{published - 1}"
                self._timed(session, "pull npm packument", "GET", f"{npm}{package}", {200})
                tarball = f"{npm}{package}/-/{package}-{newest}.tgz"
                self._timed(session, "pull npm tarball", "GET", tarball, {200})
            self.stopping.wait(max(0.0, paced - time.monotonic()))


def unlink_floor(store: Path) -> tuple[int, float]:
    """Remove every file left in the store with ``find -delete``; return (files, seconds).

    The physical floor for GC's unlinks: files as cold as the ones GC removed, one C loop.
    """
    files = sum(len(os.listdir(folder)) for folder in (store / "sha256").iterdir())
    started = time.perf_counter()
    subprocess.run(["find", str(store / "sha256"), "-type", "f", "-delete"], check=True)
    return files, time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed_command(name: str, *args: str) -> tuple[float, str]:
    from django.core.management import call_command

    output = io.StringIO()
    started = time.perf_counter()
    call_command(name, *args, stdout=output, stderr=io.StringIO())
    return time.perf_counter() - started, output.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--blobs", type=int, default=1_000_000)
    parser.add_argument("--per-package", type=int, default=100)
    parser.add_argument("--keep-last", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=40.0, help="load requests per second")
    parser.add_argument("--idle-seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--work", type=Path, default=None, help="folder for the blob store")
    parser.add_argument("--keep", action="store_true", help="keep the database and the store")
    args = parser.parse_args()
    if args.blobs < args.versions:
        parser.error("--blobs must be at least --versions (one blob per npm version)")

    database = bench_database(os.environ.get("DATABASE_URL", ""))
    work = Path(tempfile.mkdtemp(prefix="bench-lifecycle-", dir=args.work))
    var_dir = work / "var"
    env = {"DATABASE_URL": database, "BLOB_FSYNC": "0", "LOG_LEVEL": "WARNING"}
    server = RegistryServer(var_dir, workers=args.workers, threads=4, env=env)
    os.environ.update(server.env)
    try:
        with server:
            token = server.create_token("npm", format="npm", role="delete", public=True)
            server.manage("createrepo", "raw", "--format", "raw")
            server.manage("grant", "user", USER, "raw", "delete")
            import django

            django.setup()
            from django.conf import settings

            print(
                f"loading {args.blobs} blobs, {args.versions} npm versions "
                f"({args.per_package} per package) into {urlsplit(database).path[1:]}",
                flush=True,
            )
            timings = load(args, Path(settings.BLOB_STORE_DIR))
            for step, seconds in timings.items():
                print(f"  load {step}: {seconds:.1f} s")
            print(f"  load total: {sum(timings.values()):.1f} s", flush=True)
            run(args, server, token)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            drop_database(database)


def run(args: argparse.Namespace, server: RegistryServer, token: str) -> None:
    from formats.lifecycle.cleanup import policy_set
    from formats.models import Repository, Version
    from storage.models import Blob

    npm = Repository.objects.get(name="npm")
    policy_set(repository=npm, keep_last=args.keep_last)
    client = LoadClient(server.url, token, clients=args.clients, rate=args.rate)
    client.start()
    time.sleep(args.idle_seconds)

    client.phase = "cleanup"
    before = Version.objects.filter(package__repository=npm).count()
    cleanup_seconds, _ = timed_command("cleanup", "npm")
    removed = before - Version.objects.filter(package__repository=npm).count()
    time.sleep(2)

    client.phase = "gc"
    blobs_before = Blob.objects.count()
    gc_seconds, gc_output = timed_command("gc")
    collected = blobs_before - Blob.objects.count()
    time.sleep(2)
    client.stop()

    packument = requests.get(f"{server.url}/repository/npm/bulk-000000", timeout=30).json()
    rows = Blob.objects.count()
    server.stop()
    files, floor_seconds = unlink_floor(Path(server.var_dir) / "blobs")
    floor = floor_seconds / max(files, 1)

    print(f"\n{args.versions} versions, {args.blobs} blobs, PostgreSQL, {os.cpu_count()} CPUs")
    print(f"cleanup: removed {removed} versions in {cleanup_seconds:.1f} s (goal < 60 s)")
    print(f"gc: removed {collected} blobs in {gc_seconds:.1f} s (goal < 60 s)")
    print(f"   {gc_output.strip().splitlines()[-1]}")
    print(
        f"gc / unlink floor (find -delete of the {files} files left: {floor * 1e6:.1f} us per "
        f"file, x {collected}): {gc_seconds / (floor * max(collected, 1)):.2f}x"
    )
    kept = len(packument.get("versions", {}))
    print(f"packument of bulk-000000 after cleanup: {kept} versions (expected {args.keep_last})")
    print(f"blob files left on disk: {files}, blob rows: {rows}")
    print(f"\nload client ({args.clients} clients, {args.rate:.0f} req/s): latency in ms")
    print(f"{'phase':<9}{'request':<22}{'count':>7}{'p50':>9}{'p99':>9}{'p99/idle':>10}")
    for (phase, kind), values in sorted(client.latencies.items(), key=lambda item: item[0][1]):
        idle = client.latencies.get(("idle", kind))
        ratio = percentile(values, 0.99) / percentile(idle, 0.99) if idle else float("nan")
        print(
            f"{phase:<9}{kind:<22}{len(values):>7}{statistics.median(values) * 1e3:>9.1f}"
            f"{percentile(values, 0.99) * 1e3:>9.1f}{ratio:>10.2f}"
        )
    print(f"client errors: {len(client.errors)}")
    for error in client.errors[:20]:
        print(f"  {error}")
    if kept != args.keep_last or files != rows:
        sys.exit("the packument or the store does not match the database")


if __name__ == "__main__":
    main()
