"""Every storage test runs against both blob stores, unless it is about local files.

The tests run once per backend, the S3 one against a real server (a fresh bucket per test).
``@pytest.mark.filesystem_store`` keeps a test on the filesystem store (temporary files, full
disks, file times); ``@pytest.mark.environment_store`` marks one whose server or worker
processes use the store the environment configures, so it runs on that one only;
``@pytest.mark.s3_store`` one about the object store alone. With
``BLOB_STORE_URL`` in the environment (CI's S3 pass) every test runs on that store alone.
"""

import os

import pytest

from storage.backends import blob_backend

BACKENDS = ("filesystem", "s3")
ENVIRONMENT_STORE = os.environ.get("BLOB_STORE_URL", "")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "blob_store" not in metafunc.fixturenames:
        return
    marked = {mark.name for mark in metafunc.definition.iter_markers()}
    if ENVIRONMENT_STORE or "s3_store" in marked:
        backends: tuple[str, ...] = ("s3",)
    elif marked & {"filesystem_store", "environment_store"}:
        backends = ("filesystem",)
    else:
        backends = BACKENDS
    metafunc.parametrize("blob_store", backends, indirect=True)


@pytest.fixture(autouse=True)
def blob_store(request, settings) -> str:
    """Point the settings at a fresh store of the parametrized kind; return that kind."""
    if ENVIRONMENT_STORE:
        if request.node.get_closest_marker("filesystem_store"):
            pytest.skip("about the filesystem store; this run's store is BLOB_STORE_URL")
        # In-process requests read bytes from the response; the redirect tests ask for it.
        settings.BLOB_SERVE_MODE = "stream"
        return "s3"  # the environment's store, which server and worker processes share
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        settings.BLOB_STORE_URL = server.new_store()
        settings.AWS_ENDPOINT_URL = server.endpoint
        settings.AWS_REGION = "us-east-1"
    else:
        settings.BLOB_STORE_URL = ""
    blob_backend()  # created now, so a test's threads share it
    return request.param


def store_overwrite(path: str, content: bytes) -> None:
    """Replace the stored bytes at ``path`` behind the registry's back (bit rot, a bad disk)."""
    backend = blob_backend()
    local = backend.local_path(path)
    if local is not None:
        local.write_bytes(content)
        return
    backend.client.put_object(Bucket=backend.bucket, Key=backend.prefix + path, Body=content)


def store_remove(path: str) -> None:
    """Lose the stored bytes at ``path`` behind the registry's back."""
    backend = blob_backend()
    local = backend.local_path(path)
    if local is not None:
        local.unlink()
        return
    backend.client.delete_object(Bucket=backend.bucket, Key=backend.prefix + path)
