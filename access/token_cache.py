"""API tokens verified a moment ago, remembered in this process's memory.

Clients send their token with every request (pip, npm, mvn as a password; skopeo's registry JWT
carries its id), and reading the token and its user was two of the six queries of a cached
document's read. A token found active is therefore kept for ``TOKEN_CACHE_SECONDS`` (5 by
default, as nginx keeps ``/-/authorize`` answers): the longest a token revoked by another
process, or one whose user was deactivated, keeps working there. Revoking in this process
forgets it at once; expiry is checked on every use; unknown and inactive tokens are never
kept. The entries are pickled copies (Django's local-memory cache), so no two requests share
one.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches

from access.models import ApiToken

LOCAL_CACHE = "local"  # settings.CACHES: this process's memory
KEY_BY_HASH = "access:token:hash:"
KEY_BY_ID = "access:token:id:"


def token_remembered(key: str, load: Callable[[], ApiToken | None]) -> ApiToken | None:
    """Return the active token cached under ``key``, or ``load()`` it (and keep it if active)."""
    cache = caches[LOCAL_CACHE]
    token = cache.get(key)
    if token is None:
        token = load()
        if token is None or not token.is_active or not token.user.is_active:
            return token
        if settings.TOKEN_CACHE_SECONDS > 0:
            cache.set(key, token, timeout=settings.TOKEN_CACHE_SECONDS)
    return token


def token_forget(token: ApiToken) -> None:
    """Drop every copy of ``token`` this process keeps (it was just revoked)."""
    caches[LOCAL_CACHE].delete_many([KEY_BY_HASH + token.token_hash, f"{KEY_BY_ID}{token.pk}"])
