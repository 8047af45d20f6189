"""Blob throughput through the raw format, next to a plain file copy on the same disk.

Usage: .venv/bin/python bench/blob_io.py [--size-mb 1024] [--workdir DIR]

Starts the registry (gunicorn, production settings, a fresh var dir), then measures with curl:
upload (PUT) and download (GET) of one large file, against `cp` of the same file on the same
disk, and samples the server's resident memory throughout. Prints a table with ratios.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RegistryServer  # noqa: E402


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
            time.sleep(0.005)


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def drop_file(path: Path) -> None:
    path.unlink(missing_ok=True)


def copy_with_fsync(source: Path, target: Path) -> None:
    """Copy like ``cp`` and then make the copy durable, as an upload's fsync does."""
    subprocess.run(["cp", str(source), str(target)], check=True)
    with target.open("rb") as handle:
        os.fsync(handle.fileno())


def timed_call(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians are shown")
    parser.add_argument("--workdir", default=None, help="a folder on the disk to measure")
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    workdir = Path(tempfile.mkdtemp(prefix="bench-blob-", dir=args.workdir))
    times: dict[str, list[float]] = {
        "copy": [],
        "copy_fsync": [],
        "upload": [],
        "download": [],
    }
    try:
        source = workdir / "payload.bin"
        with source.open("wb") as out:
            for _ in range(args.size_mb):
                out.write(os.urandom(1024 * 1024))
        os.sync()
        with RegistryServer(workdir / "registry") as server:
            server.manage("createrepo", "bench-raw", "--format", "raw")
            server.manage("createuser", "bench", "--password", "bench-password-1")
            server.manage("grant", "user", "bench", "bench-raw", "write")
            token = server.manage("createtoken", "bench").strip().splitlines()[-1]
            credentials = f"bench:{token}"
            sampler = RssSampler(server.process.pid)
            idle_rss = sampler.tree_rss()
            sampler.start()
            # Interleave the runs so that disk noise hits every column alike.
            for run in range(args.repeat):
                copy = workdir / "copy.bin"
                times["copy"].append(timed(["cp", str(source), str(copy)]))
                drop_file(copy)
                os.sync()
                times["copy_fsync"].append(timed_call(copy_with_fsync, source, copy))
                drop_file(copy)
                os.sync()
                url = f"{server.url}/repository/bench-raw/run{run}/payload.bin"
                times["upload"].append(
                    timed(["curl", "-sS", "--fail", "-u", credentials, "-T", str(source), url])
                )
                os.sync()
                download = workdir / "download.bin"
                times["download"].append(
                    timed(["curl", "-sS", "--fail", "-u", credentials, "-o", str(download), url])
                )
                if download.stat().st_size != size:
                    raise SystemExit("download size mismatch")
                drop_file(download)
                os.sync()
            sampler.running = False
            sampler.join()

        median = {name: statistics.median(values) for name, values in times.items()}
        mb = size / 1e6
        rows = [
            ("plain copy (cp)", median["copy"], "1.00", ""),
            (
                "copy + fsync",
                median["copy_fsync"],
                f"{median['copy'] / median['copy_fsync']:.2f}",
                "1.00",
            ),
            (
                "upload (PUT: sha256, fsync)",
                median["upload"],
                f"{median['copy'] / median['upload']:.2f}",
                f"{median['copy_fsync'] / median['upload']:.2f}",
            ),
            (
                "download (GET: sendfile)",
                median["download"],
                f"{median['copy'] / median['download']:.2f}",
                "",
            ),
        ]
        print(f"\nblob I/O, {args.size_mb} MiB, median of {args.repeat}, disk of {workdir}")
        print(f"{'operation':30} {'seconds':>8} {'MB/s':>7} {'x cp':>6} {'x cp+fsync':>11}")
        for name, seconds, ratio, durable_ratio in rows:
            print(f"{name:30} {seconds:8.2f} {mb / seconds:7.0f} {ratio:>6} {durable_ratio:>11}")
        growth = (sampler.peak - idle_rss) / 1e6
        print(
            f"server RSS: idle {idle_rss / 1e6:.0f} MB, peak {sampler.peak / 1e6:.0f} MB, "
            f"growth {growth:.0f} MB (goal < 150 MB)"
        )
        print("goals: upload >= 0.80x copy, download >= 0.90x copy")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
