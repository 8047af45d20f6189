"""``manage.py fsck [--repair] [--sample PERCENT] [--grace SECONDS]``: check the blob store now.

Exits with status 1 when it found a missing or corrupt blob, so cron and CI notice.
"""

import sys
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storage.fsck import blob_fsck


def _percent(value: str) -> float:
    percent = float(value)
    if not 0 <= percent <= 100:
        raise ValueError(value)
    return percent


class Command(BaseCommand):
    help = "Check every blob has its file, every file its blob, and re-hash a sample of them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--repair",
            action="store_true",
            help="remove orphan files (no Blob row) older than the grace period",
        )
        parser.add_argument(
            "--sample",
            type=_percent,
            default=100.0,
            metavar="PERCENT",
            help="re-hash this percentage of the blobs, picked at random (default 100)",
        )
        parser.add_argument(
            "--grace",
            type=float,
            help="orphans younger than this many seconds stay (default BLOB_GC_GRACE_SECONDS)",
        )

    def handle(self, *args, **options) -> None:
        grace = None if options["grace"] is None else timedelta(seconds=options["grace"])
        result = blob_fsck(
            sample=options["sample"],
            repair=options["repair"],
            grace=grace,
            progress=sys.stderr,
        )
        for sha256 in result.missing:
            self.stdout.write(f"missing  sha256:{sha256}")
        for sha256 in result.corrupt:
            self.stdout.write(f"corrupt  sha256:{sha256}")
        for path in result.orphans:
            self.stdout.write(f"orphan   {path}")
        summary = ", ".join(f"{name}={value}" for name, value in result.summary().items())
        self.stdout.write(f"fsck: {summary}")
        if result.missing or result.corrupt:
            raise CommandError("fsck found missing or corrupt blobs (now marked: served as errors)")
