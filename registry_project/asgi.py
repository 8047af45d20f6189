"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from registry_project.celery import start_in_process_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings.base")
application = get_asgi_application()
start_in_process_schedule()
