from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("storage", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="blob",
            name="corrupt",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
