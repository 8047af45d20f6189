"""/ui/search finds packages published through each protocol by their summary and keywords.

Everything here is published as the clients send it (npm publish bodies, twine's upload form,
mvn's PUTs, an OCI manifest push); search then reads the columns those writes keep.
"""

import base64
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from access.models import Role
from access.services import role_grant
from formats.models import Package, Version
from formats.services import version_delete
from tests.factories import PASSWORD, PackageFactory, RepositoryFactory
from tests.formats.maven.conftest import pom
from tests.formats.npm.helpers import publish_body
from tests.formats.oci.helpers import image_manifest, push_blob
from tests.formats.pypi.dists import make_wheel
from tests.web.content import result_names

pytestmark = pytest.mark.django_db

MIME_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _basic(username: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}


@pytest.fixture
def writer(make_user):
    """A user who may write to the repositories given (signing in with their password)."""

    def grant(*repositories):
        user = make_user(repositories[0], Role.WRITE)
        for repository in repositories[1:]:
            role_grant(repository=repository, role=Role.WRITE, user=user)
        return user

    return grant


def _npm_publish(client, repository, user, name, version, **options):
    response = client.put(
        f"/repository/{repository.name}/{name}",
        data=publish_body(name, version, **options),
        content_type="application/json",
        headers=_basic(user.username, PASSWORD),
    )
    assert response.status_code == 201, response.content


def _twine_upload(client, repository, user, name, version, **metadata):
    filename, data = make_wheel(name, version, **metadata)
    form = {
        ":action": "file_upload",
        "name": name,
        "version": version,
        "protocol_version": "1",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "filetype": "bdist_wheel",
        "content": SimpleUploadedFile(filename, data),
    }
    response = client.post(
        f"/repository/{repository.name}/", data=form, headers=_basic(user.username, PASSWORD)
    )
    assert response.status_code == 200, response.content


def _mvn_deploy(client, repository, user, group, artifact, version, extra):
    path = f"{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.pom"
    response = client.put(
        f"/repository/{repository.name}/{path}",
        data=pom(group, artifact, version, extra),
        content_type="application/octet-stream",
        headers=_basic(user.username, PASSWORD),
    )
    assert response.status_code == 201, response.content


def _oci_push(client, repository, user, name, tag, annotations):
    headers = _basic(user.username, PASSWORD)
    image = f"{repository.name}/{name}"
    config = b'{"architecture":"amd64","os":"linux"}'
    push_blob(client, image, config, headers)
    push_blob(client, image, b"a layer", headers)
    response = client.put(
        f"/v2/{image}/manifests/{tag}",
        data=image_manifest(config, [b"a layer"], annotations=annotations),
        content_type=MIME_OCI_MANIFEST,
        headers=headers,
    )
    assert response.status_code == 201, response.content


def test_npm_packages_are_found_by_description_and_keywords(client, writer):
    npm = RepositoryFactory(name="npm", format="npm", anonymous_read=True)
    user = writer(npm)
    _npm_publish(
        client,
        npm,
        user,
        "lp",
        "1.0.0",
        description="Pads strings on the left",
        keywords=("Text", "padding"),
    )
    _npm_publish(client, npm, user, "other", "1.0.0", keywords=("left",))

    assert result_names(client.get("/ui/search?q=strings")) == ["lp"]
    assert result_names(client.get("/ui/search?q=TEXT")) == ["lp"]
    assert result_names(client.get("/ui/search?q=left")) == ["lp", "other"]
    assert result_names(client.get("/ui/search?q=left+padding")) == ["lp"]
    assert result_names(client.get("/ui/search?q=left+nothing")) == []
    assert "Pads strings on the left" in client.get("/ui/search?q=lp").content.decode()


def test_pypi_projects_are_found_by_summary_and_keywords(client, writer):
    pypi = RepositoryFactory(name="py", format="pypi", anonymous_read=True)
    user = writer(pypi)
    _twine_upload(
        client, pypi, user, "padtools", "1.0", summary="Utilities for padding", keywords="margin"
    )
    _twine_upload(client, pypi, user, "unrelated", "1.0", summary="Something else")

    assert result_names(client.get("/ui/search?q=utilities")) == ["padtools"]
    assert result_names(client.get("/ui/search?q=MARGIN")) == ["padtools"]
    page = client.get("/ui/search?q=padding").content.decode()
    assert "Utilities for padding" in page
    assert "<td>1.0</td>" in page


