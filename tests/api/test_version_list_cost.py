"""A page of a package's versions costs the same at 10 and at 1,000 versions (issue 16)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from access.services import token_create
from formats.models import Version
from tests.factories import PackageFactory, UserFactory

pytestmark = pytest.mark.django_db


def _add(package, start: int, stop: int) -> None:
    epoch = timezone.now() - timedelta(days=1)
    versions = Version.objects.bulk_create(
        Version(package=package, version=f"1.0.{number}") for number in range(start, stop)
    )
    # Publishing order is the list's order; bulk_create stamps every row alike.
    for number, version in enumerate(versions, start):
        version.published_at = epoch + timedelta(seconds=number)
    Version.objects.bulk_update(versions, ["published_at"])


def _page(api, package) -> tuple[int, list[str], int]:
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/versions/", {"package": package.pk, "limit": 5})
    assert response.status_code == 200
    body = response.json()
    return len(queries), [row["version"] for row in body["results"]], body["count"]


def test_a_version_list_page_costs_the_same_at_10_and_1000_versions():
    api = APIClient()
    user = UserFactory(username="root", is_superuser=True)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user).secret}")
    package = PackageFactory(name="lib")
    _add(package, 0, 10)
    _page(api, package)  # the token's first use is recorded once
    few, versions, count = _page(api, package)
    assert (versions, count) == ([f"1.0.{number}" for number in range(5)], 10)

    _add(package, 10, 1000)
    many, versions, count = _page(api, package)
    assert (versions, count, many) == ([f"1.0.{number}" for number in range(5)], 1000, few)
