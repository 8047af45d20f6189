"""The shared permission check, adapted to DRF for the management API."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from access.auth import Principal
from access.models import Role
from access.permissions import (
    ADMIN,
    DELETE,
    READ,
    WRITE,
    has_permission,
    is_registry_admin,
    is_restricted,
    may_create_repositories,
)
from formats.models.repository import Repository


def principal_of(request: Request) -> Principal:
    """Return the caller of an API request, however it authenticated."""
    if isinstance(request.auth, Principal):
        return request.auth
    return Principal(user=request.user)


class RepositoryPermission(BasePermission):
    """Reads need the read role on the object's repository, deletes delete, other writes write.

    Views declare ``repository_of(obj)``; lists are filtered by their querysets instead.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: APIView, obj: object) -> bool:
        repository: Repository = view.repository_of(obj)  # type: ignore[attr-defined]
        action = self.action_for(request)
        return has_permission(principal=principal_of(request), repository=repository, action=action)

    def action_for(self, request: Request) -> Role:
        """Return the role a request's method needs on the repository."""
        if request.method in SAFE_METHODS:
            return READ
        return DELETE if request.method == "DELETE" else WRITE


class RepositoryManagementPermission(RepositoryPermission):
    """Repositories themselves: creating one is a global right, changing or deleting one needs
    the admin role on it; both through the one check, so token limits always apply."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method == "POST":
            return may_create_repositories(principal=principal_of(request))
        return super().has_permission(request, view)

    def action_for(self, request: Request) -> Role:
        return READ if request.method in SAFE_METHODS else ADMIN


class AdministratorPermission(BasePermission):
    """Registry administrators (``is_registry_admin``), or holders of the view's
    ``required_permission`` (a model permission, when it names one) with an unrestricted
    credential: the registry-wide administration endpoints."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        principal = principal_of(request)
        if is_registry_admin(principal=principal):
            return True
        needed: str | None = getattr(view, "required_permission", None)
        user = principal.user
        return bool(
            needed
            and user.is_authenticated
            and user.is_active
            and user.has_perm(needed)
            and not is_restricted(principal=principal)
        )


class RegistryAuthenticationScheme(OpenApiAuthenticationExtension):
    """Declares ``RegistryAuthentication`` in the OpenAPI schema: an API token as a bearer
    token (HTTP Basic with a password or a token works too)."""

    target_class = "access.authentication.RegistryAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {"type": "http", "scheme": "bearer"}
