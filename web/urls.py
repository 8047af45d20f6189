from django.contrib.auth.views import LogoutView
from django.urls import include, path, re_path

from web import browse, tokens, views

app_name = "web"
# Package names keep the format's spelling (``@scope/pkg``, ``team/app/api``, ``group:artifact``),
# URL-encoded or not; a version is one segment (an OCI digest, ``1.0.0-SNAPSHOT``).
PACKAGE = r"^ui/repositories/(?P<name>[^/]+)/packages/(?P<package>.+)"
urlpatterns = [
    path("", browse.index, name="index"),
    path("ui/search", browse.search, name="search"),
    path("ui/login/", views.SignInView.as_view(), name="login"),
    path("ui/admin/", include("web.console.urls")),
    path("ui/logout/", LogoutView.as_view(), name="logout"),
    path("ui/tokens/", tokens.tokens, name="tokens"),
    path("ui/tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token-revoke"),
    path("ui/repositories/<str:name>/", browse.repository_detail, name="repository"),
    re_path(PACKAGE + r"/versions/(?P<version>[^/]+)/$", browse.version_detail, name="version"),
    re_path(PACKAGE + r"/$", browse.package_detail, name="package"),
]
