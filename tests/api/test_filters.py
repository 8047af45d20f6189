"""List filters are declared (OpenAPI), applied exactly, and bad values are a 400 envelope."""

import pytest
from rest_framework.test import APIClient

from access.services import token_create
from formats.models import Version
from tests.factories import PackageFactory, RepositoryFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    root = UserFactory(username="root", is_superuser=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=root).secret}")
    return client


def test_versions_filter_by_package_and_version(api):
    package = PackageFactory(name="lib")
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        VersionFactory(package=package, version=version)
    VersionFactory(package=PackageFactory(name="other"), version="1.1.0")

    response = api.get("/api/v1/versions/", {"package": package.pk, "version": "1.1.0"})

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["package"], row["version"]) for row in rows] == [(package.pk, "1.1.0")]
    assert rows[0]["id"] == Version.objects.get(package=package, version="1.1.0").pk


def test_packages_filter_by_repository_and_name(api):
    PackageFactory(repository=RepositoryFactory(name="one"), name="lib")
    wanted = PackageFactory(repository=RepositoryFactory(name="two"), name="lib")

    response = api.get("/api/v1/packages/", {"repository": "two", "name": "lib"})

    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]


@pytest.mark.parametrize(
    ("_case", "url", "field", "message"),
    [
        ("non-numeric id", "/api/v1/versions/?package=abc", "package", "Enter a whole number."),
        (
            "id past the 64-bit range",
            "/api/v1/versions/?package=99999999999999999999",
            "package",
            "Ensure this value is less than or equal to 9223372036854775807.",
        ),
        (
            "negative id",
            "/api/v1/tags/?package=-1",
            "package",
            "Ensure this value is greater than or equal to 1.",
        ),
        ("fractional id", "/api/v1/assets/?version=1.5", "version", "Enter a whole number."),
        ("tag events", "/api/v1/tag-events/?package=x", "package", "Enter a whole number."),
    ],
)
def test_bad_filter_values_are_a_400_envelope(api, _case, url, field, message):
    response = api.get(url)

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "invalid request",
        "detail": {field: [message]},
    }


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/versions/abc/",
        "/api/v1/versions/99999999999999999999/",
        "/api/v1/packages/0/",
        "/api/v1/repositories/nosuch/",
        "/api/v1/tokens/12345/",
        "/api/v1/versions.xml",
    ],
)
def test_missing_objects_answer_the_api_envelope(api, url):
    response = api.get(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert sorted(body) == ["code", "detail", "message"]
    assert body["code"] == "not_found"


def test_the_schema_declares_every_filter():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()

    def parameters(path: str) -> dict[str, str]:
        declared = schema["paths"][path]["get"]["parameters"]
        return {p["name"]: p["schema"]["type"] for p in declared if p["in"] == "query"}

    assert parameters("/api/v1/versions/") == {
        "limit": "integer",
        "offset": "integer",
        "package": "integer",
        "version": "string",
    }
    assert parameters("/api/v1/packages/") == {
        "limit": "integer",
        "offset": "integer",
        "name": "string",
        "repository": "string",
    }
    assert parameters("/api/v1/assets/") == {
        "limit": "integer",
        "offset": "integer",
        "repository": "string",
        "version": "integer",
    }
    for path in ("/api/v1/tags/", "/api/v1/tag-events/"):
        assert parameters(path) == {"limit": "integer", "offset": "integer", "package": "integer"}
