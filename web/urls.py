from django.contrib.auth.views import LogoutView
from django.urls import include, path

from web import views

app_name = "web"
urlpatterns = [
    path("", views.index, name="index"),
    path("ui/login/", views.SignInView.as_view(), name="login"),
    path("ui/admin/", include("web.console.urls")),
    path("ui/logout/", LogoutView.as_view(), name="logout"),
    path("ui/repositories/<str:name>/", views.repository_detail, name="repository"),
    path(
        "ui/repositories/<str:name>/packages/<int:package_id>/",
        views.package_detail,
        name="package",
    ),
]
