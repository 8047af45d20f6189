"""Writes of the OCI format: blob uploads and mounts, manifests and tags.

https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#push
https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#content-management
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from formats.oci.errors import ManifestBlobUnknown, SizeInvalid
from formats.oci.headers import parse_content_range
from formats.oci.manifests import EMPTY_DIGEST, EMPTY_JSON, ParsedManifest, parse_manifest
from formats.oci.models import OciBlobLink, OciManifest, OciManifestReference
from formats.oci.names import Digest, digest_of
from formats.oci.selectors import (
    OciImage,
    oci_blob_get,
    oci_blobs_missing,
    oci_manifest_get,
    oci_manifests_missing,
    oci_tag_get,
)
from formats.plugin import (
    Blob,
    DigestMismatch,
    Package,
    Tag,
    Upload,
    User,
    Version,
    asset_put,
    blob_hold,
    blob_ingest,
    blob_ingest_bytes,
    blob_link_event,
    gc_run_event,
    package_ensure,
    package_lock,
    repository_quota_check,
    tag_delete,
    tag_set,
    upload_append,
    upload_cancel,
    upload_finish,
    upload_start,
    version_delete,
    version_ensure,
)

logger = logging.getLogger(__name__)
LINK_GC_BATCH = 1000  # blob links garbage collection locks and deletes together


def _package(image: OciImage) -> Package:
    return package_ensure(repository=image.repository, name=image.name, normalized_name=image.name)


def oci_blob_link(*, image: OciImage, blob: Blob) -> OciBlobLink:
    """Make ``blob`` readable in ``image`` (idempotent).

    Raises:
        BlobCollected: garbage collection removed ``blob`` since it was ingested (retry).
        QuotaExceeded: the repository would hold more than its quota.
    """
    package = _package(image)
    with transaction.atomic():
        blob_hold(blob=blob)
        repository_quota_check(repository=image.repository, blob=blob)
        link, created = OciBlobLink.objects.get_or_create(package=package, blob=blob)
        if created:  # pushed, or mounted from another image
            _blob_link_audit(image, blob, linked=True)
    return link


def _blob_link_audit(image: OciImage, blob: Blob, *, linked: bool) -> None:
    path = f"{image.name}/blobs/sha256:{blob.pk}"
    blob_link_event(
        repository=image.repository, package=image.name, path=path, blob=blob, linked=linked
    )


def _expected(digest: Digest) -> dict[str, str]:
    return {digest.algorithm: digest.hex}


def oci_blob_push(*, image: OciImage, digest: Digest, stream: BinaryIO) -> Blob:
    """Store a whole blob sent in one request (monolithic upload) and link it to the image.

    Raises:
        DigestMismatch: the bytes do not have ``digest``; nothing is stored.
    """
    blob = blob_ingest(stream=stream, expected=_expected(digest))
    oci_blob_link(image=image, blob=blob)
    return blob


def oci_blob_unlink(*, image: OciImage, digest: Digest) -> None:
    """Remove a blob from the image; its bytes go when garbage collection finds them unused.

    Raises:
        BlobUnknown: the image does not hold the blob.
    """
    blob = oci_blob_get(image=image, digest=digest)
    with transaction.atomic():
        removed, _ = OciBlobLink.objects.filter(
            package__repository=image.repository, package__normalized_name=image.name, blob=blob
        ).delete()
        if removed:
            _blob_link_audit(image, blob, linked=False)


def oci_upload_start(*, image: OciImage, user: User) -> Upload:
    """Open an upload session any web process can continue."""
    owner = user if user is not None and user.is_authenticated else None
    return upload_start(owner=owner, scope=image.upload_scope)


def oci_upload_append(
    *,
    upload: Upload,
    stream: BinaryIO,
    content_range: str | None,
    content_length: int | None,
) -> Upload:
    """Append a chunk; with ``Content-Range`` it must start where the upload stands.

    Raises:
        BlobUploadInvalid: the Content-Range is malformed.
        SizeInvalid: Content-Length disagrees with the Content-Range.
        UploadOutOfOrder: the chunk does not start at the current offset (416).
    """
    offset = None
    if content_range:
        start, end = parse_content_range(content_range)
        if content_length is not None and content_length != end - start + 1:
            raise SizeInvalid(
                "Content-Length does not match Content-Range",
                content_length=content_length,
                content_range=content_range,
            )
        offset = start
    return upload_append(upload=upload, stream=stream, offset=offset)


def oci_upload_finish(*, image: OciImage, upload: Upload, digest: Digest) -> Blob:
    """Verify the session's bytes against ``digest``, publish them and link the blob.

    Raises:
        DigestMismatch: the bytes do not have ``digest``; the session stays open.
    """
    blob = upload_finish(upload=upload, expected=_expected(digest))
    oci_blob_link(image=image, blob=blob)
    return blob


def oci_upload_cancel(*, upload: Upload) -> None:
    """Abandon an upload session and its bytes."""
    upload_cancel(upload=upload)


def _lock_push_targets(*, package: Package, digest: Digest, parsed: ParsedManifest) -> None:
    """Lock the rows garbage collection could delete while this push relies on them.

    The manifest itself (a re-push may tag it), its child manifests and its blobs' links, in a
    fixed order; ``oci_gc`` locks the same rows before it deletes one, so either the push sees
    the row gone and answers MANIFEST_BLOB_UNKNOWN, or the collector sees the new references.
    """
    manifests = [str(digest), *(str(d.digest) for d in parsed.manifests)]
    locked = OciManifest.objects.select_for_update().filter(package=package, digest__in=manifests)
    list(locked.order_by("pk").values_list("pk", flat=True))
    blobs = [d.digest for d in parsed.blobs if not d.urls]
    if blobs:
        hexes = Q(blob__sha256__in=[d.hex for d in blobs if d.algorithm == "sha256"]) | Q(
            blob__sha512__in=[d.hex for d in blobs if d.algorithm == "sha512"]
        )
        links = OciBlobLink.objects.select_for_update(of=("self",)).filter(hexes, package=package)
        list(links.order_by("pk").values_list("pk", flat=True))


# Finds a blob the pushing client may read elsewhere (in a group's other members), or None.
BlobSource = Callable[[Digest], Blob | None]


def _check_references(
    *, image: OciImage, package: Package, parsed: ParsedManifest, adopt: BlobSource | None
) -> None:
    # Foreign layers (Docker's ``urls``) live elsewhere by design.
    blobs = [descriptor.digest for descriptor in parsed.blobs if not descriptor.urls]
    missing = oci_blobs_missing(package=package, digests=blobs)
    if adopt is not None:
        for digest in (d for d in blobs if str(d) in missing):
            found = adopt(digest)
            if found is not None:  # the client saw it through the group and did not upload it
                oci_blob_link(image=image, blob=found)
                missing.remove(str(digest))
    if EMPTY_DIGEST in missing:
        # The empty JSON config of artifacts is well known; some clients never upload it.
        oci_blob_link(image=image, blob=blob_ingest_bytes(content=EMPTY_JSON))
        missing.remove(EMPTY_DIGEST)
    missing += oci_manifests_missing(
        package=package, digests=[descriptor.digest for descriptor in parsed.manifests]
    )
    if missing:
        raise ManifestBlobUnknown(digest=missing[0], missing=missing)


def _references(manifest: OciManifest, parsed: ParsedManifest) -> list[OciManifestReference]:
    digests = list(dict.fromkeys(str(d.digest) for d in parsed.blobs if not d.urls))
    hexes = [digest.partition(":")[2] for digest in digests]
    pks: dict[str, str] = {}
    for sha256, sha512 in Blob.objects.filter(
        Q(sha256__in=hexes) | Q(sha512__in=hexes)
    ).values_list("sha256", "sha512"):
        pks[f"sha256:{sha256}"] = sha256
        if sha512:
            pks[f"sha512:{sha512}"] = sha256
    kind = OciManifestReference.Kind
    references = [
        # A proxy records a manifest before it fetched the blobs: those have no row yet.
        OciManifestReference(
            manifest=manifest, kind=kind.BLOB, digest=digest, blob_id=pks.get(digest)
        )
        for digest in digests
    ]
    references += [
        OciManifestReference(manifest=manifest, kind=kind.MANIFEST, digest=str(d.digest))
        for d in {str(d.digest): d for d in parsed.manifests}.values()
    ]
    if parsed.subject is not None:
        references.append(
            OciManifestReference(
                manifest=manifest, kind=kind.SUBJECT, digest=str(parsed.subject.digest)
            )
        )
    return references


def _manifest_fields(
    *, package: Package, digest: Digest, parsed: ParsedManifest, blob: Blob
) -> dict[str, object]:
    return {
        "package": package,
        "digest": str(digest),
        "media_type": parsed.media_type,
        "artifact_type": parsed.artifact_type or "",
        "size": parsed.size,
        "blob": blob,
        "subject_digest": str(parsed.subject.digest) if parsed.subject else "",
        "annotations": dict(parsed.annotations),
    }


def oci_manifest_put(
    *,
    image: OciImage,
    reference: Digest | str,
    raw: bytes,
    content_type: str | None,
    user: User,
    tags: tuple[str, ...] = (),
    adopt: BlobSource | None = None,
) -> tuple[OciManifest, ParsedManifest]:
    """Store a manifest or index under its digest, and point tags at it when given some.

    The digest is computed over ``raw`` exactly as received, in the algorithm of the digest
    reference (sha256 for tags); those bytes are stored as a blob and served back unchanged.
    Every blob and child manifest it references must already be in the image; its subject
    need not be. The tags are the reference when it is one, and ``tags`` (the ``?tag=``
    parameters of a push by digest); they move together or not at all.

    Raises:
        ManifestInvalid: the body is not a valid manifest.
        DigestMismatch: the body does not have the digest it was pushed under.
        ManifestBlobUnknown: a referenced blob or child manifest is not in the image.
        TagImmutable: the tag exists, points elsewhere and the repository forbids moving it.

    ``adopt`` (a push through a group) links the blobs the client did not upload because the
    group already served them.
    """
    parsed = parse_manifest(raw, content_type=content_type)
    digest = parsed.digest
    if isinstance(reference, Digest):
        digest = digest_of(raw, algorithm=reference.algorithm)
        if digest != reference:
            raise DigestMismatch(expected=str(reference), actual=str(digest))
    package = _package(image)
    # Checked before the bytes are stored, then again under the locks that keep garbage
    # collection from deleting what the manifest references while it is written.
    _check_references(image=image, package=package, parsed=parsed, adopt=adopt)
    blob = blob_ingest_bytes(content=raw, expected=_expected(digest))
    with transaction.atomic():
        _lock_push_targets(package=package, digest=digest, parsed=parsed)
        _check_references(image=image, package=package, parsed=parsed, adopt=adopt)
        manifest, version, created = _manifest_keep(
            image=image, package=package, digest=digest, parsed=parsed, blob=blob, user=user
        )
        if not created:
            manifest.pushed = timezone.now()
            manifest.save(update_fields=["pushed"])
        if not isinstance(reference, Digest):
            tags = (reference, *tags)
        for name in dict.fromkeys(tags):
            tag_set(package=package, name=name, version=version, user=user)
    return manifest, parsed


def _manifest_keep(
    *,
    image: OciImage,
    package: Package,
    digest: Digest,
    parsed: ParsedManifest,
    blob: Blob,
    user: User,
    metadata: dict | None = None,
) -> tuple[OciManifest, Version, bool]:
    """Record a stored manifest's version, row, file and references once; say if it was new."""
    version = version_ensure(
        package=package,
        version=str(digest),
        metadata={"media_type": parsed.media_type, "artifact_type": parsed.artifact_type},
        user=user,
    )
    manifest, created = OciManifest.objects.select_related("blob").get_or_create(
        version=version,
        defaults=_manifest_fields(package=package, digest=digest, parsed=parsed, blob=blob),
    )
    if created:
        asset_put(
            repository=image.repository,
            path=f"{image.name}/manifests/{digest}",
            blob=blob,
            media_type=parsed.media_type,
            user=user,
            version=version,
            metadata=metadata,
        )
        OciManifestReference.objects.bulk_create(_references(manifest, parsed))
    return manifest, version, created


