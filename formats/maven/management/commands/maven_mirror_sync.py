"""``manage.py maven_mirror_sync``: rebuild the Maven mirror (``MAVEN_MIRROR_DIR``) from the DB."""

from django.core.management.base import BaseCommand, CommandError

from formats.maven.mirror import maven_mirror_sync, mirror_root


class Command(BaseCommand):
    help = "Rebuild the files nginx serves for Maven hosted and group repositories (the mirror)."

    def handle(self, *args, **options) -> None:
        if mirror_root() is None:
            raise CommandError("MAVEN_MIRROR_DIR is not set: there is no mirror to sync")
        names = maven_mirror_sync()
        self.stdout.write(f"mirrored {len(names)} repositories: {', '.join(names)}")
