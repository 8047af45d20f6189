"""Storage accounting and quotas of repositories.

A repository holds the blobs its assets refer to and those its format keeps otherwise
(``FormatConfig.blob_references``: OCI's layer links). Three sizes describe it:

- logical: every file counted at its size, as if nothing were deduplicated;
- physical: each distinct blob it holds counted once; its quota limits this;
- exclusive: the part of physical no other repository holds (what deleting it would free).

``saved`` (logical - physical) is what deduplication saves inside the repository. Across the
store, each blob counts once however many repositories hold it: the total saving is the sum of
logical sizes less that.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum

from formats.base import format_configs
from formats.errors import QuotaExceeded, RepositoryInvalid
from formats.models import Asset, Repository
from registry_project.db import placeholders, quoted, values_list
from storage.models import Blob

logger = logging.getLogger(__name__)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = "kmgtp"


def parse_size(text: str) -> int | None:
    """Parse ``500M``, ``20G``, ``1.5T``, ``1024`` (bytes; binary units) or ``none`` (None).

    Raises:
        RepositoryInvalid: not a size.
    """
    if text.strip().lower() == "none":
        return None
    match = _SIZE.match(text)
    if not match:
        raise RepositoryInvalid(f"not a size: {text!r} (say 500M, 20G or none)")
    number, unit = match.groups()
    factor = 1024 ** (_UNITS.index(unit.lower()) + 1) if unit else 1
    return int(float(number) * factor)


def format_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``: binary units, as ``parse_size`` reads them."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


@dataclass(frozen=True)
class RepositoryUsage:
    """The bytes one repository holds (see the module docstring)."""

    name: str
    logical: int
    physical: int
    exclusive: int
    quota: int | None

    @property
    def shared(self) -> int:
        return self.physical - self.exclusive

    @property
    def saved(self) -> int:
        return self.logical - self.physical

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "repository": self.name,
            "logical_bytes": self.logical,
            "physical_bytes": self.physical,
            "exclusive_bytes": self.exclusive,
            "shared_bytes": self.shared,
            "saved_bytes": self.saved,
            "quota_bytes": self.quota,
        }


@dataclass(frozen=True)
class StoreUsage:
    """Every repository's usage and the store's own totals.

    Attributes:
        physical: bytes of the blobs any repository holds, each once.
        unreferenced: bytes of blobs nothing holds, left for garbage collection.
    """

    repositories: list[RepositoryUsage]
    physical: int
    unreferenced: int

    @property
    def logical(self) -> int:
        return sum(usage.logical for usage in self.repositories)

    @property
    def saved(self) -> int:
        return self.logical - self.physical

    def as_dict(self) -> dict[str, int]:
        return {
            "logical_bytes": self.logical,
            "physical_bytes": self.physical,
            "saved_bytes": self.saved,
            "unreferenced_bytes": self.unreferenced,
        }


def _sources() -> list[tuple[QuerySet, str]]:
    """Every kind of row that keeps a blob in a repository, with its lookup of the repository."""
    sources: list[tuple[QuerySet, str]] = [(Asset.objects.all(), "repository")]
    for config in format_configs():
        extra = config.blob_references()
        if extra is not None:
            sources.append(extra)
    return sources


def _held(sources: list[tuple[QuerySet, str]], **where: Repository) -> Q:
    """Blobs that rows of ``sources`` refer to, in ``where``'s repository (or in any)."""
    condition = Q(pk__in=[])
    for rows, lookup in sources:
        chosen = rows.filter(**{lookup: where["repository"]}) if where else rows
        condition |= Q(pk__in=chosen.values("blob"))
    return condition


def _bytes(blobs: QuerySet) -> int:
    return blobs.aggregate(total=Sum("size"))["total"] or 0


def repository_usage(*, repository: Repository) -> RepositoryUsage:
    """Return the bytes ``repository`` holds: logical, physical and exclusive."""
    return repositories_usage(repositories=[repository])[0]


def _holdings() -> tuple[str, list]:
    """SQL (and its parameters) of every distinct (holder, held) pair: a repository and a blob
    one of its rows keeps, whatever the kind of row (a UNION over ``_sources``)."""
    parts = [
        rows.annotate(holder=F(lookup), held=F("blob")).values("holder", "held").order_by()
        for rows, lookup in _sources()
    ]
    pairs = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0].distinct()
    sql, params = pairs.query.get_compiler(using=pairs.db).as_sql()
    return sql, list(params)