def oci_manifest_record(
    *,
    image: OciImage,
    raw: bytes,
    content_type: str,
    digest: Digest,
    provenance: dict[str, str],
    tag: str | None = None,
) -> OciManifest:
    """Keep a manifest a proxy fetched, as a push would keep it, and point ``tag`` at it.

    Its blobs need not be here (the proxy fetches them when asked). Idempotent and safe
    against concurrent readers of the same manifest. ``digest`` (of ``raw``, verified by the
    caller) names it; ``provenance`` goes into its Asset's ``metadata["proxy"]``.

    Raises:
        ManifestInvalid: the upstream's bytes are not a manifest this registry serves.
    """
    parsed = parse_manifest(raw, content_type=content_type)
    package = _package(image)
    blob = blob_ingest_bytes(content=raw, expected=_expected(digest))
    with transaction.atomic():
        package_lock(package=package)  # concurrent first pulls record it once
        manifest, version, _ = _manifest_keep(
            image=image,
            package=package,
            digest=digest,
            parsed=parsed,
            blob=blob,
            user=None,
            metadata={"proxy": provenance},
        )
        if tag is not None:
            tag_set(package=package, name=tag, version=version, user=None)
    return manifest


def oci_manifest_delete(*, image: OciImage, digest: Digest, user: User) -> None:
    """Delete a manifest with its tags (each removal recorded in the tag history).

    Raises:
        ManifestUnknown: the image has no manifest with this digest.
    """
    manifest = oci_manifest_get(image=image, reference=digest)
    version_delete(version=manifest.version, user=user)