def test_maven_artifacts_are_found_by_pom_name_and_description(client, writer):
    maven = RepositoryFactory(name="m2", format="maven", anonymous_read=True)
    user = writer(maven)
    extra = "  <name>Pad Kit</name>\n  <description>Left padding for the JVM</description>\n"
    _mvn_deploy(client, maven, user, "com.example", "padkit", "1.0", extra)
    _mvn_deploy(client, maven, user, "com.example", "other", "1.0", "")

    assert result_names(client.get("/ui/search?q=jvm")) == ["com.example:padkit"]
    assert result_names(client.get("/ui/search?q=pad+kit")) == ["com.example:padkit"]
    assert "Pad Kit - Left padding for the JVM" in client.get("/ui/search?q=jvm").content.decode()


def test_oci_images_are_found_by_their_title_and_description_annotations(client, writer):
    images = RepositoryFactory(name="images", format="oci", anonymous_read=True)
    user = writer(images)
    annotations = {
        "org.opencontainers.image.title": "Web server",
        "org.opencontainers.image.description": "Serves static files",
    }
    _oci_push(client, images, user, "team/httpd", "latest", annotations)
    _oci_push(client, images, user, "team/other", "latest", {})

    assert result_names(client.get("/ui/search?q=static+files")) == ["team/httpd"]
    assert "Web server - Serves static files" in client.get("/ui/search?q=web").content.decode()


def test_private_packages_are_found_by_their_readers_only(client, writer, make_user):
    public = RepositoryFactory(name="public", format="npm", anonymous_read=True)
    secret = RepositoryFactory(name="secret", format="npm")
    user = writer(public, secret)
    _npm_publish(client, secret, user, "confidential", "1.0.0", keywords=("gem",))
    _npm_publish(client, public, user, "shown", "1.0.0", description="a gem too")
    client.logout()

    anonymous = client.get("/ui/search?q=gem")
    client.force_login(make_user(secret, Role.READ))
    reader = client.get("/ui/search?q=gem")

    assert result_names(anonymous) == ["shown"]
    assert "confidential" not in anonymous.content.decode()
    assert result_names(reader) == ["confidential", "shown"]


def test_search_follows_the_latest_version_as_it_is_published_and_deleted(client, writer):
    npm = RepositoryFactory(name="npm", format="npm", anonymous_read=True)
    user = writer(npm)
    _npm_publish(client, npm, user, "lib", "1.0.0", description="first words")
    _npm_publish(client, npm, user, "lib", "2.0.0", description="second thoughts")

    assert result_names(client.get("/ui/search?q=second")) == ["lib"]
    assert result_names(client.get("/ui/search?q=first")) == []
    version_delete(version=Version.objects.get(version="2.0.0"), user=user)

    assert result_names(client.get("/ui/search?q=first")) == ["lib"]
    assert result_names(client.get("/ui/search?q=second")) == []
    assert Package.objects.get(name="lib").latest_version == "1.0.0"


def test_the_exact_name_comes_first_then_names_starting_with_it(client):
    npm = RepositoryFactory(name="npm", format="npm", anonymous_read=True)
    for name in ("apad", "pad-left", "leftpad", "pad", "padding"):
        PackageFactory(repository=npm, name=name)

    assert result_names(client.get("/ui/search?q=pad")) == [
        "pad",
        "pad-left",
        "padding",
        "apad",
        "leftpad",
    ]


def test_pages_run_on_from_one_rank_into_the_next(client):
    npm = RepositoryFactory(name="npm", format="npm", anonymous_read=True)
    names = ["pad", *(f"pad-{n:02d}" for n in range(50)), *(f"xpad-{n}" for n in range(5))]
    for name in names:
        PackageFactory(repository=npm, name=name)

    first = client.get("/ui/search?q=pad")
    second = client.get("/ui/search?q=pad&page=2")

    assert result_names(first) == names[:50]
    assert result_names(second) == names[50:]
    assert 'rel="next"' in first.content.decode()
    assert 'rel="next"' not in second.content.decode()
