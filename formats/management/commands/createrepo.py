"""``manage.py createrepo NAME --format {raw,pypi,npm,maven,oci} [--kind hosted] [--public]``."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from formats.models import FORMAT_CHOICES, Repository
from formats.services import repository_create, repository_members_set

MAVEN_POLICIES = ["release", "snapshot", "mixed"]


class Command(BaseCommand):
    help = "Create a repository."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--format", required=True, choices=[f for f, _ in FORMAT_CHOICES])
        parser.add_argument("--kind", default="hosted", choices=Repository.Kind.values)
        parser.add_argument("--public", action="store_true", help="allow anonymous read")
        parser.add_argument("--allow-redeploy", action="store_true")
        parser.add_argument("--immutable-tags", action="store_true")
        parser.add_argument(
            "--member",
            action="append",
            default=[],
            help="for --kind group: a member repository, repeat in lookup order",
        )
        parser.add_argument(
            "--policy", choices=MAVEN_POLICIES, help="Maven version policy (default release)"
        )

    def handle(self, *args, **options) -> None:
        config = {}
        if options["format"] == "maven":
            config["version_policy"] = options["policy"] or "release"
        elif options["policy"]:
            raise CommandError("--policy applies to maven repositories only")
        members = []
        for member in options["member"]:
            found = Repository.objects.filter(name=member, format=options["format"]).first()
            if found is None:
                raise CommandError(f"no {options['format']} repository {member!r}")
            members.append(found)
        try:
            repository = repository_create(
                name=options["name"],
                format=options["format"],
                kind=options["kind"],
                anonymous_read=options["public"],
                allow_redeploy=options["allow_redeploy"],
                config=config,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        if members:
            repository_members_set(repository=repository, members=members)
        if options["immutable_tags"]:
            repository.immutable_tags = True
            repository.save(update_fields=["immutable_tags"])
        self.stdout.write(f"created {repository.format} repository {repository.name}")
