"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings.base")
application = get_asgi_application()
from registry_project.beat import start_in_process_schedule  # noqa: E402 (needs the apps)

start_in_process_schedule()
