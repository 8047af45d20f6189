"""``manage.py setmembers GROUP A B ...``: replace a group's members, in this lookup order."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from formats.errors import RepositoryInvalid
from formats.management.commands.createrepo import repository_named
from formats.services import repository_members_set


class Command(BaseCommand):
    help = "Replace the members of a group repository (the order given is the lookup order)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("group")
        parser.add_argument("members", nargs="*", metavar="MEMBER", help="none: an empty group")

    def handle(self, *args, **options) -> None:
        group = repository_named(options["group"])
        members = [repository_named(name, group.format) for name in options["members"]]
        try:
            repository_members_set(repository=group, members=members)
        except RepositoryInvalid as error:
            raise CommandError(error.message) from None
        group.refresh_from_db(fields=["deploy_to"])
        listed = " ".join(member.name for member in members) or "(none)"
        self.stdout.write(f"{group.name} members: {listed}")
        if group.deploy_to is not None:
            self.stdout.write(f"{group.name} deploys to {group.deploy_to.name}")
