"""Errors of the npm registry protocol, rendered by npm as ``{"error": message}``.

npm prints the ``error`` field after the status line (npm-registry-fetch ``HttpErrorGeneral``),
so the messages are written for a person reading a terminal.
"""

from registry_project.errors import (
    AuthenticationRequired,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
)


class PackageInvalid(BadRequest):
    """invalid package name, version, dist-tag or search parameter"""

    code = "PACKAGE_INVALID"


class PublishInvalid(BadRequest):
    """invalid request body (publish, metadata update, login, token) or package tarball"""

    code = "PUBLISH_INVALID"


class IntegrityInvalid(PublishInvalid):
    """the tarball does not match its declared integrity"""

    code = "INTEGRITY_INVALID"


class VersionPublished(PermissionDenied):
    """You cannot publish over the previously published versions"""

    code = "VERSION_PUBLISHED"


class RevisionConflict(Conflict):
    """document update conflict: the package changed since it was read"""

    code = "REVISION_CONFLICT"


class DistTagUnknown(NotFound):
    """dist-tag not found"""

    code = "DIST_TAG_UNKNOWN"


class DistTagProtected(BadRequest):
    """the latest dist-tag cannot be removed"""

    code = "DIST_TAG_PROTECTED"


class LoginFailed(AuthenticationRequired):
    """bad username or password"""

    code = "LOGIN_FAILED"


class PasswordMismatch(PermissionDenied):
    """password confirmation failed"""

    code = "PASSWORD_MISMATCH"


class TokenUnknown(NotFound):
    """token not found"""

    code = "TOKEN_UNKNOWN"
