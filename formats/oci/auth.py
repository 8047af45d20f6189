"""The Docker token flow: short-lived JWTs carrying scopes, and the check every OCI view makes.

https://distribution.github.io/distribution/spec/auth/token/
https://distribution.github.io/distribution/spec/auth/scope/

A token's scopes become ``Principal.claims``: ``{repository: role}`` (which the one permission
check in ``access.permissions`` honours) and ``{repository/image: role}`` (which
``oci_authorize`` adds on top, because a token is granted per image), plus ``CATALOG_CLAIM``
when it grants the catalog. A token obtained with an API token as the password carries that
token's id, so its restrictions (repositories, read-only, revocation) keep applying.

A caller who may not read a repository gets the same answer whether it exists or not: a
challenge when anonymous, NAME_UNKNOWN otherwise (the token endpoint grants nothing for both).
"""

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from formats.oci.protocol.renderers import bearer_challenge
from formats.oci.scopes import Scope
from formats.oci.selectors import FORMAT, OciImage
from formats.plugin import (
    ANONYMOUS,
    AuthenticationRequired,
    GroupReadOnly,
    PermissionDenied,
    Principal,
    ProxyReadOnly,
    Repository,
    RepositoryUnknown,
    Role,
    active_token,
    authenticate,
    has_permission,
    role_of,
)

TOKEN_LIFETIME = timedelta(minutes=15)
TOKEN_ISSUER = "registry"
JWT_ALGORITHM = "HS256"
ACTION_ROLES = {"pull": Role.READ, "push": Role.WRITE, "delete": Role.DELETE}
ROLE_ACTIONS = {Role.READ: ("pull",), Role.WRITE: ("pull", "push"), Role.DELETE: ("delete",)}
EMPTY_BASIC = base64.b64encode(b":").decode()
CATALOG_SCOPE = Scope(type="registry", name="catalog", actions=("*",))
# The claims key of the catalog scope; no repository can have this name (":" is not allowed).
CATALOG_CLAIM = f"{CATALOG_SCOPE.type}:{CATALOG_SCOPE.name}"


def oci_scope(*, image: OciImage, action: Role) -> Scope:
    """Return the token scope that grants ``action`` on ``image``."""
    return Scope(type="repository", name=image.full_name, actions=ROLE_ACTIONS[action])


def _signing_key() -> bytes:
    return hashlib.sha256(b"oci-registry-token:" + settings.SECRET_KEY.encode()).digest()


@dataclass(frozen=True)
class IssuedOciToken:
    """A signed token and what the token endpoint answers with it.

    Attributes:
        token: the JWT.
        expires_in: its lifetime in seconds.
        issued_at: when it was signed.
        access: the granted scopes, as in the JWT's ``access`` claim.
    """

    token: str
    expires_in: int
    issued_at: datetime
    access: list[dict]


def _granted(*, principal: Principal, scope: Scope) -> tuple[str, ...]:
    if scope.type == "registry" and scope.name == "catalog":
        return scope.actions  # the catalog is filtered to what the caller may read anyway
    if scope.type != "repository":
        return ()
    repository = Repository.objects.filter(name=scope.name.partition("/")[0], format=FORMAT).first()
    if repository is None:
        return ()
    role = role_of(principal=principal, repository=repository)
    if role is None:
        return ()
    writes: Role | None = role
    if repository.kind != Repository.Kind.HOSTED:  # reads here, writes in the deploy target
        target = _write_target(repository)
        writes = role_of(principal=principal, repository=target) if target else None
    wanted = tuple(ACTION_ROLES) if "*" in scope.actions else scope.actions
    return tuple(
        a
        for a in wanted
        if a in ACTION_ROLES and ((role if a == "pull" else writes) or 0) >= ACTION_ROLES[a]
    )


def _write_target(repository: Repository) -> Repository | None:
    """Where writes to ``repository`` land: itself if hosted, a group's hosted deploy target."""
    if repository.kind == Repository.Kind.HOSTED:
        return repository
    target = repository.deploy_to if repository.kind == Repository.Kind.GROUP else None
    return target if target is not None and target.kind == Repository.Kind.HOSTED else None


