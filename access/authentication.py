"""DRF adapter over ``access.auth.authenticate`` for the management API."""

from django.http import HttpRequest
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from access.auth import authenticate
from access.errors import AuthenticationFailed


class RegistryAuthentication(authentication.BaseAuthentication):
    """Basic (password or token) and Bearer token authentication, as every protocol accepts."""

    def authenticate(self, request: Request) -> tuple | None:
        django_request: HttpRequest = request._request
        if "Authorization" not in django_request.headers:
            return None
        try:
            principal = authenticate(django_request)
        except AuthenticationFailed as error:
            raise exceptions.AuthenticationFailed(error.message) from None
        return principal.user, principal

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="registry"'
