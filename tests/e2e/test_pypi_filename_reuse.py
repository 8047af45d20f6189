"""twine against a filename that was deleted: PyPI's rule that a filename is used only once."""

import os
import subprocess

import pytest
import requests

from access.models import Role
from formats.models import Asset
from tests.factories import RepositoryFactory
from tests.formats.pypi.dists import make_wheel
from tests.live import require_client

pytestmark = pytest.mark.e2e

REUSED = (
    "This filename has already been used, use a different version. "
    "See https://pypi.org/help/#file-name-reuse for more information."
)


def _twine(twine: str, url: str, token: str, wheel, *options: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "PIP_"))}
    return subprocess.run(
        [twine, "--no-color", "upload", "--non-interactive", "--disable-progress-bar"]
        + ["--repository-url", url, "-u", "__token__", "-p", token, *options, str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_deleted_wheel_cannot_come_back_modified(live_registry, make_user, make_token, tmp_path):
    twine = require_client("twine")
    repository = RepositoryFactory(name="pypi-reuse", format="pypi")
    token = make_token(make_user(repository, Role.DELETE))
    url = f"{live_registry.url}/repository/pypi-reuse/"
    filename, original = make_wheel("reuse-me", "1.0")
    _, modified = make_wheel("reuse-me", "1.0", summary="modified after the fact")
    (tmp_path / "original").mkdir()
    (tmp_path / "modified").mkdir()
    (tmp_path / "original" / filename).write_bytes(original)
    (tmp_path / "modified" / filename).write_bytes(modified)
    first = _twine(twine, url, token, tmp_path / "original" / filename)
    assert first.returncode == 0, first.stdout + first.stderr
    wheel = Asset.objects.get(path__endswith=filename)
    deleted = requests.delete(
        f"{live_registry.url}/api/v1/assets/{wheel.pk}/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert deleted.status_code == 204

    refused = _twine(twine, url, token, tmp_path / "modified" / filename)
    skipped = _twine(twine, url, token, tmp_path / "modified" / filename, "--skip-existing")

    assert refused.returncode != 0
    printed = " ".join((refused.stdout + refused.stderr).split())
    assert f"HTTPError: 400 Bad Request from {url} {REUSED}" in printed
    assert skipped.returncode != 0  # as on PyPI, --skip-existing does not hide a reused name
    assert Asset.objects.filter(path__endswith=filename).exists() is False
    again = _twine(twine, url, token, tmp_path / "original" / filename)
    assert again.returncode == 0, again.stdout + again.stderr
    served = requests.get(
        f"{live_registry.url}/repository/pypi-reuse/packages/reuse-me/1.0/{filename}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert served.content == original
