"""``manage.py gc [--dry-run] [--grace SECONDS]``: garbage collection now, without Celery.

The formats go first (OCI unlinks blobs no image needs), then the blob store frees what
nothing refers to any more, so one run frees the bytes of everything it unlinked.
"""

import sys
from dataclasses import asdict
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandParser

from formats.base import format_configs
from formats.quotas import format_size
from storage.progress import Progress
from storage.services import blob_gc


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}={value}" for name, value in counts.items()) or "nothing to do"


class Command(BaseCommand):
    help = "Remove unreferenced blobs, abandoned uploads, stale temp files and format garbage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would go and remove nothing"
        )
        parser.add_argument(
            "--grace",
            type=float,
            help="keep what was written less than this many seconds ago "
            "(default BLOB_GC_GRACE_SECONDS)",
        )

    def handle(self, *args, **options) -> None:
        dry_run = options["dry_run"]
        grace = None if options["grace"] is None else timedelta(seconds=options["grace"])
        verb = "would remove" if dry_run else "removed"
        self.stdout.write("formats: collecting...")
        for config in format_configs():
            counts = config.collect_garbage(grace=grace, dry_run=dry_run)
            if counts:  # formats without references of their own have nothing to say
                self.stdout.write(f"{config.format_name}: {verb} {_counts(counts)}")
        self.stdout.write("blob store: collecting...")
        progress = Progress("gc blobs", stream=sys.stderr)
        try:
            # Counting the candidates costs a scan: only for a bar someone sees.
            shown = progress if progress.enabled else None
            result = blob_gc(grace=grace, dry_run=dry_run, progress=shown)
        finally:
            progress.close()
        self.stdout.write(f"blob store: {verb} {_counts(asdict(result))}")
        self.stdout.write(f"gc: {verb} {result.blobs} blobs, {format_size(result.bytes)}")
