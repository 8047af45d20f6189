"""Pages read in a constant number of queries, whatever the number of versions or packages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from formats.models import Package, Version
from formats.services import package_search_refresh, tag_set
from tests.factories import PackageFactory, RepositoryFactory, UserFactory
from tests.web.content import result_names, version_with_file

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _versions(package, count: int, start: int = 0) -> None:
    publisher = UserFactory()
    Version.objects.bulk_create(
        Version(package=package, version=f"1.0.{n}", published_by=publisher)
        for n in range(start, start + count)
    )


@pytest.mark.parametrize("format", ["npm", "pypi", "maven", "raw", "oci"])
def test_a_package_page_with_1000_versions_costs_what_one_with_3_does(client, format):
    repository = RepositoryFactory(name="pub", format=format, anonymous_read=True)
    small, large = (PackageFactory(repository=repository, name=n) for n in ("small", "large"))
    _versions(small, 3)
    _versions(large, 1000)
    for package in (small, large):
        tag_set(package=package, name="latest", version=package.versions.last(), user=None)

    few = _queries(client, "/ui/repositories/pub/packages/small/")
    many = _queries(client, "/ui/repositories/pub/packages/large/")

    assert few == many
    first = client.get("/ui/repositories/pub/packages/large/").content.decode()
    last = client.get("/ui/repositories/pub/packages/large/?page=20").content.decode()
    assert 'href="/ui/repositories/pub/packages/large/versions/1.0.999/"' in first
    assert '<a href="?page=2" rel="next">Next</a>' in first
    assert 'href="/ui/repositories/pub/packages/large/versions/1.0.0/"' in last
    assert 'rel="next"' not in last


def test_a_search_over_many_packages_costs_what_one_over_few_does(client):
    repository = RepositoryFactory(name="pub", format="npm", anonymous_read=True)
    Package.objects.bulk_create(
        PackageFactory.build(repository=repository, name=f"{prefix}-{n}")
        for prefix, count in (("few", 3), ("many", 2000))
        for n in range(count)
    )
    for package in Package.objects.filter(name__in=["few-0", "many-0"]):
        _versions(package, 5)
        package_search_refresh(package=package)

    few = _queries(client, "/ui/search?q=few")
    many = _queries(client, "/ui/search?q=many")

    assert few == many
    assert result_names(client.get("/ui/search?q=many"))[:3] == ["many-0", "many-1", "many-10"]


def test_home_repository_and_version_pages_do_not_grow_with_their_content(client):
    small = RepositoryFactory(name="small", format="npm", anonymous_read=True)
    large = RepositoryFactory(name="large", format="npm", anonymous_read=True)
    version_with_file(small, "lib", "1.0.0", "lib/-/lib-1.0.0.tgz", b"small")
    for n in range(60):
        version_with_file(large, f"lib{n}", "1.0.0", f"lib{n}/-/lib{n}-1.0.0.tgz", b"x%d" % n)

    assert _queries(client, "/ui/repositories/small/") == _queries(
        client, "/ui/repositories/large/"
    )
    before = _queries(client, "/")
    RepositoryFactory(name="third", format="pypi", anonymous_read=True)
    assert _queries(client, "/") == before
    assert _queries(client, "/ui/repositories/small/packages/lib/versions/1.0.0/") == _queries(
        client, "/ui/repositories/large/packages/lib7/versions/1.0.0/"
    )