def repositories_usage(*, repositories: Sequence[Repository]) -> list[RepositoryUsage]:
    """Return each of ``repositories``' usage, in order, in a fixed number of queries."""
    if not repositories:
        return []
    logical = repositories_logical_bytes(repositories=repositories)
    pairs, params = _holdings()
    blob, size, key = quoted(Blob), quoted(Blob, "size"), quoted(Blob, "sha256")
    chosen = placeholders(len(repositories))
    ids = [repository.pk for repository in repositories]
    physical = dict(
        values_list(
            f"SELECT h.holder, SUM({size}) FROM ({pairs}) h JOIN {blob} ON {key} = h.held"
            f" WHERE h.holder IN ({chosen}) GROUP BY h.holder",
            [*params, *ids],
        )
    )
    exclusive = dict(
        values_list(
            f"SELECT h.holder, SUM({size}) FROM ({pairs}) h JOIN {blob} ON {key} = h.held"
            f" WHERE h.holder IN ({chosen}) AND h.held IN"
            f" (SELECT g.held FROM ({pairs}) g GROUP BY g.held HAVING COUNT(*) = 1)"
            " GROUP BY h.holder",
            [*params, *ids, *params],
        )
    )
    return [
        RepositoryUsage(
            name=repository.name,
            logical=logical.get(repository.pk, 0),
            physical=int(physical.get(repository.pk) or 0),
            exclusive=int(exclusive.get(repository.pk) or 0),
            quota=repository.quota_bytes,
        )
        for repository in repositories
    ]


def repositories_logical_bytes(
    *, repositories: QuerySet[Repository] | Sequence[Repository]
) -> dict[int, int]:
    """Return the logical bytes (every file at its size) of each of ``repositories`` by pk.

    One grouped query per kind of row that holds blobs, whatever the number of repositories.
    """
    totals: dict[int, int] = {}
    for rows, lookup in _sources():
        grouped = (
            rows.filter(**{f"{lookup}__in": repositories})
            .values(lookup)
            .annotate(total=Sum("blob__size"))
            .order_by()
        )
        for row in grouped:
            totals[row[lookup]] = totals.get(row[lookup], 0) + (row["total"] or 0)
    return totals


def store_usage(*, repositories: QuerySet[Repository] | None = None) -> StoreUsage:
    """Return the usage of ``repositories`` (all by default) and the store's totals."""
    chosen = Repository.objects.all() if repositories is None else repositories
    physical = _bytes(Blob.objects.filter(_held(_sources())))
    return StoreUsage(
        repositories=repositories_usage(repositories=list(chosen)),
        physical=physical,
        unreferenced=_bytes(Blob.objects.all()) - physical,
    )


def repository_quota_check(
    *, repository: Repository, blob: Blob, replacing: Asset | None = None
) -> None:
    """Refuse to let ``repository`` hold ``blob`` when that would take it past its quota.

    Call it in the transaction that writes the row referring to ``blob`` (after
    ``blob_hold``): the repository's row stays locked until the commit, so concurrent writes
    to a repository with a quota are counted one after the other. Bytes it already holds
    cost nothing; ``replacing`` (a redeployed file) no longer counts.

    The cost does not grow with the repository: the check adds each new blob's size to the
    accounted usage (``quota_used_bytes``), which deletions leave as it is, so it is never
    below what the repository holds. Only when it is unknown, or says the quota would be
    exceeded, are the held bytes counted again (and the count kept).

    Raises:
        QuotaExceeded: holding ``blob`` would exceed the quota (413, naming it).
    """
    if repository.quota_bytes is None:
        return
    # NO KEY UPDATE: writers that already inserted rows referring to the repository (a new
    # package: FOR KEY SHARE) still queue here one by one instead of deadlocking.
    locked = Repository.objects.select_for_update(no_key=True).filter(pk=repository.pk)
    quota, used = locked.values_list("quota_bytes", "quota_used_bytes").first() or (None, None)
    if quota is None:
        return
    sources = _sources()
    if replacing is not None:
        sources[0] = (Asset.objects.exclude(pk=replacing.pk), "repository")
    if _holds(sources, repository=repository, blob=blob):
        return
    if used is None or used + blob.size > quota:
        used = _bytes(Blob.objects.filter(_held(sources, repository=repository)))
    if used + blob.size > quota:
        logger.warning(
            "refused %d bytes for %s: quota %d, holds %d", blob.size, repository.name, quota, used
        )
        raise QuotaExceeded(
            f"repository {repository.name!r} is over its quota of {format_size(quota)}: "
            f"it holds {format_size(used)}, this upload needs {format_size(blob.size)} more",
            reason="QUOTA_EXCEEDED",
            quota_bytes=quota,
            used_bytes=used,
            needed_bytes=blob.size,
        )
    Repository.objects.filter(pk=repository.pk).update(quota_used_bytes=used + blob.size)


def _holds(sources: list[tuple[QuerySet, str]], *, repository: Repository, blob: Blob) -> bool:
    """Whether a row of ``sources`` in ``repository`` refers to ``blob`` (its holders only)."""
    held = [
        Exists(rows.filter(**{lookup: repository, "blob": OuterRef("pk")}))
        for rows, lookup in sources
    ]
    return Blob.objects.filter(Q(*held, _connector=Q.OR), pk=blob.pk).exists()
