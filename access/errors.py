"""Authentication errors."""

from registry_project.errors import AuthenticationRequired


class AuthenticationFailed(AuthenticationRequired):
    """invalid credentials"""
