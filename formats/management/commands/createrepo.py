"""``manage.py createrepo NAME --format F [--kind hosted|proxy|group] [--public] ...``.

A proxy takes ``--upstream URL`` (and optionally credentials and cache lifetimes); a group
takes ``--member`` in lookup order, ``--deploy-to`` one hosted member and
``--no-hosted-guard``. Every refusal is a CommandError naming what is wrong.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from formats.errors import RepositoryInvalid
from formats.models import FORMAT_CHOICES, Repository
from formats.services import repository_create

MAVEN_POLICIES = ["release", "snapshot", "mixed"]
PROXY_OPTIONS = {
    "upstream_username": "--upstream-username",
    "upstream_password": "--upstream-password",
    "metadata_ttl": "--metadata-ttl",
    "negative_ttl": "--negative-ttl",
}
# How a model field's validation error names the option it came from.
FIELD_OPTIONS = {
    "name": "NAME",
    "upstream_url": "--upstream (an http or https URL)",
    **PROXY_OPTIONS,
}


def validation_message(error: ValidationError) -> str:
    """One line naming each refused option and why."""
    if not hasattr(error, "error_dict"):
        return "; ".join(error.messages)
    return "; ".join(
        f"{FIELD_OPTIONS.get(field, field)}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    )


def repository_named(name: str, format: str = "") -> Repository:
    """The repository called ``name`` (of any format: the core names a mismatch), or an error."""
    found = Repository.objects.filter(name=name).first()
    if found is None:
        raise CommandError(f"no {format + ' ' if format else ''}repository {name!r}")
    return found


class Command(BaseCommand):
    help = "Create a repository (hosted, proxy of an upstream, or group of repositories)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--format", required=True, choices=[f for f, _ in FORMAT_CHOICES])
        parser.add_argument("--kind", default="hosted", choices=Repository.Kind.values)
        parser.add_argument("--public", action="store_true", help="allow anonymous read")
        parser.add_argument("--allow-redeploy", action="store_true")
        parser.add_argument("--immutable-tags", action="store_true")
        parser.add_argument(
            "--policy", choices=MAVEN_POLICIES, help="Maven version policy (default release)"
        )
        proxy = parser.add_argument_group("proxy repositories")
        proxy.add_argument("--upstream", help="the URL the format's client itself would use")
        proxy.add_argument("--upstream-username", help="HTTP Basic user for the upstream")
        proxy.add_argument(
            "--upstream-password", help="with a username: its password; alone: a bearer token"
        )
        proxy.add_argument("--metadata-ttl", type=int, metavar="SECONDS")
        proxy.add_argument("--negative-ttl", type=int, metavar="SECONDS")
        group = parser.add_argument_group("group repositories")
        group.add_argument(
            "--member",
            action="append",
            default=[],
            help="a member repository; repeat in lookup order",
        )
        group.add_argument("--deploy-to", metavar="HOSTED_MEMBER", help="where writes land")
        group.add_argument(
            "--no-hosted-guard",
            action="store_true",
            help="let upstream members serve names a hosted member has",
        )

    def handle(self, *args, **options) -> None:
        kind = options["kind"]
        fields = self._kind_fields(kind, options)
        config = {}
        if options["format"] == "maven":
            config["version_policy"] = options["policy"] or "release"
        elif options["policy"]:
            raise CommandError("--policy applies to maven repositories only")
        try:
            repository = repository_create(
                name=options["name"],
                format=options["format"],
                kind=kind,
                anonymous_read=options["public"],
                allow_redeploy=options["allow_redeploy"],
                immutable_tags=options["immutable_tags"],
                config=config,
                **fields,
            )
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None
        except RepositoryInvalid as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"created {repository.format} {repository.kind} repository {repository.name}"
        )
        if repository.kind == Repository.Kind.PROXY:
            self.stdout.write(f"upstream {repository.upstream_url}: {repository.upstream_status}")

    def _kind_fields(self, kind: str, options: dict) -> dict[str, Any]:
        """The Repository fields of the proxy and group options, refusing the other kind's."""
        proxy = {field: options[field] for field in PROXY_OPTIONS if options[field] is not None}
        given = [PROXY_OPTIONS[field] for field in proxy]
        if options["upstream"] is not None:
            proxy["upstream_url"] = options["upstream"]
            given.insert(0, "--upstream")
        if kind != Repository.Kind.PROXY and given:
            raise CommandError(f"{', '.join(given)}: for --kind proxy only")
        grouped = {
            "--member": options["member"],
            "--deploy-to": options["deploy_to"],
            "--no-hosted-guard": options["no_hosted_guard"],
        }
        if kind != Repository.Kind.GROUP and any(grouped.values()):
            used = ", ".join(option for option, value in grouped.items() if value)
            raise CommandError(f"{used}: for --kind group only")
        if kind == Repository.Kind.PROXY:
            return proxy
        if kind != Repository.Kind.GROUP:
            return {}
        format = options["format"]
        fields: dict[str, Any] = {
            "members": [repository_named(name, format) for name in options["member"]],
            "hosted_guard": not options["no_hosted_guard"],
        }
        if options["deploy_to"] is not None:
            fields["deploy_to"] = repository_named(options["deploy_to"], format)
        return fields
