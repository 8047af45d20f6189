"""Writes: tokens, role grants and repositories created by a user.

Token rule: a credential creates only tokens at most as narrow as itself. A password, a web
session or an unrestricted API token may create any token of its user. A read-only or
repository-scoped token creates tokens that are read-only too (if it is), limited to a subset
of its repositories (if it is limited), and that expire no later than it does (if it expires);
limits a request leaves out are inherited, limits it widens are refused. An OCI registry JWT
creates no tokens.

Revoking: a token may always revoke itself. Revoking another token is a write: a read-only
token or a JWT never does it, and a repository-scoped token revokes only tokens limited to some
of its own repositories (the tokens it could have created, whose reach is within its own: this
keeps ``npm login``, whose token is limited to one repository, then ``npm token create`` and
``npm token revoke`` working). An unrestricted credential revokes any token of its user.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.contrib.auth.models import AnonymousUser, Group, User
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from access.auth import Principal
from access.models import ApiToken, RepositoryRole, Role, generate_token_secret, hash_token
from access.permissions import is_restricted
from access.token_cache import token_forget
from audit.models import Action
from audit.services import audit_record
from formats.models.repository import Repository
from registry_project.errors import AuthenticationRequired, BadRequest, PermissionDenied

# The longest lifetime a token may be given (timedelta and the database overflow past ~2.7M).
TOKEN_MAX_DAYS = 36500


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the secret exists only here, never in the database."""

    token: ApiToken
    secret: str


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str = "",
    repositories: list[Repository] | None = None,
    expires_in: timedelta | None = None,
    read_only: bool = False,
) -> IssuedToken:
    """Create an API token for ``user``, optionally scoped to repositories and expiring.

    This trusts its caller (a command, a password login): requests made with a credential go
    through ``token_create_for``.
    """
    return _token_insert(
        user=user,
        name=name,
        repositories=repositories or [],
        expires_at=timezone.now() + expires_in if expires_in else None,
        read_only=read_only,
    )


