"""Reads of the OCI format: images, blobs, manifests, tags, the catalog and referrers.

https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pull
"""

import functools
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from formats.oci.errors import ManifestUnknown
from formats.oci.manifests import Descriptor
from formats.oci.models import OciBlobLink, OciManifest
from formats.oci.names import Digest, parse_digest, validate_name
from formats.plugin import (
    Asset,
    Blob,
    BlobUnknown,
    InvalidName,
    Package,
    Principal,
    Repository,
    RepositoryUnknown,
    Tag,
    Upload,
    quoted,
    readable_repositories,
    repository_columns,
    repository_find,
    repository_from_row,
    row_fetch,
    rows_list,
    select_columns,
    upload_get,
)

FORMAT = "oci"


@dataclass(frozen=True)
class OciImage:
    """An image: a repository of format ``oci`` and the nested name below it.

    Attributes:
        repository: the Repository (first path segment of the OCI name); unsaved when no
            repository of format ``oci`` has that name (see ``known``).
        name: the rest of the OCI name, e.g. ``team/app``; the Package name.
    """

    repository: Repository
    name: str

    @property
    def known(self) -> bool:
        """Whether the repository exists; ``oci_authorize`` refuses every request otherwise."""
        return self.repository.pk is not None

    @property
    def full_name(self) -> str:
        """The name clients use: ``<repository>/<name>``."""
        return f"{self.repository.name}/{self.name}"

    @property
    def upload_scope(self) -> str:
        """The storage.Upload scope of this image's upload sessions."""
        return f"oci:{self.full_name}"


def _split_name(name: str) -> tuple[str, str]:
    validate_name(name)
    repository_name, _, image = name.partition("/")
    if not image:
        raise InvalidName("name must be <repository>/<image>", name=name)
    return repository_name, image


def oci_image_resolve(*, name: str) -> OciImage:
    """Return the image an OCI ``<name>`` denotes, known or not.

    An unknown repository is not an error here: whether the caller learns that it does not
    exist depends on who asks (``oci_authorize``).

    Raises:
        InvalidName: the name breaks the spec's grammar or has no image below the repository.
    """
    repository_name, image = _split_name(name)
    repository = repository_find(name=repository_name)
    if repository is None or repository.format != FORMAT:
        repository = Repository(name=repository_name, format=FORMAT)
    return OciImage(repository=repository, name=image)


def oci_package_get(*, image: OciImage) -> Package | None:
    """Return the Package of an image, or None before anything was pushed to it."""
    return Package.objects.filter(repository=image.repository, normalized_name=image.name).first()


@functools.cache
def _linked_blob_statement(algorithm: str) -> str:
    b_sha256, l_blob = quoted(Blob, "sha256"), quoted(OciBlobLink, "blob")
    l_package, p_id = quoted(OciBlobLink, "package"), quoted(Package, "id")
    p_repository, p_name = quoted(Package, "repository"), quoted(Package, "normalized_name")
    return (
        f"SELECT {select_columns(Blob, prefix='b.')} FROM {quoted(Blob)} b "
        f"JOIN {quoted(OciBlobLink)} l ON l.{l_blob} = b.{b_sha256} "
        f"JOIN {quoted(Package)} p ON p.{p_id} = l.{l_package} "
        f"WHERE p.{p_repository} = %s AND p.{p_name} = %s AND b.{quoted(Blob, algorithm)} = %s "
        "LIMIT 1"
    )


def oci_blob_get(*, image: OciImage, digest: Digest) -> Blob:
    """Return a blob linked to the image (pushed or mounted there): every blob pull's read.

    Raises:
        BlobUnknown: the blob is not in this image, even if another image holds it.
    """
    statement = _linked_blob_statement(digest.algorithm)
    found = rows_list(Blob, statement, [image.repository.pk, image.name, digest.hex])
    if not found:
        raise BlobUnknown(digest=str(digest))
    return found[0]


def oci_blobs_missing(*, package: Package, digests: list[Digest]) -> list[str]:
    """Return those of ``digests`` that are not linked to the package, in order."""
    sha256 = [d.hex for d in digests if d.algorithm == "sha256"]
    sha512 = [d.hex for d in digests if d.algorithm == "sha512"]
    present: set[str] = set()
    links = OciBlobLink.objects.filter(package=package)
    for hex_ in links.filter(blob__sha256__in=sha256).values_list("blob__sha256", flat=True):
        present.add(f"sha256:{hex_}")
    for hex_ in links.filter(blob__sha512__in=sha512).values_list("blob__sha512", flat=True):
        present.add(f"sha512:{hex_}")
    return [d for d in dict.fromkeys(str(d) for d in digests) if d not in present]


