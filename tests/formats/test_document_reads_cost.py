"""Serving a generated document costs the same queries at 10 and at 1,000 versions (issue 16).

The npm packument, the PyPI simple page and maven-metadata.xml are generated on write; a read
is the repository, the principal's rights and one document statement, whatever the package
holds. Each case grows a package from 10 to 1,000 versions, rebuilds its documents as a
publish does, and counts the queries of the read (the first read after a rebuild fetches the
new bytes, later reads only the row's ETag).
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from formats.maven.services import maven_metadata_rebuild
from formats.models import Asset, Package, Version
from formats.npm.services import npm_documents_rebuild
from formats.pypi.services import ASSET_KIND_DISTRIBUTION, pypi_project_documents_rebuild
from formats.services import package_lock
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]


def _npm(package: Package, versions: list[Version]) -> None:
    for version in versions:
        version.metadata = {"manifest": {"name": package.name, "version": version.version}}
        version.save(update_fields=["metadata"])
    with transaction.atomic():
        npm_documents_rebuild(package=package_lock(package=package))


def _files(package: Package, versions: list[Version], path, metadata) -> None:
    """Give each version one file at ``path(version)`` with ``metadata(version)``."""
    blob = blob_ingest_bytes(content=b"file")
    Asset.objects.bulk_create(
        Asset(
            repository=package.repository,
            version=version,
            path=path(version.version),
            blob=blob,
            metadata=metadata(version.version),
        )
        for version in versions
    )


def _pypi(package: Package, versions: list[Version]) -> None:
    _files(
        package,
        versions,
        lambda number: f"packages/big/{number}/big-{number}-py3-none-any.whl",
        lambda number: {
            "kind": ASSET_KIND_DISTRIBUTION,
            "filename": f"big-{number}-py3-none-any.whl",
        },
    )
    pypi_project_documents_rebuild(package=package)


def _maven(package: Package, versions: list[Version]) -> None:
    _files(
        package,
        versions,
        lambda number: f"com/example/big/{number}/big-{number}.jar",
        lambda _: {"classifier": None, "extension": "jar"},
    )
    with transaction.atomic():
        maven_metadata_rebuild(
            repository=package.repository,
            package=package_lock(package=package),
            version=versions[-1],
        )


CASES = [
    ("npm packument", "npm", "big", _npm, "/repository/r/big", "application/json"),
    ("PyPI simple page", "pypi", "big", _pypi, "/repository/r/simple/big/", "text/html"),
    (
        "maven-metadata.xml",
        "maven",
        "com.example:big",
        _maven,
        "/repository/r/com/example/big/maven-metadata.xml",
        "*/*",
    ),
]


def _grow(package: Package, build, start: int, stop: int) -> None:
    versions = Version.objects.bulk_create(
        Version(package=package, version=f"1.0.{number}") for number in range(start, stop)
    )
    build(package, versions)


def _read(client, path: str, accept: str) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, response.content
    return len(queries), response.content


@pytest.mark.parametrize(("_case", "fmt", "name", "build", "path", "accept"), CASES)
def test_a_document_read_costs_the_same_at_10_and_1000_versions(
    client, _case, fmt, name, build, path, accept
):
    repository = RepositoryFactory(name="r", format=fmt, anonymous_read=True)
    package = Package.objects.create(repository=repository, name=name, normalized_name=name)
    _grow(package, build, 0, 10)
    few, body = _read(client, path, accept)
    assert b"1.0.9" in body
    assert b"1.0.10" not in body

    _grow(package, build, 10, 1000)
    fresh, body = _read(client, path, accept)
    assert b"1.0.999" in body
    cached, again = _read(client, path, accept)
    assert (fresh, cached, again) == (few, few, body)
