"""Maven's URL at the site root: the permission answer nginx asks before serving the mirror."""

from django.urls import path

from formats.maven.protocol.authorize import mirror_authorize

app_name = "maven"
urlpatterns = [
    path("-/authorize", mirror_authorize, name="authorize"),
]
