"""Blob throughput: a large upload and download through the raw and OCI formats, next to CNCF
Distribution receiving the same blob and to the limits of this machine, in one run.

Usage: .venv/bin/python bench/blob_io.py [--size-mb 1024] [--repeat 5] [--chunk-mb 64]
[--workdir DIR]

Starts the registry (gunicorn, production settings, a fresh var dir), Distribution (Debian's
``docker-registry``, filesystem storage on the same disk) and nginx, then measures with curl,
round by round (every column once per round, back to back, so this machine's swinging disk
speed hits them alike):

* uploads: our raw PUT; OCI monolithic (POST, then one PUT with the body and ``?digest=``) and
  OCI chunked (PATCHes of ``--chunk-mb``, then PUT) to us and to Distribution. Every upload
  sends new bytes (the first 4 KiB are rewritten), so nobody finds the blob already stored.
* limits: ``sha256sum`` of the file (hashing is the least an upload must do), ``cp`` (on ext4
  copy_file_range: the bytes never leave the kernel) and ``cat > file`` + fsync (the bytes pass
  through a process and are made durable, as an upload's must be).
* downloads: our raw GET and OCI blob GET, next to nginx sending the stored file with sendfile
  to the same curl (the limit of an HTTP download here).

Server RSS is sampled throughout. Goals (issue 16): uploads >= 0.9x Distribution's and >= 0.8x
sha256sum's throughput; downloads >= 0.95x nginx; RSS growth < 150 MB; per-round ratios and
their median over at least 5 rounds.
"""

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness import USER, RegistryServer, print_table

from tests.nginx import StaticNginx
from tests.peers.distribution import Distribution, start_distribution


class RssSampler(threading.Thread):
    """Samples the summed RSS of a process tree every few milliseconds."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.peak = 0
        self.running = True

    def tree_rss(self) -> int:
        pids = [self.root_pid]
        children = Path(f"/proc/{self.root_pid}/task/{self.root_pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            except FileNotFoundError:
                pass
        return total

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.tree_rss())
            time.sleep(0.02)


def timed(function, *args, **kwargs) -> float:
    """Return the wall time of ``function(*args, **kwargs)``."""
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def user_space_copy(source: Path, target: Path, *, durable: bool = False) -> None:
    """Copy through a process, like ``cat source > target``; fsync the copy when ``durable``."""
    with source.open("rb") as reader, target.open("wb") as writer:
        subprocess.run(["cat"], stdin=reader, stdout=writer, check=True)
        if durable:
            os.fsync(writer.fileno())


def curl(*args: str, output: str = "/dev/null") -> str:
    """Run curl writing the body to ``output``; return what it printed (headers with ``-D -``)."""
    return subprocess.run(
        ["curl", "-sS", "--fail", "-o", output, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def renew(source: Path) -> str:
    """Give ``source`` new content (its first 4 KiB); return its ``sha256:`` digest."""
    with source.open("r+b") as file:
        file.write(os.urandom(4096))
    with source.open("rb") as file:
        return f"sha256:{hashlib.file_digest(file, 'sha256').hexdigest()}"


def oci_upload(base: str, name: str, source: Path, digest: str, *, auth: list[str], chunks=None):
    """Upload ``source`` as a blob of ``name``: monolithic, or PATCH by PATCH of ``chunks``."""
    location = curl(*auth, "-X", "POST", "-D", "-", f"{base}/v2/{name}/blobs/uploads/")
    url = re.search(r"^location: (\S+)", location, re.IGNORECASE | re.MULTILINE)[1]
    url = url if url.startswith("http") else f"{base}{url}"
    offset = 0
    for chunk in chunks or []:
        size = chunk.stat().st_size
        headers = curl(
            *auth,
            "-X",
            "PATCH",
            "-D",
            "-",
            "-H",
            "Content-Type: application/octet-stream",
            "-H",
            f"Content-Range: {offset}-{offset + size - 1}",
            "-T",
            str(chunk),
            url,
        )
        url = re.search(r"^location: (\S+)", headers, re.IGNORECASE | re.MULTILINE)[1]
        url = url if url.startswith("http") else f"{base}{url}"
        offset += size
    finish = f"{url}{'&' if '?' in url else '?'}digest={digest}"
    body = [] if chunks else ["-H", "Content-Type: application/octet-stream", "-T", str(source)]
    curl(*auth, "-X", "PUT", *body, finish)


def split(source: Path, chunk_bytes: int, directory: Path) -> list[Path]:
    """Cut ``source`` into files of ``chunk_bytes`` in ``directory``."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    subprocess.run(
        ["split", "-b", str(chunk_bytes), "-d", "-a", "4", str(source), f"{directory}/part"],
        check=True,
    )
    return sorted(directory.iterdir())


