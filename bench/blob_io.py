"""Blob throughput through the raw format, next to a plain file copy on the same disk.

Usage: .venv/bin/python bench/blob_io.py [--size-mb 1024] [--workdir DIR]

Starts the registry (gunicorn, production settings, a fresh var dir), then measures with curl:
upload (PUT) and download (GET) of one large file, against copies of the same file on the same
disk, and samples the server's resident memory throughout. Prints a table with ratios.

Two copies bound what is possible: `cp` (on ext4 it uses copy_file_range, so the bytes never
leave the kernel) and `cat > file` (the bytes pass through a process, as they must through any
server receiving them from a socket); `cat` + fsync is the durable form an upload matches. For
downloads, nginx sending the stored blob file with sendfile to the same curl is the limit of
an HTTP download here (curl's own write to disk included).

This machine's disk and memory speeds swing from run to run, so every round runs each column
once, back to back; next to the medians, the median of each round's own ratio is printed.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from harness import USER, RegistryServer, print_table

from tests.nginx import StaticNginx


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


def curl(*args: str) -> None:
    subprocess.run(["curl", "-sS", "--fail", *args], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians are shown")
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
        "cp": [],
        "cat": [],
        "cat_fsync": [],
        "upload": [],
        "download": [],
        "nginx": [],
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
            credentials = f"{USER}:{server.create_token('bench-raw', format='raw')}"
            sampler = RssSampler(server.process.pid)
            idle_rss = sampler.tree_rss()
            sampler.start()
            # Interleave the runs so that disk noise hits every column alike.
            for run in range(args.repeat):
                copy = workdir / "copy.bin"
                times["cp"].append(timed(subprocess.run, ["cp", source, copy], check=True))
                copy.unlink()
                os.sync()
                times["cat"].append(timed(user_space_copy, source, copy))
                copy.unlink()
                os.sync()
                times["cat_fsync"].append(timed(user_space_copy, source, copy, durable=True))
                copy.unlink()
                os.sync()
                url = f"{server.url}/repository/bench-raw/run{run}/payload.bin"
                times["upload"].append(timed(curl, "-u", credentials, "-T", str(source), url))
                os.sync()
                download = workdir / "download.bin"
                times["download"].append(timed(curl, "-u", credentials, "-o", str(download), url))
                if download.stat().st_size != size:
                    raise SystemExit("download size mismatch")
                download.unlink()
                os.sync()
                stored = next((workdir / "registry" / "blobs" / "sha256").glob("*/*"))
                static = f"{nginx.url}/sha256/{stored.parent.name}/{stored.name}"
                times["nginx"].append(timed(curl, "-o", str(download), static))
                download.unlink()
                os.sync()
            sampler.running = False
            sampler.join()

        rates = {name: [size / 1e6 / t for t in values] for name, values in times.items()}
        baselines = [rates["cp"], rates["cat"], rates["cat_fsync"], rates["nginx"]]
        print_table(
            f"blob I/O (MB/s), {args.size_mb} MiB, median of {args.repeat}, disk of {workdir}",
            ["ours", "cp", "cat", "cat+fsync", "nginx GET"],
            [
                ("upload (PUT: sha256, fsync)", [rates["upload"], *baselines], ">= 0.80x cp"),
                ("download (GET: sendfile)", [rates["download"], *baselines], ">= 0.90x cp"),
            ],
        )
        for label, ours, peer in [
            ("upload / cp", "upload", "cp"),
            ("download / cp", "download", "cp"),
            ("download / nginx GET", "download", "nginx"),
        ]:
            ratios = [mine / theirs for mine, theirs in zip(rates[ours], rates[peer], strict=True)]
            print(
                f"{label}, per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
                f"median {statistics.median(ratios):.2f}"
            )
        growth = (sampler.peak - idle_rss) / 1e6
        print(
            f"server RSS: idle {idle_rss / 1e6:.0f} MB, peak {sampler.peak / 1e6:.0f} MB, "
            f"growth {growth:.0f} MB (goal < 150 MB)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(source_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
