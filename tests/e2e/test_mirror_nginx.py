"""npm tarballs and PyPI distributions sent by nginx from the mirror (deploy/nginx.conf).

A gunicorn with MIRROR_DIR set and a real nginx with the configuration we ship in front of it;
npm, pip and plain HTTP clients talk to nginx only (Maven: tests/e2e/test_maven_nginx.py).
"""

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings

from access.models import ApiToken, Role, hash_token
from access.services import role_grant, token_revoke
from formats.models import Asset
from tests.e2e.test_download_stats import _clean_env, _wheel, pip_install
from tests.e2e.test_npm_cli import Npm, _project
from tests.factories import RepositoryFactory
from tests.live import BIN, require_client
from tests.mirror import MirrorFront, mirror_front

pytestmark = pytest.mark.e2e

# nginx's own ETag ("<mtime>-<size>" in hex): the answer came from the mirror, not from Django.
NGINX_ETAG = re.compile(r'"[0-9a-f]+-[0-9a-f]+"')
TARBALL = "npm-fast/fastlib/-/fastlib-1.0.0.tgz"
WHEEL = "pypi-fast/packages/fastwheel/1.0/fastwheel-1.0-py3-none-any.whl"
SAME_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Cache-Control",
    "Content-Disposition",
    "Content-Security-Policy",
    "X-Content-Type-Options",
)


@pytest.fixture(scope="module")
def _front(django_db_setup, tmp_path_factory) -> Iterator[MirrorFront]:
    with mirror_front(tmp_path_factory) as front:
        yield front


@pytest.fixture
def front(_front, transactional_db) -> MirrorFront:
    """The shape, with no download logged yet; data must be committed to be seen."""
    return _front.fresh()


