"""``manage.py mirror_sync``: rebuild the mirror nginx serves (``MIRROR_DIR``) from the database."""

from django.core.management.base import BaseCommand, CommandError

from formats.mirror import mirror_root, mirror_sync


class Command(BaseCommand):
    help = "Rebuild the files nginx serves for hosted and group repositories (the mirror)."

    def handle(self, *args: object, **options: object) -> None:
        if mirror_root() is None:
            raise CommandError("MIRROR_DIR is not set: there is no mirror to sync")
        names = mirror_sync()
        self.stdout.write(f"mirrored {len(names)} repositories: {', '.join(names)}")