def oci_tag_delete(*, image: OciImage, name: str, user: User) -> None:
    """Remove a tag, keeping the manifest it pointed at.

    Raises:
        ManifestUnknown: the image has no such tag.
    """
    tag_delete(tag=oci_tag_get(image=image, name=name), user=user)


@dataclass(frozen=True)
class OciGcResult:
    """What one garbage collection pass removed.

    Attributes:
        manifests: untagged, unreachable manifests deleted (only with ``delete_untagged``).
        blob_links: blob links that no manifest of their image references any more.
    """

    manifests: int
    blob_links: int


def oci_gc(
    *, grace: timedelta | None = None, delete_untagged: bool = False, dry_run: bool = False
) -> OciGcResult:
    """Unlink what no image needs any more, so that ``storage.services.blob_gc`` frees the bytes.

    Within each image, a manifest is live if a tag points at it, if it was pushed less than
    ``grace`` ago, if a live index lists it, if it is the subject of a live manifest, or if its
    subject is live (signatures and SBOMs stay with their image). With ``delete_untagged``
    (Distribution's ``garbage-collect --delete-untagged``) the other manifests are deleted;
    without it every manifest is kept. Then every blob link older than ``grace`` that no
    remaining manifest of its image references is removed. A blob another image links or
    references keeps its bytes: the blob store collects only blobs nothing refers to.

    Each deletion re-checks its row under a lock, in its own transaction, so a push that starts
    using a manifest or a blob meanwhile keeps it; running twice removes nothing more.

    Args:
        grace: how recent a push is always kept; ``BLOB_GC_GRACE_SECONDS`` by default.
        delete_untagged: delete unreachable untagged manifests as well.
        dry_run: count what this pass would remove and remove nothing (the links of the
            manifests it would delete are counted by the pass after).
    """
    grace = timedelta(seconds=settings.BLOB_GC_GRACE_SECONDS) if grace is None else grace
    cutoff = timezone.now() - grace
    manifests = 0
    if delete_untagged:
        packages = OciManifest.objects.order_by("package_id").values_list("package_id", flat=True)
        for package_id in packages.distinct():
            manifests += _collect_manifests(package_id=package_id, cutoff=cutoff, dry_run=dry_run)
    links = _collect_blob_links(cutoff=cutoff, dry_run=dry_run)
    result = OciGcResult(manifests=manifests, blob_links=links)
    logger.info("oci gc%s: %s", " (dry run)" if dry_run else "", result)
    if not dry_run and (manifests or links):  # a run that removed nothing changed nothing
        gc_run_event(collector="oci", counts=asdict(result))
    return result


