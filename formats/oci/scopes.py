"""Token scopes and the Bearer challenge of the Docker token flow: pure, no Django.

https://distribution.github.io/distribution/spec/auth/scope/ and
https://distribution.github.io/distribution/spec/auth/token/
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from formats.oci.errors import ScopeInvalid
from formats.oci.names import validate_name
from registry_project.errors import InvalidName

_SCOPE_TYPE_RE = re.compile(r"[a-z0-9]+(?:\([a-z0-9]+\))?")
_SCOPE_ACTION_RE = re.compile(r"[a-z]+|\*")


@dataclass(frozen=True)
class Scope:
    """One resource scope of a token request, e.g. ``repository:team/app:pull,push``.

    Attributes:
        type: Resource type, such as ``repository`` or ``registry`` (with an optional class,
            ``repository(plugin)``).
        name: Resource name, such as ``team/app`` or ``catalog``.
        actions: Requested actions in first-seen order, such as ``("pull", "push")`` or
            ``("*",)``.
    """

    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    def to_claim(self) -> dict[str, Any]:
        """Return the scope as an entry of a token's ``access`` claim.

        Returns:
            ``{"type": ..., "name": ..., "actions": [...]}``.
        """
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def parse_scope(value: str) -> Scope:
    """Parse one ``scope`` value of the token endpoint.

    The name may itself contain ``:`` (``host:port/name`` in some clients), so the type ends
    at the first colon and the actions start after the last one. Repository names are
    validated like ``/v2/<name>/`` paths.

    Args:
        value: E.g. ``repository:team/app:pull,push`` or ``registry:catalog:*``.

    Returns:
        The parsed scope, with duplicate actions removed.

    Raises:
        ScopeInvalid: If the value is malformed or names an invalid repository.
    """
    type_, sep1, rest = value.partition(":")
    name, sep2, actions_part = rest.rpartition(":")
    if not sep1 or not sep2 or not name or not _SCOPE_TYPE_RE.fullmatch(type_):
        raise ScopeInvalid("malformed scope", scope=value)
    actions = tuple(dict.fromkeys(a.strip() for a in actions_part.split(",") if a.strip()))
    if not actions or not all(_SCOPE_ACTION_RE.fullmatch(a) for a in actions):
        raise ScopeInvalid("malformed scope actions", scope=value)
    if type_.partition("(")[0] == "repository":
        try:
            validate_name(name)
        except InvalidName as exc:
            raise ScopeInvalid("invalid repository name in scope", scope=value) from exc
    return Scope(type=type_, name=name, actions=actions)


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Parse every ``scope`` parameter of a token request and merge duplicates.

    Clients send one ``scope`` parameter per resource (skopeo adds the mount source as a
    second one); OAuth2-style POSTs join them with spaces. Both are accepted.

    Args:
        values: The ``scope`` parameter values (``request.GET.getlist("scope")``).

    Returns:
        One scope per (type, name) in first-seen order, actions merged in first-seen order.

    Raises:
        ScopeInvalid: If any scope is malformed.
    """
    merged: dict[tuple[str, str], Scope] = {}
    for value in values:
        for part in value.split():
            scope = parse_scope(part)
            key = (scope.type, scope.name)
            if key in merged:
                actions = tuple(dict.fromkeys(merged[key].actions + scope.actions))
                scope = Scope(type=scope.type, name=scope.name, actions=actions)
            merged[key] = scope
    return tuple(merged.values())


def build_bearer_challenge(
    *, realm: str, service: str, scopes: Iterable[Scope] = (), error: str | None = None
) -> str:
    """Build the ``WWW-Authenticate`` value of a 401 that sends clients to the token endpoint.

    Args:
        realm: Absolute URL of the token endpoint.
        service: The service name clients echo back as ``service=``.
        scopes: The scopes the request needed; clients ask the token endpoint for them.
        error: An RFC 6750 error such as ``insufficient_scope``, if any.

    Returns:
        E.g. ``Bearer realm="https://r/token",service="r",scope="repository:a:pull"``.
    """
    parts = [f'realm="{realm}"', f'service="{service}"']
    scope_text = " ".join(str(s) for s in scopes)
    if scope_text:
        parts.append(f'scope="{scope_text}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ",".join(parts)
