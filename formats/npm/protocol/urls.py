"""Routes of an npm repository, below ``/repository/<repo>/``.

Django has percent-decoded the path, so ``@scope%2fname`` arrives as ``@scope/name``; a name is
either ``@scope/name`` or a single segment that cannot start with ``@``, ``-`` or ``.``.
"""

from django.urls import re_path

from formats.npm.protocol import views

NAME = r"(?P<name>@[^/]+/[^/]+|[^@/.\-][^/]*)"
REV = r"(?:/-rev/(?P<rev>[^/]+))"

app_name = "npm"
urlpatterns = [
    re_path(r"^-/ping$", views.PingView.as_view(), name="ping"),
    re_path(r"^-/whoami$", views.WhoamiView.as_view(), name="whoami"),
    re_path(r"^-/v1/search$", views.SearchView.as_view(), name="search"),
    re_path(
        r"^-/npm/v1/security/advisories/bulk$",
        views.AuditView.as_view(),
        {"kind": "bulk"},
        name="audit-bulk",
    ),
    re_path(
        r"^-/npm/v1/security/audits/quick$",
        views.AuditView.as_view(),
        {"kind": "quick"},
        name="audit-quick",
    ),
    re_path(r"^-/npm/v1/tokens$", views.TokensView.as_view(), name="tokens"),
    re_path(r"^-/npm/v1/tokens/token/(?P<key>[^/]+)$", views.TokenView.as_view(), name="token"),
    re_path(
        r"^-/user/org\.couchdb\.user:(?P<username>[^/]+)" + REV + "?$",
        views.UserView.as_view(),
        name="user",
    ),
    re_path(r"^-/user/token/(?P<token>.+)$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^-/package/" + NAME + "/dist-tags$", views.DistTagsView.as_view(), name="dist-tags"),
    re_path(
        r"^-/package/" + NAME + r"/dist-tags/(?P<tag>[^/]+)$",
        views.DistTagView.as_view(),
        name="dist-tag",
    ),
    re_path(
        "^" + NAME + r"/-/(?P<filename>[^/]+\.tgz)" + REV + "?$",
        views.TarballView.as_view(),
        name="tarball",
    ),
    re_path("^" + NAME + REV + "$", views.PackageRevisionView.as_view(), name="package-rev"),
    re_path("^" + NAME + r"/(?P<spec>[^/]+)$", views.VersionView.as_view(), name="version"),
    re_path("^" + NAME + "$", views.PackageView.as_view(), name="package"),
]
