"""Usage of many repositories is read in a fixed number of queries: by the store's overview,
the repository list of the API and the console's repository list."""

import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from formats.quotas import store_usage
from formats.services import asset_put
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_store(settings, tmp_path):
    settings.BLOB_STORE_DIR = tmp_path / "blobs"


def _repositories(first: int, count: int) -> None:
    shared = blob_ingest_bytes(content=b"in every repository")
    for number in range(first, first + count):
        repository = RepositoryFactory(name=f"repo-{number}", format="raw")
        own = blob_ingest_bytes(content=os.urandom(100))
        for path, blob in (("own", own), ("shared", shared)):
            asset_put(repository=repository, path=path, blob=blob, media_type="x/y", user=None)


def _queries(read) -> int:
    with CaptureQueriesContext(connection) as captured:
        answer = read()
    assert getattr(answer, "status_code", 200) == 200
    return len(captured)


def test_the_store_overview_costs_the_same_for_2_and_8_repositories():
    _repositories(0, 2)
    few = _queries(store_usage)
    _repositories(2, 6)
    many = _queries(store_usage)
    assert many == few
    usage = store_usage()
    assert [(r.physical, r.exclusive) for r in usage.repositories] == [(119, 100)] * 8


def test_the_api_repository_list_costs_the_same_for_2_and_8_repositories():
    client = APIClient()
    client.force_authenticate(UserFactory(is_superuser=True))
    _repositories(0, 2)
    few = _queries(lambda: client.get("/api/v1/repositories/"))
    _repositories(2, 6)
    many = _queries(lambda: client.get("/api/v1/repositories/"))
    assert many == few
    listed = client.get("/api/v1/repositories/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {row["usage"]["exclusive_bytes"] for row in rows} == {100}


def test_the_console_repository_list_costs_the_same_for_2_and_8_repositories(client):
    client.force_login(UserFactory(is_superuser=True))
    _repositories(0, 2)
    few = _queries(lambda: client.get("/ui/admin/"))
    _repositories(2, 6)
    many = _queries(lambda: client.get("/ui/admin/"))
    assert many == few
