"""What pip, uv and twine speak to a PyPI repository.

- Simple repository API (PEP 503, 592, 629, 658, 691, 700, 714):
  https://packaging.python.org/en/latest/specifications/simple-repository-api/
- Legacy upload API (twine): https://warehouse.pypa.io/api-reference/legacy.html#upload-api
- JSON API: https://docs.pypi.org/api/json/
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    UnreadablePostError,
)
from django.http.multipartparser import MultiPartParserError
from django.http.request import MediaType
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers

from formats.plugin import (
    DELETE,
    READ,
    Document,
    Principal,
    ProtocolView,
    Repository,
    UploadedPart,
    UploadSessionHandler,
    asset_response,
    body_length_check,
    disk_full_errors,
    document_response,
    repository_path,
    validate_path,
)
from formats.pypi.errors import InvalidUpload, NotAcceptable, ProjectUnknown
from formats.pypi.names import is_valid_project_name, normalize_project_name
from formats.pypi.renderers import (
    MIME_JSON,
    MIME_PYPI_SIMPLE_V1_HTML,
    MIME_PYPI_SIMPLE_V1_JSON,
    MIME_TEXT_HTML,
)
from formats.pypi.selectors import pypi_file_get, pypi_project_json, pypi_simple_document
from formats.pypi.services import (
    PACKAGES_PREFIX,
    UPLOAD_ALGORITHMS,
    UPLOAD_SCOPE,
    pypi_file_delete,
    pypi_file_upload,
)
from formats.pypi.sources import (
    pypi_sources_file,
    pypi_sources_json_repository,
    pypi_sources_simple_document,
)

FORM_FIELD_CONTENT = "content"


class PypiView(ProtocolView):
    """Base of the PyPI protocol views."""

    format_name = "pypi"

    def repository_url(self, path: str = "") -> str:
        """Return the absolute path of ``path`` below this repository."""
        return repository_path(self.repository) + path

    def normalized(self, project: str) -> str:
        """Return the PEP 503 name of ``project``; an invalid name is an unknown project."""
        if not is_valid_project_name(project):
            raise ProjectUnknown(f"Project {project[:100]!r} not found.")
        return normalize_project_name(project)

    def simple_document(
        self, principal: Principal, project: str | None, representation: str
    ) -> Document:
        """A hosted repository's stored page; a proxy's or group's rendered from its sources."""
        if self.repository.kind == Repository.Kind.HOSTED:
            return pypi_simple_document(
                repository=self.repository, project=project, representation=representation
            )
        return pypi_sources_simple_document(
            repository=self.repository,
            principal=principal,
            project=project,
            representation=representation,
        )


class UploadView(PypiView):
    """``POST /repository/<repo>/``: the legacy upload API (multipart, ``:action=file_upload``).

    A group's uploads land in its deploy target; proxies and groups without one answer 405.
    """

    def post(self, request: HttpRequest) -> HttpResponse:
        """Store the uploaded distribution; errors go in the reason phrase, as twine shows them."""
        principal = self.require_write()
        limit = settings.REGISTRY_MAX_UPLOAD_SIZE
        body_length_check(request, limit=limit, message=f"Upload larger than {limit} bytes.")
        # The file part streams into the blob store as it arrives, hashed on the way.
        with UploadSessionHandler(
            request,
            field=FORM_FIELD_CONTENT,
            scope=UPLOAD_SCOPE,
            owner=principal.user,
            algorithms=UPLOAD_ALGORITHMS,
        ) as handler:
            request.upload_handlers = [handler]
            try:
                with disk_full_errors():
                    fields = {key: request.POST.get(key, "") for key in request.POST}
                    upload = request.FILES.get(FORM_FIELD_CONTENT)
            except (
                MultiPartParserError,
                RequestDataTooBig,
                TooManyFieldsSent,
                UnreadablePostError,
            ) as error:
                raise InvalidUpload(f"Invalid multipart form: {error}") from None
            if not isinstance(upload, UploadedPart):
                raise InvalidUpload("Upload payload does not have a file.")
            pypi_file_upload(
                repository=self.repository, upload=upload, fields=fields, user=principal.user
            )
        return HttpResponse(b"OK\n", content_type="text/plain; charset=utf-8")


# Server preference among equally acceptable types: HTML first, so that browsers and
# ``curl`` (``*/*``) get a page, while pip and uv name the JSON type explicitly.
SIMPLE_OFFERS = (MIME_TEXT_HTML, MIME_PYPI_SIMPLE_V1_HTML, MIME_PYPI_SIMPLE_V1_JSON)


