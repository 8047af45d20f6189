"""fsck: missing and corrupt blobs are found and marked (and then served as errors), orphans
are reported and, with --repair, removed once past the grace period."""

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.models import Action, AuditEvent
from formats.services import asset_put
from storage.backends import blob_backend
from storage.fsck import blob_fsck
from storage.models import Blob
from storage.progress import Progress
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory
from tests.helpers import body_of
from tests.storage.conftest import store_overwrite, store_remove

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_store(settings, tmp_path):
    """A store of the test's own, so the check sees only what the test put there."""
    settings.BLOB_STORE_DIR = tmp_path / "blobs"


def _file(blob: Blob) -> Path:
    local = blob_backend().local_path(blob.path)
    assert local is not None
    return local


def _served(client, repository, path: str, content: bytes):
    blob = blob_ingest_bytes(content=content)
    asset_put(repository=repository, path=path, blob=blob, media_type="text/plain", user=None)
    return blob


def test_a_corrupt_and_a_missing_file_are_found_marked_and_served_as_errors(client, caplog):
    repository = RepositoryFactory(name="files", format="raw", anonymous_read=True)
    good = _served(client, repository, "good.txt", b"good bytes")
    flipped = _served(client, repository, "flipped.txt", b"bytes that rot")
    lost = _served(client, repository, "lost.txt", b"bytes that vanish")
    store_overwrite(flipped.path, b"bytes that r0t")
    store_remove(lost.path)

    result = blob_fsck()

    assert result.corrupt == [flipped.sha256]
    assert result.missing == [lost.sha256]
    assert (result.blobs, result.hashed, result.orphans) == (3, 2, [])
    marked = set(Blob.objects.filter(corrupt__isnull=False).values_list("pk", flat=True))
    assert marked == {flipped.sha256, lost.sha256}
    assert body_of(client.get("/repository/files/good.txt")) == b"good bytes"
    for path in ("flipped.txt", "lost.txt"):
        refused = client.get(f"/repository/files/{path}")
        assert refused.status_code == 500
        assert "integrity check" in refused.json()["error"]
    assert f"refused to serve sha256:{flipped.sha256}: marked corrupt" in caplog.text
    assert good.sha256 not in marked


def test_uploading_the_same_bytes_again_repairs_a_marked_blob(client):
    repository = RepositoryFactory(name="files", format="raw", anonymous_read=True)
    blob = _served(client, repository, "a.txt", b"precious")
    store_overwrite(blob.path, b"garbage!")
    blob_fsck()

    blob_ingest_bytes(content=b"precious")

    assert Blob.objects.get(pk=blob.pk).corrupt is None
    assert body_of(client.get("/repository/files/a.txt")) == b"precious"
    assert blob_fsck().summary()["corrupt"] == 0


def test_a_file_lost_without_fsck_is_an_error_not_a_crash(client):
    repository = RepositoryFactory(name="files", format="raw", anonymous_read=True)
    store_remove(_served(client, repository, "a.txt", b"soon gone").path)
    assert client.get("/repository/files/a.txt").status_code == 500


def test_sample_zero_checks_presence_only():
    blob = blob_ingest_bytes(content=b"not read")
    store_overwrite(blob.path, b"not reaD")
    result = blob_fsck(sample=0)
    assert (result.blobs, result.hashed, result.corrupt) == (1, 0, [])


@pytest.mark.filesystem_store  # sets file times
def test_orphans_are_reported_and_repair_removes_them_only_after_grace():
    kept = blob_ingest_bytes(content=b"has a row")
    orphan = blob_ingest_bytes(content=b"lost its row")
    fresh = blob_ingest_bytes(content=b"row about to be written")
    Blob.objects.filter(pk__in=[orphan.pk, fresh.pk]).delete()
    stray = _file(kept).parent / "not-a-digest"
    stray.write_bytes(b"?")
    an_hour_ago = time.time() - 3600
    for path in (_file(orphan), stray):
        os.utime(path, (an_hour_ago, an_hour_ago))

    report = blob_fsck(grace=timedelta(minutes=30))
    stray_path = f"{Path(kept.path).parent}/not-a-digest"
    assert sorted(report.orphans) == sorted([orphan.path, fresh.path, stray_path])
    assert report.removed == 0
    assert _file(orphan).exists()

    repaired = blob_fsck(repair=True, grace=timedelta(minutes=30))
    assert repaired.removed == 2
    assert not _file(orphan).exists()
    assert not stray.exists()
    assert _file(fresh).exists()
    assert _file(kept).exists()


def test_the_command_prints_problems_and_fails():
    blob = blob_ingest_bytes(content=b"intact")
    store_overwrite(blob.path, b"broken")
    out = io.StringIO()
    with pytest.raises(CommandError, match="missing or corrupt"):
        call_command("fsck", "--sample", "100", stdout=out)
    assert f"corrupt  sha256:{blob.sha256}" in out.getvalue()
    # Orphans are not counted here: a shared bucket holds other tests' objects (orphans are
    # tested on their own above).
    assert "fsck: blobs=1, hashed=1, missing=0, corrupt=1, orphans=" in out.getvalue()


def test_every_run_is_audited_with_its_counts():
    blob = blob_ingest_bytes(content=b"intact")
    call_command("fsck", "--sample", "0", "--repair", stdout=io.StringIO())
    store_overwrite(blob.path, b"broken")
    with pytest.raises(CommandError):
        call_command("fsck", "--sample", "100", stdout=io.StringIO())

    runs = AuditEvent.objects.filter(action=Action.FSCK_RUN).order_by("id")
    counts = {"blobs": 1, "missing": 0, "removed": 0}
    # Orphans are left out: a shared bucket holds other tests' objects.
    details = [{k: v for k, v in run.details.items() if k != "orphans"} for run in runs]
    assert all("orphans" in run.details for run in runs)
    assert [(run.username, detail) for run, detail in zip(runs, details, strict=True)] == [
        ("", {"sample": 0.0, "repair": True, "hashed": 0, "corrupt": 0, **counts}),
        ("", {"sample": 100.0, "repair": False, "hashed": 1, "corrupt": 1, **counts}),
    ]


def test_the_command_refuses_a_sample_out_of_range():
    with pytest.raises(CommandError):
        call_command("fsck", "--sample", "150")


def test_the_progress_bar_draws_on_a_terminal_only():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        bar = Progress("fsck blobs", 4, stream=stream, interval=0)
        bar.advance(2)
        bar.advance(2)
        bar.close()
    assert terminal.getvalue().endswith("\rfsck blobs [" + "#" * 30 + "] 4/4 100.0%\n")
    assert "2/4  50.0%" in terminal.getvalue()
    assert log.getvalue() == ""
