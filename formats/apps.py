from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class FormatsConfig(AppConfig):
    name = "formats"
    verbose_name = "Repositories and packages"

    def ready(self) -> None:
        check_mirror_store()


def check_mirror_store() -> None:
    """Refuse the nginx mirror (``MIRROR_DIR``) next to an object store, at startup."""
    from storage.selectors import blob_store_is_local  # the storage app loads first

    if settings.MIRROR_DIR and not blob_store_is_local():
        raise ImproperlyConfigured(
            "MIRROR_DIR links mirror files to blob files on this host; with an object "
            "store (BLOB_STORE_URL) unset it and use BLOB_SERVE_MODE=redirect instead"
        )
