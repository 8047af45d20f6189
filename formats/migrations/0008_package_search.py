"""What search reads of a package as columns (filled for existing packages), an index in name
order to read it page by page, and on PostgreSQL a trigram index so that ``LIKE '%word%'``
over ``search_text`` reads the index, not every row."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from formats.base import SearchTerms, format_config
from formats.services import package_search_text

BATCH = 1000
INDEX = "formats_package_search_trgm"


class PostgresTrigramExtension(TrigramExtension):
    """pg_trgm on PostgreSQL; nothing elsewhere, both ways (Django guards only forwards)."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def backfill(apps, schema_editor):
    # The rule of formats.services.package_search_refresh, on the historical models.
    Package = apps.get_model("formats", "Package")
    Version = apps.get_model("formats", "Version")
    packages = Package.objects.select_related("repository").order_by("pk")
    changed = []
    for package in packages.iterator(chunk_size=BATCH):
        latest = Version.objects.filter(tags__package=package, tags__name="latest").first()
        latest = latest or Version.objects.filter(package=package).order_by(
            "-published_at", "-pk"
        ).first()
        config = format_config(package.repository.format)
        terms = config.search_terms(latest) if latest is not None and config else SearchTerms()
        package.latest_version = latest.version if latest is not None else ""
        package.summary = terms.summary
        package.search_text = package_search_text(
            name=package.name, normalized_name=package.normalized_name, terms=terms
        )
        changed.append(package)
        if len(changed) == BATCH:
            Package.objects.bulk_update(changed, ["latest_version", "summary", "search_text"])
            changed = []
    Package.objects.bulk_update(changed, ["latest_version", "summary", "search_text"])


def trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {INDEX} ON formats_package USING gin (search_text gin_trgm_ops)"
        )


def trigram_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("formats", "0007_version_publishing_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="package",
            name="latest_version",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddField(
            model_name="package",
            name="summary",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="package",
            name="search_text",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddIndex(
            model_name="package",
            index=models.Index(fields=["normalized_name", "id"], name="package_name_order"),
        ),
        PostgresTrigramExtension(),
        migrations.RunPython(trigram_index, trigram_index_drop),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
