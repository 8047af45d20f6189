"""``manage.py bootstrap``: idempotent first-run set-up (default repositories, periodic tasks
and an admin)."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from formats.models import Repository
from formats.services import repository_create, repository_members_set
from registry_project.schedules import schedules_install

DEFAULT_REPOSITORIES = [
    ("raw", "raw", {}),
    ("pypi", "pypi", {}),
    ("npm", "npm", {}),
    ("maven-releases", "maven", {"version_policy": "release"}),
    ("maven-snapshots", "maven", {"version_policy": "snapshot"}),
    ("oci", "oci", {}),
]
# One URL for consumers: name, format, members in lookup order.
DEFAULT_GROUPS = [("maven-public", "maven", ["maven-releases", "maven-snapshots"])]


class Command(BaseCommand):
    help = (
        "Create the default hosted repositories, the periodic tasks that have no row yet "
        "and, if none exists, a superuser 'admin'."
    )

    def handle(self, *args, **options) -> None:
        for name, format_name, config in DEFAULT_REPOSITORIES:
            if not Repository.objects.filter(name=name).exists():
                repository_create(name=name, format=format_name, config=config)
                self.stdout.write(f"created {format_name} repository {name}")
        for name, format_name, members in DEFAULT_GROUPS:
            if not Repository.objects.filter(name=name).exists():
                group = repository_create(name=name, format=format_name, kind="group")
                repository_members_set(
                    repository=group,
                    members=[Repository.objects.get(name=member) for member in members],
                )
                self.stdout.write(f"created {format_name} group {name}")
        for name in schedules_install():
            self.stdout.write(f"created periodic task {name}")
        users = get_user_model().objects
        if not users.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(16)
            users.create_superuser("admin", "", password)
            self.stdout.write(f"created superuser admin with password: {password}")
