"""Downloads nginx sent from the mirror: read from its log files by every flush, then deleted."""

import json
import os
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from formats import download_log, downloads
from formats.downloads import download_record, downloads_flush
from formats.models import Asset, Repository, Version
from formats.services import asset_put, repository_members_set
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory
from tests.helpers import stored_file

pytestmark = pytest.mark.django_db
JAR = "com/example/util/1.0/util-1.0.jar"


@pytest.fixture(autouse=True)
def folder(tmp_path, settings, monkeypatch) -> Path:
    """An empty buffer of this process's kind (memory or Redis), and nginx's log folder."""
    monkeypatch.setattr(downloads, "_buffer", None)
    downloads_flush()
    settings.MIRROR_DOWNLOADS_DIR = str(tmp_path)
    return tmp_path


def _file(repository: Repository, path: str, content: bytes = b"jar bytes") -> Asset:
    return stored_file(
        repository, path, content, media_type="application/java-archive", package="com.example:util"
    )


@pytest.fixture
def jar() -> Asset:
    return _file(RepositoryFactory(name="releases", format="maven"), JAR)


def _slot(seconds_ago: float) -> int:
    return int(time.time() - seconds_ago) // download_log.SLOT_SECONDS


def _log(folder: Path, slot: int, *entries: tuple[str, str], at: float = 1e9) -> Path:
    """Append what nginx writes for each ``(repository, path)`` it sent to the slot's file."""
    file = folder / f"downloads-{slot}.log"
    with open(file, "a") as handle:
        for repository, path in entries:
            handle.write(json.dumps({"at": at, "repository": repository, "path": path}) + "\n")
    return file


def _count(asset: Asset) -> int:
    asset.refresh_from_db()
    return asset.download_count


def test_a_past_slot_is_counted_and_deleted_the_current_one_waits(folder, jar):
    past = _log(folder, _slot(30), ("releases", JAR), ("releases", JAR))
    current = _log(folder, _slot(0), ("releases", JAR))

    assert downloads_flush() == 2

    assert _count(jar) == 2
    assert Version.objects.get(pk=jar.version_id).download_count == 2
    assert not past.exists()
    assert current.exists()  # nginx may still write to it
    assert downloads_flush() == 0


def test_last_downloaded_is_the_time_nginx_logged(folder, jar):
    _log(folder, _slot(30), ("releases", JAR), at=1_700_000_000.5)

    downloads_flush()

    jar.refresh_from_db()
    assert jar.last_downloaded.timestamp() == 1_700_000_000.5


def test_logged_and_buffered_downloads_of_one_file_add_up(folder, jar):
    _log(folder, _slot(30), ("releases", JAR))
    download_record(asset_id=jar.pk)

    assert downloads_flush() == 2
    assert _count(jar) == 2


def test_only_paths_that_name_a_file_count(folder, jar):
    _log(
        folder,
        _slot(30),
        ("releases", f"{JAR}.sha1"),  # a checksum, sent from the mirror: no file
        ("releases", "com/example/util/maven-metadata.xml"),
        ("gone", JAR),  # a repository deleted since
        ("releases", JAR),
    )
    (folder / f"downloads-{_slot(40)}.log").write_text('not json\n{"at": 1}\n')
    (folder / "notes.txt").write_text("not nginx's")

    assert downloads_flush() == 1
    assert _count(jar) == 1
    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt"]


def test_a_group_counts_its_first_member_holding_the_file(folder, jar):
    other = _file(RepositoryFactory(name="other", format="maven"), JAR, b"other bytes")
    group = RepositoryFactory(name="public", format="maven", kind=Repository.Kind.GROUP)
    repository_members_set(repository=group, members=[jar.repository, other.repository])
    _log(folder, _slot(30), ("public", JAR))

    assert downloads_flush() == 1
    assert (_count(jar), _count(other)) == (1, 0)


def test_a_failed_write_gives_the_files_back_for_the_next_flush(folder, jar, monkeypatch):
    _log(folder, _slot(30), ("releases", JAR))

    def fail(taken):
        raise RuntimeError("database gone")

    with monkeypatch.context() as patched:
        patched.setattr(downloads, "_apply", fail)
        with pytest.raises(RuntimeError):
            downloads_flush()

    assert [path.name for path in folder.iterdir()] == [f"downloads-{_slot(30)}.log"]
    assert downloads_flush() == 1
    assert _count(jar) == 1


def test_a_file_claimed_by_a_process_that_died_is_taken_again_later(folder, jar):
    claimed = folder / f"downloads-{_slot(30)}.log.4242.claimed"
    claimed.write_text(json.dumps({"at": 1e9, "repository": "releases", "path": JAR}) + "\n")

    assert downloads_flush() == 0  # its claimer may still be writing the counts
    old = time.time() - download_log.ABANDONED_SECONDS - 1
    os.utime(claimed, (old, old))
    assert downloads_flush() == 1
    assert _count(jar) == 1
    assert list(folder.iterdir()) == []


def test_a_flush_reads_many_files_in_a_fixed_number_of_queries(folder, jar):
    repository = jar.repository
    paths = [JAR] + [f"com/example/util/1.0/util-1.0-part{n}.jar" for n in range(30)]
    for path in paths[1:]:
        asset_put(
            repository=repository,
            path=path,
            blob=blob_ingest_bytes(content=path.encode()),
            media_type="application/java-archive",
            user=None,
            version=jar.version,
        )
    for seconds_ago in (30, 40, 50):
        _log(folder, _slot(seconds_ago), *[("releases", path) for path in paths])

    with CaptureQueriesContext(connection) as queries:
        assert downloads_flush() == 3 * len(paths)

    # the repository, its files; their owners, two updates and a savepoint's two statements
    assert len(queries.captured_queries) <= 7
    assert set(Asset.objects.values_list("download_count", flat=True)) == {3}
