"""What every wire-protocol view shares: dispatch by repository, permission check, errors.

``/repository/<repo>/<path>`` is resolved against the URLconf of the repository's format
(``FormatConfig.protocol_urls``); the view receives the Repository as ``repository``.

A caller who may not read a repository gets the answer a missing repository gets: 401 with a
challenge when anonymous (so clients retry with credentials), 404 when signed in. Only a
caller who may read it learns more (a 403 for a write it may not do).
"""

from typing import Any, ClassVar

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from access.auth import Principal, authenticate
from access.models import Role
from access.permissions import READ, WRITE, has_permission, require
from formats.base import BASIC_CHALLENGE, FormatConfig, format_config, repository_error
from formats.errors import GroupReadOnly, ProxyReadOnly, RepositoryUnknown
from formats.http import conditional_response
from formats.models import Document, Repository
from formats.selectors import repository_find
from registry_project.errors import (
    AuthenticationRequired,
    DatabaseUnavailable,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
    RegistryError,
)
from registry_project.logs import work_context_note


class ProtocolView(View):
    """Base of the views a package client talks to.

    Subclasses set ``format_name``; a RegistryError raised anywhere in a handler is rendered
    by the format's ``render_error``, so handlers never build error bodies themselves.
    """

    format_name: ClassVar[str]
    repository: Repository
    requested: Repository  # the repository in the URL; ``require_write`` may move ``repository``

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        return csrf_exempt(super().as_view(**initkwargs))

    @property
    def format(self) -> FormatConfig:
        config = format_config(self.format_name)
        assert config is not None
        return config

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.repository = self.requested = kwargs.pop("repository", None)
        work_context_note(
            repository=self.repository.name if self.repository is not None else "",
            format=self.format_name,
            operation=type(self).__name__,
        )
        try:
            return super().dispatch(request, *args, **kwargs)
        except RegistryError as error:
            return self.format.render_error(request, error)
        except (OperationalError, InterfaceError):
            # The connection broke mid-request (a database restart); Django drops it when
            # the request ends, and the client retries after Retry-After.
            return self.format.render_error(request, DatabaseUnavailable())

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        allowed = [method.upper() for method in self.http_method_names if hasattr(self, method)]
        raise MethodNotAllowed(f"{request.method} is not supported here", allowed=allowed)

    def require_write(self, action: Role = WRITE) -> Principal:
        """Check that the caller may write here; then ``self.repository`` is where it lands.

        A hosted repository takes its own writes. A group's writes land in its deploy target
        (``deploy_to``, a hosted member), and the caller needs ``action`` there; the group
        stays in ``self.requested`` (for URLs the client sees). Proxies are read-only.

        Raises:
            ProxyReadOnly, GroupReadOnly: 405 for a caller who may read the repository.
            AuthenticationRequired, RepositoryUnknown, PermissionDenied: as ``require``.
        """
        if self.repository.kind == Repository.Kind.HOSTED:
            return self.require(action)
        principal = self.require(READ)  # who cannot see the repository learns nothing more
        target = (
            self.repository.deploy_to if self.repository.kind == Repository.Kind.GROUP else None
        )
        if self.repository.kind == Repository.Kind.PROXY:
            raise ProxyReadOnly(f"{self.repository.name!r} is a proxy: it is read-only")
        if target is None or target.kind != Repository.Kind.HOSTED:
            raise GroupReadOnly(
                f"{self.repository.name!r} is a group without a deploy target: write to a member"
            )
        if not has_permission(principal=principal, repository=target, action=action):
            raise PermissionDenied(f"{action.label} access to {self.repository.name!r} denied")
        self.repository = target
        return principal

    def require(self, action: Role) -> Principal:
        """Check that the caller may perform ``action`` here.

        Raises:
            AuthenticationRequired: anonymous callers (401 with the format's challenge).
            RepositoryUnknown: a signed-in caller who may not read the repository.
            PermissionDenied: a reader asking for more than reading.
        """
        try:
            return require(
                self.request,
                repository=self.repository,
                action=action,
                challenge=self.format.auth_challenge(self.request),
            )
        except PermissionDenied:
            principal = authenticate(self.request)
            readable = has_permission(principal=principal, repository=self.repository, action=READ)
            if action > READ and readable:
                raise
            raise _unknown(self.repository.name) from None


def _unknown(name: str) -> RepositoryUnknown:
    return RepositoryUnknown(f"repository {name!r} not found")


def _concealed(request: HttpRequest, name: str, *, challenge: str) -> RegistryError:
    """The error for a caller who cannot see repository ``name``, whether it exists or not."""
    try:
        principal = authenticate(request)
    except AuthenticationRequired as error:
        return error
    if principal.is_anonymous:
        return AuthenticationRequired(challenge=challenge)
    return _unknown(name)


@csrf_exempt
def repository_dispatch(request: HttpRequest, repository_name: str, path: str) -> HttpResponseBase:
    """Route ``/repository/<repo>/<path>`` to the URLconf of the repository's format.

    Answers that come before the format is known (an unknown repository, the database down)
    are rendered by ``repository_error``.
    """
    try:
        return _route(request, repository_name, path)
    except DatabaseUnavailable as error:
        return repository_error(request, error)
    except (OperationalError, InterfaceError):
        return repository_error(request, DatabaseUnavailable())


def _route(request: HttpRequest, repository_name: str, path: str) -> HttpResponseBase:
    repository = repository_find(name=repository_name)
    config = format_config(repository.format) if repository is not None else None
    if repository is None or config is None:
        concealed = _concealed(request, repository_name, challenge=BASIC_CHALLENGE)
        return repository_error(request, concealed)
    try:
        match = resolve("/" + path, urlconf=config.protocol_urls)
    except Resolver404:
        return config.render_error(request, _unresolved(request, repository, config))
    return match.func(request, *match.args, repository=repository, **match.kwargs)


def _unresolved(
    request: HttpRequest, repository: Repository, config: FormatConfig
) -> RegistryError:
    try:
        readable = has_permission(
            principal=authenticate(request), repository=repository, action=READ
        )
    except AuthenticationRequired as error:
        return error
    if readable:
        return NotFound(f"no such {config.format_name} resource")
    return _concealed(request, repository.name, challenge=config.auth_challenge(request))


def repository_path(repository: Repository) -> str:
    """Return the URL path every format of ``repository`` is served under."""
    return f"/repository/{repository.name}/"


def document_response(
    request: HttpRequest, document: Document, *, max_age: int = 0
) -> HttpResponseBase:
    """Serve a generated document with ETag/Last-Modified, answering 304 when unchanged."""

    def respond() -> HttpResponse:
        body = b"" if request.method == "HEAD" else bytes(document.content)
        response = HttpResponse(body, content_type=document.content_type)
        response["Content-Length"] = str(len(document.content))
        return response

    response = conditional_response(
        request, etag=f'"{document.etag}"', last_modified=document.updated, respond=respond
    )
    patch_cache_control(response, max_age=max_age, must_revalidate=True)
    return response