def _token_insert(
    *,
    user: User,
    name: str,
    repositories: list[Repository],
    expires_at: datetime | None,
    read_only: bool,
) -> IssuedToken:
    secret = generate_token_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        token_hash=hash_token(secret),
        token_prefix=secret[:10],
        read_only=read_only,
        expires_at=expires_at,
        scoped=bool(repositories),
    )
    if repositories:
        token.repositories.set(repositories)
    audit_record(
        Action.TOKEN_CREATE,
        details={
            "token_id": token.pk,
            "owner": user.username,
            "name": name,
            "read_only": read_only,
            "repositories": [repository.name for repository in repositories],
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def token_create_for(
    *,
    principal: Principal,
    name: str = "",
    repositories: list[Repository] | None = None,
    expires_in_days: int | None = None,
    read_only: bool | None = None,
) -> IssuedToken:
    """Create a token for the caller's user, at most as narrow as the caller's credential.

    Args:
        principal: The caller; its credential bounds the new token (module docstring).
        name: A label for people.
        repositories: Limit the new token to these; None or empty inherits the caller's limit
            (none for an unscoped caller).
        expires_in_days: Lifetime; None inherits the caller's expiry (none if it has none).
        read_only: None inherits the caller's flag.

    Raises:
        BadRequest: ``expires_in_days`` is not between 1 and TOKEN_MAX_DAYS.
        PermissionDenied: the caller is an OCI registry JWT, or the request widens a limit.
    """
    if expires_in_days is not None and not 1 <= expires_in_days <= TOKEN_MAX_DAYS:
        raise BadRequest(f"expires_in_days must be between 1 and {TOKEN_MAX_DAYS}")
    if principal.claims is not None:
        raise PermissionDenied("a registry token (JWT) cannot create API tokens")
    now = timezone.now()
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
    wanted = list(repositories or [])
    parent = principal.token
    if parent is not None:
        if read_only is False and parent.read_only:
            raise PermissionDenied("a read-only token can create only read-only tokens")
        read_only = read_only or parent.read_only
        scope = list(parent.repositories.all())
        if scope and not wanted:
            wanted = scope
        elif scope and not set(wanted) <= set(scope):
            raise PermissionDenied("a repository-scoped token cannot widen its scope")
        if parent.expires_at is not None and expires_at is None:
            expires_at = parent.expires_at
        elif parent.expires_at is not None and expires_at and expires_at > parent.expires_at:
            raise PermissionDenied(
                f"this token expires at {parent.expires_at.isoformat()}; "
                "the tokens it creates cannot outlive it"
            )
    if isinstance(principal.user, AnonymousUser):
        raise AuthenticationRequired()
    return _token_insert(
        user=principal.user,
        name=name,
        repositories=wanted,
        expires_at=expires_at,
        read_only=bool(read_only),
    )


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke ``token``; it stops working at once and stays listed for audit."""
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            token_forget(token)
            audit_record(
                Action.TOKEN_REVOKE, details={"token_id": token.pk, "owner": token.user.username}
            )
    return token


def token_revoke_for(*, principal: Principal, token: ApiToken) -> ApiToken:
    """Revoke one of the caller's tokens, within the caller's reach (module docstring).

    Raises:
        PermissionDenied: ``token`` is another token and the caller is read-only, a JWT, or
            limited to repositories that do not cover all of ``token``'s.
    """
    parent = principal.token
    if parent is None or parent.pk != token.pk:
        if principal.claims is not None or (parent is not None and parent.read_only):
            raise PermissionDenied("a read-only or registry token can revoke only itself")
        # Claims were refused above, so only a token (parent) can restrict this caller.
        restricted = parent is not None and is_restricted(principal=principal)
        if restricted and not _within_scope(parent=cast(ApiToken, parent), token=token):
            raise PermissionDenied(
                "a repository-scoped token can revoke only tokens limited to its repositories"
            )
    return token_revoke(token=token)


def _within_scope(*, parent: ApiToken, token: ApiToken) -> bool:
    scope = set(parent.repositories.values_list("pk", flat=True))
    reach = set(token.repositories.values_list("pk", flat=True))
    return bool(reach) and reach <= scope


def role_grant(
    *,
    repository: Repository,
    role: Role,
    user: User | None = None,
    group: Group | None = None,
) -> RepositoryRole:
    """Give a user or a group ``role`` on ``repository``, replacing the role it had there."""
    with transaction.atomic():
        binding, _ = RepositoryRole.objects.update_or_create(
            repository=repository, user=user, group=group, defaults={"role": role}
        )
        role_recorded(binding=binding, action=Action.ROLE_GRANT)
    return binding


def role_revoke(*, binding: RepositoryRole) -> None:
    """Take a user's or a group's role on a repository away."""
    with transaction.atomic():
        role_recorded(binding=binding, action=Action.ROLE_REVOKE)
        binding.delete()


def role_recorded(*, binding: RepositoryRole, action: str) -> None:
    """Record a grant or revocation (the admin console's edits save the row themselves)."""
    holder = {"user": binding.user.username} if binding.user else {"group": str(binding.group)}
    audit_record(
        action,
        repository=binding.repository.name,
        details={**holder, "role": Role(binding.role).label},
    )


def user_create(*, username: str, password: str, email: str = "") -> User:
    """Create an active user with a password (validated as Django's password validators say).

    Raises:
        ValidationError: the name is taken or invalid, or the password too weak.
    """
    user = User(username=username, email=email)
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save()
        audit_record(Action.USER_CREATE, details={"subject": username})
    return user


def user_active_set(*, user: User, active: bool) -> User:
    """Activate or deactivate ``user``; a deactivated user's passwords and tokens stop working."""
    with transaction.atomic():
        if user.is_active != active:
            user.is_active = active
            user.save(update_fields=["is_active"])
            action = Action.USER_ACTIVATE if active else Action.USER_DEACTIVATE
            audit_record(action, details={"subject": user.username})
    return user


def user_password_set(*, user: User, password: str) -> User:
    """Give ``user`` a new password (validated); the audit record holds no trace of it.

    Raises:
        ValidationError: the password is too weak.
    """
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(Action.USER_PASSWORD, details={"subject": user.username})
    return user


def group_create(*, name: str) -> Group:
    """Create a group of users (roles granted to it reach every member).

    Raises:
        ValidationError: the name is taken or invalid.
    """
    group = Group(name=name)
    group.full_clean()
    with transaction.atomic():
        group.save()
        audit_record(Action.GROUP_CREATE, details={"group": name})
    return group


def group_members_set(*, group: Group, users: list[User]) -> None:
    """Make ``users`` the members of ``group``."""
    with transaction.atomic():
        group.user_set.set(users)
        audit_record(
            Action.GROUP_MEMBERS,
            details={"group": group.name, "members": sorted(user.username for user in users)},
        )
