"""``manage.py createuser NAME [--password P] [--email E] [--group G ...]``."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Create a user (not a superuser), optionally in groups."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", default=None)
        parser.add_argument("--email", default="")
        parser.add_argument("--group", action="append", default=[])

    def handle(self, *args, **options) -> None:
        users = get_user_model().objects
        if users.filter(username=options["username"]).exists():
            raise CommandError(f"user {options['username']!r} exists")
        user = users.create_user(options["username"], options["email"], options["password"])
        for name in options["group"]:
            user.groups.add(Group.objects.get_or_create(name=name)[0])
        self.stdout.write(f"created user {user.username}")
