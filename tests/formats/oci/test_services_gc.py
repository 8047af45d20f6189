import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Action, AuditEvent
from formats.models import Asset, Tag, Version
from formats.oci import services
from formats.oci.manifests import MIME_OCI_INDEX, MIME_OCI_MANIFEST
from formats.oci.models import OciBlobLink, OciManifest, OciManifestReference
from formats.oci.names import parse_digest
from formats.oci.selectors import OciImage, oci_blob_get
from formats.oci.services import OciGcResult, oci_blob_push, oci_gc, oci_manifest_put
from formats.oci.tasks import oci_gc_task
from registry_project.celery import app as celery_app
from storage.backends import blob_backend
from storage.errors import BlobUnknown
from storage.models import Blob
from storage.services import blob_gc
from tests.factories import RepositoryFactory
from tests.formats.oci.helpers import digest, image_manifest

pytestmark = pytest.mark.django_db

GRACE = timedelta(hours=1)
NOTHING = OciGcResult(manifests=0, blob_links=0)


@pytest.fixture
def repository():
    return RepositoryFactory(name="oci", format="oci")


def _image(repository, name: str = "team/app") -> OciImage:
    return OciImage(repository=repository, name=name)


def _blob(image: OciImage, data: bytes) -> str:
    value = digest(data)
    oci_blob_push(image=image, digest=parse_digest(value), stream=io.BytesIO(data))
    return value


def _manifest(image: OciImage, raw: bytes, tag: str | None = None) -> str:
    value = digest(raw)
    oci_manifest_put(
        image=image,
        reference=tag if tag is not None else parse_digest(value),
        raw=raw,
        content_type=json.loads(raw)["mediaType"],
        user=None,
    )
    return value


def _push_image(image: OciImage, seed: str, tag: str | None = None, **extra) -> tuple[str, str]:
    """Push a config, one layer and their manifest; return the manifest's and layer's digests."""
    config, layer = f'{{"seed":"{seed}"}}'.encode(), f"layer-{seed}".encode()
    _blob(image, config)
    layer_digest = _blob(image, layer)
    return _manifest(image, image_manifest(config, [layer], **extra), tag), layer_digest


def _index(image: OciImage, children: list[str], tag: str | None = None) -> str:
    manifests = [
        {
            "mediaType": MIME_OCI_MANIFEST,
            "digest": child,
            "size": OciManifest.objects.filter(digest=child).values_list("size", flat=True)[0],
        }
        for child in children
    ]
    raw = json.dumps({"schemaVersion": 2, "mediaType": MIME_OCI_INDEX, "manifests": manifests})
    return _manifest(image, raw.encode(), tag)


def _subject(manifest_digest: str) -> dict:
    size = OciManifest.objects.filter(digest=manifest_digest).values_list("size", flat=True)[0]
    return {"mediaType": MIME_OCI_MANIFEST, "digest": manifest_digest, "size": size}


def _age_everything() -> None:
    past = timezone.now() - 2 * GRACE
    OciBlobLink.objects.update(created=past)
    OciManifest.objects.update(pushed=past)
    Blob.objects.update(last_written=past)


def _manifests() -> set[str]:
    return set(OciManifest.objects.values_list("digest", flat=True))


def _links(image: OciImage) -> set[str]:
    hexes = OciBlobLink.objects.filter(package__name=image.name).values_list("blob_id", flat=True)
    return {f"sha256:{hex_}" for hex_ in hexes}


def _stored(value: str) -> bool:
    return blob_backend().exists(f"sha256/{value[7:9]}/{value[7:]}")


def test_a_blob_no_manifest_references_is_unlinked_and_its_bytes_then_collected(repository):
    image = _image(repository)
    orphan = _blob(image, b"never referenced")
    _age_everything()

    assert oci_gc(grace=GRACE) == OciGcResult(manifests=0, blob_links=1)
    assert OciBlobLink.objects.exists() is False
    assert blob_gc(grace=GRACE).blobs == 1
    assert _stored(orphan) is False
    runs = AuditEvent.objects.filter(action=Action.GC_RUN).order_by("id")
    assert [run.details["collector"] for run in runs] == ["oci", "blobs"]
    assert runs[0].details == {"collector": "oci", "manifests": 0, "blob_links": 1}
    assert oci_gc(grace=GRACE) == NOTHING
    assert AuditEvent.objects.filter(action=Action.GC_RUN).count() == 2  # nothing: no record


