"""Who is acting in this request or task: set by middleware and authentication, read by
``audit_record``. A task or a command has no context: its events have no actor."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest


@dataclass
class Actor:
    address: str = ""
    request: HttpRequest | None = None
    user: User | AnonymousUser | None = None
    token_id: int | None = None


_current: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


@contextmanager
def audit_scope(*, address: str, request: HttpRequest | None = None) -> Iterator[Actor]:
    """Make the caller at ``address`` the actor of events recorded inside the block."""
    actor = Actor(address=address, request=request)
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def audit_actor_set(*, user: User | AnonymousUser, token_id: int | None) -> None:
    """Record who authenticated in the current scope (no scope: nothing to do)."""
    actor = _current.get()
    if actor is not None:
        actor.user, actor.token_id = user, token_id


def current_actor() -> Actor | None:
    return _current.get()
