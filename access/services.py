"""Writes: tokens and role grants."""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils import timezone

from access.models import ApiToken, RepositoryRole, Role, generate_token_secret, hash_token
from formats.models import Repository


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the secret exists only here, never in the database."""

    token: ApiToken
    secret: str


@transaction.atomic
def token_create(
    *,
    user: AbstractBaseUser,
    name: str = "",
    repositories: list[Repository] | None = None,
    expires_in: timedelta | None = None,
    read_only: bool = False,
) -> IssuedToken:
    """Create an API token for ``user``, optionally scoped to repositories and expiring."""
    secret = generate_token_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        token_hash=hash_token(secret),
        token_prefix=secret[:10],
        read_only=read_only,
        expires_at=timezone.now() + expires_in if expires_in else None,
    )
    if repositories:
        token.repositories.set(repositories)
    return IssuedToken(token=token, secret=secret)


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke ``token``; it stops working at once and stays listed for audit."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def role_grant(
    *,
    repository: Repository,
    role: Role,
    user: AbstractBaseUser | None = None,
    group: Group | None = None,
) -> RepositoryRole:
    """Give a user or a group ``role`` on ``repository``, replacing the role it had there."""
    binding, _ = RepositoryRole.objects.update_or_create(
        repository=repository, user=user, group=group, defaults={"role": role}
    )
    return binding
