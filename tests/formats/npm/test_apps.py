"""What the web UI shows of an npm version (NpmConfig.version_details)."""

import pytest
from django.apps import apps

from access.models import Role
from formats.models import Repository
from tests.factories import PackageFactory, RepositoryFactory, VersionFactory
from tests.formats.npm.helpers import make_tarball, publish_body

pytestmark = pytest.mark.django_db


def test_a_manifest_of_any_shape_renders_the_package_page(client):
    repository = RepositoryFactory(name="npm-pub", format="npm", anonymous_read=True)
    package = PackageFactory(repository=repository, name="odd")
    manifest = {"description": ["not", "text"], "dependencies": "x", "license": "MIT"}
    VersionFactory(package=package, version="1.0.0", metadata={"manifest": manifest})

    response = client.get("/ui/repositories/npm-pub/packages/odd/versions/1.0.0/")

    assert response.status_code == 200
    assert "npm install odd@1.0.0" in response.content.decode()


def test_a_published_string_of_dependencies_is_shown_as_npm_reads_it(client, make_user, make_token):
    repository = RepositoryFactory(name="npm-pub", format="npm", anonymous_read=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(make_user(repository, Role.WRITE))}"}
    tarball = make_tarball({"name": "odd", "version": "1.0.0", "dependencies": "left-pad"})
    published = client.put(
        "/repository/npm-pub/odd",
        data=publish_body("odd", "1.0.0", dependencies={"body-only": "1.0.0"}, tarball=tarball),
        content_type="application/json",
        **auth,
    )
    assert published.status_code == 201
    assert repository.packages.get().name == "odd"

    response = client.get("/ui/repositories/npm-pub/packages/odd/versions/1.0.0/")

    assert response.status_code == 200
    assert "<code>left-pad@</code>" in response.content.decode()
    assert "body-only" not in response.content.decode()


def test_a_proxy_probes_its_upstream_where_npm_ping_does():
    proxy = Repository(format="npm", kind="proxy", upstream_url="https://registry.example/npm/")
    config = apps.get_app_config("npm")
    assert config.upstream_probe_url(proxy) == "https://registry.example/npm/-/ping"
