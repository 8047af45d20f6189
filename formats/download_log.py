"""Downloads nginx sent from the mirror itself, read from the log it writes of them.

deploy/nginx.conf logs every mirrored read that counts as a download (a GET answered 200 or
304, or 206 for a range from the first byte: the rule of ``formats.downloads``) as one JSON
line ``{"at": <POSIX time>, "repository": <name>, "path": <path below the repository>}``, in
``MIRROR_DOWNLOADS_DIR``, one file per ten-second slot of the clock (``downloads-<slot>.log``,
the slot being the POSIX time divided by ten). nginx logs a read only after its cached
``/-/authorize`` check let it through, so a client can count no more downloads here than it
could make, and no request reaches the registry for a count.

A slot's file is complete once its ten seconds (and ``SETTLE_SECONDS`` for the last writes)
are past: ``download_log_claim`` takes such files by renaming them (so two processes never take
one file), ``download_log_counts`` turns them into counts of the assets served (the file at that
path of the first repository in the read order that holds it, as the mirror holds it), and
``download_log_release`` deletes them once the counts are written, or gives them back for the
next flush. A file claimed by a process that died is taken again after ``ABANDONED_SECONDS``.
"""

import json
import logging
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import TypeVar

from django.conf import settings

from formats.models import Asset, Repository
from formats.selectors import repository_read_order

logger = logging.getLogger(__name__)
SLOT_SECONDS = 10  # deploy/nginx.conf: the $download_slot map drops the last digit of $msec
SETTLE_SECONDS = 2
ABANDONED_SECONDS = 600
PREFIX = "downloads-"
CLAIMED = ".claimed"
# Paths looked up per statement.
LOOKUP_BATCH = 500
# asset id -> (downloads, time of the last one as a POSIX timestamp), as formats.downloads
Taken = dict[int, tuple[int, float]]
_Key = TypeVar("_Key", int, str)


def taken_add(taken: dict[_Key, tuple[int, float]], key: _Key, count: int, at: float) -> None:
    """Add ``count`` downloads, the last at ``at``, to ``taken[key]``."""
    before, last = taken.get(key, (0, at))
    taken[key] = (before + count, max(last, at))


def _folder() -> Path | None:
    folder = settings.MIRROR_DOWNLOADS_DIR
    return Path(folder) if folder else None


def _slot(name: str) -> int | None:
    # downloads-<slot>.log as nginx writes it, downloads-<slot>.log.<pid>.claimed once taken
    stem, _, rest = name.removeprefix(PREFIX).partition(".")
    named = name.startswith(PREFIX) and (rest == "log" or rest.endswith(CLAIMED))
    return int(stem) if named and stem.isdigit() else None


def _claimable(file: Path, now: float) -> bool:
    slot = _slot(file.name)
    if slot is None:
        return False
    if file.name.endswith(CLAIMED):
        try:
            return file.stat().st_mtime + ABANDONED_SECONDS < now
        except FileNotFoundError:
            return False
    return (slot + 1) * SLOT_SECONDS + SETTLE_SECONDS <= now


def download_log_claim() -> list[Path]:
    """Take the complete log files of ``MIRROR_DOWNLOADS_DIR`` for this process; return them."""
    folder = _folder()
    if folder is None or not folder.is_dir():
        return []
    now = time.time()
    claimed = []
    for file in sorted(folder.iterdir()):
        if not _claimable(file, now):
            continue
        mine = file.with_name(f"{PREFIX}{_slot(file.name)}.log.{os.getpid()}{CLAIMED}")
        try:
            os.rename(file, mine)  # atomic: of two processes, one gets it
        except FileNotFoundError:
            continue
        os.utime(mine)  # claimed now: abandoned only ABANDONED_SECONDS from here
        claimed.append(mine)
    return claimed


def _lines(files: list[Path]) -> dict[str, dict[str, tuple[int, float]]]:
    served: dict[str, dict[str, tuple[int, float]]] = defaultdict(dict)
    for file in files:
        with open(file, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                    name, path, at = entry["repository"], entry["path"], float(entry["at"])
                except (ValueError, KeyError, TypeError):
                    logger.warning("download log: line skipped in %s: %r", file.name, line[:200])
                    continue
                taken_add(served[name], path, 1, at)
    return served


def _assets(repository: Repository, paths: list[str]) -> dict[str, int]:
    """Return, for each of ``paths``, the asset the mirror of ``repository`` holds there."""
    sources = repository_read_order(repository=repository)
    order = {source.pk: position for position, source in enumerate(sources)}
    found: dict[str, tuple[int, int]] = {}
    for first in range(0, len(paths), LOOKUP_BATCH):
        rows = Asset.objects.filter(
            repository__in=sources, path__in=paths[first : first + LOOKUP_BATCH]
        ).values_list("path", "repository_id", "pk")
        for path, repository_id, asset_id in rows:
            held = found.get(path)
            if held is None or order[repository_id] < held[0]:
                found[path] = (order[repository_id], asset_id)
    return {path: asset_id for path, (_, asset_id) in found.items()}


def download_log_counts(files: list[Path]) -> Taken:
    """Return the downloads the claimed ``files`` record, per asset.

    A path that names no file (checksums and metadata documents are not downloads) and a
    repository gone since count nothing.
    """
    taken: Taken = {}
    for name, paths in _lines(files).items():
        repository = Repository.objects.filter(name=name).first()
        if repository is None:
            continue
        for path, asset_id in _assets(repository, list(paths)).items():
            taken_add(taken, asset_id, *paths[path])
    return taken


def download_log_release(files: list[Path], *, written: bool) -> None:
    """Delete the claimed ``files`` once their counts are ``written``, else give them back."""
    for file in files:
        if written:
            file.unlink(missing_ok=True)
        else:
            os.rename(file, file.with_name(f"{PREFIX}{_slot(file.name)}.log"))
