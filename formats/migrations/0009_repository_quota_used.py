from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("formats", "0008_package_search")]

    operations = [
        migrations.AddField(
            model_name="repository",
            name="quota_used_bytes",
            field=models.PositiveBigIntegerField(
                blank=True,
                editable=False,
                help_text=(
                    "Accounted by the quota check: at least the bytes the repository holds "
                    "(deletions do not lower it; a check near the quota counts again). Empty: "
                    "not counted yet."
                ),
                null=True,
            ),
        ),
    ]