@pytest.fixture
def tokens(front, make_user, make_token, tmp_path) -> dict[str, str]:
    """``fastlib`` 1.0.0 published by npm and ``fastwheel`` 1.0 uploaded by twine, via nginx.

    Returns the tokens of the ``writer``, of a ``reader`` of both repositories and of a
    ``stranger`` to them.
    """
    repositories = [
        RepositoryFactory(name="npm-fast", format="npm"),
        RepositoryFactory(name="pypi-fast", format="pypi"),
    ]
    writer, reader, stranger = make_user(), make_user(), make_user()
    for repository in repositories:
        role_grant(repository=repository, role=Role.DELETE, user=writer)
        role_grant(repository=repository, role=Role.READ, user=reader)
    secrets = {"writer": make_token(writer), "reader": make_token(reader)}
    secrets["stranger"] = make_token(stranger)
    npm = _npm(front, tmp_path / "publisher", secrets["writer"])
    library = {"name": "fastlib", "version": "1.0.0"}
    npm("publish", cwd=_project(tmp_path / "fastlib", library, {"index.js": "module.exports=1;\n"}))
    subprocess.run(
        [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar"]
        + ["--repository-url", f"{front.nginx.url}/repository/pypi-fast/"]
        + ["-u", "__token__", "-p", secrets["writer"], str(_wheel(tmp_path, "fastwheel", "1.0"))],
        check=True,
        capture_output=True,
        env=_clean_env(),
        timeout=300,
    )
    front.settled()
    return secrets


def _npm(front: MirrorFront, root: Path, token: str) -> Npm:
    root.mkdir()
    return Npm(require_client("npm"), root, f"{front.nginx.url}/repository/npm-fast/", token)


def _get(base: str, path: str, token: str, **headers: str) -> requests.Response:
    auth = ("__token__", token)
    return requests.get(f"{base}/repository/{path}", auth=auth, headers=headers, timeout=30)


def _registry_requests(front: MirrorFront, since: int, suffix: str) -> list[str]:
    """The GETs and HEADs gunicorn answered since log offset ``since`` of paths ending so."""
    log = front.server.log.read_text()[since:]
    return re.findall(rf'"(?:GET|HEAD) /repository/\S+{re.escape(suffix)}[ ?]', log)


def _count(path: str, expected: int) -> int:
    """The download count of the file at ``path`` once it reached ``expected`` (or 120 s)."""
    asset = Asset.objects.get(repository__name=path.split("/", 1)[0], path=path.split("/", 1)[1])
    deadline = time.monotonic() + 120  # nginx's ten-second slot, then the server's flush
    while time.monotonic() < deadline and asset.download_count < expected:
        time.sleep(0.5)
        asset.refresh_from_db()
    return asset.download_count


def test_npm_install_gets_the_tarball_from_the_mirror_and_it_is_counted(front, tokens, tmp_path):
    npm = _npm(front, tmp_path / "installer", tokens["reader"])
    app = _project(tmp_path / "app", {"name": "app", "version": "0.0.0"}, {})
    since = len(front.server.log.read_text())

    npm("install", "fastlib@1.0.0", cwd=app)

    assert (app / "node_modules" / "fastlib" / "index.js").exists()
    assert _registry_requests(front, since, ".tgz") == []  # nginx sent it
    assert _count(TARBALL, 1) == 1


def test_pip_install_gets_the_wheel_from_the_mirror_and_it_is_counted(front, tokens, tmp_path):
    index = (
        f"http://__token__:{tokens['reader']}@{front.nginx.url[7:]}/repository/pypi-fast/simple/"
    )
    since = len(front.server.log.read_text())

    pip_install(index, "fastwheel==1.0", target=tmp_path / "site")

    assert (tmp_path / "site" / "fastwheel" / "__init__.py").exists()
    assert _registry_requests(front, since, ".whl") == []  # nginx sent it
    assert _count(WHEEL, 1) == 1


@pytest.mark.parametrize("path", [TARBALL, WHEEL])
def test_a_mirrored_file_answers_as_the_registry_does(front, tokens, path):
    reader = tokens["reader"]
    via_nginx = _get(front.nginx.url, path, reader)
    registry = _get(front.server.url, path, reader)

    assert (via_nginx.status_code, registry.status_code) == (200, 200)
    assert NGINX_ETAG.fullmatch(via_nginx.headers["ETag"])  # from the mirror
    assert via_nginx.content == registry.content
    for header in SAME_HEADERS:
        assert via_nginx.headers.get(header) == registry.headers.get(header), header
    again = _get(front.nginx.url, path, reader, **{"If-None-Match": via_nginx.headers["ETag"]})
    assert again.status_code == 304
    ranged = [
        _get(base, path, reader, Range="bytes=2-9") for base in (front.nginx.url, front.server.url)
    ]
    assert [r.status_code for r in ranged] == [206, 206]
    assert ranged[0].content == ranged[1].content == registry.content[2:10]
    assert ranged[0].headers["Content-Range"] == ranged[1].headers["Content-Range"]


@pytest.mark.parametrize("path", [TARBALL, WHEEL])
def test_a_caller_who_may_not_read_gets_the_registrys_refusal(front, tokens, path):
    bases = (front.nginx.url, front.server.url)
    for token in (tokens["stranger"], "not-a-token"):
        via_nginx = _get(front.nginx.url, path, token)
        registry = _get(front.server.url, path, token)

        assert via_nginx.status_code in (401, 404)
        assert (via_nginx.status_code, via_nginx.content) == (
            registry.status_code,
            registry.content,
        )
    # Anonymous: the challenge nginx answers from the cached check (its body is plain text).
    anonymous = [requests.get(f"{base}/repository/{path}", timeout=30) for base in bases]
    assert [answer.status_code for answer in anonymous] == [401, 401]
    challenges = {answer.headers["WWW-Authenticate"] for answer in anonymous}
    assert len(challenges) == 1


def test_a_revoked_token_reads_no_longer_than_the_cache_ttl(front, tokens):
    def status() -> int:
        return _get(front.nginx.url, TARBALL, tokens["reader"]).status_code

    assert status() == 200
    token_revoke(token=ApiToken.objects.get(token_hash=hash_token(tokens["reader"])))
    assert status() == 200  # the cached answer, at most AUTHORIZE_CACHE_SECONDS old
    time.sleep(settings.AUTHORIZE_CACHE_SECONDS + 1)
    assert status() == 401


def test_an_unpublished_version_leaves_the_mirror(front, tokens, tmp_path):
    npm = _npm(front, tmp_path / "unpublisher", tokens["writer"])
    assert _get(front.nginx.url, TARBALL, tokens["reader"]).status_code == 200

    npm("unpublish", "fastlib@1.0.0", "--force")
    front.settled()

    assert not Path(front.mirror_dir, TARBALL).exists()
    via_nginx = _get(front.nginx.url, TARBALL, tokens["reader"])
    assert via_nginx.status_code == 404
    assert via_nginx.content == _get(front.server.url, TARBALL, tokens["reader"]).content
