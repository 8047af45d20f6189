"""Quotas and usage through the management API."""

import os

import pytest
from rest_framework.test import APIClient

from access.models import Role
from access.services import token_create
from formats.services import asset_put
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db


def _api(user, **limits) -> APIClient:
    client = APIClient()
    secret = token_create(user=user, **limits).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def filled(settings, tmp_path):
    settings.BLOB_STORE_DIR = tmp_path / "blobs"
    repository = RepositoryFactory(name="team", format="raw")
    shared = blob_ingest_bytes(content=os.urandom(100))
    for path in ("a", "b"):
        asset_put(repository=repository, path=path, blob=shared, media_type="x/y", user=None)
    return repository


def test_an_admin_sets_and_lifts_a_quota_and_readers_see_the_usage(filled, make_user):
    admin = _api(make_user(filled, Role.ADMIN))
    changed = admin.patch("/api/v1/repositories/team/", {"quota_bytes": 150}, format="json")
    assert changed.status_code == 200
    assert changed.json()["quota_bytes"] == 150
    reader = _api(make_user(filled, Role.READ)).get("/api/v1/repositories/team/").json()
    assert reader["quota_bytes"] == 150
    assert reader["usage"] == {
        "logical_bytes": 200,
        "physical_bytes": 100,
        "exclusive_bytes": 100,
        "shared_bytes": 0,
        "saved_bytes": 100,
    }
    lifted = admin.patch("/api/v1/repositories/team/", {"quota_bytes": None}, format="json")
    assert lifted.json()["quota_bytes"] is None


def test_a_writer_cannot_change_the_quota_and_a_group_has_none(filled, make_user):
    writer = _api(make_user(filled, Role.WRITE))
    refused = writer.patch("/api/v1/repositories/team/", {"quota_bytes": 1}, format="json")
    assert refused.status_code == 403
    group = RepositoryFactory(name="all", format="raw", kind="group")
    admin = _api(make_user(group, Role.ADMIN))
    invalid = admin.patch("/api/v1/repositories/all/", {"quota_bytes": 1}, format="json")
    assert invalid.status_code == 400
    assert "only hosted" in str(invalid.json())


def test_the_store_usage_is_for_unrestricted_superusers(filled, make_user):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    whole = _api(root).get("/api/v1/storage-usage/")
    assert whole.status_code == 200
    assert {
        key: whole.json()[key] for key in ("logical_bytes", "physical_bytes", "saved_bytes")
    } == {
        "logical_bytes": 200,
        "physical_bytes": 100,
        "saved_bytes": 100,
    }
    assert whole.json()["repositories"][0]["repository"] == "team"
    scoped = _api(root, repositories=[filled]).get("/api/v1/storage-usage/")
    assert scoped.status_code == 403
    assert _api(make_user(filled, Role.ADMIN)).get("/api/v1/storage-usage/").status_code == 403
