"""``manage.py setquota REPO SIZE``: limit a hosted repository to SIZE (``500M``, ``20G``,
``none``), counted as ``manage.py usage`` counts its physical bytes."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from formats.errors import RepositoryInvalid
from formats.management.commands.createrepo import repository_named
from formats.quotas import format_size, parse_size, repository_usage
from formats.services import repository_update


class Command(BaseCommand):
    help = "Set (or with 'none' lift) the quota of a hosted repository."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("repository")
        parser.add_argument("size", help="500M, 20G, 1.5T, a number of bytes, or none")

    def handle(self, *args, **options) -> None:
        repository = repository_named(options["repository"])
        try:
            quota = parse_size(options["size"])
            repository = repository_update(repository=repository, changes={"quota_bytes": quota})
        except RepositoryInvalid as error:
            raise CommandError(error.message) from None
        usage = repository_usage(repository=repository)
        limit = "no quota" if quota is None else f"quota {format_size(quota)}"
        self.stdout.write(
            f"{repository.name}: {limit}; holds {format_size(usage.physical)}"
            f" ({usage.physical} bytes)"
        )
        if quota is not None and usage.physical > quota:
            self.stdout.write(f"{repository.name}: already over its quota: uploads are refused")
