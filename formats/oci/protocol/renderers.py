"""The OCI error envelope and the Bearer challenge.

https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes
https://distribution.github.io/distribution/spec/auth/token/
"""

from http import HTTPStatus

from django.http import HttpRequest, JsonResponse

from formats.oci.headers import API_VERSION, HEADER_DOCKER_DISTRIBUTION_API_VERSION
from formats.oci.scopes import Scope, build_bearer_challenge
from registry_project.errors import RegistryError

TOKEN_PATH = "/v2/token"
# A proxy's upstream failures in the spec's vocabulary (it has none for them): Distribution's
# own codes for a service that cannot answer now and for a server-side failure.
UPSTREAM_CODES = {
    "UPSTREAM_UNAVAILABLE": "UNAVAILABLE",
    "UPSTREAM_TIMEOUT": "UNAVAILABLE",
    "UPSTREAM_DIGEST_MISMATCH": "UNKNOWN",
}


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


def error_response(request: HttpRequest, error: RegistryError) -> JsonResponse:
    """Render ``error`` as ``{"errors": [{"code", "message", "detail"}]}`` with its status.

    The code is the error's own: the shared errors carry the spec's codes (a proxy's upstream
    failures become UNAVAILABLE or UNKNOWN, their own code in ``detail.reason``). The spec has
    no 409, so a conflict (a tag the repository forbids moving) is answered 400, as CNCF
    Distribution and ECR answer TAG_INVALID.
    """
    detail = {key: str(value) for key, value in error.detail.items()}
    code = UPSTREAM_CODES.get(error.code, error.code)
    if code != error.code:
        detail["reason"] = error.code
    body = {"errors": [{"code": code, "message": error.message, "detail": detail}]}
    status = (
        HTTPStatus.BAD_REQUEST if error.http_status == HTTPStatus.CONFLICT else error.http_status
    )
    response = JsonResponse(body, status=status)
    for name, value in error.headers.items():
        response[name] = value
    response[HEADER_DOCKER_DISTRIBUTION_API_VERSION] = API_VERSION
    if request.method == "HEAD":
        response.content = b""
    return response
