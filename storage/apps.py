from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SERVE_MODES = ("stream", "x-accel", "redirect")


class StorageConfig(AppConfig):
    name = "storage"
    verbose_name = "Blob store"

    def ready(self) -> None:
        check_serve_mode()


def check_serve_mode() -> None:
    """Refuse a ``BLOB_SERVE_MODE`` the configured blob store cannot honour, at startup."""
    mode, remote = settings.BLOB_SERVE_MODE, bool(settings.BLOB_STORE_URL)
    if mode not in SERVE_MODES:
        raise ImproperlyConfigured(f"BLOB_SERVE_MODE={mode!r}: use one of {', '.join(SERVE_MODES)}")
    if mode == "x-accel" and remote:
        raise ImproperlyConfigured(
            "BLOB_SERVE_MODE=x-accel serves files of the filesystem store through nginx; with "
            "BLOB_STORE_URL (an object store) use BLOB_SERVE_MODE=redirect (or stream)"
        )
    if mode == "redirect" and not remote:
        raise ImproperlyConfigured(
            "BLOB_SERVE_MODE=redirect needs an object store (BLOB_STORE_URL=s3://bucket/prefix); "
            "with the filesystem store use stream or x-accel"
        )
