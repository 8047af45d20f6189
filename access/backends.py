"""The password check behind every sign-in: throttled, and cached for a short time.

A password hash (PBKDF2, about a second of CPU by design) on every request would let pip and mvn,
which send their credentials with every GET, cost a core each. A verified password is therefore
remembered for ``PASSWORD_CACHE_SECONDS``, in this process's memory and in the default cache
(the same when ``CACHE_URL`` is unset; Redis shares one hash between every process and replica,
and the copy in memory spares a hit its round trip to Redis):

- the key is an HMAC of user name and password under the secret key, so the cache never holds
  the password or anything it can be guessed from without the key;
- the value is the user's id, an HMAC of the stored password hash and user name, and when it
  expires; it is checked on every hit against the user as it is now: a changed password, a
  renamed or deactivated user misses and is checked (and refused) by ModelBackend again.

The lockout check (``access.throttle``) comes first, for hits too.
"""

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.cache import caches
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from access.throttle import client_address, sign_in_allowed, sign_in_failure_record
from registry_project.db import row_get

CACHE_KEY_PREFIX = "access:password:"
LOCAL_CACHE = "local"  # settings.CACHES: this process's memory
SHARED_CACHE = "default"


def _digest(salt: str, *parts: str) -> str:
    value = "\0".join(f"{len(part)}:{part}" for part in parts)
    return salted_hmac(f"access.backends.{salt}", value, algorithm="sha256").hexdigest()


def _binding(user: User) -> str:
    return _digest("binding", str(user.pk), user.get_username(), user.password)


def _live(entry: object) -> bool:
    return isinstance(entry, tuple) and len(entry) == 3 and entry[2] > time.time()


def _cached(key: str) -> tuple | None:
    entry = caches[LOCAL_CACHE].get(key)
    if not _live(entry):
        entry = caches[SHARED_CACHE].get(key)
        if not _live(entry):
            return None
        caches[LOCAL_CACHE].set(key, entry, timeout=entry[2] - time.time())
    return entry


class PasswordBackend(ModelBackend):
    """Django's ModelBackend behind the sign-in throttle, with a cache of verified passwords.

    Raises ``TooManyAttempts`` (429) out of ``django.contrib.auth.authenticate`` for a locked
    user name or address: Django lets any exception but PermissionDenied through, and each
    caller renders it in its client's format.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        address = client_address(request)
        sign_in_allowed(username=username, address=address)
        key = CACHE_KEY_PREFIX + _digest("credentials", username, password)
        user = self._remembered(_cached(key), username=username)
        if user is not None:
            return user
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            sign_in_failure_record(username=username, address=address)
        elif settings.PASSWORD_CACHE_SECONDS > 0:
            entry = (user.pk, _binding(user), time.time() + settings.PASSWORD_CACHE_SECONDS)
            for alias in (SHARED_CACHE, LOCAL_CACHE):
                caches[alias].set(key, entry, timeout=settings.PASSWORD_CACHE_SECONDS)
        return user

    def _remembered(self, entry: tuple | None, *, username: str) -> User | None:
        if entry is None:
            return None
        user_id, binding, _ = entry
        model = get_user_model()
        user = row_get(model, **{model._meta.pk.name: user_id})
        if user is None or user.get_username() != username or not self.user_can_authenticate(user):
            return None
        return user if constant_time_compare(binding, _binding(user)) else None
