"""A tag list page and a catalog page cost the same whatever the number of tags and images.

Issue 16: pages were cut in Python from every name. These tests pin the number of queries of
one page at 10 and at 1,000 names, and check the page holds exactly the names after ``last``.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from formats.models import Package, Tag, Version
from formats.oci.models import OciManifest
from tests.formats.oci.helpers import push_image

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

NAME = "oci/app"
TAGS = Tag._meta.db_table
IMAGES = Package._meta.db_table


def _queries(client, path: str, auth: dict[str, str], *, table: str) -> tuple[int, dict, str]:
    """GET ``path``; return the number of queries, the body and the Link header.

    Every query reading ``table`` must be cut by the database to a page (``LIMIT n + 1``):
    a single query reading every name is as flat in count as a page, but not in cost.
    """
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, headers=auth)
    assert response.status_code == 200, response.content
    reads = [query["sql"] for query in queries if f'FROM "{table}"' in query["sql"]]
    assert reads
    assert all(" LIMIT " in sql for sql in reads), reads
    return len(queries), response.json(), response.get("Link", "")


def _add_tags(count: int) -> None:
    version = Version.objects.get(package__name="app")
    existing = Tag.objects.filter(package=version.package).count()
    Tag.objects.bulk_create(
        Tag(package=version.package, name=f"t{number:05d}", version=version)
        for number in range(existing, existing + count)
    )


def _add_images(repository, count: int) -> None:
    """Add ``count`` images to ``repository``, each holding a copy of the one pushed manifest."""
    pushed = OciManifest.objects.get(package__name="app")
    start = Package.objects.filter(repository=repository).count()
    packages = Package.objects.bulk_create(
        Package(repository=repository, name=f"i{number:05d}", normalized_name=f"i{number:05d}")
        for number in range(start, start + count)
    )
    versions = Version.objects.bulk_create(
        Version(package=package, version=pushed.digest) for package in packages
    )
    OciManifest.objects.bulk_create(
        OciManifest(
            version=version,
            package=version.package,
            digest=pushed.digest,
            media_type=pushed.media_type,
            size=pushed.size,
            blob_id=pushed.blob_id,
        )
        for version in versions
    )


def test_a_tag_list_page_costs_the_same_with_10_and_1000_tags(client, auth):
    push_image(client, NAME, "t00000", auth)
    _add_tags(9)
    path = f"/v2/{NAME}/tags/list?n=3&last=t00004"
    few, body, link = _queries(client, path, auth, table=TAGS)
    assert body["tags"] == ["t00005", "t00006", "t00007"]
    assert link == f'</v2/{NAME}/tags/list?n=3&last=t00007>; rel="next"'

    _add_tags(990)
    many, body, link = _queries(client, path, auth, table=TAGS)
    assert body["tags"] == ["t00005", "t00006", "t00007"]
    assert many == few
    last_page, body, link = _queries(
        client, f"/v2/{NAME}/tags/list?n=3&last=t00997", auth, table=TAGS
    )
    assert (body["tags"], link, last_page) == (["t00998", "t00999"], "", few)


def test_a_catalog_page_costs_the_same_with_10_and_1000_images(client, auth, oci_repository):
    push_image(client, NAME, "1", auth)
    _add_images(oci_repository, 9)
    path = "/v2/_catalog?n=3&last=oci/i00004"
    few, body, link = _queries(client, path, auth, table=IMAGES)
    assert body["repositories"] == ["oci/i00005", "oci/i00006", "oci/i00007"]
    assert link == '</v2/_catalog?n=3&last=oci%2Fi00007>; rel="next"'

    _add_images(oci_repository, 990)
    many, body, _ = _queries(client, path, auth, table=IMAGES)
    assert body["repositories"] == ["oci/i00005", "oci/i00006", "oci/i00007"]
    assert many == few
    end, body, link = _queries(client, "/v2/_catalog?n=3&last=oci/i00997", auth, table=IMAGES)
    assert (body["repositories"], link, end) == (["oci/i00998", "oci/i00999"], "", few)
    _, body, _ = _queries(client, "/v2/_catalog?n=2", auth, table=IMAGES)
    assert body["repositories"] == ["oci/app", "oci/i00001"]