def test_recent_pushes_survive_the_grace_period(repository):
    image = _image(repository)
    _blob(image, b"just pushed")
    untagged, _ = _push_image(image, "new")
    links = _links(image)

    assert oci_gc(grace=GRACE, delete_untagged=True) == NOTHING
    assert _manifests() == {untagged}
    assert _links(image) == links


def test_a_blob_still_referenced_by_another_image_survives(repository):
    first, second = _image(repository, "team/first"), _image(repository, "team/second")
    config, layer = b'{"seed":"shared"}', b"shared layer"
    _blob(first, layer)  # pushed to first, never used there
    _blob(second, config)
    _blob(second, layer)
    _manifest(second, image_manifest(config, [layer]), tag="1.0")
    _age_everything()

    assert oci_gc(grace=GRACE) == OciGcResult(manifests=0, blob_links=1)
    with pytest.raises(BlobUnknown):
        oci_blob_get(image=first, digest=parse_digest(digest(layer)))
    assert _links(second) == {digest(config), digest(layer)}
    assert blob_gc(grace=GRACE).blobs == 0
    assert _stored(digest(layer)) is True


def test_untagged_manifests_and_their_blobs_are_kept_by_default(repository):
    image = _image(repository)
    untagged, layer = _push_image(image, "untagged")
    _age_everything()

    assert oci_gc(grace=GRACE) == NOTHING
    assert _manifests() == {untagged}
    assert layer in _links(image)


def test_delete_untagged_removes_an_unreachable_manifest_then_its_bytes(repository):
    image = _image(repository)
    tagged, kept_layer = _push_image(image, "tagged", tag="1.0")
    untagged, lost_layer = _push_image(image, "untagged")
    _age_everything()

    result = oci_gc(grace=GRACE, delete_untagged=True)

    assert result == OciGcResult(manifests=1, blob_links=2)  # its config and its layer
    assert _manifests() == {tagged}
    assert Version.objects.filter(version=untagged).exists() is False
    assert Asset.objects.filter(path__endswith=untagged).exists() is False
    assert OciManifestReference.objects.filter(manifest__digest=untagged).exists() is False
    assert lost_layer not in _links(image)
    assert kept_layer in _links(image)
    assert blob_gc(grace=GRACE).blobs == 3  # the manifest's own bytes, its config and its layer
    assert (_stored(untagged), _stored(lost_layer)) == (False, False)
    assert (_stored(tagged), _stored(kept_layer)) == (True, True)


def test_what_a_live_manifest_reaches_survives(repository):
    image = _image(repository)
    amd64, amd64_layer = _push_image(image, "amd64")
    arm64, _ = _push_image(image, "arm64")
    index = _index(image, [amd64, arm64], tag="multi")
    signature, _ = _push_image(image, "signature", subject=_subject(index))
    base, _ = _push_image(image, "base")
    _push_image(image, "sbom", tag="sbom", subject=_subject(base))
    _age_everything()
    links = _links(image)

    assert oci_gc(grace=GRACE, delete_untagged=True) == NOTHING
    assert {amd64, arm64, index, signature, base} <= _manifests()
    assert _links(image) == links
    assert amd64_layer in links


def test_an_unreachable_index_goes_with_its_children_and_their_referrers(repository):
    image = _image(repository)
    tagged, _ = _push_image(image, "tagged", tag="1.0")
    child, _ = _push_image(image, "child")
    index = _index(image, [child])
    _push_image(image, "signature", subject=_subject(index))
    _age_everything()

    result = oci_gc(grace=GRACE, delete_untagged=True)

    assert result == OciGcResult(manifests=3, blob_links=4)
    assert _manifests() == {tagged}


