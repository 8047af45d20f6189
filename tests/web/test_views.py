import pytest

from access.models import Role
from tests.factories import PackageFactory, RepositoryFactory, VersionFactory

pytestmark = pytest.mark.django_db


def test_health_says_the_process_answers():
    from django.test import Client

    response = Client().get("/-/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


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


def test_readme_is_rendered_and_sanitized(client):
    repository = RepositoryFactory(name="npm-pub", format="npm", anonymous_read=True)
    package = PackageFactory(repository=repository, name="shiny")
    VersionFactory(
        package=package,
        version="2.0.0",
        metadata={
            "manifest": {
                "description": "Shiny things",
                "license": "MIT",
                "dependencies": {"left-pad": "^1.3.0"},
            },
            "readme": "# Shiny\n\n**bold** <script>alert(1)</script>"
            '<a href="javascript:alert(2)" onclick="x()">link</a>',
            "readme_filename": "README.md",
        },
    )
    page = client.get(f"/ui/repositories/npm-pub/packages/{package.pk}/").content.decode()
    assert "<h1>Shiny</h1>" in page
    assert "<strong>bold</strong>" in page
    assert "<script>alert(1)" not in page
    assert "javascript:alert" not in page
    assert "onclick" not in page
    assert "Shiny things" in page
    assert "<code>left-pad@^1.3.0</code>" in page
    assert "npm install shiny@2.0.0" in page


def test_plain_text_descriptions_are_escaped(client):
    repository = RepositoryFactory(name="py-pub", format="pypi", anonymous_read=True)
    package = PackageFactory(repository=repository, name="tiny-lib")
    VersionFactory(
        package=package,
        version="0.1.0",
        metadata={
            "summary": "Tiny",
            "description": "Use <b>it</b>\n====",
            "description_content_type": "text/x-rst",
            "requires_dist": ["attrs>=23"],
        },
    )
    page = client.get(f"/ui/repositories/py-pub/packages/{package.pk}/").content.decode()
    assert "<pre>Use &lt;b&gt;it&lt;/b&gt;\n====</pre>" in page
    assert "<code>attrs&gt;=23</code>" in page
    assert "pip install tiny-lib==0.1.0" in page


def test_maven_pages_show_pom_dependencies(client):
    repository = RepositoryFactory(name="mvn-pub", format="maven", anonymous_read=True)
    package = PackageFactory(repository=repository, name="com.example:lib")
    dependency = {
        "group_id": "org.slf4j",
        "artifact_id": "slf4j-api",
        "version": "2.0.9",
        "scope": "compile",
        "optional": False,
        "classifier": "",
        "type": "jar",
    }
    VersionFactory(
        package=package,
        version="1.0",
        metadata={
            "name": "Lib",
            "description": "A library",
            "packaging": "jar",
            "url": "",
            "licenses": [{"name": "Apache-2.0", "url": ""}],
            "dependencies": [dependency, {**dependency, "artifact_id": "junit", "scope": "test"}],
        },
    )
    page = client.get(f"/ui/repositories/mvn-pub/packages/{package.pk}/").content.decode()
    assert "Lib - A library" in page
    assert "<code>org.slf4j:slf4j-api:2.0.9</code>" in page
    assert "<code>org.slf4j:junit:2.0.9 (test)</code>" in page
    assert "License: Apache-2.0" in page
    assert "&lt;artifactId&gt;lib&lt;/artifactId&gt;" in page
