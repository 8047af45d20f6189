from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

from formats.base import FormatConfig, VersionDetails
from registry_project.errors import RegistryError

if TYPE_CHECKING:
    from formats.models import Package, Version

MIME_TEXT_PLAIN_UTF8 = "text/plain; charset=utf-8"


def _reason_phrase(message: str) -> str:
    # A reason phrase is one line of latin-1 (RFC 9112); twine prints it as the error.
    line = " ".join(message.split())
    return line.encode("latin-1", "replace").decode("latin-1")[:500]


class PypiConfig(FormatConfig):
    name = "formats.pypi"
    label = "pypi"
    format_name = "pypi"
    protocol_urls = "formats.pypi.protocol.urls"

    def render_error(self, request: HttpRequest, error: RegistryError) -> HttpResponse:
        """Answer as warehouse does: the message as the reason phrase and as a text body."""
        response = HttpResponse(
            error.message + "\n",
            status=error.http_status,
            content_type=MIME_TEXT_PLAIN_UTF8,
            reason=_reason_phrase(error.message),
        )
        for name, value in error.headers.items():
            response[name] = value
        return response

    def on_package_changed(self, package: "Package") -> None:
        """Rebuild the simple pages after the management API yanked or deleted releases."""
        from formats.pypi.services import pypi_project_changed  # models load after apps

        pypi_project_changed(package=package)

    def version_details(self, version: "Version") -> VersionDetails:
        """The summary, description and requirements from the release's core metadata."""
        metadata = version.metadata
        content_type = metadata.get("description_content_type") or ""
        return VersionDetails(
            summary=metadata.get("summary") or "",
            readme=metadata.get("description") or "",
            readme_format="markdown" if content_type.startswith("text/markdown") else "text",
            license=metadata.get("license_expression") or metadata.get("license") or "",
            dependencies=list(metadata.get("requires_dist") or []),
            usage=f"pip install {version.package.name}=={version.version}",
        )
