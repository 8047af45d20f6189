"""``manage.py createtoken USERNAME [--repo NAME ...] [--expires-days N]``."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from access.services import TOKEN_MAX_DAYS, token_create
from formats.models.repository import Repository


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--repo", action="append", default=[], help="limit to repository")
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--name", default="")
        parser.add_argument("--read-only", action="store_true")

    def handle(self, *args, **options) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        repositories = list(Repository.objects.filter(name__in=options["repo"]))
        unknown = set(options["repo"]) - {r.name for r in repositories}
        if unknown:
            raise CommandError(f"unknown repository: {', '.join(sorted(unknown))}")
        days = options["expires_days"]
        if days is not None and not 1 <= days <= TOKEN_MAX_DAYS:
            raise CommandError(f"--expires-days must be between 1 and {TOKEN_MAX_DAYS}")
        issued = token_create(
            user=user,
            name=options["name"],
            repositories=repositories,
            expires_in=timedelta(days=days) if days else None,
            read_only=options["read_only"],
        )
        self.stdout.write(issued.secret)
