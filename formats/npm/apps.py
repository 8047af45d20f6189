from django.http import HttpRequest

from formats.base import FormatConfig

CHALLENGE = 'Bearer realm="registry"'


class NpmConfig(FormatConfig):
    """npm registries: what ``npm config set registry http://HOST/repository/<repo>/`` talks to."""

    name = "formats.npm"
    label = "npm"
    verbose_name = "npm"
    format_name = "npm"
    protocol_urls = "formats.npm.protocol.urls"

    def auth_challenge(self, request: HttpRequest) -> str:
        """npm sends its ``_authToken`` as a bearer token; ``otp`` here would mean 2FA to npm."""
        return CHALLENGE
