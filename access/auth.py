"""Who is calling: every client style resolves to a user and, for tokens, the token used.

Accepted: HTTP Basic with a password or with an API token as the password (any username,
``__token__`` by convention, as twine sends), and ``Authorization: Bearer <token>``.
Formats may add bearer verifiers (the OCI registry token is a JWT) with ``register_bearer``.
"""

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate as password_authenticate
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from django.utils import timezone

from access.errors import AuthenticationFailed
from access.models import TOKEN_PREFIX, ApiToken, hash_token
from access.selectors import token_by_hash, token_by_id
from access.token_cache import KEY_BY_HASH, KEY_BY_ID, token_remembered
from audit.context import audit_actor_set

logger = logging.getLogger(__name__)

# What a session cookie may authenticate (RFC 9110 9.2.1: methods that change nothing).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a user (possibly anonymous) and the token it presented."""

    user: User | AnonymousUser
    token: ApiToken | None = None
    # Extra limits a bearer credential carries, e.g. the scopes granted in an OCI JWT.
    claims: dict | None = None

    @property
    def is_anonymous(self) -> bool:
        return not self.user.is_authenticated


BearerVerifier = Callable[[str], Principal | None]
_bearer_verifiers: list[BearerVerifier] = []
ANONYMOUS = Principal(user=AnonymousUser())
# Where authenticate() caches its answer on the request, as Django caches request.user.
_PRINCIPAL_ATTRIBUTE = "_registry_principal"


def register_bearer(verifier: BearerVerifier) -> None:
    """Let a format accept another kind of bearer credential (tried after API tokens)."""
    if verifier not in _bearer_verifiers:
        _bearer_verifiers.append(verifier)


def principal_for_token(secret: str) -> Principal | None:
    """Return the principal of an active API token, or None if ``secret`` is not one."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token_hash = hash_token(secret)
    token = token_remembered(KEY_BY_HASH + token_hash, lambda: _token_used(token_hash))
    if token is None or not token.is_active or not token.user.is_active:
        raise AuthenticationFailed("token is invalid, expired or revoked")
    return Principal(user=token.user, token=token)


def _token_used(token_hash: str) -> ApiToken | None:
    """Read the token with ``token_hash``; record its use (to the minute) when it is active."""
    token = token_by_hash(token_hash=token_hash)
    if token is None or not token.is_active or not token.user.is_active:
        return token
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def active_token(*, token_id: int, user_id: int) -> ApiToken | None:
    """Return the active API token ``token_id`` of the active user ``user_id``, or None.

    For credentials that name a token by id (the OCI registry JWT), so revoking it ends them.
    """
    token = token_remembered(f"{KEY_BY_ID}{token_id}", lambda: token_by_id(token_id=token_id))
    if token is None or token.user_id != user_id:
        return None
    return token if token.is_active and token.user.is_active else None


def _basic(request: HttpRequest, encoded: str) -> Principal:
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("malformed Basic credentials") from None
    by_token = principal_for_token(password)
    if by_token is not None:
        return by_token
    user = password_authenticate(request, username=username, password=password)
    if user is None:
        raise AuthenticationFailed("invalid username or password")
    return Principal(user=user)


def _bearer(secret: str) -> Principal:
    principal = principal_for_token(secret)
    for verifier in _bearer_verifiers:
        if principal is not None:
            break
        principal = verifier(secret)
    if principal is None:
        raise AuthenticationFailed("invalid bearer token")
    return principal


def request_principal(request: HttpRequest) -> Principal | None:
    """Return who ``authenticate`` found ``request``'s caller to be (None: it was not asked)."""
    return getattr(request, _PRINCIPAL_ATTRIBUTE, None)


def authenticate(request: HttpRequest) -> Principal:
    """Return the caller of ``request`` (cached); raise AuthenticationFailed on bad credentials.

    Without an Authorization header the session user (web UI) or the anonymous user is used.
    A session authenticates only safe methods: a browser sends its cookie with any cross-site
    form or a script in a served file, and protocol views take no CSRF token, so a write
    carrying only a cookie is anonymous (and gets the format's challenge).
    """
    cached = request_principal(request)
    if cached is not None:
        return cached
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    scheme = scheme.lower()
    try:
        if scheme == "basic":
            principal = _basic(request, credentials.strip())
        elif scheme == "bearer":
            principal = _bearer(credentials.strip())
        else:
            principal = _without_credentials(request)
    except AuthenticationFailed as error:
        logger.warning("authentication failed (%s credentials): %s", scheme, error.message)
        raise
    vars(request)[_PRINCIPAL_ATTRIBUTE] = principal
    audit_actor_set(user=principal.user, token_id=principal.token.pk if principal.token else None)
    request.user = principal.user
    return principal


def _without_credentials(request: HttpRequest) -> Principal:
    if settings.SESSION_COOKIE_NAME not in request.COOKIES or request.method not in SAFE_METHODS:
        return ANONYMOUS  # package clients carry no session; a cookie alone never writes
    session_user = getattr(request, "user", None)
    if session_user is not None and session_user.is_authenticated:
        return Principal(user=session_user)
    return ANONYMOUS
