import io
import threading

import pytest
from django.db import connection, transaction

from formats.errors import AssetExists, CoordinateReused, TagImmutable, VersionExists
from formats.models import Asset, Package, PublishedCoordinate, Tag, TagEvent, Version
from formats.services import (
    asset_put,
    coordinate_record,
    package_delete,
    package_ensure,
    package_lock,
    tag_delete,
    tag_set,
    version_create,
    version_delete,
)
from storage.services import blob_ingest
from tests.factories import PackageFactory, RepositoryFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db


def test_publishing_an_existing_version_is_refused_and_changes_nothing():
    package = PackageFactory()
    user = UserFactory()
    original = version_create(package=package, version="1.0.0", metadata={"a": 1}, user=user)
    with pytest.raises(VersionExists) as raised:
        version_create(package=package, version="1.0.0", metadata={"a": 2}, user=user)
    assert raised.value.http_status == 409
    assert list(Version.objects.values_list("pk", "metadata")) == [(original.pk, {"a": 1})]


def test_a_file_cannot_be_replaced_without_redeploy():
    repository = RepositoryFactory()
    first = blob_ingest(stream=io.BytesIO(b"one"))
    second = blob_ingest(stream=io.BytesIO(b"two"))
    asset_put(repository=repository, path="a/b.txt", blob=first, media_type="text/plain", user=None)
    with pytest.raises(AssetExists):
        asset_put(
            repository=repository, path="a/b.txt", blob=second, media_type="text/plain", user=None
        )
    assert Asset.objects.get(repository=repository, path="a/b.txt").blob_id == first.pk


def test_redeploy_replaces_the_file_when_allowed():
    repository = RepositoryFactory(allow_redeploy=True)
    first = blob_ingest(stream=io.BytesIO(b"one"))
    second = blob_ingest(stream=io.BytesIO(b"two"))
    asset_put(repository=repository, path="f", blob=first, media_type="text/plain", user=None)
    asset_put(repository=repository, path="f", blob=second, media_type="text/plain", user=None)
    assert Asset.objects.get(repository=repository, path="f").blob_id == second.pk


def test_package_names_are_unique_by_normalized_name():
    repository = RepositoryFactory()
    first = package_ensure(repository=repository, name="Foo_Bar", normalized_name="foo-bar")
    second = package_ensure(repository=repository, name="foo.bar", normalized_name="foo-bar")
    assert first.pk == second.pk
    assert second.name == "Foo_Bar"


def test_every_tag_move_is_recorded_with_who_and_from_where():
    package = PackageFactory()
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    v1 = VersionFactory(package=package, version="1.0.0")
    v2 = VersionFactory(package=package, version="2.0.0")

    tag_set(package=package, name="latest", version=v1, user=alice)
    tag_set(package=package, name="latest", version=v2, user=bob)
    tag_set(package=package, name="latest", version=v2, user=bob)  # no move, no event
    tag_delete(tag=Tag.objects.get(package=package, name="latest"), user=alice)

    history = list(
        TagEvent.objects.filter(package=package)
        .order_by("id")
        .values_list("tag", "action", "from_version", "to_version", "actor_name")
    )
    assert history == [
        ("latest", "set", "", "1.0.0", "alice"),
        ("latest", "move", "1.0.0", "2.0.0", "bob"),
        ("latest", "delete", "2.0.0", "", "alice"),
    ]


def test_immutable_tags_refuse_moves_except_the_exceptions():
    package = PackageFactory(
        repository=RepositoryFactory(immutable_tags=True, immutable_tag_exceptions="latest, dev-*")
    )
    v1 = VersionFactory(package=package)
    v2 = VersionFactory(package=package)
    for name in ("1.0", "latest", "dev-main"):
        tag_set(package=package, name=name, version=v1, user=None)

    with pytest.raises(TagImmutable):
        tag_set(package=package, name="1.0", version=v2, user=None)
    tag_set(package=package, name="latest", version=v2, user=None)
    tag_set(package=package, name="dev-main", version=v2, user=None)

    assert dict(Tag.objects.filter(package=package).values_list("name", "version")) == {
        "1.0": v1.pk,
        "latest": v2.pk,
        "dev-main": v2.pk,
    }


