"""Maven's URLs at the site root: the permission answer nginx asks before serving the mirror,
and the count of what it served."""

from django.urls import path

from formats.maven.protocol.authorize import mirror_authorize
from formats.maven.protocol.downloaded import mirror_downloaded

app_name = "maven"
urlpatterns = [
    path("-/authorize", mirror_authorize, name="authorize"),
    path("-/downloaded", mirror_downloaded, name="downloaded"),
]
