"""``manage.py setpolicy REPO [rules] | --clear``: set or remove a repository's cleanup policy."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from formats.lifecycle.cleanup import policy_clear, policy_set, policy_snapshot
from formats.lifecycle.errors import PolicyInvalid
from formats.models import Repository


def _positive(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Set the cleanup policy of a repository (replacing the one it had), or --clear it. "
        "A version goes when every rule given agrees; pinned versions and tag targets stay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("repository")
        parser.add_argument(
            "--keep-last", type=_positive, metavar="N", help="keep the N newest per package"
        )
        parser.add_argument(
            "--older-than-days", type=_positive, metavar="D", help="published over D days ago"
        )
        parser.add_argument(
            "--unused-days",
            type=_positive,
            metavar="D",
            help="not downloaded for D days (counted from publication until statistics exist)",
        )
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--match", metavar="GLOB", help="only versions matching this glob")
        scope.add_argument("--match-regex", metavar="REGEX", help="only versions matching this")
        parser.add_argument("--prerelease-only", action="store_true", help="only prereleases")
        parser.add_argument(
            "--include-tagged",
            action="store_true",
            help="tag targets (latest, dist-tags, image tags) may go too",
        )
        parser.add_argument(
            "--snapshot-builds",
            type=_positive,
            metavar="N",
            help="Maven: keep the last N timestamped builds of each SNAPSHOT",
        )
        parser.add_argument("--clear", action="store_true", help="remove the policy")

    def handle(self, *args, **options) -> None:
        repository = Repository.objects.filter(name=options["repository"]).first()
        if repository is None:
            raise CommandError(f"no repository {options['repository']!r}")
        if options["clear"]:
            had = policy_clear(repository=repository)
            self.stdout.write(f"{repository.name}: {'policy removed' if had else 'no policy'}")
            return
        pattern = options["match_regex"] or options["match"] or ""
        try:
            policy = policy_set(
                repository=repository,
                keep_last=options["keep_last"],
                older_than_days=options["older_than_days"],
                unused_days=options["unused_days"],
                match=pattern,
                match_regex=options["match_regex"] is not None,
                prerelease_only=options["prerelease_only"],
                keep_tagged=not options["include_tagged"],
                snapshot_builds=options["snapshot_builds"],
            )
        except PolicyInvalid as error:
            raise CommandError(error.message) from None
        rules = ", ".join(
            f"{name}={value}" for name, value in policy_snapshot(policy).items() if value
        )
        self.stdout.write(f"{repository.name}: policy set ({rules})")
