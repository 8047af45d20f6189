"""The one permission check every endpoint goes through."""

from collections.abc import Sequence
from typing import TypeGuard

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from access.auth import Principal, authenticate
from access.models import ApiToken, RepositoryRole, Role
from access.selectors import roles_granted, token_is_scoped
from formats.models.repository import Repository, RepositoryMember
from registry_project.errors import AuthenticationRequired, PermissionDenied

# An action needs at least this role.
READ, WRITE, DELETE, ADMIN = Role.READ, Role.WRITE, Role.DELETE, Role.ADMIN


def _is_scoped(token: ApiToken | None) -> TypeGuard[ApiToken]:
    return token is not None and token_is_scoped(token=token)


def _scope_cap(token: ApiToken, repository: Repository) -> Role | None:
    """Return the most a scoped token may do on ``repository`` (None: it is out of scope).

    A token scoped to a group (``npm login`` at a group URL) covers what the group reaches: its
    members, directly or through nested groups, to read, and its deploy target to write.
    """
    scope = set(token.repositories.values_list("pk", flat=True))
    if repository.pk in scope:
        return Role.ADMIN
    cap, seen, pending = None, {repository.pk}, [repository.pk]
    while pending:
        links = RepositoryMember.objects.filter(member_id=pending.pop())
        for group_id, target_id in links.values_list("group_id", "group__deploy_to_id"):
            if group_id in scope:
                cap = Role.ADMIN if target_id == repository.pk else (cap or Role.READ)
            if group_id not in seen:
                seen.add(group_id)
                pending.append(group_id)
    return cap


def role_of(*, principal: Principal, repository: Repository) -> Role | None:
    """Return the strongest role the principal holds on ``repository`` (None for none).

    A token limited to some repositories still reads, elsewhere, what anyone may read.
    """
    return roles_of(principal=principal, repositories=[repository])[0]


def roles_of(*, principal: Principal, repositories: Sequence[Repository]) -> list[Role | None]:
    """Return ``role_of`` for each of ``repositories``, in order, with one query for the grants
    of all (a group read checks every hosted member)."""
    user = principal.user
    if isinstance(user, AnonymousUser) or not user.is_active:
        return [Role.READ if repository.anonymous_read else None for repository in repositories]
    token = principal.token
    scoped = _is_scoped(token)
    granted = {}
    if not user.is_superuser:
        granted = roles_granted(user_id=user.pk, repository_ids=[r.pk for r in repositories])
    roles = []
    for repository in repositories:
        public = Role.READ if repository.anonymous_read else None
        cap = _scope_cap(token, repository) if scoped and token is not None else Role.ADMIN
        if cap is None:
            role: Role | None = public
        elif user.is_superuser:
            role = Role.ADMIN
        else:
            found = granted.get(repository.pk)
            role = Role(found) if found else None
            if role is None and repository.anonymous_read:
                role = Role.READ
        if role is not None and token is not None and token.read_only:
            role = Role.READ
        if role is not None and cap is not None:
            role = min(role, cap)
        if role is not None and principal.claims is not None:
            role = min(role, principal.claims.get(repository.name, 0)) or None
            role = Role(role) if role else None
        roles.append(role)
    return roles


def is_restricted(*, principal: Principal) -> bool:
    """Return whether the caller's credential is narrower than its user's own rights.

    Read-only and repository-scoped API tokens are, and so is a bearer credential carrying
    claims (an OCI registry JWT). A restricted credential never creates repositories, and the
    tokens it creates or revokes are within its own limits (``access.services``).
    An expiry alone limits how long a token works, not what it may do: it is not a restriction
    here (the tokens it creates still expire no later than it does).
    """
    token = principal.token
    if principal.claims is not None:
        return True
    return token is not None and (token.read_only or _is_scoped(token))


def may_create_repositories(*, principal: Principal) -> bool:
    """Return whether the caller may create repositories.

    Creating one is a global right: a superuser's, or the ``formats.add_repository`` model
    permission granted to a user or a group (``is_staff`` alone grants nothing). It is
    exercised only with an unrestricted credential. Changing or deleting a repository needs
    the ADMIN role on it (``has_permission``), which applies every token limit.
    """
    user = principal.user
    if isinstance(user, AnonymousUser) or not user.is_active:
        return False
    return not is_restricted(principal=principal) and user.has_perm("formats.add_repository")


def is_registry_admin(*, principal: Principal) -> bool:
    """Return whether the caller administers the whole registry (the admin console, the store).

    That is an active superuser with an unrestricted credential: a read-only or scoped token,
    or an OCI JWT, of a superuser is not one.
    """
    user = principal.user
    if isinstance(user, AnonymousUser) or not user.is_active or not user.is_superuser:
        return False
    return not is_restricted(principal=principal)


def has_permission(*, principal: Principal, repository: Repository, action: Role) -> bool:
    """Return whether the principal may perform ``action`` on ``repository``."""
    role = role_of(principal=principal, repository=repository)
    return role is not None and role >= action


def permitted(
    *, principal: Principal, repositories: Sequence[Repository], action: Role
) -> list[Repository]:
    """Return those of ``repositories`` the principal may perform ``action`` on, in order."""
    roles = roles_of(principal=principal, repositories=repositories)
    return [
        repository
        for repository, role in zip(repositories, roles, strict=True)
        if role is not None and role >= action
    ]


def require(
    request: HttpRequest,
    *,
    repository: Repository,
    action: Role,
    challenge: str = 'Basic realm="registry"',
) -> Principal:
    """Return the caller if it may perform ``action``; else raise 401 (anonymous) or 403."""
    principal = authenticate(request)
    if has_permission(principal=principal, repository=repository, action=action):
        return principal
    if principal.is_anonymous:
        raise AuthenticationRequired("authentication required", challenge=challenge)
    raise PermissionDenied(f"{action.label} access to {repository.name!r} denied")


def readable_repositories(*, principal: Principal) -> QuerySet[Repository]:
    """Return the repositories the principal may read."""
    repositories = Repository.objects.all()
    user = principal.user
    if isinstance(user, AnonymousUser) or not user.is_active:
        return repositories.filter(anonymous_read=True)
    if _is_scoped(principal.token):
        repositories = repositories.filter(
            Q(anonymous_read=True) | Q(pk__in=principal.token.repositories.all())
        )
    if principal.claims is not None:
        repositories = repositories.filter(name__in=list(principal.claims))
    if user.is_superuser:
        return repositories
    granted = RepositoryRole.objects.filter(Q(user=user) | Q(group__user=user))
    return repositories.filter(
        Q(anonymous_read=True) | Q(pk__in=granted.values("repository"))
    ).distinct()


def may_read_metrics(*, principal: Principal) -> bool:
    """Return whether the caller may read ``/-/metrics``: a superuser, or a user (such as a
    monitoring system's, with an API token) granted ``access.read_metrics``."""
    user = principal.user
    return user.is_active and user.has_perm("access.read_metrics")


def may_read_status(*, principal: Principal) -> bool:
    """Return whether the caller may read ``/-/status`` (versions, queues): registry
    administrators (a scoped or read-only token of a superuser is not one)."""
    return is_registry_admin(principal=principal)
