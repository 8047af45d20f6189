"""/ui/search: packages by name, summary and keywords, and content by digest, readable only."""

import base64
import hashlib

import pytest

from access.models import Role
from tests.factories import PackageFactory, RepositoryFactory, VersionFactory
from tests.web.content import page_text, result_names, version_with_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def repositories(db):
    public = RepositoryFactory(name="public-npm", format="npm", anonymous_read=True)
    secret = RepositoryFactory(name="secret-npm", format="npm")
    return public, secret


def test_packages_are_found_by_name_in_readable_repositories_only(client, repositories):
    public, secret = repositories
    PackageFactory(repository=public, name="left-pad")
    PackageFactory(repository=public, name="right-pad")
    PackageFactory(repository=secret, name="secret-pad")

    response = client.get("/ui/search?q=pad")

    assert result_names(response) == ["left-pad", "right-pad"]


def test_a_signed_in_reader_finds_the_private_package_too(client, repositories, make_user):
    public, secret = repositories
    PackageFactory(repository=secret, name="secret-pad")
    client.force_login(make_user(secret, Role.READ))
    assert result_names(client.get("/ui/search?q=pad")) == ["secret-pad"]


def test_results_show_the_latest_version_and_filter_by_format_and_repository(client):
    npm = RepositoryFactory(name="npm", format="npm", anonymous_read=True)
    pypi = RepositoryFactory(name="py", format="pypi", anonymous_read=True)
    package = PackageFactory(repository=npm, name="tool")
    VersionFactory(package=package, version="1.0.0")
    VersionFactory(package=package, version="1.1.0")
    PackageFactory(repository=pypi, name="tool")

    everything = page_text(client.get("/ui/search?q=tool"))
    assert "<td>npm</td><td>npm</td> <td>1.1.0</td>" in everything
    assert result_names(client.get("/ui/search?q=tool&format=pypi")) == ["tool"]
    only_py = page_text(client.get("/ui/search?q=tool&repository=py"))
    assert ("<td>py</td><td>pypi</td>" in only_py, "<td>npm</td>" in only_py) == (True, False)


def test_results_are_paginated_and_pages_keep_the_query(client, repositories):
    public, _ = repositories
    for number in range(55):
        PackageFactory(repository=public, name=f"pkg-{number:02d}")

    first = client.get("/ui/search?q=pkg")
    second = client.get("/ui/search?q=pkg&page=2")

    assert len(result_names(first)) == 50
    assert result_names(second) == [f"pkg-{number}" for number in range(50, 55)]
    assert '<a href="?q=pkg&amp;page=2" rel="next">Next</a>' in first.content.decode()


@pytest.mark.parametrize(
    ("_case", "spelling"),
    [
        (
            "sha256 with its algorithm",
            lambda content: f"sha256:{hashlib.sha256(content).hexdigest()}",
        ),
        ("bare hex", lambda content: hashlib.sha256(content).hexdigest().upper()),
        (
            "npm integrity",
            lambda content: "sha512-" + base64.b64encode(hashlib.sha512(content).digest()).decode(),
        ),
    ],
)
def test_a_digest_finds_every_readable_file_with_that_content(
    client, repositories, _case, spelling
):
    public, secret = repositories
    content = b"the same tarball bytes"
    version_with_file(public, "one", "1.0.0", "one/-/one-1.0.0.tgz", content)
    version_with_file(public, "two", "2.0.0", "two/-/two-2.0.0.tgz", content)
    version_with_file(secret, "hidden", "1.0.0", "hidden/-/hidden-1.0.0.tgz", content)
    version_with_file(public, "other", "1.0.0", "other/-/other-1.0.0.tgz", b"other bytes")

    page = page_text(client.get("/ui/search", {"q": spelling(content)}))

    algorithm = "sha512" if _case == "npm integrity" else "sha256"
    hex_digest = hashlib.new(algorithm, content).hexdigest()
    assert f'Content <span class="digest">{algorithm}:{hex_digest}</span>' in page
    assert 'href="/ui/repositories/public-npm/packages/one/versions/1.0.0/"' in page
    assert 'href="/ui/repositories/public-npm/packages/two/versions/2.0.0/"' in page
    assert "<td>one/-/one-1.0.0.tgz</td>" in page
    assert "secret-npm" not in page
    assert "hidden-1.0.0" not in page
    assert "other-1.0.0" not in page


def test_a_digest_nothing_readable_holds_says_so(client, repositories):
    _, secret = repositories
    version_with_file(secret, "hidden", "1.0.0", "hidden.tgz", b"private")
    digest = hashlib.sha256(b"private").hexdigest()

    page = page_text(client.get(f"/ui/search?q=sha256:{digest}"))

    assert "No file, image or layer you may read has this content." in page
    assert "secret-npm" not in page


def test_an_oci_layer_is_found_in_the_images_it_is_linked_to(client):
    from formats.oci.models import OciBlobLink
    from storage.services import blob_ingest_bytes

    repository = RepositoryFactory(name="images", format="oci", anonymous_read=True)
    image = PackageFactory(repository=repository, name="team/app")
    layer = blob_ingest_bytes(content=b"a layer")
    OciBlobLink.objects.create(package=image, blob=layer)

    page = page_text(client.get(f"/ui/search?q=sha256:{layer.sha256}"))

    assert '<a href="/ui/repositories/images/packages/team/app/">team/app</a>' in page
    assert "layer or blob of the image" in page