def test_deleting_a_version_records_the_tags_it_took_along():
    package = PackageFactory()
    version = VersionFactory(package=package, version="3.0.0")
    tag_set(package=package, name="stable", version=version, user=None)
    version_delete(version=version, user=None)
    assert Version.objects.filter(package=package).exists() is False
    assert list(
        TagEvent.objects.filter(package=package, action="delete").values_list("tag", "from_version")
    ) == [("stable", "3.0.0")]


def test_immutable_tags_cannot_be_removed_nor_their_versions_and_packages():
    package = PackageFactory(
        repository=RepositoryFactory(immutable_tags=True, immutable_tag_exceptions="latest")
    )
    v1 = VersionFactory(package=package, version="1.0.0")
    v2 = VersionFactory(package=package, version="2.0.0")
    tag_set(package=package, name="1.0", version=v1, user=None)
    tag_set(package=package, name="latest", version=v2, user=None)

    for remove in (
        lambda: tag_delete(tag=Tag.objects.get(name="1.0"), user=None),
        lambda: version_delete(version=v1, user=None),
        lambda: package_delete(package=package, user=None),
    ):
        with pytest.raises(TagImmutable):
            remove()
    assert dict(Tag.objects.values_list("name", "version")) == {"1.0": v1.pk, "latest": v2.pk}
    assert sorted(Version.objects.values_list("version", flat=True)) == ["1.0.0", "2.0.0"]
    assert TagEvent.objects.filter(action=TagEvent.Action.DELETE).exists() is False

    version_delete(version=v2, user=None)  # only the exception pointed at it
    assert list(Tag.objects.values_list("name", flat=True)) == ["1.0"]


def _records():
    return list(PublishedCoordinate.objects.values_list("key", "sha256", "published_by_name"))


def test_a_coordinate_keeps_its_first_bytes_after_everything_under_it_is_deleted():
    package = PackageFactory()
    repository, user = package.repository, UserFactory(username="alice")
    coordinate_record(repository=repository, key="lib@1.0.0", sha256="a" * 64, user=user)
    package_delete(package=package, user=user)

    with pytest.raises(CoordinateReused) as raised:
        coordinate_record(repository=repository, key="lib@1.0.0", sha256="b" * 64, user=None)

    assert raised.value.http_status == 409
    assert raised.value.message == "lib@1.0.0 was published before with other bytes"
    assert _records() == [("lib@1.0.0", "a" * 64, "alice")]
    coordinate_record(repository=repository, key="lib@1.0.0", sha256="a" * 64, user=None)
    assert _records() == [("lib@1.0.0", "a" * 64, "alice")]


def test_redeploy_lets_a_coordinate_take_other_bytes_and_the_record_follows():
    repository = RepositoryFactory(allow_redeploy=True)
    coordinate_record(repository=repository, key="f.whl", sha256="a" * 64, user=None)

    coordinate_record(repository=repository, key="f.whl", sha256="b" * 64, user=None)

    assert _records() == [("f.whl", "b" * 64, "")]


def test_coordinates_are_per_repository_and_go_with_their_repository():
    first, second = RepositoryFactory(), RepositoryFactory()
    coordinate_record(repository=first, key="k", sha256="a" * 64, user=None)
    coordinate_record(repository=second, key="k", sha256="b" * 64, user=None)

    first.delete()

    assert _records() == [("k", "b" * 64, "")]


@pytest.mark.django_db(transaction=True)
def test_package_lock_leaves_the_other_packages_of_the_repository_free():
    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite runs one writing transaction at a time anyway")
    repository = RepositoryFactory(name="shared", format="raw")
    first, second = (
        Package.objects.create(repository=repository, name=name, normalized_name=name)
        for name in ("first", "second")
    )
    locked, release = threading.Event(), threading.Event()

    def hold_first() -> None:
        try:
            with transaction.atomic():
                package_lock(package=first)
                locked.set()
                assert release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_first)
    holder.start()
    try:
        assert locked.wait(60)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '10s'")  # a failure, not a hang
            assert package_lock(package=second).repository == repository
    finally:
        release.set()
        holder.join()
