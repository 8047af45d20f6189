"""URLs of a PyPI repository, below ``/repository/<repo>/``."""

from django.urls import re_path

from formats.pypi.protocol import views

app_name = "pypi"
urlpatterns = [
    re_path(r"^$", views.UploadView.as_view(), name="upload"),
    re_path(r"^simple/?$", views.SimpleIndexView.as_view(), name="simple-index"),
    re_path(r"^simple/(?P<project>[^/]+)/?$", views.SimpleProjectView.as_view(), name="simple"),
    re_path(r"^packages/(?P<path>.+)$", views.FileView.as_view(), name="file"),
    re_path(r"^pypi/(?P<project>[^/]+)/json/?$", views.ProjectJsonView.as_view(), name="json"),
    re_path(
        r"^pypi/(?P<project>[^/]+)/(?P<version>[^/]+)/json/?$",
        views.ProjectJsonView.as_view(),
        name="release-json",
    ),
]
