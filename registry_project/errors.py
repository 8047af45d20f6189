"""The base of every error the registry raises on purpose; protocols render it in their envelope."""

from collections.abc import Mapping
from typing import ClassVar


class RegistryError(Exception):
    """An error with a stable code and HTTP status that a client can act on."""

    code: ClassVar[str] = "UNKNOWN"
    http_status: ClassVar[int] = 400
    headers: Mapping[str, str] = {}

    def __init__(self, message: str = "", **detail: object) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip())
        self.message = str(self)
        self.detail = detail


class NotFound(RegistryError):
    """not found"""

    code = "NOT_FOUND"
    http_status = 404


class InvalidName(RegistryError):
    """invalid name"""

    code = "NAME_INVALID"
    http_status = 400


class Conflict(RegistryError):
    """the resource already exists"""

    code = "CONFLICT"
    http_status = 409


class BodyTooLarge(RegistryError):
    """request body too large"""

    code = "SIZE_INVALID"
    http_status = 413


class BodyIncomplete(RegistryError):
    """the request body ended before its Content-Length"""

    code = "BODY_INCOMPLETE"
    http_status = 400


class BadRequest(RegistryError):
    """bad request"""

    code = "BAD_REQUEST"
    http_status = 400


class MethodNotAllowed(RegistryError):
    """this method is not allowed here"""

    code = "UNSUPPORTED"
    http_status = 405

    def __init__(self, message: str = "", *, allowed: list[str]) -> None:
        super().__init__(message)
        self.headers = {"Allow": ", ".join(allowed)}


class PreconditionFailed(RegistryError):
    """a precondition of the request (If-Match, If-Unmodified-Since) is not met"""

    code = "PRECONDITION_FAILED"
    http_status = 412


class DatabaseUnavailable(RegistryError):
    """the database is unavailable; try again shortly"""

    code = "UNAVAILABLE"
    http_status = 503
    # Clients and load balancers back off for this long (RFC 9110 10.2.3).
    headers = {"Retry-After": "5"}


class DocumentTooDeep(BadRequest, ValueError):
    """JSON document nested too deeply"""

    # A ValueError too, so a parser's own "not valid JSON" handling (OCI's MANIFEST_INVALID,
    # DRF's ParseError) answers for it in that protocol's terms.
    code = "DOCUMENT_TOO_DEEP"


class AuthenticationRequired(RegistryError):
    """authentication required"""

    code = "UNAUTHORIZED"
    http_status = 401

    def __init__(self, message: str = "", *, challenge: str = 'Basic realm="registry"') -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": challenge}


class PermissionDenied(RegistryError):
    """permission denied"""

    code = "DENIED"
    http_status = 403
