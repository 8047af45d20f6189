"""A real S3-compatible server (moto's standalone server) as its own process, for the S3 backend.

``BLOB_STORE_URL`` set in the environment (as CI's S3 pass does) means a server is already up;
otherwise the fixture starts ``moto_server`` on a free loopback port.
"""

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.live import free_port, require_client, wait_answering


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen | None

    def new_store(self) -> str:
        """Create an empty bucket and return its ``BLOB_STORE_URL``."""
        import boto3

        bucket = f"blobs-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1").create_bucket(
            Bucket=bucket
        )
        return f"s3://{bucket}/store"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)


def ensure_environment_bucket() -> None:
    """Create the bucket ``BLOB_STORE_URL`` names in the environment, if one is named."""
    url = os.environ.get("BLOB_STORE_URL", "")
    if not url:
        return
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    bucket = url.removeprefix("s3://").partition("/")[0]
    if bucket not in {item["Name"] for item in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=bucket)


def start_s3_server(log_dir: Path, *, own: bool = False) -> S3Server:
    """Start moto_server on 127.0.0.1 and wait until it answers; skip if moto is missing.

    The server the environment names (``AWS_ENDPOINT_URL``) serves instead, unless ``own``
    asks for a process of the caller's (one that a test may stop).
    """
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if (endpoint := os.environ.get("AWS_ENDPOINT_URL")) and not own:
        return S3Server(endpoint=endpoint, process=None)
    binary = require_client("moto_server")
    port = free_port()
    with (log_dir / "moto.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    endpoint = f"http://127.0.0.1:{port}"
    wait_answering(process, endpoint, log_dir / "moto.log")
    return S3Server(endpoint=endpoint, process=process)
