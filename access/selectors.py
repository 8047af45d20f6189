"""Reads of the access model: those made on every authenticated request are fixed statements."""

from collections.abc import Sequence
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet

from access.models import ApiToken, RepositoryRole
from registry_project.db import placeholders, quoted, row_get, values_list


@cache
def _role_statement(count: int) -> str:
    memberships = get_user_model().groups.through
    role, table = quoted(RepositoryRole, "role"), quoted(RepositoryRole)
    repository = quoted(RepositoryRole, "repository")
    return (
        f"SELECT {repository}, MAX({role}) FROM {table}"
        f" WHERE {repository} IN ({placeholders(count)}) "
        f"AND ({quoted(RepositoryRole, 'user')} = %s OR {quoted(RepositoryRole, 'group')} IN "
        f"(SELECT {quoted(memberships, 'group')} FROM {quoted(memberships)} "
        f"WHERE {quoted(memberships, 'user')} = %s)) GROUP BY {repository}"
    )


def roles_granted(*, user_id: int, repository_ids: Sequence[int]) -> dict[int, int]:
    """Return the strongest role granted to the user, directly or by a group, per repository.

    One statement for any number of repositories; those without a grant are left out.
    """
    if not repository_ids:
        return {}
    statement = _role_statement(len(repository_ids))
    return dict(values_list(statement, [*repository_ids, user_id, user_id]))


def token_is_scoped(*, token: ApiToken) -> bool:
    """Return whether a token is limited to some repositories (its ``scoped`` flag).

    Not whether it still has repositories: one whose repositories were all deleted reaches none.
    """
    return token.scoped


def token_by_hash(*, token_hash: str) -> ApiToken | None:
    """Return the token with this hash and its user, or None."""
    return _with_user(row_get(ApiToken, token_hash=token_hash))


def token_by_id(*, token_id: int) -> ApiToken | None:
    """Return the token ``token_id`` and its user, or None."""
    return _with_user(row_get(ApiToken, id=token_id))


def _with_user(token: ApiToken | None) -> ApiToken | None:
    user = row_get(get_user_model(), id=token.user_id) if token is not None else None
    if token is None or user is None:
        return None  # a token whose user was deleted meanwhile is no token
    token.user = user
    return token


def token_list(*, user: User) -> QuerySet[ApiToken]:
    """Return a user's tokens, newest first, revoked and expired ones included (for audit)."""
    return ApiToken.objects.filter(user=user).prefetch_related("repositories")
