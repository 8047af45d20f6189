from django.urls import re_path

from formats.raw.protocol.views import RawFileView

app_name = "raw"
urlpatterns = [re_path(r"^(?P<path>.*)$", RawFileView.as_view(), name="file")]