def test_a_second_pass_removes_nothing_more(repository):
    image = _image(repository)
    _push_image(image, "tagged", tag="1.0")
    _push_image(image, "untagged")
    _blob(image, b"orphan")
    _age_everything()

    assert oci_gc(grace=GRACE, delete_untagged=True) == OciGcResult(manifests=1, blob_links=3)
    assert oci_gc(grace=GRACE, delete_untagged=True) == NOTHING


def test_a_manifest_tagged_after_marking_is_kept(repository, monkeypatch):
    image = _image(repository)
    untagged, layer = _push_image(image, "untagged")
    _age_everything()
    mark = services._unreachable_manifests

    def mark_then_tag(**kwargs):
        garbage = mark(**kwargs)
        _manifest(image, image_manifest(b'{"seed":"untagged"}', [b"layer-untagged"]), tag="late")
        OciManifest.objects.update(pushed=timezone.now() - 2 * GRACE)
        return garbage

    monkeypatch.setattr(services, "_unreachable_manifests", mark_then_tag)

    assert oci_gc(grace=GRACE, delete_untagged=True) == NOTHING
    assert _manifests() == {untagged}
    assert list(Tag.objects.values_list("name", flat=True)) == ["late"]
    assert layer in _links(image)


def test_the_task_follows_the_setting_and_is_scheduled(repository, settings):
    image = _image(repository)
    _push_image(image, "untagged")
    _age_everything()
    OciBlobLink.objects.update(created=timezone.now() - timedelta(days=2))
    OciManifest.objects.update(pushed=timezone.now() - timedelta(days=2))

    settings.OCI_GC_DELETE_UNTAGGED = False
    assert oci_gc_task.apply().get() == {"manifests": 0, "blob_links": 0}
    settings.OCI_GC_DELETE_UNTAGGED = True
    assert oci_gc_task.apply().get() == {"manifests": 1, "blob_links": 2}
    assert _manifests() == set()
    schedule = settings.CELERY_BEAT_SCHEDULE["oci-gc"]
    assert schedule["task"] == oci_gc_task.name
    assert schedule["task"] in celery_app.tasks


def test_the_task_runs_on_the_worker(repository, celery_worker):
    image = _image(repository)
    orphan = _blob(image, b"worker orphan")
    OciBlobLink.objects.update(created=timezone.now() - timedelta(days=2))

    assert oci_gc_task.delay().get(timeout=60) == {"manifests": 0, "blob_links": 1}
    assert OciBlobLink.objects.exists() is False
    assert Blob.objects.filter(pk=orphan[7:]).exists() is True  # bytes wait for blob_gc


def _link_gc_queries(monkeypatch, repository, *, links: int, batch: int) -> int:
    monkeypatch.setattr(services, "LINK_GC_BATCH", batch)
    image = _image(repository, f"team/links-{links}-{batch}")
    for number in range(links):
        _blob(image, b"unreferenced %d of %d/%d" % (number, links, batch))
    _age_everything()
    with CaptureQueriesContext(connection) as queries:
        assert oci_gc(grace=GRACE) == OciGcResult(manifests=0, blob_links=links)
    assert _links(image) == set()
    return len(queries)


def test_blob_link_gc_queries_grow_with_batches_not_with_links(monkeypatch, repository):
    one_batch_of_3 = _link_gc_queries(monkeypatch, repository, links=3, batch=3)
    one_batch_of_9 = _link_gc_queries(monkeypatch, repository, links=9, batch=9)
    two_batches_of_3 = _link_gc_queries(monkeypatch, repository, links=6, batch=3)
    three_batches_of_3 = _link_gc_queries(monkeypatch, repository, links=9, batch=3)

    assert one_batch_of_9 == one_batch_of_3
    per_batch = two_batches_of_3 - one_batch_of_3
    assert per_batch > 0
    assert three_batches_of_3 == one_batch_of_3 + 2 * per_batch