def oci_manifests_missing(*, package: Package, digests: list[Digest]) -> list[str]:
    """Return those of ``digests`` that name no manifest of the package, in order."""
    names = list(dict.fromkeys(str(d) for d in digests))
    present = set(
        OciManifest.objects.filter(package=package, digest__in=names).values_list(
            "digest", flat=True
        )
    )
    return [d for d in names if d not in present]


def oci_manifest_get(*, image: OciImage, reference: Digest | str) -> OciManifest:
    """Return the manifest a tag points at, or the one with a digest, with its blob.

    Raises:
        ManifestUnknown: no such tag or digest in the image.
    """
    in_image = {"package__repository": image.repository, "package__normalized_name": image.name}
    manifest: OciManifest | None
    if isinstance(reference, Digest):
        manifest = (
            OciManifest.objects.select_related("blob")
            .filter(digest=str(reference), **in_image)
            .first()
        )
    else:
        tag = (
            Tag.objects.select_related("version__oci_manifest__blob")
            .filter(name=reference, **in_image)
            .first()
        )
        manifest = tag.version.oci_manifest if tag is not None else None
    if manifest is None:
        raise ManifestUnknown(reference=str(reference))
    return manifest


@dataclass(frozen=True)
class ManifestContent:
    """What serving a manifest needs, read in one narrow query.

    Attributes:
        digest: the manifest's digest as pushed.
        media_type: its media type (the response's Content-Type).
        blob: the Blob holding its exact bytes (sha256 and size loaded).
        asset_id: its Asset, whose download count a GET adds to.
    """

    digest: str
    media_type: str
    blob: Blob
    asset_id: int


@dataclass(frozen=True)
class ManifestLookup:
    """An image and what its manifest GET or HEAD serves, if the reference names one.

    Attributes:
        image: the image the ``<name>`` denotes.
        content: the manifest a tag points at or a digest names; None if there is none.
    """

    image: OciImage
    content: ManifestContent | None


@functools.cache
def _manifest_lookup_sql(*, vendor: str, by_digest: bool) -> str:
    # Written once per database vendor (quoting differs): compiling the equivalent ORM queries
    # cost more than the rest of a manifest GET (see bench/oci.py).
    del vendor
    r_id, r_name, r_format = (quoted(Repository, f) for f in ("id", "name", "format"))
    p_id, p_repository, p_name = (
        quoted(Package, f) for f in ("id", "repository", "normalized_name")
    )
    t_package, t_name, t_version = (quoted(Tag, f) for f in ("package", "name", "version"))
    m_package, m_version, m_digest = (
        quoted(OciManifest, f) for f in ("package", "version", "digest")
    )
    m_media_type, m_blob, m_size = (quoted(OciManifest, f) for f in ("media_type", "blob", "size"))
    a_id, a_version = quoted(Asset, "id"), quoted(Asset, "version")
    columns = repository_columns(prefix="r.")
    if by_digest:
        manifest_join = (
            f"LEFT JOIN {quoted(OciManifest)} m ON m.{m_package} = p.{p_id} AND m.{m_digest} = %s"
        )
    else:
        manifest_join = (
            f"LEFT JOIN {quoted(Tag)} t ON t.{t_package} = p.{p_id} AND t.{t_name} = %s "
            f"LEFT JOIN {quoted(OciManifest)} m ON m.{m_version} = t.{t_version}"
        )
    return (
        f"SELECT {columns}, m.{m_digest}, m.{m_media_type}, m.{m_blob}, m.{m_size}, a.{a_id} "
        f"FROM {quoted(Repository)} r "
        f"LEFT JOIN {quoted(Package)} p ON p.{p_repository} = r.{r_id} AND p.{p_name} = %s "
        f"{manifest_join} "
        f"LEFT JOIN {quoted(Asset)} a ON a.{a_version} = m.{m_version} "
        f"WHERE r.{r_name} = %s AND r.{r_format} = %s"
    )


def oci_manifest_lookup(*, name: str, reference: Digest | str) -> ManifestLookup:
    """Resolve ``<name>`` and the manifest ``reference`` names in one query: every pull's hot path.

    Uses the media type and size stored at PUT time, so the manifest's blob is not read. An
    unknown repository is resolved as by ``oci_image_resolve``.

    Raises:
        InvalidName: the name breaks the spec's grammar or has no image below the repository.
    """
    repository_name, image_name = _split_name(name)
    sql = _manifest_lookup_sql(vendor=connection.vendor, by_digest=isinstance(reference, Digest))
    row = row_fetch(sql, [image_name, str(reference), repository_name, FORMAT])
    if row is None:
        unknown = Repository(name=repository_name, format=FORMAT)
        return ManifestLookup(image=OciImage(repository=unknown, name=image_name), content=None)
    repository, rest = repository_from_row(row)
    digest, media_type, sha256, size, asset_id = rest
    content = None
    if digest is not None:
        content = ManifestContent(
            digest=digest,
            media_type=media_type,
            blob=Blob(sha256=sha256, size=size),
            asset_id=asset_id,
        )
    return ManifestLookup(image=OciImage(repository=repository, name=image_name), content=content)


