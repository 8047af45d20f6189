from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("formats", "0003_proxy_and_group"),
    ]

    operations = [
        migrations.AddField(
            model_name="repository",
            name="quota_bytes",
            field=models.PositiveBigIntegerField(
                blank=True,
                help_text=(
                    "For hosted repositories: the most bytes its files may take, each distinct "
                    "content counted once; an upload beyond it is refused. Empty: no limit."
                ),
                null=True,
            ),
        ),
    ]
