"""Download statistics: counted where files are served, written only when flushed."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from formats import downloads
from formats.downloads import download_record, downloads_flush
from formats.models import Asset, Version
from formats.services import asset_put, package_ensure, version_create
from formats.tasks import download_stats_flush_task
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_buffer(monkeypatch):
    """Each test starts with an empty buffer of this process's kind (memory or Redis)."""
    monkeypatch.setattr(downloads, "_buffer", None)
    downloads_flush()
    yield
    downloads_flush()


@pytest.fixture
def asset() -> Asset:
    repository = RepositoryFactory(name="files", format="raw", anonymous_read=True)
    package = package_ensure(repository=repository, name="tool", normalized_name="tool")
    version = version_create(package=package, version="1.0", metadata={}, user=None)
    blob = blob_ingest_bytes(content=b"0123456789" * 100)
    return asset_put(
        repository=repository,
        path="tool/1.0/tool.bin",
        blob=blob,
        media_type="",
        user=None,
        version=version,
    )


def _get(client: Client, **headers: str):
    response = client.get("/repository/files/tool/1.0/tool.bin", headers=headers)
    b"".join(response.streaming_content)
    return response.status_code


def test_downloads_are_written_when_flushed_not_per_request(celery_worker, asset):
    client = Client()
    assert [_get(client) for _ in range(3)] == [200, 200, 200]
    assert _get(client, Range="bytes=0-9") == 206  # a client starting a download
    assert _get(client, Range="bytes=500-") == 206  # resuming one: not another download
    assert client.head("/repository/files/tool/1.0/tool.bin").status_code == 200
    assert Asset.objects.get().download_count == 0

    # With a broker, the worker flushes the buffer every process shares (Redis).
    assert download_stats_flush_task.delay().get(timeout=120) == 4
    stored = Asset.objects.get()
    version = Version.objects.get()
    assert (stored.download_count, version.download_count) == (4, 4)
    assert stored.last_downloaded is not None
    assert version.last_downloaded == stored.last_downloaded
    assert downloads_flush() == 0  # nothing twice


def test_counts_are_in_the_api_and_on_the_version_page(asset):
    _get(Client())
    downloads_flush()
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(admin)
    version = client.get(f"/api/v1/versions/{asset.version_id}/").json()
    listed = client.get("/api/v1/assets/").json()["results"][0]
    assert (version["download_count"], listed["download_count"]) == (1, 1)
    assert version["last_downloaded"] == listed["last_downloaded"] is not None
    shown = asset.version
    page = client.get(
        f"/ui/repositories/files/packages/{shown.package.name}/versions/{shown.version}/"
    )
    assert page.status_code == 200
    assert '<td class="num">1</td></tr>' in page.content.decode()  # the file's downloads
    assert " 1 download," in " ".join(page.content.decode().split())  # the version's


def test_a_burst_of_concurrent_downloads_and_flushes_loses_nothing(asset):
    def burst() -> None:
        for _ in range(50):
            download_record(asset_id=asset.pk)

    threads = [threading.Thread(target=burst) for _ in range(4)]
    for thread in threads:
        thread.start()
    flushed = sum(downloads_flush() for _ in range(5))  # flushes race the recording
    for thread in threads:
        thread.join()
    flushed += downloads_flush()
    assert flushed == 200
    assert Asset.objects.get().download_count == 200


def test_a_deleted_file_drops_its_counts(asset):
    download_record(asset_id=asset.pk)
    Asset.objects.all().delete()
    assert downloads_flush() == 1  # taken from the buffer, written nowhere


def test_a_flush_writes_in_one_statement_per_batch_not_one_per_file(asset):
    version = asset.version
    assets = [asset]
    for number in range(1, downloads.FLUSH_BATCH + 20):  # two batches of assets, one version
        blob = blob_ingest_bytes(content=b"file %d" % number)
        assets.append(
            asset_put(
                repository=asset.repository,
                path=f"tool/1.0/part-{number}.bin",
                blob=blob,
                media_type="",
                user=None,
                version=version,
            )
        )
    for item in assets:
        download_record(asset_id=item.pk)
    download_record(asset_id=asset.pk)

    with CaptureQueriesContext(connection) as queries:
        assert downloads_flush() == len(assets) + 1

    updates = [q["sql"] for q in queries.captured_queries if "UPDATE" in q["sql"]]
    assert len(updates) == 3  # assets: two batches; versions: one
    assert len(queries.captured_queries) <= 6  # + the owners' SELECT (and savepoints)
    counts = dict(Asset.objects.values_list("pk", "download_count"))
    assert counts == {item.pk: 2 if item.pk == asset.pk else 1 for item in assets}
    written = Version.objects.get(pk=version.pk)
    assert written.download_count == len(assets) + 1
    last = set(Asset.objects.values_list("last_downloaded", flat=True))
    assert None not in last
    assert written.last_downloaded == max(last)