def oci_token_issue(
    *, principal: Principal, scopes: tuple[Scope, ...], service: str
) -> IssuedOciToken:
    """Sign a token granting the requested scopes as far as the principal's roles allow.

    Actions the caller may not perform are silently left out, as the token spec requires; an
    anonymous caller gets pull on public repositories only.
    """
    access = []
    for scope in scopes:
        actions = _granted(principal=principal, scope=scope)
        if actions:
            access.append(Scope(type=scope.type, name=scope.name, actions=actions).to_claim())
    now = datetime.now(tz=UTC)
    user = principal.user
    payload = {
        "iss": TOKEN_ISSUER,
        "sub": user.get_username() if user.is_authenticated else "",
        "uid": user.pk if user.is_authenticated else None,
        "tid": principal.token.pk if principal.token is not None else None,
        "aud": service,
        "iat": now,
        "nbf": now - timedelta(seconds=5),
        "exp": now + TOKEN_LIFETIME,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
    token = jwt.encode(payload, _signing_key(), algorithm=JWT_ALGORITHM)
    return IssuedOciToken(
        token=token,
        expires_in=int(TOKEN_LIFETIME.total_seconds()),
        issued_at=now,
        access=access,
    )


def _claims(access: list) -> dict[str, int]:
    claims: dict[str, int] = {}
    for entry in access:
        if not isinstance(entry, dict):
            continue
        if (entry.get("type"), entry.get("name")) == (CATALOG_SCOPE.type, CATALOG_SCOPE.name):
            claims[CATALOG_CLAIM] = Role.READ
        if entry.get("type") != "repository":
            continue
        name = str(entry.get("name", ""))
        actions = entry.get("actions") or []
        role = max((ACTION_ROLES[a] for a in actions if a in ACTION_ROLES), default=0)
        if role:
            repository = name.partition("/")[0]
            claims[name] = max(claims.get(name, 0), role)
            claims[repository] = max(claims.get(repository, 0), role)
    return claims


def oci_token_verify(secret: str) -> Principal | None:
    """Return the principal of a token this registry signed, or None if it is not one.

    Registered with ``access.auth.register_bearer``; an expired or forged token is not ours
    (None), so the caller gets a fresh challenge.
    """
    if secret.count(".") != 2:
        return None
    try:
        payload = jwt.decode(
            secret,
            _signing_key(),
            algorithms=[JWT_ALGORITHM],
            issuer=TOKEN_ISSUER,
            options={"verify_aud": False, "require": ["exp", "iss"]},
        )
    except jwt.InvalidTokenError:
        return None
    claims = _claims(payload.get("access") or [])
    if payload.get("uid") is None:
        return Principal(user=AnonymousUser(), claims=claims)
    if payload.get("tid") is not None:
        token = active_token(token_id=payload["tid"], user_id=payload["uid"])
        if token is None:
            return None
        return Principal(user=token.user, token=token, claims=claims)
    user = get_user_model().objects.filter(pk=payload["uid"], is_active=True).first()
    return Principal(user=user, claims=claims) if user is not None else None


def oci_authenticate(request: HttpRequest) -> Principal:
    """Return the caller; bad credentials get a Bearer challenge (401)."""
    try:
        return authenticate(request)
    except AuthenticationRequired as error:
        raise AuthenticationRequired(
            error.message, challenge=bearer_challenge(request, error="invalid_token")
        ) from None


def oci_token_caller(request: HttpRequest) -> Principal:
    """Return the caller of the token endpoint; bad credentials get a Basic challenge (401).

    Empty Basic credentials (``Basic Og==``, what some clients send without a login) ask for
    an anonymous token, as at Distribution's token servers.
    """
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and credentials.strip() == EMPTY_BASIC:
        return ANONYMOUS
    try:
        return authenticate(request)
    except AuthenticationRequired as error:
        raise AuthenticationRequired(error.message) from None


def oci_authorize(
    request: HttpRequest,
    *,
    image: OciImage,
    action: Role,
    challenge_scopes: tuple[Scope, ...] = (),
) -> Principal:
    """Return the caller if it may perform ``action`` on ``image``.

    A 401 names ``challenge_scopes`` (by default the image's scope for ``action``): all that the
    request needs, so that the client's next token covers it (a mount needs the target's push
    and the source's pull, as in Distribution).

    Raises:
        AuthenticationRequired: anonymous callers, and tokens lacking the image's scope
            (401 with a challenge naming the scopes, so the client fetches a better token).
        PermissionDenied: an authenticated caller who may read the image but not perform ``action``.
        RepositoryUnknown: an authenticated caller who may not read the image, or a repository that
            does not exist (answered alike, so that names cannot be probed).
    """
    principal = oci_authenticate(request)
    repository = image.repository
    claims = principal.claims
    in_scope = claims is None or claims.get(image.full_name, 0) >= action
    known = image.known
    if (
        known
        and in_scope
        and has_permission(principal=principal, repository=repository, action=action)
    ):
        return principal
    scopes = challenge_scopes or (oci_scope(image=image, action=action),)
    if principal.is_anonymous:
        raise AuthenticationRequired(
            "authentication required", challenge=bearer_challenge(request, scopes=scopes)
        )
    unscoped = Principal(user=principal.user, token=principal.token)
    if not known or not has_permission(principal=unscoped, repository=repository, action=Role.READ):
        raise RepositoryUnknown(name=image.full_name)
    if claims is not None and has_permission(
        principal=unscoped, repository=repository, action=action
    ):
        raise AuthenticationRequired(
            "token does not grant this scope",
            challenge=bearer_challenge(request, scopes=scopes, error="insufficient_scope"),
        )
    raise PermissionDenied(
        f"{Role(action).label} access to {image.full_name!r} denied", name=image.full_name
    )


def oci_catalog_reader(request: HttpRequest) -> Principal:
    """Return the principal whose readable images ``/v2/_catalog`` lists.

    A token granting ``registry:catalog:*`` lists what its user (within the restrictions of the
    API token it was obtained with) may read. An anonymous caller is challenged while some
    repository is hidden from it, so that a client with a login authenticates.

    Raises:
        AuthenticationRequired: an anonymous caller who might see more, or a token without
            the catalog scope (401 naming ``registry:catalog:*``).
    """
    principal = oci_authenticate(request)
    if principal.claims is not None:
        if CATALOG_CLAIM in principal.claims:
            return Principal(user=principal.user, token=principal.token)
        raise AuthenticationRequired(
            "token does not grant the catalog",
            challenge=bearer_challenge(
                request, scopes=(CATALOG_SCOPE,), error="insufficient_scope"
            ),
        )
    if (
        principal.is_anonymous
        and Repository.objects.filter(format=FORMAT, anonymous_read=False).exists()
    ):
        raise AuthenticationRequired(
            "authentication required", challenge=bearer_challenge(request, scopes=(CATALOG_SCOPE,))
        )
    return principal


def oci_authorize_write(
    request: HttpRequest,
    *,
    image: OciImage,
    action: Role,
    challenge_scopes: tuple[Scope, ...] = (),
) -> tuple[Principal, OciImage]:
    """Return the caller and the image a write to ``image`` lands in, if it may write there.

    A hosted image takes its own writes (``oci_authorize``). A group's land in its deploy
    target, for a caller who may read the group and perform ``action`` in the target, with a
    token granting ``action`` on the group's image. Proxies and groups without a target are
    read-only.

    Raises:
        ProxyReadOnly, GroupReadOnly: 405 for a caller who may read the repository.
        AuthenticationRequired, PermissionDenied, RepositoryUnknown: as ``oci_authorize``.
    """
    repository = image.repository
    if not image.known or repository.kind == Repository.Kind.HOSTED:
        principal = oci_authorize(
            request, image=image, action=action, challenge_scopes=challenge_scopes
        )
        return principal, image
    scopes = challenge_scopes or (oci_scope(image=image, action=action),)
    principal = oci_authorize(request, image=image, action=Role.READ, challenge_scopes=scopes)
    target = _write_target(repository)
    if target is None and repository.kind == Repository.Kind.PROXY:
        raise ProxyReadOnly(f"{repository.name!r} is a proxy: it is read-only")
    if target is None:
        raise GroupReadOnly(
            f"{repository.name!r} is a group without a deploy target: push to a member"
        )
    caller = Principal(user=principal.user, token=principal.token)
    if not has_permission(principal=caller, repository=target, action=action):
        if principal.is_anonymous:
            raise AuthenticationRequired(
                "authentication required", challenge=bearer_challenge(request, scopes=scopes)
            )
        raise PermissionDenied(
            f"{Role(action).label} access to {image.full_name!r} denied", name=image.full_name
        )
    if principal.claims is not None and principal.claims.get(image.full_name, 0) < action:
        raise AuthenticationRequired(
            "token does not grant this scope",
            challenge=bearer_challenge(request, scopes=scopes, error="insufficient_scope"),
        )
    return principal, OciImage(repository=target, name=image.name)