def per_round(label: str, ours: list[float], theirs: list[float]) -> None:
    ratios = [mine / other for mine, other in zip(ours, theirs, strict=True)]
    print(
        f"{label}, per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f}"
    )


UPLOADS = ["raw PUT", "OCI monolithic", "OCI chunked"]
PEER_UPLOADS = ["Distribution monolithic", "Distribution chunked"]
LIMITS = ["sha256sum", "cp", "cat+fsync"]
DOWNLOADS = ["raw GET", "OCI blob GET", "nginx sendfile"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5, help="rounds; medians are shown")
    parser.add_argument("--chunk-mb", type=int, default=64, help="PATCH size of chunked uploads")
    parser.add_argument("--workdir", default=None, help="a folder on the disk to measure")
    parser.add_argument(
        "--source-dir",
        default="/dev/shm" if Path("/dev/shm").is_dir() else None,
        help="where the payload is read from; memory by default, so that reading it costs "
        "every column alike (this machine's kernel pages out idle file cache)",
    )
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    workdir = Path(tempfile.mkdtemp(prefix="bench-blob-", dir=args.workdir))
    source_dir = Path(tempfile.mkdtemp(prefix="bench-blob-source-", dir=args.source_dir))
    times: dict[str, list[float]] = {
        name: [] for name in [*UPLOADS, *PEER_UPLOADS, *LIMITS, *DOWNLOADS]
    }
    try:
        source = source_dir / "payload.bin"
        with source.open("wb") as out:
            for _ in range(args.size_mb):
                out.write(os.urandom(1024 * 1024))
        os.sync()
        workdir.chmod(0o755)  # nginx workers read the blob store
        with (
            RegistryServer(workdir / "registry") as server,
            StaticNginx(
                workdir / "static-nginx",
                serve=workdir / "registry" / "blobs",
                workers=2,
                access_log=False,
            ) as nginx,
        ):
            peer = start_distribution(workdir / "distribution")
            credentials = f"{USER}:{server.create_token('bench-raw', format='raw')}"
            server.manage("createrepo", "bench-oci", "--format", "oci")
            server.manage("grant", "user", USER, "bench-oci", "write")
            auth = ["-u", credentials]
            sampler = RssSampler(server.process.pid)
            idle_rss = sampler.tree_rss()
            sampler.start()
            setup = Setup(args, source, workdir, source_dir, server, peer, nginx, auth, times)
            try:
                for run in range(args.repeat):
                    measure_round(setup, run)
            finally:
                sampler.running = False
                sampler.join()
                peer.stop()

        report(args, size, times, workdir, sampler, idle_rss)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(source_dir, ignore_errors=True)


@dataclass
class Setup:
    """What every round measures with: the payload, the servers and where times go."""

    args: argparse.Namespace
    source: Path
    workdir: Path
    source_dir: Path
    server: RegistryServer
    peer: Distribution
    nginx: StaticNginx
    auth: list[str]
    times: dict[str, list[float]]


