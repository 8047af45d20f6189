"""``manage.py grant {user,group} NAME REPO {read,write,delete,admin}``."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from access.models import Role
from access.services import role_grant
from formats.models.repository import Repository

ROLES = {role.label: role for role in Role}


class Command(BaseCommand):
    help = "Give a user or a group a role on a repository."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["user", "group"])
        parser.add_argument("name")
        parser.add_argument("repo")
        parser.add_argument("role", choices=list(ROLES))

    def handle(self, *args, **options) -> None:
        repository = Repository.objects.filter(name=options["repo"]).first()
        if repository is None:
            raise CommandError(f"no repository {options['repo']!r}")
        if options["kind"] == "user":
            user = get_user_model().objects.filter(username=options["name"]).first()
            if user is None:
                raise CommandError(f"no user {options['name']!r}")
            role_grant(repository=repository, role=ROLES[options["role"]], user=user)
        else:
            group, _ = Group.objects.get_or_create(name=options["name"])
            role_grant(repository=repository, role=ROLES[options["role"]], group=group)
        self.stdout.write(f"{options['kind']} {options['name']}: {options['role']} on {repository}")
