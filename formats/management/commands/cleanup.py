"""``manage.py cleanup [REPO ...] [--dry-run]``: apply cleanup policies now, or preview them."""

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from formats.lifecycle.cleanup import Removal, cleanup_preview, cleanup_run
from formats.lifecycle.errors import CleanupBusy
from formats.models import Repository
from storage.progress import Progress


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Remove what the repositories' cleanup policies select (all policies without names); "
        "--dry-run prints exactly what would go and removes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("repositories", nargs="*", metavar="REPO")
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would go and remove nothing"
        )

    def handle(self, *args, **options) -> None:
        names = options["repositories"]
        repositories = Repository.objects.filter(
            **({"name__in": names} if names else {"cleanup_policy__isnull": False})
        ).order_by("name")
        missing = set(names) - {repository.name for repository in repositories}
        if missing:
            raise CommandError(f"no repository {', '.join(sorted(missing))}")
        failed = []
        for repository in repositories:
            if options["dry_run"]:
                self._report(repository, cleanup_preview(repository=repository), "would remove")
                continue
            progress = Progress(repository.name, stream=sys.stderr)
            try:
                run = cleanup_run(
                    repository=repository,
                    actor_name=f"command:{getpass.getuser()}",
                    progress=progress,
                )
            except CleanupBusy as error:
                failed.append(error.message)
                continue
            finally:
                progress.close()
            removals = [Removal(**entry) for entry in run.removed]
            self._report(repository, removals, "removed")
        if failed:
            raise CommandError("; ".join(failed))

    def _report(self, repository: Repository, removals: list[Removal], verb: str) -> None:
        for removal in removals:
            what = "older builds of " if removal.builds else ""
            outcome = f" KEPT: {removal.error}" if removal.error else ""
            self.stdout.write(
                f"{repository.name}: {what}{removal.package} {removal.version}: "
                f"{_plural(len(removal.files), 'file')}, {removal.bytes} bytes{outcome}"
            )
            for path in removal.files:
                self.stdout.write(f"    {path}")
        done = [removal for removal in removals if not removal.error]
        versions = sum(1 for removal in done if not removal.builds)
        self.stdout.write(
            f"{repository.name}: {verb} {_plural(versions, 'version')}, "
            f"{_plural(sum(len(r.files) for r in done), 'file')}, "
            f"{sum(r.bytes for r in done)} bytes"
        )