def measure_round(setup: Setup, run: int) -> None:
    """Run every column once, uploads first (each with new bytes), then the downloads."""
    args, source, workdir, source_dir = setup.args, setup.source, setup.workdir, setup.source_dir
    server, peer, nginx, auth, times = (
        setup.server,
        setup.peer,
        setup.nginx,
        setup.auth,
        setup.times,
    )
    copy = workdir / "copy.bin"
    renew(source)
    times["sha256sum"].append(
        timed(subprocess.run, ["sha256sum", source], check=True, stdout=subprocess.DEVNULL)
    )
    times["cp"].append(timed(subprocess.run, ["cp", source, copy], check=True))
    copy.unlink()
    os.sync()
    times["cat+fsync"].append(timed(user_space_copy, source, copy, durable=True))
    copy.unlink()
    os.sync()

    raw_url = f"{server.url}/repository/bench-raw/run{run}/payload.bin"
    times["raw PUT"].append(timed(curl, *auth, "-T", str(source), raw_url))
    os.sync()
    oci_digest = renew(source)
    times["OCI monolithic"].append(
        timed(oci_upload, server.url, "bench-oci/app", source, oci_digest, auth=auth)
    )
    os.sync()
    digest = renew(source)
    times["Distribution monolithic"].append(
        timed(oci_upload, peer.url, "bench/app", source, digest, auth=[])
    )
    os.sync()
    chunk_bytes = args.chunk_mb * 1024 * 1024
    digest = renew(source)
    chunks = split(source, chunk_bytes, source_dir / "chunks")
    times["OCI chunked"].append(
        timed(oci_upload, server.url, "bench-oci/app", source, digest, auth=auth, chunks=chunks)
    )
    os.sync()
    digest = renew(source)
    chunks = split(source, chunk_bytes, source_dir / "chunks")
    times["Distribution chunked"].append(
        timed(oci_upload, peer.url, "bench/app", source, digest, auth=[], chunks=chunks)
    )
    shutil.rmtree(source_dir / "chunks")
    os.sync()

    download = workdir / "download.bin"
    times["raw GET"].append(timed(curl, *auth, raw_url, output=str(download)))
    download.unlink()
    os.sync()
    blob_url = f"{server.url}/v2/bench-oci/app/blobs/{oci_digest}"
    times["OCI blob GET"].append(timed(curl, *auth, "-L", blob_url, output=str(download)))
    download.unlink()
    os.sync()
    hex_ = oci_digest.split(":")[1]
    static = f"{nginx.url}/sha256/{hex_[:2]}/{hex_}"
    times["nginx sendfile"].append(timed(curl, static, output=str(download)))
    download.unlink()
    os.sync()


def report(args, size, times, workdir, sampler, idle_rss) -> None:
    rates = {name: [size / 1e6 / t for t in values] for name, values in times.items()}
    print_table(
        f"uploads (MB/s), {args.size_mb} MiB, median of {args.repeat}, disk of {workdir}",
        ["ours", *PEER_UPLOADS[:1], *LIMITS],
        [
            (
                name,
                [rates[name], rates["Distribution monolithic"], *(rates[x] for x in LIMITS)],
                ">= 0.9x Distribution, >= 0.8x sha256sum",
            )
            for name in UPLOADS[:2]
        ]
        + [
            (
                "OCI chunked",
                [rates["OCI chunked"], rates["Distribution chunked"], *(rates[x] for x in LIMITS)],
                ">= 0.9x Distribution chunked, >= 0.8x sha256sum",
            )
        ],
    )
    print_table(
        "downloads (MB/s)",
        ["ours", "nginx sendfile"],
        [
            (name, [rates[name], rates["nginx sendfile"]], ">= 0.95x nginx")
            for name in DOWNLOADS[:2]
        ],
    )
    print()
    per_round(
        "raw PUT / Distribution monolithic", rates["raw PUT"], rates["Distribution monolithic"]
    )
    per_round(
        "OCI monolithic / Distribution monolithic",
        rates["OCI monolithic"],
        rates["Distribution monolithic"],
    )
    per_round(
        "OCI chunked / Distribution chunked", rates["OCI chunked"], rates["Distribution chunked"]
    )
    for name in UPLOADS:
        per_round(f"{name} / sha256sum", rates[name], rates["sha256sum"])
    for name in DOWNLOADS[:2]:
        per_round(f"{name} / nginx sendfile", rates[name], rates["nginx sendfile"])
    growth = (sampler.peak - idle_rss) / 1e6
    print(
        f"server RSS: idle {idle_rss / 1e6:.0f} MB, peak {sampler.peak / 1e6:.0f} MB, "
        f"growth {growth:.0f} MB (goal < 150 MB)"
    )


if __name__ == "__main__":
    main()
