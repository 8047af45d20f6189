"""Top-level routes: formats under /repository/<repo>/, the API, the UI and the admin console."""

from django.contrib import admin
from django.urls import include, path, re_path

from access.views import authorize
from formats.base import format_configs
from formats.protocol import repository_dispatch
from web.views import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("registry_project.api_urls")),
    path("-/health", health, name="health"),
    path("-/authorize", authorize, name="authorize"),
    re_path(
        r"^repository/(?P<repository_name>[^/]+)/(?P<path>.*)$",
        repository_dispatch,
        name="repository",
    ),
    *(path("", include(c.root_urls)) for c in format_configs() if c.root_urls),
    path("", include("web.urls")),
]
