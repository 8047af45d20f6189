"""Data migrations of the shared model."""

import importlib
import io

import pytest
from django.apps import apps

from formats.models import Asset, Package, PublishedCoordinate, Repository, Tag
from storage.services import blob_ingest
from tests.factories import PackageFactory, RepositoryFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db

published_coordinate = importlib.import_module("formats.migrations.0002_published_coordinate")
package_search = importlib.import_module("formats.migrations.0008_package_search")


def _asset(repository, path, *, version=None, metadata=None, user=None):
    blob = blob_ingest(stream=io.BytesIO(path.encode()))
    Asset.objects.create(
        repository=repository,
        path=path,
        blob=blob,
        version=version,
        metadata=metadata or {},
        uploaded_by=user,
    )
    return blob.sha256


def test_files_published_before_the_record_existed_are_recorded():
    alice = UserFactory(username="alice")
    npm = RepositoryFactory(name="npm", format="npm")
    tinylib = VersionFactory(
        package=PackageFactory(repository=npm, name="tinylib"), version="1.0.0"
    )
    pypi = RepositoryFactory(name="pypi", format="pypi")
    maven = RepositoryFactory(name="maven", format="maven")
    lib = PackageFactory(repository=maven, name="com.example:lib")
    release = VersionFactory(package=lib, version="1.0")
    snapshot = VersionFactory(package=lib, version="1.1-SNAPSHOT")
    proxy = RepositoryFactory(name="npm-proxy", format="npm", kind=Repository.Kind.PROXY)
    cached = VersionFactory(package=PackageFactory(repository=proxy, name="left-pad"))
    expected = {
        ("npm", "tinylib@1.0.0", "alice"): _asset(
            npm, "tinylib/-/tinylib-1.0.0.tgz", version=tinylib, user=alice
        ),
        ("pypi", "tiny-1.0.tar.gz", ""): _asset(
            pypi,
            "packages/tiny/1.0/tiny-1.0.tar.gz",
            metadata={"kind": "distribution", "filename": "tiny-1.0.tar.gz"},
        ),
        ("maven", "com/example/lib/1.0/lib-1.0.jar", ""): _asset(
            maven, "com/example/lib/1.0/lib-1.0.jar", version=release
        ),
    }
    _asset(pypi, "packages/tiny/1.0/tiny-1.0.whl.metadata", metadata={"kind": "core-metadata"})
    _asset(maven, "com/example/lib/1.1-SNAPSHOT/lib-1.1-SNAPSHOT.jar", version=snapshot)
    _asset(proxy, "left-pad/-/left-pad-1.0.0.tgz", version=cached)
    _asset(RepositoryFactory(name="raw", format="raw"), "a/b.txt")

    published_coordinate.record_published_files(apps, None)

    recorded = PublishedCoordinate.objects.values_list(
        "repository__name", "key", "published_by_name", "sha256"
    )
    assert {(name, key, by): sha256 for name, key, by, sha256 in recorded} == expected


def test_packages_published_before_search_columns_existed_get_them_from_their_latest_version():
    npm = RepositoryFactory(name="npm", format="npm")
    lib = PackageFactory(repository=npm, name="lib")
    tagged = VersionFactory(
        package=lib,
        version="1.0.0",
        metadata={"manifest": {"description": "Tagged Words", "keywords": ["Pad", 7]}},
    )
    VersionFactory(package=lib, version="2.0.0-rc", metadata={"manifest": {"description": "new"}})
    Tag.objects.create(package=lib, name="latest", version=tagged)
    pypi = RepositoryFactory(name="py", format="pypi")
    tool = PackageFactory(repository=pypi, name="My_Tool", normalized_name="my-tool")
    VersionFactory(package=tool, version="0.1", metadata={"summary": "A tool"})
    PackageFactory(repository=pypi, name="empty")
    Package.objects.update(latest_version="", summary="", search_text="")  # as before 0007

    package_search.backfill(apps, None)

    rows = Package.objects.order_by("name").values_list(
        "name", "latest_version", "summary", "search_text"
    )
    assert list(rows) == [
        ("My_Tool", "0.1", "A tool", "my_tool\nmy-tool\na tool"),
        ("empty", "", "", "empty"),
        ("lib", "1.0.0", "Tagged Words", "lib\ntagged words\npad"),
    ]
