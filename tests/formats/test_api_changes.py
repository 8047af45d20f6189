"""Deleting through the management API keeps every format's generated documents true."""

import pytest
from rest_framework.test import APIClient

from access.models import Role
from access.services import token_create
from formats.models import Document, Package, Version
from tests.factories import RepositoryFactory
from tests.formats.maven.conftest import basic, pom
from tests.formats.npm.helpers import publish_body

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]


def _api(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user).secret}")
    return api


def test_npm_version_deleted_by_the_api_leaves_the_packument(client, make_user):
    repository = RepositoryFactory(name="npm-api", format="npm")
    owner = make_user(repository, Role.DELETE)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_create(user=owner).secret}"}
    for version in ("1.0.0", "1.1.0"):
        response = client.put(
            "/repository/npm-api/gizmo",
            publish_body("gizmo", version),
            content_type="application/json",
            **auth,
        )
        assert response.status_code == 201
    doomed = Version.objects.get(package__name="gizmo", version="1.1.0")

    assert _api(owner).delete(f"/api/v1/versions/{doomed.pk}/").status_code == 204

    packument = client.get("/repository/npm-api/gizmo", **auth).json()
    assert list(packument["versions"]) == ["1.0.0"]
    assert packument["dist-tags"] == {"latest": "1.0.0"}


def test_npm_package_deleted_by_the_api_is_gone_from_the_registry(client, make_user):
    repository = RepositoryFactory(name="npm-api", format="npm")
    owner = make_user(repository, Role.DELETE)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_create(user=owner).secret}"}
    client.put(
        "/repository/npm-api/gizmo",
        publish_body("gizmo", "1.0.0"),
        content_type="application/json",
        **auth,
    )
    package = Package.objects.get(name="gizmo")

    assert _api(owner).delete(f"/api/v1/packages/{package.pk}/").status_code == 204

    assert client.get("/repository/npm-api/gizmo", **auth).status_code == 404
    assert Document.objects.filter(repository=repository).exists() is False


def test_maven_version_deleted_by_the_api_leaves_the_metadata(client, make_user):
    repository = RepositoryFactory(
        name="mvn-api", format="maven", config={"version_policy": "mixed"}
    )
    owner = make_user(repository, Role.DELETE)
    folder = "com/example/gadget"
    for version in ("1.0", "2.0-SNAPSHOT"):
        file_version = "2.0-20261126.120000-1" if version.endswith("SNAPSHOT") else version
        response = client.put(
            f"/repository/mvn-api/{folder}/{version}/gadget-{file_version}.pom",
            data=pom("com.example", "gadget", version),
            content_type="application/octet-stream",
            headers=basic(owner),
        )
        assert response.status_code == 201
    snapshot = Version.objects.get(package__name="com.example:gadget", version="2.0-SNAPSHOT")

    assert _api(owner).delete(f"/api/v1/versions/{snapshot.pk}/").status_code == 204

    metadata = client.get(f"/repository/mvn-api/{folder}/maven-metadata.xml", headers=basic(owner))
    assert b"<version>1.0</version>" in metadata.content
    assert b"2.0-SNAPSHOT" not in metadata.content
    gone = client.get(
        f"/repository/mvn-api/{folder}/2.0-SNAPSHOT/maven-metadata.xml", headers=basic(owner)
    )
    assert gone.status_code == 404
