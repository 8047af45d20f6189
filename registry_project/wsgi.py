"""WSGI entry point (gunicorn registry_project.wsgi).

Package clients (pip, npm, mvn, skopeo) carry no session cookie and their views are exempt
from CSRF, so sessions, CSRF, authentication-from-session and messages middleware only cost
them time: a sixth of a cached-document read. Their requests take a handler with just the
middleware that shapes every response (security headers, Content-Length); the web UI, the admin
console, the API and any request carrying a session cookie take the full chain.
"""

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings.base")
full_application = get_wsgi_application()
from registry_project.beat import start_in_process_schedule  # noqa: E402 (needs the apps)

start_in_process_schedule()


class ClientHandler(WSGIHandler):
    """A WSGI handler whose middleware chain is ``settings.CLIENT_MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler builds the chain from settings.MIDDLEWARE and nothing else; swap the list
        # while it does (once, at start-up, before any request runs).
        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.CLIENT_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything


client_application = ClientHandler()
CLIENT_PREFIXES = ("/repository/", "/v2/")


def is_client_request(environ: Mapping[str, Any]) -> bool:
    """Return whether a request is a package client's: a protocol URL without a session."""
    if not environ.get("PATH_INFO", "").startswith(CLIENT_PREFIXES):
        return False
    return f"{settings.SESSION_COOKIE_NAME}=" not in environ.get("HTTP_COOKIE", "")


def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    """Serve ``environ`` with the client handler or the full one."""
    handler = client_application if is_client_request(environ) else full_application
    return handler(environ, start_response)
