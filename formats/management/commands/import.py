"""``manage.py import FORMAT REPO PATH... --user NAME [--keep-times]``: adopt files from
another registry (wheels and sdists, npm tarballs, a Maven repository tree, an OCI image
layout, plain files) into a hosted repository, with a progress bar and a summary."""

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from formats.errors import RepositoryInvalid
from formats.imports import repository_import
from formats.models import Repository


class Command(BaseCommand):
    help = "Load files into a hosted repository through the same checks as uploads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("format", help="the repository's format (pypi, npm, maven, oci, raw)")
        parser.add_argument("repository", help="a hosted repository of that format")
        parser.add_argument("paths", nargs="+", type=Path, help="files or folders to load")
        parser.add_argument("--user", required=True, help="who the files are published by")
        parser.add_argument(
            "--keep-times",
            action="store_true",
            help="use each file's modification time as its upload and publication time",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        repository = Repository.objects.filter(name=options["repository"]).first()
        if repository is None or repository.format != options["format"]:
            raise CommandError(f"no {options['format']} repository {options['repository']!r}")
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        missing = [str(path) for path in options["paths"] if not path.exists()]
        if missing:
            raise CommandError(f"no such file or folder: {', '.join(missing)}")
        try:
            report = repository_import(
                repository=repository,
                paths=options["paths"],
                user=user,
                keep_times=options["keep_times"],
                progress=sys.stderr,
            )
        except RepositoryInvalid as error:
            raise CommandError(error.message) from None
        for label in report.imported:
            self.stdout.write(f"imported {label}")
        for path, reason in report.refused:
            self.stdout.write(f"refused {path}: {reason}")
        self.stdout.write(
            f"{repository.name}: {len(report.imported)} imported, {len(report.refused)} refused"
        )
        if report.refused:
            raise CommandError(f"{len(report.refused)} refused", returncode=2)
