"""``/v2/`` at the site root: image names are ``<repository>/<nested name>``."""

from django.urls import path, re_path

from formats.oci.protocol import views

app_name = "oci"
NAME = r"(?P<name>.+?)"
urlpatterns = [
    path("v2/", views.ApiVersionView.as_view(), name="api-version"),
    path("v2/token", views.TokenView.as_view(), name="token"),
    path("v2/_catalog", views.CatalogView.as_view(), name="catalog"),
    re_path(rf"^v2/{NAME}/tags/list$", views.TagsListView.as_view(), name="tags-list"),
    re_path(
        rf"^v2/{NAME}/manifests/(?P<reference>[^/]+)$",
        views.ManifestView.as_view(),
        name="manifest",
    ),
    re_path(rf"^v2/{NAME}/blobs/uploads/$", views.UploadStartView.as_view(), name="upload-start"),
    re_path(
        rf"^v2/{NAME}/blobs/uploads/(?P<upload_id>[^/]+)$",
        views.UploadView.as_view(),
        name="upload",
    ),
    re_path(rf"^v2/{NAME}/blobs/(?P<digest>[^/]+)$", views.BlobView.as_view(), name="blob"),
    re_path(
        rf"^v2/{NAME}/referrers/(?P<digest>[^/]+)$",
        views.ReferrersView.as_view(),
        name="referrers",
    ),
]
