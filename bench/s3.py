"""A large blob up and down through us to an S3 server, next to boto3 talking to it directly.

Usage: .venv/bin/python bench/s3.py [--size-mb 1024] [--rounds 3] [--workdir DIR]

Starts moto's standalone S3 server (its own process, on loopback) and the registry (gunicorn,
production settings, ``BLOB_STORE_URL`` on that server, streamed downloads), then per round:
curl PUTs the file to a raw repository (hashed while it is sent on as a multipart upload, then
copied to its digest key) and GETs it back to a file; boto3's transfer manager uploads (8 MiB
parts, 10 at a time) and downloads (in one GET: moto copies the whole object for every ranged
GET) the same file to the same server directly.

moto 5 assembles a completed multipart upload in memory, which takes about a minute a GiB on a
busy machine: within botocore's default 60 s read timeout the client retried, and moto answered
500 ("seek of closed file") to the attempt that raced the first. The backend now gives
completing and copying a read timeout that fits (storage/s3.py ASSEMBLE_TIMEOUT).

Ratios are per round (boto3 time / our time: 1.0 is as fast as the direct client); the goal is
>= 0.8 both ways, with the server's RSS growing by less than 150 MB. The machine is shared:
rerun on a quiet one before reading much into one run.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import boto3
from blob_io import RssSampler, curl, timed
from boto3.s3.transfer import TransferConfig
from harness import BIN, USER, RegistryServer, free_port

MB = 1024 * 1024


def start_moto(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with (workdir / "moto.log").open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for _ in range(300):
        try:
            client.list_buckets()
            return process, endpoint
        except Exception:  # noqa: BLE001 (not up yet)
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    options = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="bench-s3-"))
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "payload.bin"
    with source.open("wb") as handle:
        for _ in range(options.size_mb):
            handle.write(os.urandom(MB))
    download = workdir / "download.bin"
    size = options.size_mb * MB
    moto, endpoint = start_moto(workdir)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for bucket in ("ours", "direct"):
        client.create_bucket(Bucket=bucket)
    env = {
        "BLOB_STORE_URL": "s3://ours/blobs",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "BLOB_SERVE_MODE": "stream",
    }
    times: dict[str, list[float]] = {"up": [], "up direct": [], "down": [], "down direct": []}
    try:
        with RegistryServer(workdir / "var", env=env) as server:
            assert server.process is not None
            credentials = f"{USER}:{server.create_token('bench-raw', format='raw')}"
            # Warm every worker up first (boto3, its S3 model and client load on first use,
            # ~50 MB a process): the growth measured is what the transfers themselves cost.
            warm = workdir / "warm.bin"
            warm.write_bytes(os.urandom(MB))
            for number in range(8):
                url = f"{server.url}/repository/bench-raw/warm{number}.bin"
                curl("-u", credentials, "-T", str(warm), url)
                curl("-u", credentials, url)
            sampler = RssSampler(server.process.pid)
            baseline = sampler.tree_rss()
            sampler.start()
            transfer = TransferConfig(multipart_chunksize=8 * MB, max_concurrency=10)
            # moto answers every ranged GET by copying the whole object first, so the transfer
            # manager's parallel ranged download would measure moto, not boto3: one GET, as
            # ours does (S3Reader continues one ranged GET from the start).
            one_get = TransferConfig(multipart_threshold=size + 1)
            for run in range(options.rounds):
                url = f"{server.url}/repository/bench-raw/run{run}/payload.bin"
                steps = {
                    "up": partial(curl, "-u", credentials, "-T", str(source), url),
                    "up direct": partial(
                        client.upload_file, str(source), "direct", f"run{run}", Config=transfer
                    ),
                    "down": partial(curl, "-u", credentials, url, output=str(download)),
                    "down direct": partial(
                        client.download_file, "direct", f"run{run}", str(download), Config=one_get
                    ),
                }
                # Who goes first alternates: moto's first gigabyte of a round costs it more.
                order = ["up", "up direct", "down", "down direct"]
                if run % 2:
                    order = ["up direct", "up", "down direct", "down"]
                for name in order:
                    times[name].append(timed(steps[name]))
            sampler.running = False
            growth = sampler.peak - baseline
    finally:
        moto.terminate()
        moto.wait(timeout=30)
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:12} median {median:7.2f} s  {size / median / MB:6.0f} MB/s")
    for way in ("up", "down"):
        ratios = [d / o for d, o in zip(times[f"{way} direct"], times[way], strict=True)]
        print(
            f"{way}: per-round ratios {', '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {statistics.median(ratios):.2f}x (goal >= 0.8x)"
        )
    print(f"server RSS growth: {growth / MB:.0f} MB (goal < 150 MB)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
