"""The raw format driven by curl, the client people use for generic repositories."""

import hashlib
import os
import subprocess

import pytest

from access.models import Role
from formats.models import Asset
from tests.factories import RepositoryFactory
from tests.live import require_client

pytestmark = pytest.mark.e2e


def _curl(*args: str) -> subprocess.CompletedProcess:
    curl = require_client("curl")
    return subprocess.run(
        # --location: with BLOB_SERVE_MODE=redirect downloads answer a presigned URL of the store.
        [curl, "--silent", "--show-error", "--location", "--write-out", "%{http_code}", *args],
        capture_output=True,
        check=False,
    )


def test_upload_download_range_and_redeploy_refusal(live_registry, make_user, make_token, tmp_path):
    repository = RepositoryFactory(name="generic", format="raw")
    writer = make_user(repository, Role.WRITE)
    token = make_token(writer)
    payload = tmp_path / "tool.tar.gz"
    payload.write_bytes(os.urandom(3 * 1024 * 1024 + 11))
    url = f"{live_registry.url}/repository/generic/tools/1.0/tool.tar.gz"

    put = _curl("-u", f"{writer.username}:{token}", "-T", str(payload), url)
    assert put.stdout == b"201"

    downloaded = tmp_path / "downloaded"
    get = _curl("-u", f"{writer.username}:{token}", "-o", str(downloaded), url)
    assert get.stdout == b"200"
    assert (
        hashlib.sha256(downloaded.read_bytes()).digest()
        == hashlib.sha256(payload.read_bytes()).digest()
    )

    part = _curl("-u", f"{writer.username}:{token}", "-r", "100-199", "-o", "-", url)
    assert part.stdout == payload.read_bytes()[100:200] + b"206"

    again = _curl("-u", f"{writer.username}:{token}", "-T", str(payload), url)
    assert again.stdout.endswith(b"409")
    assert Asset.objects.filter(repository=repository).count() == 1


def test_anonymous_is_challenged_on_a_private_repository(live_registry):
    RepositoryFactory(name="private-raw", format="raw")
    result = _curl("-D", "-", "-o", "/dev/null", f"{live_registry.url}/repository/private-raw/x")
    assert result.stdout.endswith(b"401")
    assert b'WWW-Authenticate: Basic realm="registry"' in result.stdout
