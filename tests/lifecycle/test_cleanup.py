"""Cleanup over the shared model: the command, the API, the record, the lock, the schedule."""

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from formats.lifecycle.cleanup import cleanup_run, policy_set
from formats.lifecycle.errors import CleanupBusy
from formats.lifecycle.lock import repository_lock
from formats.models import Asset, CleanupRun, Package, Tag, Version
from formats.services import tag_set
from formats.tasks import cleanup_task
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _store(tmp_path, settings):
    settings.BLOB_STORE_DIR = tmp_path / "store"


def _publish(package: Package, version: str, *, days_ago: int, content: bytes = b"x") -> Version:
    created = Version.objects.create(package=package, version=version)
    Version.objects.filter(pk=created.pk).update(
        published_at=timezone.now() - timedelta(days=days_ago)
    )
    Asset.objects.create(
        repository=package.repository,
        version=created,
        path=f"{package.name}/{version}/file",
        blob=blob_ingest_bytes(content=content),
    )
    return created


@pytest.fixture
def repository():
    repository = RepositoryFactory(name="builds", format="raw")
    package = Package.objects.create(repository=repository, name="app", normalized_name="app")
    for number, age in ((1, 50), (2, 40), (3, 30), (4, 3)):
        _publish(package, f"1.{number}", days_ago=age, content=b"v" * number)
    return repository


def _versions(repository) -> list[str]:
    return sorted(
        Version.objects.filter(package__repository=repository).values_list("version", flat=True)
    )


