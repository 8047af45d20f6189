"""The OCI error envelope and the Bearer challenge.

https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes
https://distribution.github.io/distribution/spec/auth/token/
"""

from django.http import HttpRequest, JsonResponse

from formats.oci.errors import oci_error
from formats.oci.parsers import (
    API_VERSION,
    HEADER_DOCKER_DISTRIBUTION_API_VERSION,
    Scope,
    build_bearer_challenge,
)
from registry_project.errors import RegistryError

TOKEN_PATH = "/v2/token"


def token_realm(request: HttpRequest) -> str:
    """Return the absolute URL of the token endpoint, as the client reached this server."""
    return request.build_absolute_uri(TOKEN_PATH)


def bearer_challenge(
    request: HttpRequest, *, scopes: tuple[Scope, ...] = (), error: str | None = None
) -> str:
    """Return the ``WWW-Authenticate`` value sending the client to the token endpoint."""
    return build_bearer_challenge(
        realm=token_realm(request), service=request.get_host(), scopes=scopes, error=error
    )


def error_response(request: HttpRequest, error: Exception) -> JsonResponse:
    """Render ``error`` as ``{"errors": [{"code", "message", "detail"}]}`` with its status."""
    translated: RegistryError = oci_error(error)
    body = {
        "errors": [
            {
                "code": translated.code,
                "message": translated.message,
                "detail": {key: str(value) for key, value in translated.detail.items()},
            }
        ]
    }
    response = JsonResponse(body, status=translated.http_status)
    for name, value in translated.headers.items():
        response[name] = value
    response[HEADER_DOCKER_DISTRIBUTION_API_VERSION] = API_VERSION
    if request.method == "HEAD":
        response.content = b""
    return response
