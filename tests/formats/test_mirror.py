"""The core of the mirror: what nginx may send from it, and how it follows every format's files."""

import re
from pathlib import Path

import pytest

from formats.base import format_configs
from formats.mirror import mirror_served_types
from formats.services import version_delete
from tests.factories import RepositoryFactory
from tests.helpers import stored_file
from tests.nginx import DEPLOY_CONF

WHEEL = "packages/tool/1.0/tool-1.0-py3-none-any.whl"


def test_the_mirror_locations_types_are_those_of_the_mirrored_formats():
    block = re.search(r"types \{(.*?)\}", DEPLOY_CONF.read_text(), re.DOTALL)
    assert block is not None
    configured = {
        extension: mime
        for line in block[1].strip().splitlines()
        for mime, *extensions in [line.strip().rstrip(";").split()]
        for extension in extensions
    }

    assert configured == mirror_served_types()
    mirrored = {config.format_name for config in format_configs() if config.mirrored}
    assert mirrored == {"maven", "npm", "pypi"}


def test_formats_never_give_one_extension_two_types():
    seen: dict[str, str] = {}
    for config in format_configs():
        if config.mirrored:
            for extension, media_type in config.mirror_types.items():
                assert seen.setdefault(extension, media_type) == media_type, extension


@pytest.fixture
def mirror(tmp_path, settings, tasks_in_process) -> Path:
    settings.MIRROR_DIR = str(tmp_path / "mirror")
    return tmp_path / "mirror"


def _wheel(repository, path: str = WHEEL, media_type: str = "application/zip"):
    return stored_file(repository, path, b"PK wheel bytes", media_type=media_type)


@pytest.mark.django_db
def test_every_formats_files_follow_their_puts_and_deletes(
    mirror, django_capture_on_commit_callbacks
):
    repository = RepositoryFactory(name="wheels", format="pypi")
    with django_capture_on_commit_callbacks(execute=True):
        wheel = _wheel(repository)
    linked = mirror / "wheels" / WHEEL
    assert linked.is_symlink()
    assert linked.read_bytes() == b"PK wheel bytes"

    with django_capture_on_commit_callbacks(execute=True):
        version_delete(version=wheel.version, user=None)

    assert not linked.exists()
    assert not (mirror / "wheels" / "packages").exists()  # emptied folders go too


@pytest.mark.django_db
def test_a_file_nginx_would_send_with_another_type_stays_out(
    mirror, django_capture_on_commit_callbacks
):
    repository = RepositoryFactory(name="wheels", format="pypi")
    with django_capture_on_commit_callbacks(execute=True):
        # The registry sends core metadata as text/plain; charset=utf-8, nginx would not.
        _wheel(repository, path=f"{WHEEL}.metadata", media_type="text/plain; charset=utf-8")

    assert not (mirror / "wheels" / f"{WHEEL}.metadata").exists()


@pytest.mark.django_db
def test_proxies_and_unmirrored_formats_send_no_refresh(mirror, django_capture_on_commit_callbacks):
    proxy = RepositoryFactory(
        name="pypi-proxy", format="pypi", kind="proxy", upstream_url="http://127.0.0.1:9/"
    )
    raw = RepositoryFactory(name="files", format="raw")
    with django_capture_on_commit_callbacks() as callbacks:
        _wheel(proxy)
        _wheel(raw)

    assert callbacks == []
