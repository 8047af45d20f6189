"""WSGI entry point (gunicorn registry_project.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings.base")
application = get_wsgi_application()