def _refused(accept: str, offer: str) -> bool:
    """Whether the most specific range matching ``offer`` has ``q=0`` (RFC 9110 section 12.4.2).

    Django's ``accepted_types`` drops ``q=0`` ranges, so without this ``json;q=0, */*`` would
    still choose JSON through ``*/*``.
    """
    offered = MediaType(offer)
    matching = [MediaType(token) for token in accept.split(",") if offered.match(token)]
    best = max(matching, key=lambda media_range: media_range.specificity, default=None)
    return best is not None and best.quality == 0


def simple_content_type(request: HttpRequest) -> str | None:
    """Choose the simple API representation the Accept header asks for (PEP 691).

    Returns:
        One of ``SIMPLE_OFFERS`` (``text/html`` when the header is absent or blank, as PEP 691
        says), or ``None`` when none is acceptable and the answer is 406.
    """
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return MIME_TEXT_HTML
    offers = [offer for offer in SIMPLE_OFFERS if not _refused(accept, offer)]
    return request.get_preferred_type(offers)


def _simple_response(
    request: HttpRequest, document_for: Callable[[str], Document]
) -> HttpResponseBase:
    """Serve the representation of a stored page that the Accept header asks for (PEP 691)."""
    content_type = simple_content_type(request)
    if content_type is None:
        raise NotAcceptable(
            f"None of the requested types is available; offered: {', '.join(SIMPLE_OFFERS)}."
        )
    document = document_for("json" if content_type == MIME_PYPI_SIMPLE_V1_JSON else "html")
    response = document_response(request, document)
    if response.status_code == 200:
        charset = "" if content_type == MIME_PYPI_SIMPLE_V1_JSON else "; charset=utf-8"
        response["Content-Type"] = content_type + charset
    patch_vary_headers(response, ["Accept"])
    return response


class SimpleIndexView(PypiView):
    """``GET /repository/<repo>/simple/``: every project (PEP 503 HTML or PEP 691 JSON)."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        """Serve the stored root page in the representation the Accept header asks for."""
        principal = self.require(READ)
        if not request.path.endswith("/"):
            return HttpResponsePermanentRedirect(self.repository_url("simple/"))
        return _simple_response(
            request, lambda representation: self.simple_document(principal, None, representation)
        )


class SimpleProjectView(PypiView):
    """``GET /repository/<repo>/simple/<project>/``: a project's files."""

    def get(self, request: HttpRequest, project: str) -> HttpResponseBase:
        """Serve the stored project page; other spellings of the name redirect (PEP 503)."""
        principal = self.require(READ)
        normalized = self.normalized(project)
        if project != normalized or not request.path.endswith("/"):
            return HttpResponsePermanentRedirect(self.repository_url(f"simple/{normalized}/"))
        return _simple_response(
            request,
            lambda representation: self.simple_document(principal, normalized, representation),
        )


class FileView(PypiView):
    """``/repository/<repo>/packages/<project>/<version>/<file>`` and its ``.metadata``."""

    def get(self, request: HttpRequest, path: str) -> HttpResponseBase:
        """Download a distribution or its core metadata file (Range, ETag, HEAD).

        A proxy fetches a file its cached page lists on first read; a group serves it from the
        first member that has it.
        """
        principal = self.require(READ)
        path = validate_path(PACKAGES_PREFIX + path)
        if self.repository.kind != Repository.Kind.HOSTED:
            return pypi_sources_file(
                request, repository=self.repository, principal=principal, path=path
            )
        asset = pypi_file_get(repository=self.repository, path=path)
        return asset_response(request, asset)

    def delete(self, request: HttpRequest, path: str) -> HttpResponse:
        """Delete a distribution file; the release goes with its last file."""
        principal = self.require_write(DELETE)
        pypi_file_delete(
            repository=self.repository,
            path=validate_path(PACKAGES_PREFIX + path),
            user=principal.user,
        )
        return HttpResponse(status=204)


class ProjectJsonView(PypiView):
    """``/repository/<repo>/pypi/<project>[/<version>]/json``: PyPI's JSON API."""

    def get(self, request: HttpRequest, project: str, version: str | None = None) -> HttpResponse:
        """Describe a project (with all releases) or one release, with absolute file URLs.

        A proxy describes the releases it has cached files of; a group, its first source's.
        """
        principal = self.require(READ)
        normalized = self.normalized(project)
        if project != normalized:
            tail = f"{version}/json" if version else "json"
            return HttpResponsePermanentRedirect(self.repository_url(f"pypi/{normalized}/{tail}"))
        source = self.repository
        if source.kind == Repository.Kind.GROUP:
            source = pypi_sources_json_repository(
                repository=source, principal=principal, project=normalized
            )
        body = pypi_project_json(
            repository=source,
            project=normalized,
            version=version,
            base_url=request.build_absolute_uri(self.repository_url()),
        )
        return HttpResponse(body, content_type=MIME_JSON)
