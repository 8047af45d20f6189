"""``manage.py fsck`` against a live server's store: what it marks, curl gets as an error."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from access.models import Role
from storage.models import blob_path
from tests.factories import RepositoryFactory
from tests.live import ROOT, child_environment, require_client

pytestmark = pytest.mark.e2e


def test_fsck_marks_a_corrupt_and_a_missing_file_and_curl_gets_an_error_not_bytes(
    live_registry, make_user, make_token, tmp_path
):
    repository = RepositoryFactory(name="checked", format="raw")
    user = make_user(repository, Role.WRITE)
    credentials = f"{user.username}:{make_token(user)}"
    base = f"{live_registry.url}/repository/checked"
    curl = require_client("curl")

    def curl_(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [curl, "-sS", "-u", credentials, "-w", "\n%{http_code}", *args],
            capture_output=True,
            check=False,
            timeout=60,
        )

    contents = {name: os.urandom(70_000) for name in ("rots", "vanishes", "stays")}
    for name, content in contents.items():
        (tmp_path / name).write_bytes(content)
        assert curl_("-T", str(tmp_path / name), f"{base}/{name}").stdout.endswith(b"201")
    digests = {name: hashlib.sha256(content).hexdigest() for name, content in contents.items()}
    store = Path(settings.BLOB_STORE_DIR)
    rotten = store / blob_path(digests["rots"])
    rotten.write_bytes(b"X" + rotten.read_bytes()[1:])
    (store / blob_path(digests["vanishes"])).unlink()

    fsck = subprocess.run(
        [sys.executable, "manage.py", "fsck"],
        cwd=ROOT,
        env=child_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )

    assert fsck.returncode == 1
    assert f"corrupt  sha256:{digests['rots']}" in fsck.stdout
    assert f"missing  sha256:{digests['vanishes']}" in fsck.stdout
    assert "missing=1, corrupt=1" in fsck.stdout
    for name in ("rots", "vanishes"):
        body, _, status = curl_(f"{base}/{name}").stdout.rpartition(b"\n")
        assert status == b"500"
        assert "failed the integrity check" in json.loads(body)["error"]
    body, _, status = curl_(f"{base}/stays").stdout.rpartition(b"\n")
    assert (status, body) == (b"200", contents["stays"])

    # Uploading the same bytes again (anywhere) stores them anew and lifts the mark.
    assert curl_("-T", str(tmp_path / "rots"), f"{base}/rots-again").stdout.endswith(b"201")
    body, _, status = curl_(f"{base}/rots").stdout.rpartition(b"\n")
    assert (status, body) == (b"200", contents["rots"])
