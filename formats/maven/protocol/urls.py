from django.urls import re_path

from formats.maven.protocol.views import MavenRepositoryView

app_name = "maven"
urlpatterns = [re_path(r"^(?P<path>.*)$", MavenRepositoryView.as_view(), name="path")]