def _manifest_edges(package_id: int) -> dict[str, set[str]]:
    """Edges between the digests of an image's manifests: index -> child, subject <-> referrer."""
    edges: dict[str, set[str]] = defaultdict(set)
    for parent, child in OciManifestReference.objects.filter(
        manifest__package_id=package_id, kind=OciManifestReference.Kind.MANIFEST
    ).values_list("manifest__digest", "digest"):
        edges[parent].add(child)
    subjects = OciManifest.objects.filter(package_id=package_id).exclude(subject_digest="")
    for digest, subject in subjects.values_list("digest", "subject_digest"):
        edges[digest].add(subject)
        edges[subject].add(digest)
    return edges


def _reachable(roots: list[str], edges: dict[str, set[str]]) -> set[str]:
    live: set[str] = set()
    while roots:
        digest = roots.pop()
        if digest not in live:
            live.add(digest)
            roots.extend(edges[digest] - live)
    return live


def _unreachable_manifests(*, package_id: int, cutoff: datetime) -> set[int]:
    rows = OciManifest.objects.filter(package_id=package_id).values_list("pk", "digest", "pushed")
    tagged = set(Tag.objects.filter(package_id=package_id).values_list("version_id", flat=True))
    tagged_pks = set(OciManifest.objects.filter(version_id__in=tagged).values_list("pk", flat=True))
    roots = [digest for pk, digest, pushed in rows if pk in tagged_pks or pushed >= cutoff]
    live = _reachable(roots, _manifest_edges(package_id))
    return {pk for pk, digest, _ in rows if digest not in live}