def _cleanup(*args: str) -> str:
    out = io.StringIO()
    call_command("cleanup", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_dry_run_prints_exactly_what_goes_and_removes_nothing(repository):
    call_command(
        "setpolicy", "builds", "--keep-last", "1", "--older-than-days", "35", stdout=io.StringIO()
    )

    preview = _cleanup("builds", "--dry-run")

    assert preview.splitlines() == [
        "builds: app 1.1: 1 file, 1 bytes",
        "    app/1.1/file",
        "builds: app 1.2: 1 file, 2 bytes",
        "    app/1.2/file",
        "builds: would remove 2 versions, 2 files, 3 bytes",
    ]
    assert _versions(repository) == ["1.1", "1.2", "1.3", "1.4"]
    assert not CleanupRun.objects.exists()


def test_a_run_removes_and_is_recorded(repository):
    call_command("setpolicy", "builds", "--older-than-days", "35", stdout=io.StringIO())

    output = _cleanup()  # every repository with a policy

    assert output.splitlines()[-1] == "builds: removed 2 versions, 2 files, 3 bytes"
    assert _versions(repository) == ["1.3", "1.4"]
    run = CleanupRun.objects.get()
    assert run.status == "done"
    assert run.finished is not None
    assert run.actor_name.startswith("command:")
    assert run.policy["older_than_days"] == 35
    assert (run.versions_removed, run.files_removed, run.bytes_freed) == (2, 2, 3)
    assert [entry["version"] for entry in run.removed] == ["1.1", "1.2"]
    assert _cleanup("builds").splitlines() == ["builds: removed 0 versions, 0 files, 0 bytes"]


def test_pinned_and_tagged_versions_stay(repository):
    package = Package.objects.get(repository=repository)
    Version.objects.filter(version="1.1").update(pinned=True)
    tag_set(package=package, name="stable", version=package.versions.get(version="1.2"), user=None)
    policy_set(repository=repository, older_than_days=1)

    cleanup_run(repository=repository)
    assert _versions(repository) == ["1.1", "1.2"]

    policy_set(repository=repository, older_than_days=1, keep_tagged=False)
    cleanup_run(repository=repository)
    assert _versions(repository) == ["1.1"]
    assert not Tag.objects.exists()


def test_setpolicy_refuses_what_would_mean_nothing_or_everything(repository):
    with pytest.raises(CommandError, match="only narrows a rule"):
        call_command("setpolicy", "builds", "--match", "1.*")
    with pytest.raises(CommandError, match="invalid regular expression"):
        call_command("setpolicy", "builds", "--match-regex", "(", "--keep-last", "1")
    group = RepositoryFactory(name="all", format="raw", kind="group")
    with pytest.raises(CommandError, match="a group holds nothing"):
        call_command("setpolicy", group.name, "--keep-last", "1")
    with pytest.raises(CommandError, match="no repository"):
        call_command("setpolicy", "nope", "--keep-last", "1")
    out = io.StringIO()
    call_command("setpolicy", "builds", "--keep-last", "2", stdout=out)
    call_command("setpolicy", "builds", "--clear", stdout=out)
    assert out.getvalue().splitlines() == [
        "builds: policy set (keep_last=2, keep_tagged=True)",
        "builds: policy removed",
    ]


@contextmanager
def _held_elsewhere(repository_pk: int) -> Iterator[None]:
    """Hold the repository's cleanup lock from another thread (its own database session)."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with repository_lock(repository_pk) as held:
                assert held
                taken.set()
                release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(60)
    try:
        yield
    finally:
        release.set()
        holder.join()


def test_one_cleanup_per_repository_at_a_time(repository):
    policy_set(repository=repository, keep_last=1)
    with _held_elsewhere(repository.pk):
        with pytest.raises(CleanupBusy):
            cleanup_run(repository=repository)
        with pytest.raises(CommandError, match="already running"):
            _cleanup("builds")
    assert len(_versions(repository)) == 4
    cleanup_run(repository=repository)
    assert _versions(repository) == ["1.4"]


def test_the_scheduled_task_runs_every_policy(repository):
    other = RepositoryFactory(name="untouched", format="raw")
    policy_set(repository=repository, keep_last=2)

    result = cleanup_task.apply().get()

    assert result == [{"repository": "builds", "versions": 2, "files": 2, "bytes": 3}]
    assert CleanupRun.objects.get().actor_name == "schedule"
    assert not CleanupRun.objects.filter(repository=other).exists()


def test_a_worker_runs_the_task(celery_worker, settings, tmp_path):
    """With CELERY_BROKER_URL set, a real worker process runs it (else it runs in process)."""
    settings.BLOB_STORE_DIR = tmp_path / "store"
    repository = RepositoryFactory(name="worked", format="raw")
    package = Package.objects.create(repository=repository, name="app", normalized_name="app")
    for number in (1, 2, 3):
        _publish(package, f"2.{number}", days_ago=10 - number)
    policy_set(repository=repository, keep_last=1)

    result = cleanup_task.delay().get(timeout=300)

    assert result == [{"repository": "worked", "versions": 2, "files": 2, "bytes": 2}]
    assert _versions(repository) == ["2.3"]


def test_a_version_an_immutable_tag_holds_stays_and_the_run_says_why(repository):
    repository.immutable_tags = True
    repository.save()
    package = Package.objects.get(repository=repository)
    tag_set(package=package, name="stable", version=package.versions.get(version="1.2"), user=None)
    policy_set(repository=repository, older_than_days=5, keep_tagged=False)

    output = _cleanup("builds")

    assert _versions(repository) == ["1.2", "1.4"]
    assert "builds: app 1.2: 1 file, 2 bytes KEPT: tag 'stable' is immutable" in output
    assert output.splitlines()[-1] == "builds: removed 2 versions, 2 files, 4 bytes"
    run = CleanupRun.objects.get()
    assert [entry["version"] for entry in run.removed if not entry["error"]] == ["1.1", "1.3"]


def test_unused_days_reads_the_download_statistics(repository):
    # 1.1 and 1.2 are old; 1.1 was downloaded last week, so only 1.2 (and 1.3) count as unused.
    Version.objects.filter(version="1.1").update(last_downloaded=timezone.now() - timedelta(days=7))
    policy_set(repository=repository, unused_days=20)

    _cleanup("builds")

    assert _versions(repository) == ["1.1", "1.4"]


def test_policy_changes_and_runs_are_audited(repository):
    from audit.models import AuditEvent

    policy_set(repository=repository, keep_last=1)
    _cleanup("builds")
    call_command("setpolicy", "builds", "--clear", stdout=io.StringIO())

    events = AuditEvent.objects.filter(repository="builds").order_by("at", "pk")
    actions = [event.action for event in events if not event.action.startswith("version.")]
    assert actions == ["policy.set", "cleanup.run", "policy.clear"]
    run = events.get(action="cleanup.run")
    assert run.details["versions"] == 3
    assert events.filter(action="version.delete").count() == 3
