"""Adoption: load a folder of files from another registry into a hosted repository.

Each format says what its units are (files, or an OCI image layout folder) and loads one
through the services its uploads use (``FormatConfig.import_units`` / ``import_unit``), so
what is imported is checked and stored exactly as if a client had uploaded it. With
``keep_times`` a unit's modification time becomes its files' upload time and its version's
publication time (PEP 700 ``upload-time``, the npm packument's ``time``).
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models.functions import Least

from formats.base import FormatConfig, Imported, format_config
from formats.errors import RepositoryInvalid
from formats.models import Asset, Package, Repository, Version
from registry_project.errors import RegistryError
from storage.progress import Progress

logger = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """What an import loaded (labels) and what it refused (path and reason)."""

    imported: list[str] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)


def repository_import(
    *,
    repository: Repository,
    paths: Iterable[Path],
    user: User,
    keep_times: bool = False,
    progress: TextIO | None = None,
) -> ImportReport:
    """Load every unit found under ``paths`` into ``repository``; refusals do not stop it.

    Raises:
        RepositoryInvalid: ``repository`` is not hosted, or its format is not installed.
    """
    config = format_config(repository.format)
    if config is None or repository.kind != Repository.Kind.HOSTED:
        raise RepositoryInvalid(f"{repository.name!r} is not a hosted repository to import into")
    units = [(root, unit) for root in paths for unit in config.import_units(root)]
    report = ImportReport()
    changed: set[int] = set()
    bar = Progress(f"import into {repository.name}", len(units), stream=progress)
    for root, unit in units:
        try:
            imported = _import_one(config, repository, root=root, unit=unit, user=user)
        except (RegistryError, OSError) as error:
            reason = error.message if isinstance(error, RegistryError) else str(error)
            logger.warning("import into %s: %s refused: %s", repository.name, unit, reason)
            report.refused.append((unit, reason))
        else:
            report.imported.append(imported.label)
            if keep_times:
                changed |= _times_keep(imported, when=_modified(unit))
        bar.advance()
    bar.close()
    for package in Package.objects.filter(pk__in=changed):
        config.on_package_changed(package)  # its documents show the times just set
    logger.info(
        "import into %s: %d imported, %d refused",
        repository.name,
        len(report.imported),
        len(report.refused),
    )
    return report


def _import_one(
    config: FormatConfig, repository: Repository, *, root: Path, unit: Path, user: User
) -> Imported:
    with transaction.atomic():
        return config.import_unit(repository, root=root, unit=unit, user=user)


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _times_keep(imported: Imported, *, when: datetime) -> set[int]:
    """Date ``imported`` at ``when``; return the packages whose documents must follow."""
    Asset.objects.filter(pk__in=[asset.pk for asset in imported.assets]).update(created=when)
    packages = {asset.version.package_id for asset in imported.assets if asset.version}
    if imported.version is not None:
        # A release of several files was published when its first file was.
        version = Version.objects.filter(pk=imported.version.pk)
        version.update(published_at=Least("published_at", when))
        packages.add(imported.version.package_id)
    Package.objects.filter(pk__in=packages).update(created=Least("created", when))
    return packages