def oci_manifests_needed(*, package: Package, kept: set[int]) -> set[int]:
    """Return the version ids of the manifests that the manifests of versions ``kept`` need.

    What a kept index lists, the subject of a kept referrer and the referrers of a kept
    subject (signatures and SBOMs stay with their image), transitively; ``kept`` included.
    """
    rows = OciManifest.objects.filter(package=package).values_list("version_id", "digest")
    live = _reachable([digest for pk, digest in rows if pk in kept], _manifest_edges(package.pk))
    return kept | {pk for pk, digest in rows if digest in live}


def _collect_manifests(*, package_id: int, cutoff: datetime, dry_run: bool) -> int:
    garbage = _unreachable_manifests(package_id=package_id, cutoff=cutoff)
    if dry_run:
        return len(garbage)
    deleted = 0
    for pk in sorted(garbage):
        with transaction.atomic():
            manifest = OciManifest.objects.select_for_update().filter(pk=pk).first()
            if manifest is None or manifest.pushed >= cutoff:
                continue
            # Whatever is not in ``garbage`` is live, including what was pushed since marking.
            others = OciManifest.objects.filter(package_id=package_id).exclude(pk__in=garbage)
            needed = (
                Tag.objects.filter(version_id=manifest.version_id).exists()
                or OciManifestReference.objects.filter(
                    manifest__in=others,
                    kind=OciManifestReference.Kind.MANIFEST,
                    digest=manifest.digest,
                ).exists()
                or others.filter(subject_digest=manifest.digest).exists()
                or (
                    bool(manifest.subject_digest)
                    and others.filter(digest=manifest.subject_digest).exists()
                )
            )
            if not needed:
                version_delete(version=manifest.version, user=None)
                deleted += 1
    return deleted


def _collect_blob_links(*, cutoff: datetime, dry_run: bool) -> int:
    referenced = OciManifestReference.objects.filter(
        manifest__package_id=OuterRef("package_id"), blob_id=OuterRef("blob_id")
    )
    stale = OciBlobLink.objects.filter(created__lt=cutoff).exclude(Exists(referenced))
    if dry_run:
        return stale.count()
    removed, last = 0, 0
    # Keyset batches, each in its own transaction: a fixed number of queries per batch.
    while batch := list(
        stale.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:LINK_GC_BATCH]
    ):
        last = batch[-1]
        with transaction.atomic():
            # In pk order, as a push locks the links it relies on (``_lock_push_targets``);
            # then a fresh statement re-checks the references the push committed meanwhile.
            locked = OciBlobLink.objects.select_for_update().filter(pk__in=batch).order_by("pk")
            pks = list(locked.values_list("pk", flat=True))
            _, deleted = stale.filter(pk__in=pks).delete()
            removed += deleted.get(OciBlobLink._meta.label, 0)
    return removed
