"""Storage accounting (logical, physical, exclusive, dedup saving) and quotas in the core."""

import io
import os

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from formats.errors import QuotaExceeded, RepositoryInvalid
from formats.models import Asset
from formats.quotas import format_size, parse_size, repository_usage, store_usage
from formats.services import asset_put, repository_update
from storage.models import Blob
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db
KIB = 1024


@pytest.fixture(autouse=True)
def _own_store(settings, tmp_path):
    settings.BLOB_STORE_DIR = tmp_path / "blobs"


def _put(repository, path: str, content: bytes) -> Asset:
    blob = blob_ingest_bytes(content=content)
    return asset_put(repository=repository, path=path, blob=blob, media_type="x/y", user=None)


@pytest.mark.parametrize(
    ("text", "size"),
    [("500M", 500 * KIB**2), ("20G", 20 * KIB**3), ("1.5k", 1536), ("1024", 1024),
     ("2GiB", 2 * KIB**3), ("10MB", 10 * KIB**2), ("none", None), ("NONE", None)],
)  # fmt: skip
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-1M", "5X", "lots", "1.2.3G"])
def test_parse_size_refuses_what_is_not_a_size(text):
    with pytest.raises(RepositoryInvalid):
        parse_size(text)


def test_format_size():
    assert [format_size(n) for n in (0, 1023, 1536, 5 * KIB**3, 3 * KIB**5)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 GiB",
        "3072.0 TiB",
    ]


def test_usage_counts_logical_physical_exclusive_and_the_dedup_saving():
    alpha = RepositoryFactory(name="alpha")
    beta = RepositoryFactory(name="beta")
    one, two, shared = os.urandom(1000), os.urandom(300), os.urandom(50)
    _put(alpha, "a/one", one)
    _put(alpha, "a/one-again", one)  # deduplicated inside alpha
    _put(alpha, "a/shared", shared)
    _put(beta, "b/two", two)
    _put(beta, "b/shared", shared)
    blob_ingest_bytes(content=b"nobody holds me")

    usage = repository_usage(repository=alpha)
    assert (usage.logical, usage.physical, usage.exclusive) == (2050, 1050, 1000)
    assert (usage.shared, usage.saved) == (50, 1000)
    store = store_usage()
    assert [(r.name, r.physical) for r in store.repositories] == [("alpha", 1050), ("beta", 350)]
    assert (store.logical, store.physical, store.saved) == (2400, 1350, 1050)
    assert store.unreferenced == len(b"nobody holds me")


def test_an_upload_past_the_quota_is_refused_and_the_same_bytes_cost_nothing(caplog):
    repository = RepositoryFactory(name="capped", quota_bytes=1000)
    content = os.urandom(600)
    _put(repository, "first", content)
    _put(repository, "same-bytes", content)  # holds nothing new
    with pytest.raises(QuotaExceeded, match=r"quota of 1000 B: it holds 600 B") as refused:
        _put(repository, "second", os.urandom(600))
    assert refused.value.http_status == 413
    assert "refused 600 bytes for capped: quota 1000, holds 600" in caplog.text
    assert not Asset.objects.filter(path="second").exists()
    _put(repository, "small", os.urandom(400))  # exactly up to the quota
    assert repository_usage(repository=repository).physical == 1000


def test_a_quota_is_for_hosted_repositories():
    proxy = RepositoryFactory(name="cache", kind="proxy", upstream_url="http://127.0.0.1:9/")
    with pytest.raises(RepositoryInvalid, match="only hosted"):
        repository_update(repository=proxy, changes={"quota_bytes": 10})


def test_setquota_and_usage_commands():
    repository = RepositoryFactory(name="team")
    _put(repository, "f", os.urandom(2048))
    out = io.StringIO()
    call_command("setquota", "team", "1K", stdout=out)
    assert "team: quota 1.0 KiB; holds 2.0 KiB (2048 bytes)" in out.getvalue()
    assert "already over its quota" in out.getvalue()
    repository.refresh_from_db()
    assert repository.quota_bytes == 1024
    call_command("setquota", "team", "none", stdout=io.StringIO())
    repository.refresh_from_db()
    assert repository.quota_bytes is None
    with pytest.raises(CommandError, match="not a size"):
        call_command("setquota", "team", "lots")

    out = io.StringIO()
    call_command("usage", "--bytes", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["REPOSITORY", "LOGICAL", "PHYSICAL", "EXCLUSIVE", "SHARED",
                                "SAVED", "QUOTA"]  # fmt: skip
    assert lines[1].split() == ["team", "2048", "2048", "2048", "0", "0", "-"]
    assert lines[-1].startswith("total: logical 2048, physical 2048")
    assert Blob.objects.count() == 1


def test_a_redeployed_file_no_longer_counts():
    repository = RepositoryFactory(name="snapshots", quota_bytes=1000, allow_redeploy=True)
    _put(repository, "build.jar", os.urandom(700))
    _put(repository, "build.jar", os.urandom(700))  # replaces the first: 700 held, not 1400
    assert repository_usage(repository=repository).physical == 700


def _check_queries(repository, content: bytes) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        _put(repository, f"next-{len(content)}", content)
    return [query["sql"] for query in queries.captured_queries]


def test_an_upload_under_a_quota_does_not_count_what_the_repository_holds():
    files = 20
    small = RepositoryFactory(name="two", quota_bytes=10**6)
    large = RepositoryFactory(name="many", quota_bytes=10**6)
    for number in range(2):
        _put(small, f"f{number}", os.urandom(100))
    for number in range(files):
        _put(large, f"f{number}", os.urandom(100))

    into_small = _check_queries(small, os.urandom(10))
    into_large = _check_queries(large, os.urandom(11))

    assert len(into_large) == len(into_small)
    assert [sql for sql in into_large if "SUM(" in sql] == []  # no sum over its blobs
    large.refresh_from_db()
    assert large.quota_used_bytes == 100 * files + 11


def test_deleted_files_make_room_again_though_the_accounted_usage_stays():
    repository = RepositoryFactory(name="capped", quota_bytes=1000)
    first = _put(repository, "first", os.urandom(600))
    first.delete()
    _put(repository, "second", os.urandom(600))  # counted again: 600 held, not 1200

    repository.refresh_from_db()
    assert repository.quota_used_bytes == 600
    assert repository_usage(repository=repository).physical == 600


def test_a_new_quota_counts_what_was_uploaded_without_one():
    repository = RepositoryFactory(name="late", quota_bytes=1000)
    _put(repository, "counted", os.urandom(100))
    repository = repository_update(repository=repository, changes={"quota_bytes": None})
    _put(repository, "uncounted", os.urandom(800))
    repository = repository_update(repository=repository, changes={"quota_bytes": 1000})

    with pytest.raises(QuotaExceeded, match=r"it holds 900 B"):
        _put(repository, "over", os.urandom(200))
    assert not Asset.objects.filter(path="over").exists()