def oci_tag_get(*, image: OciImage, name: str) -> Tag:
    """Return a tag of the image.

    Raises:
        ManifestUnknown: the image has no such tag.
    """
    tag = (
        Tag.objects.select_related("package", "version")
        .filter(package__repository=image.repository, package__normalized_name=image.name)
        .filter(name=name)
        .first()
    )
    if tag is None:
        raise ManifestUnknown(reference=name)
    return tag


@dataclass(frozen=True)
class Page:
    """One page of a lexically ordered listing.

    Attributes:
        items: the names on this page.
        more: whether names follow the last one.
    """

    items: list[str]
    more: bool


def oci_page(names: list[str], *, n: int, last: str) -> Page:
    """Return the names after ``last`` in lexical order, ``n`` at most."""
    after = sorted(name for name in names if not last or name > last)
    return Page(items=after[:n], more=len(after) > n)


def _keyset(names: QuerySet, *, column: str, n: int, last: str) -> list[str]:
    """Return up to ``n + 1`` values of ``column`` after ``last``, in order (one query)."""
    if last:
        names = names.filter(**{f"{column}__gt": last})
    return list(names.order_by(column).values_list(column, flat=True)[: n + 1])


def oci_tag_names(*, image: OciImage) -> list[str]:
    """Return the tags of an image of a hosted repository.

    Raises:
        RepositoryUnknown: nothing was ever pushed to (or cached in) the image.
    """
    package = oci_package_get(image=image)
    if package is None:
        raise RepositoryUnknown(name=image.full_name)
    return list(Tag.objects.filter(package=package).values_list("name", flat=True))


def oci_tag_page(*, image: OciImage, n: int, last: str) -> Page:
    """Return the tags after ``last`` of an image of a hosted repository, ``n`` at most.

    Two queries whatever the number of tags: the page is read off the (package, name) index.

    Raises:
        RepositoryUnknown: nothing was ever pushed to (or cached in) the image.
    """
    package = oci_package_get(image=image)
    if package is None:
        raise RepositoryUnknown(name=image.full_name)
    names = _keyset(Tag.objects.filter(package=package), column="name", n=n, last=last)
    return Page(items=names[:n], more=len(names) > n)


def oci_catalog_list(*, principal: Principal, n: int, last: str) -> Page:
    """Return the images the principal may read that hold a manifest, in lexical order.

    The order is by repository, then image name, read off the (repository, name) index one
    repository at a time, so a page costs one query per repository it spans, never a read of
    every image name.
    """
    last_repository, _, last_image = last.partition("/")
    repositories = (
        readable_repositories(principal=principal)
        .filter(format=FORMAT, name__gte=last_repository)
        .order_by("name")
        .values_list("pk", "name")
    )
    with_manifest = Package.objects.filter(
        Exists(OciManifest.objects.filter(package=OuterRef("pk")))
    )
    items: list[str] = []
    for pk, repository in repositories:
        after = last_image if repository == last_repository else ""
        images = with_manifest.filter(repository=pk)
        names = _keyset(images, column="normalized_name", n=n - len(items), last=after)
        items += [f"{repository}/{name}" for name in names]
        if len(items) > n:
            break
    return Page(items=items[:n], more=len(items) > n)


def oci_referrers_list(*, image: OciImage, subject: Digest) -> list[Descriptor]:
    """Return the descriptors of the image's manifests whose ``subject`` is ``subject``."""
    manifests = OciManifest.objects.filter(
        package__repository=image.repository,
        package__normalized_name=image.name,
        subject_digest=str(subject),
    ).order_by("digest")
    return [
        Descriptor(
            media_type=manifest.media_type,
            digest=parse_digest(manifest.digest),
            size=manifest.size,
            artifact_type=manifest.artifact_type or None,
            annotations=manifest.annotations,
        )
        for manifest in manifests
    ]


def oci_upload_get(*, image: OciImage, upload_id: str) -> Upload:
    """Return an upload session of the image (started by any web process).

    Raises:
        UploadUnknown: no such session in this image.
    """
    return upload_get(upload_id=upload_id, scope=image.upload_scope)
