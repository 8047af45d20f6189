"""What a proxy repository remembers of its upstream besides the files it cached as Assets."""

from django.db import models

from formats.models.repository import Repository


class ProxyEntry(models.Model):
    """The last answer of the upstream for one metadata document (or its 404), with validators.

    Fresh for the repository's ``metadata_ttl`` (``negative_ttl`` for a 404) after ``checked``;
    then revalidated with If-None-Match / If-Modified-Since. ``content`` is what the format
    keeps of the upstream body (URLs already rewritten to point here).
    """

    class Status(models.IntegerChoices):
        FOUND = 200
        MISSING = 404

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="proxy_entries"
    )
    key = models.CharField(max_length=1024)
    package = models.CharField(max_length=512, blank=True, default="", db_index=True)
    url = models.CharField(max_length=4096)
    status = models.PositiveSmallIntegerField(choices=Status.choices)
    content = models.BinaryField(default=b"")
    content_type = models.CharField(max_length=255, blank=True, default="")
    etag = models.CharField(max_length=80, blank=True, default="", help_text="Of ``content``.")
    upstream_etag = models.CharField(max_length=1024, blank=True, default="")
    upstream_last_modified = models.CharField(max_length=64, blank=True, default="")
    fetched = models.DateTimeField(help_text="When the body was last downloaded.")
    checked = models.DateTimeField(help_text="When the upstream last confirmed it.")

    class Meta:
        verbose_name_plural = "proxy entries"
        constraints = [
            models.UniqueConstraint(fields=["repository", "key"], name="unique_proxy_entry")
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}:{self.key} ({self.status})"
