"""Failed password checks, counted per user name and per client address, lock both out.

Every password check (HTTP Basic on every protocol, ``/v2/token``, the management API, npm
login, the web and admin sign-in) goes through ``access.backends.PasswordBackend``, which asks
``sign_in_allowed`` first and calls ``sign_in_failure_record`` after a wrong password. A key
that collects ``limit`` failures within ``SIGN_IN_FAILURE_WINDOW_SECONDS`` of its first one is
locked for ``SIGN_IN_LOCKOUT_SECONDS``: every password check for that user name, or from that
address, is refused (429) without hashing, the right password too, while API tokens keep
working. A success does not reset the count, or an attacker guessing alongside a CI job that
signs in every minute would never be stopped. The counts live in the database (one row per
key), so every gunicorn worker and replica shares them.
"""

import logging
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from access.errors import TooManyAttempts
from access.models import SignInThrottle
from audit.models import Action
from audit.services import audit_record
from registry_project.db import quoted, rows_list, select_columns

HEADER_FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"
logger = logging.getLogger(__name__)


def client_address(request: HttpRequest | None) -> str:
    """Return the caller's IP address ("" without a request).

    Behind ``TRUSTED_PROXY_COUNT`` proxies that append to ``X-Forwarded-For`` (nginx's
    ``$proxy_add_x_forwarded_for``), the address is the one the outermost proxy saw; entries
    further left are whatever the client sent, so they are never trusted.
    """
    if request is None:
        return ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get(HEADER_FORWARDED_FOR, "").split(",")]
        if len(forwarded) >= proxies and forwarded[-proxies]:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _limits(*, username: str, address: str) -> dict[str, int]:
    limits = {f"user:{username}"[:200]: settings.SIGN_IN_FAILURE_LIMIT_USER}
    if address:
        limits[f"address:{address}"[:200]] = settings.SIGN_IN_FAILURE_LIMIT_ADDRESS
    return limits


@cache
def _rows_statement(keys: int) -> str:
    placeholders = ", ".join(["%s"] * keys)
    return (
        f"SELECT {select_columns(SignInThrottle)} FROM {quoted(SignInThrottle)} "
        f"WHERE {quoted(SignInThrottle, 'key')} IN ({placeholders})"
    )


def sign_in_allowed(*, username: str, address: str) -> None:
    """Refuse a password check for a locked-out user name or address.

    Asked before every password check, cached ones too: a fixed statement, as for tokens.

    Raises:
        TooManyAttempts: with the seconds until the later lockout ends.
    """
    now = timezone.now()
    keys = list(_limits(username=username, address=address))
    rows = rows_list(SignInThrottle, _rows_statement(len(keys)), keys)
    until = max((row.locked_until for row in rows if row.locked_until), default=None)
    if until is not None and until > now:
        raise TooManyAttempts(retry_after=max(1, int((until - now).total_seconds() + 0.999)))


def sign_in_failure_record(*, username: str, address: str) -> None:
    """Count a wrong password against the user name and the address; lock a key at its limit.

    The failure is in the audit log, with the name tried and the address."""
    now = timezone.now()
    window = timedelta(seconds=settings.SIGN_IN_FAILURE_WINDOW_SECONDS)
    lockout = timedelta(seconds=settings.SIGN_IN_LOCKOUT_SECONDS)
    limits = _limits(username=username, address=address)
    with transaction.atomic():
        audit_record(Action.LOGIN_FAILED, username=username[:150], address=address)
        # Our own keys stay: a stale row of ours simply starts a new window below.
        SignInThrottle.objects.filter(expires__lt=now).exclude(key__in=list(limits)).delete()
        # Keys in a fixed order, so two failures of the same user from two addresses cannot
        # each hold the row the other waits for.
        for key, limit in sorted(limits.items()):
            SignInThrottle.objects.get_or_create(
                key=key, defaults={"window_start": now, "expires": now + window}
            )
            row = SignInThrottle.objects.select_for_update().get(key=key)
            if row.window_start + window <= now:
                row.failures, row.window_start = 0, now
            row.failures += 1
            if row.failures >= limit:
                row.locked_until = now + lockout
                logger.warning("sign-in locked out after %d failures: %s", limit, key)
                row.failures, row.window_start = 0, now
            row.expires = max(row.window_start + window, row.locked_until or now)
            row.save()
