"""Authentication errors."""

from registry_project.errors import AuthenticationRequired, RegistryError


class AuthenticationFailed(AuthenticationRequired):
    """invalid credentials"""


class TooManyAttempts(RegistryError):
    """too many failed sign-in attempts"""

    # The OCI spec's code for 429; the other formats show the message and the status.
    code = "TOOMANYREQUESTS"
    http_status = 429

    def __init__(self, message: str = "", *, retry_after: int) -> None:
        super().__init__(message or f"too many failed sign-in attempts; retry in {retry_after} s")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
