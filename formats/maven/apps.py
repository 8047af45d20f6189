from django.http import HttpRequest, HttpResponse

from formats.base import FormatConfig
from registry_project.errors import RegistryError

MIME_TEXT = "text/plain; charset=utf-8"
MAX_REASON_LENGTH = 200


class MavenConfig(FormatConfig):
    """Maven 2 repositories (release, snapshot, mixed) and groups of them, as Nexus serves."""

    name = "formats.maven"
    label = "maven"
    verbose_name = "Maven"
    format_name = "maven"
    protocol_urls = "formats.maven.protocol.urls"

    def render_error(self, request: HttpRequest, error: RegistryError) -> HttpResponse:
        """Answer with the status and the message as text and as the reason phrase.

        mvn prints only the status line ("status code: 400, reason phrase: ..."), so the
        reason phrase carries the why, as Nexus does it.
        """
        reason = " ".join(error.message.encode("ascii", "replace").decode().split())
        body = b"" if request.method == "HEAD" else f"{error.message}\n".encode()
        response = HttpResponse(body, content_type=MIME_TEXT, status=error.http_status)
        response.reason_phrase = reason[:MAX_REASON_LENGTH]
        for name, value in error.headers.items():
            response[name] = value
        return response
