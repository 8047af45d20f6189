"""A cleanup costs a fixed number of queries per package, however many versions it removes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import Action, AuditEvent
from formats.lifecycle.cleanup import cleanup_run, policy_set
from formats.models import Asset, Package, Version
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db

PACKAGES = 3


@pytest.fixture(autouse=True)
def _store(tmp_path, settings):
    settings.BLOB_STORE_DIR = tmp_path / "store"


def _cleanup_queries(name: str, *, versions: int) -> int:
    repository = RepositoryFactory(name=name, format="raw")
    for p in range(PACKAGES):
        package = Package.objects.create(
            repository=repository, name=f"app{p}", normalized_name=f"app{p}"
        )
        for v in range(versions):
            version = Version.objects.create(package=package, version=f"1.{v}")
            Asset.objects.create(
                repository=repository,
                version=version,
                path=f"app{p}/1.{v}/file",
                blob=blob_ingest_bytes(content=f"{name} {p} {v}".encode()),
            )
    policy_set(repository=repository, keep_last=1)
    with CaptureQueriesContext(connection) as queries:
        run = cleanup_run(repository=repository)
    removed = PACKAGES * (versions - 1)
    assert (run.versions_removed, run.files_removed) == (removed, removed)
    assert Version.objects.filter(package__repository=repository).count() == PACKAGES
    deleted = AuditEvent.objects.filter(action=Action.VERSION_DELETE, repository=name)
    assert deleted.count() == removed  # still one audit record per version
    return len(queries)


def test_cleanup_queries_do_not_grow_with_the_versions_removed():
    few = _cleanup_queries("few", versions=3)
    many = _cleanup_queries("many", versions=12)

    assert many == few
