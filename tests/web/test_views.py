import pytest

from access.models import Role
from tests.factories import PackageFactory, RepositoryFactory, VersionFactory

pytestmark = pytest.mark.django_db


def test_health_reports_database_and_store():
    from django.test import Client

    response = Client().get("/-/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "blob_store": "ok"}


def test_index_lists_only_repositories_the_visitor_may_read(client, make_user):
    RepositoryFactory(name="open-source", anonymous_read=True)
    secret = RepositoryFactory(name="secret-stuff")
    anonymous = client.get("/").content.decode()
    assert "open-source" in anonymous
    assert "secret-stuff" not in anonymous

    client.force_login(make_user(secret, Role.READ))
    signed_in = client.get("/").content.decode()
    assert "secret-stuff" in signed_in


def test_private_repository_pages_are_hidden(client):
    RepositoryFactory(name="secret-stuff")
    assert client.get("/ui/repositories/secret-stuff/").status_code == 404


def test_package_page_shows_versions_and_tag_history(client):
    from formats.services import tag_set

    repository = RepositoryFactory(name="pub", anonymous_read=True)
    package = PackageFactory(repository=repository, name="left-pad")
    version = VersionFactory(package=package, version="1.3.0")
    tag_set(package=package, name="latest", version=version, user=None)
    page = client.get(f"/ui/repositories/pub/packages/{package.pk}/").content.decode()
    assert "left-pad" in page
    assert "1.3.0" in page
    assert "latest" in page
