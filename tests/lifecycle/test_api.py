"""The cleanup API: policies by repository name, runs started and listed, with the right roles."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import Role
from formats.models import Package, Version
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def repository():
    repository = RepositoryFactory(name="team", format="raw")
    package = Package.objects.create(repository=repository, name="lib", normalized_name="lib")
    for number in range(1, 4):
        version = Version.objects.create(package=package, version=f"0.{number}")
        Version.objects.filter(pk=version.pk).update(
            published_at=timezone.now() - timedelta(days=10 - number)
        )
    return repository


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_admin_sets_reads_and_clears_the_policy(repository, make_user):
    admin = _client(make_user(repository, Role.ADMIN))
    writer = _client(make_user(repository, Role.WRITE))

    refused = writer.put("/api/v1/cleanup-policies/team/", {"keep_last": 1}, format="json")
    assert refused.status_code == 403
    bad = admin.put("/api/v1/cleanup-policies/team/", {"match": "0.*"}, format="json")
    assert bad.status_code == 400
    assert "only narrows a rule" in bad.json()["message"]
    set_ = admin.put(
        "/api/v1/cleanup-policies/team/", {"keep_last": 1, "match": "0.*"}, format="json"
    )
    assert set_.status_code == 200, set_.content
    assert set_.json()["keep_last"] == 1
    assert set_.json()["keep_tagged"] is True
    assert writer.get("/api/v1/cleanup-policies/team/").json()["match"] == "0.*"
    assert [p["repository"] for p in writer.get("/api/v1/cleanup-policies/").json()["results"]] == [
        "team"
    ]
    assert admin.delete("/api/v1/cleanup-policies/team/").status_code == 204
    assert admin.get("/api/v1/cleanup-policies/team/").status_code == 404
    assert admin.delete("/api/v1/cleanup-policies/team/").status_code == 404


def test_a_preview_needs_read_and_a_run_needs_delete(repository, make_user):
    admin = _client(make_user(repository, Role.ADMIN))
    reader = _client(make_user(repository, Role.READ))
    stranger = _client(make_user())
    admin.put("/api/v1/cleanup-policies/team/", {"keep_last": 1}, format="json")

    preview = reader.post(
        "/api/v1/cleanup-runs/", {"repository": "team", "dry_run": True}, format="json"
    )
    assert preview.status_code == 200
    assert [r["version"] for r in preview.json()["removed"]] == ["0.1", "0.2"]
    assert reader.post("/api/v1/cleanup-runs/", {"repository": "team"}).status_code == 403
    assert stranger.post("/api/v1/cleanup-runs/", {"repository": "team"}).status_code == 404
    assert Version.objects.count() == 3

    run = admin.post("/api/v1/cleanup-runs/", {"repository": "team"}, format="json")
    assert run.status_code == 201, run.content
    assert run.json()["versions_removed"] == 2
    assert list(Version.objects.values_list("version", flat=True)) == ["0.3"]
    listed = reader.get("/api/v1/cleanup-runs/?repository=team").json()["results"]
    assert [r["id"] for r in listed] == [run.json()["id"]]
    assert stranger.get("/api/v1/cleanup-runs/").json()["results"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keep_last": -1}, "greater than or equal to 0"),
        ({"keep_last": "many"}, "valid integer"),
        ({"keep_last": 1, "match": "(", "match_regex": True}, "invalid regular expression"),
        ({"snapshot_builds": 0}, "at least one build"),
        ({"keep_last": 1, "match": "x" * 300}, "no more than 255"),
    ],
)
def test_bad_policies_answer_400(repository, make_user, body, message):
    admin = _client(make_user(repository, Role.ADMIN))
    response = admin.put("/api/v1/cleanup-policies/team/", body, format="json")
    assert response.status_code == 400
    assert message in str(response.json())


def test_bad_run_requests_answer_4xx(repository, make_user):
    admin = _client(make_user(repository, Role.ADMIN))
    assert admin.post("/api/v1/cleanup-runs/", {}, format="json").status_code == 400
    invalid = {"repository": "team", "dry_run": "perhaps"}
    assert admin.post("/api/v1/cleanup-runs/", invalid, format="json").status_code == 400
    unknown = {"repository": "nope"}
    assert admin.post("/api/v1/cleanup-runs/", unknown, format="json").status_code == 404
    assert admin.get("/api/v1/cleanup-runs/?repository=nope").json()["results"] == []
    assert admin.put("/api/v1/cleanup-policies/nope/", {}, format="json").status_code == 404
