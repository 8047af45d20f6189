"""``manage.py usage [REPO ...]``: the bytes each repository holds and what dedup saves.

LOGICAL counts every file, PHYSICAL each distinct content once (what a quota limits),
EXCLUSIVE what no other repository shares (what deleting the repository frees).
"""

from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandParser

from formats.management.commands.createrepo import repository_named
from formats.models import Repository
from formats.quotas import format_size, store_usage

COLUMNS = ("LOGICAL", "PHYSICAL", "EXCLUSIVE", "SHARED", "SAVED", "QUOTA")


class Command(BaseCommand):
    help = "Show the storage each repository uses (logical, physical, shared, dedup saving)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("repositories", nargs="*", metavar="REPO", help="default: all")
        parser.add_argument("--bytes", action="store_true", help="exact byte counts")

    def handle(self, *args, **options) -> None:
        names = options["repositories"]
        chosen = (
            Repository.objects.filter(pk__in=[repository_named(name).pk for name in names])
            if names
            else None
        )
        usage = store_usage(repositories=chosen)
        size: Callable[[int], str] = str if options["bytes"] else format_size
        width = max([len("REPOSITORY"), *(len(r.name) for r in usage.repositories)])
        self.stdout.write(f"{'REPOSITORY':<{width}} " + " ".join(f"{c:>12}" for c in COLUMNS))
        for row in usage.repositories:
            quota = "-" if row.quota is None else size(row.quota)
            values = (row.logical, row.physical, row.exclusive, row.shared, row.saved)
            cells = [size(value) for value in values] + [quota]
            self.stdout.write(f"{row.name:<{width}} " + " ".join(f"{c:>12}" for c in cells))
        if names:
            return
        self.stdout.write(
            f"total: logical {size(usage.logical)}, physical {size(usage.physical)}"
            f" (each blob once), saved by dedup {size(usage.saved)},"
            f" unreferenced (awaiting gc) {size(usage.unreferenced)}"
        )
