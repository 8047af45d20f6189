"""``manage.py proxy_invalidate REPO [PACKAGE]``: the next read of cached metadata revalidates."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from formats.management.commands.createrepo import repository_named
from formats.models import Repository
from formats.proxy.invalidation import proxy_invalidate


class Command(BaseCommand):
    help = "Make a proxy's cached metadata (all of it, or one package's) due for revalidation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("repository")
        parser.add_argument(
            "package",
            nargs="?",
            help="the package's normalized name (or a raw path); none: everything",
        )

    def handle(self, *args, **options) -> None:
        repository = repository_named(options["repository"])
        if repository.kind != Repository.Kind.PROXY:
            raise CommandError(
                f"{repository.name!r} is a {repository.kind} repository, not a proxy"
            )
        count = proxy_invalidate(repository=repository, package=options["package"])
        self.stdout.write(f"{repository.name}: {count} cached entries due for revalidation")
