"""Proxy settings and cache, explicit member order for groups, deploy targets."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


def _copy_links(apps, schema_editor):
    # The old automatic links kept their order only in their ids.
    Repository = apps.get_model("formats", "Repository")
    RepositoryMember = apps.get_model("formats", "RepositoryMember")
    Link = Repository.members.through
    positions: dict[int, int] = {}
    for link in Link.objects.order_by("id"):
        group = link.from_repository_id
        RepositoryMember.objects.create(
            group_id=group, member_id=link.to_repository_id, position=positions.get(group, 0)
        )
        positions[group] = positions.get(group, 0) + 1


class Migration(migrations.Migration):
    dependencies = [("formats", "0002_published_coordinate")]

    operations = [
        migrations.CreateModel(
            name="RepositoryMember",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveIntegerField(default=0)),
                (
                    "group",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="member_links",
                        to="formats.repository",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="group_links",
                        to="formats.repository",
                    ),
                ),
            ],
            options={"ordering": ["group", "position", "id"]},
        ),
        migrations.AddConstraint(
            model_name="repositorymember",
            constraint=models.UniqueConstraint(
                fields=("group", "member"), name="unique_group_member"
            ),
        ),
        migrations.RunPython(_copy_links, migrations.RunPython.noop),
        migrations.RemoveField(model_name="repository", name="members"),
        migrations.AddField(
            model_name="repository",
            name="members",
            field=models.ManyToManyField(
                blank=True,
                help_text="For group repositories, in lookup order.",
                through="formats.RepositoryMember",
                through_fields=("group", "member"),
                to="formats.repository",
            ),
        ),
        migrations.AlterField(
            model_name="repository",
            name="upstream_url",
            field=models.CharField(
                blank=True,
                default="",
                help_text="For proxy repositories: the URL the format's client itself would use.",
                max_length=2048,
                validators=[django.core.validators.URLValidator(schemes=["http", "https"])],
            ),
        ),
        migrations.AddField(
            model_name="repository",
            name="upstream_username",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddField(
            model_name="repository",
            name="upstream_password",
            field=models.CharField(
                blank=True,
                default="",
                help_text="With a username: HTTP Basic; alone: a bearer token.",
                max_length=4096,
            ),
        ),
        migrations.AddField(
            model_name="repository",
            name="metadata_ttl",
            field=models.PositiveIntegerField(
                default=1800,
                help_text="Seconds cached metadata is served before it is revalidated upstream.",
            ),
        ),
        migrations.AddField(
            model_name="repository",
            name="negative_ttl",
            field=models.PositiveIntegerField(
                default=300, help_text="Seconds an upstream 'not found' is remembered."
            ),
        ),
        migrations.AddField(
            model_name="repository",
            name="upstream_status",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The last upstream check's result.",
                max_length=512,
            ),
        ),
        migrations.AddField(
            model_name="repository",
            name="upstream_checked",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="repository",
            name="deploy_to",
            field=models.ForeignKey(
                blank=True,
                help_text="For group repositories: the hosted member that writes to the group land in.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="formats.repository",
            ),
        ),
        migrations.AddField(
            model_name="repository",
            name="hosted_guard",
            field=models.BooleanField(
                default=True,
                help_text=(
                    "For group repositories: a package name that a hosted member has is served "
                    "from hosted members only (dependency-confusion protection)."
                ),
            ),
        ),
        migrations.CreateModel(
            name="ProxyEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=1024)),
                ("package", models.CharField(blank=True, db_index=True, default="", max_length=512)),
                ("url", models.CharField(max_length=4096)),
                (
                    "status",
                    models.PositiveSmallIntegerField(choices=[(200, "Found"), (404, "Missing")]),
                ),
                ("content", models.BinaryField(default=b"")),
                ("content_type", models.CharField(blank=True, default="", max_length=255)),
                (
                    "etag",
                    models.CharField(
                        blank=True, default="", help_text="Of ``content``.", max_length=80
                    ),
                ),
                ("upstream_etag", models.CharField(blank=True, default="", max_length=1024)),
                (
                    "upstream_last_modified",
                    models.CharField(blank=True, default="", max_length=64),
                ),
                ("fetched", models.DateTimeField(help_text="When the body was last downloaded.")),
                ("checked", models.DateTimeField(help_text="When the upstream last confirmed it.")),
                (
                    "repository",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="proxy_entries",
                        to="formats.repository",
                    ),
                ),
            ],
            options={"verbose_name_plural": "proxy entries"},
        ),
        migrations.AddConstraint(
            model_name="proxyentry",
            constraint=models.UniqueConstraint(
                fields=("repository", "key"), name="unique_proxy_entry"
            ),
        ),
    ]
