"""Writes of the npm format: publish, metadata updates, dist-tags, unpublish and npm logins.

Every write ends by regenerating the package's two documents (full and abbreviated packument)
so that ``GET /<name>`` is one query however many versions exist. The documents are stored
with ``TARBALL_BASE_PLACEHOLDER`` where the registry URL goes; the view substitutes the URL the
client used, so one stored document serves every host name the registry is reached by.
"""

import dataclasses
import io
import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import authenticate as password_authenticate
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from nodesemver import gt, make_semver  # type: ignore[import-untyped]

from formats.npm import archives, bodies, manifests, metadata, names
from formats.npm.errors import (
    DistTagProtected,
    DistTagUnknown,
    LoginFailed,
    PasswordMismatch,
    RevisionConflict,
    TokenUnknown,
    VersionPublished,
)
from formats.npm.selectors import npm_token_find, npm_version_records
from formats.plugin import (
    READ,
    TOKEN_PREFIX,
    ApiToken,
    AuthenticationRequired,
    CoordinateReused,
    IssuedToken,
    Package,
    Principal,
    Repository,
    Tag,
    User,
    Version,
    VersionExists,
    asset_put,
    blob_ingest,
    coordinate_record,
    document_delete,
    document_put,
    has_permission,
    package_delete,
    package_ensure,
    package_lock,
    tag_delete,
    tag_set,
    token_create,
    token_create_for,
    token_revoke_for,
    version_create,
    version_delete,
    version_deprecate,
    version_get,
)

# JSON escapes control characters, so the placeholder cannot come out of user text unescaped.
TARBALL_BASE_PLACEHOLDER = "\x00npm-registry-base\x00"
TARBALL_BASE_PLACEHOLDER_JSON = json.dumps(TARBALL_BASE_PLACEHOLDER)[1:-1].encode()
LATEST = "latest"
LOGIN_TOKEN_NAME = "npm login"
CLI_TOKEN_NAME = "npm token create"


def packument_key(*, name: str) -> str:
    """Return the Document key of a package's full packument."""
    return f"packument:{name}"


def abbreviated_key(*, name: str) -> str:
    """Return the Document key of a package's abbreviated (install) packument."""
    return f"abbreviated:{name}"


def _dumps(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _next_rev(package: Package) -> str:
    count = int(str(package.metadata.get("rev", "0-")).split("-", 1)[0] or 0)
    return f"{count + 1}-{uuid.uuid4().hex}"


def npm_documents_rebuild(*, package: Package) -> Package:
    """Regenerate the stored packuments of ``package`` and give it a new ``_rev``.

    Call it inside the transaction of the write, with the package row locked.
    """
    records = npm_version_records(package=package)
    tags = dict(package.tags.values_list("name", "version__version"))
    now = timezone.now()
    rev = _next_rev(package)
    latest = next((r for r in records if r["version"] == tags.get(LATEST)), None)
    if latest is None and records:
        latest = records[-1]
    maintainers = {
        r["publisher"]: {"name": r["publisher"], "email": r["publisher_email"]}
        for r in records
        if r["publisher"]
    }
    full = metadata.build_packument(
        name=package.name,
        versions=records,
        dist_tags=tags,
        tarball_base_url=TARBALL_BASE_PLACEHOLDER,
        created=package.created,
        modified=now,
        rev=rev,
        readme=latest["readme"] if latest else "",
        readme_filename=latest["readme_filename"] if latest else "",
        maintainers=list(maintainers.values()),
        users=package.metadata.get("users"),
    )
    abbreviated = metadata.build_abbreviated_packument(
        name=package.name,
        versions=records,
        dist_tags=tags,
        tarball_base_url=TARBALL_BASE_PLACEHOLDER,
        modified=now,
    )
    repository = package.repository
    document_put(
        repository=repository,
        key=packument_key(name=package.name),
        content=_dumps(full),
        content_type=metadata.MIME_JSON,
    )
    document_put(
        repository=repository,
        key=abbreviated_key(name=package.name),
        content=_dumps(abbreviated),
        content_type=metadata.MIME_NPM_ABBREVIATED,
    )
    package.metadata = {
        **package.metadata,
        "rev": rev,
        "latest": _search_summary(latest, maintainers=list(maintainers.values())),
    }
    package.save(update_fields=["metadata", "updated"])
    return package


def _search_summary(record: Mapping[str, Any] | None, *, maintainers: list) -> dict[str, Any]:
    if record is None:
        return {}
    manifest = record["manifest"]
    keywords = manifest.get("keywords")
    return {
        "version": record["version"],
        "description": manifest.get("description") or "",
        "keywords": keywords if isinstance(keywords, list) else [],
        "date": metadata.format_time(record["published_at"]),
        "publisher": {"username": record["publisher"], "email": record["publisher_email"]},
        "maintainers": [{"username": m["name"], "email": m["email"]} for m in maintainers],
    }


def _check_rev(*, package: Package, rev: str | None) -> None:
    if rev is not None and rev != package.metadata.get("rev"):
        raise RevisionConflict(
            f"revision {rev} of {package.name} is stale; read the package again and retry"
        )


def npm_publish(*, repository: Repository, publish: bodies.PublishRequest, user: User) -> Version:
    """Store a version sent by ``npm publish`` with its tarball and dist-tags.

    The tarball was already checked against ``dist.integrity``/``dist.shasum`` by the parser;
    here its package.json must name the same package and version, and it decides every field
    that changes what an install does (``formats.npm.manifests``: manifest confusion). The
    bytes are stored before any row points at them, so a refused publish leaves nothing
    visible.

    Raises:
        PublishInvalid: the tarball is unreadable or its package.json does not match.
        VersionPublished: the version exists, or existed with another tarball (npm versions
            are immutable, unpublished ones too).
    """
    contents = archives.read_tarball_manifest(source=io.BytesIO(publish.tarball))
    archives.check_manifest_matches(contents=contents, publish=publish)
    if Version.objects.filter(
        package__repository=repository,
        package__normalized_name=publish.name,
        version=publish.version,
    ).exists():
        raise _version_published(publish)
    blob = blob_ingest(
        stream=io.BytesIO(publish.tarball),
        expected={"sha512": publish.sha512_hex, "sha1": publish.sha1_hex},
        algorithms=("sha512", "sha1"),
        max_size=len(publish.tarball),
    )
    served = manifests.version_manifest(
        body=publish.manifest, package_json=contents.manifest, files=contents.files
    )
    manifest = {
        key: value
        for key, value in served.items()
        if key not in ("readme", "readmeFilename", "_attachments", "_rev", "dist", "deprecated")
    }
    if user is not None and user.is_authenticated:
        # npm view prints "published ... by <_npmUser.name>".
        manifest["_npmUser"] = {
            "name": user.get_username(),
            "email": getattr(user, "email", "") or "",
        }
    version_metadata = {
        "manifest": manifest,
        "integrity": publish.sri_sha512,
        "shasum": publish.sha1_hex,
        "file_count": contents.file_count,
        "unpacked_size": contents.unpacked_size,
        "readme": contents.readme or publish.readme,
        "readme_filename": contents.readme_filename,
    }
    with transaction.atomic():
        package = package_lock(
            package=package_ensure(
                repository=repository, name=publish.name, normalized_name=publish.name
            )
        )
        try:
            version = version_create(
                package=package, version=publish.version, metadata=version_metadata, user=user
            )
            # The public registry refuses a version once unpublished too, whatever its bytes;
            # here the same tarball may come back (a restore), other bytes never.
            coordinate_record(
                repository=repository,
                key=f"{publish.name}@{publish.version}",
                sha256=blob.sha256,
                user=user,
            )
        except (VersionExists, CoordinateReused):
            raise _version_published(publish) from None
        asset_put(
            repository=repository,
            path=names.tarball_path(name=publish.name, version=publish.version),
            blob=blob,
            media_type=metadata.MIME_NPM_TARBALL,
            user=user,
            version=version,
        )
        tags = dict(publish.dist_tags)
        if not package.tags.filter(name=LATEST).exists():
            tags.setdefault(LATEST, publish.version)
        for tag in tags:
            tag_set(package=package, name=tag, version=version, user=user)
        npm_documents_rebuild(package=package)
    return version


def npm_tarball_import(*, repository: Repository, tarball: bytes, user: User) -> Version:
    """Publish a tarball from elsewhere (``manage.py import``) through ``npm_publish``.

    It becomes ``latest`` when the package has none yet or it is a newer release than the
    current one, so the order files are imported in does not decide the tag.
    """
    contents = archives.read_tarball_manifest(source=io.BytesIO(tarball))
    publish = bodies.publish_of_tarball(manifest=contents.manifest, tarball=tarball, dist_tags={})
    current = Tag.objects.filter(
        name=LATEST,
        package__repository=repository,
        package__normalized_name=publish.name,
    ).values_list("version__version", flat=True)
    newer = not current or (
        not make_semver(publish.version, True).prerelease and gt(publish.version, current[0], True)
    )
    if newer:
        publish = dataclasses.replace(publish, dist_tags={LATEST: publish.version})
    return npm_publish(repository=repository, publish=publish, user=user)


def _version_published(publish: bodies.PublishRequest) -> VersionPublished:
    return VersionPublished(
        f"You cannot publish over the previously published versions: {publish.version}."
    )


def npm_metadata_changes(
    *, package: Package, update: bodies.MetadataUpdate
) -> bodies.MetadataChanges:
    """Compare the client's edited packument with the stored package.

    Raises:
        RevisionConflict: the update was made from an older revision.
        PublishInvalid: the update adds versions or tags unknown versions.
    """
    _check_rev(package=package, rev=update.rev)
    current = dict(package.versions.values_list("version", "deprecated"))
    tags = dict(package.tags.values_list("name", "version__version"))
    return bodies.diff_metadata_update(
        update=update,
        current_versions={v: (message or None) for v, message in current.items()},
        current_dist_tags=tags,
    )


def npm_metadata_apply(*, package: Package, changes: bodies.MetadataChanges, user: User) -> Package:
    """Apply deprecations, tag moves and version removals (``npm deprecate``/``unpublish``)."""
    with transaction.atomic():
        package = package_lock(package=package)
        versions = {v.version: v for v in package.versions.all()}
        for version_name, message in changes.deprecated.items():
            version_deprecate(version=versions[version_name], deprecated=message, user=user)
        for version_name in changes.undeprecated:
            version_deprecate(version=versions[version_name], deprecated="", user=user)
        for tag, version_name in changes.dist_tags_set.items():
            tag_set(package=package, name=tag, version=versions[version_name], user=user)
        for removed in package.tags.filter(name__in=changes.dist_tags_removed).select_related(
            "package", "version"
        ):
            tag_delete(tag=removed, user=user)
        for version_name in changes.removed_versions:
            version_delete(version=versions[version_name], user=user)
        if not package.versions.exists():
            _package_forget(package=package, user=user)
            return package
        _latest_repair(package=package, user=user)
        return npm_documents_rebuild(package=package)


def _latest_repair(*, package: Package, user: User) -> None:
    # npm computes the new latest itself, but a client that removed it must not leave none.
    if not package.tags.filter(name=LATEST).exists():
        newest = package.versions.order_by("-published_at", "-pk").first()
        if newest is not None:
            tag_set(package=package, name=LATEST, version=newest, user=user)


def _package_forget(*, package: Package, user: User) -> None:
    repository, name = package.repository, package.name
    package_delete(package=package, user=user)
    document_delete(repository=repository, key=packument_key(name=name))
    document_delete(repository=repository, key=abbreviated_key(name=name))


def npm_star(
    *, package: Package, update: bodies.StarUpdate, user: AbstractBaseUser | AnonymousUser
) -> Package:
    """Star or unstar ``package`` for the caller (``npm star``/``npm unstar``).

    npm sends its whole copy of ``users``; only the caller's own entry is read from it, so
    nobody stars or unstars for someone else.

    Raises:
        RevisionConflict: the copy was read from an older revision.
    """
    username = user.get_username()
    with transaction.atomic():
        package = package_lock(package=package)
        _check_rev(package=package, rev=update.rev)
        users = dict(package.metadata.get("users", {}))
        if (username in update.users) == (username in users):
            return package
        if username in update.users:
            users[username] = True
        else:
            del users[username]
        package.metadata = {**package.metadata, "users": users}
        return npm_documents_rebuild(package=package)


def npm_package_unpublish(*, package: Package, rev: str | None, user: User) -> None:
    """Remove a package with every version, tarball and tag (``npm unpublish name --force``).

    Raises:
        RevisionConflict: ``rev`` is not the current revision.
    """
    with transaction.atomic():
        package = package_lock(package=package)
        _check_rev(package=package, rev=rev)
        _package_forget(package=package, user=user)


def npm_tarball_delete(*, package: Package, filename: str, rev: str | None, user: User) -> None:
    """Remove one version by its tarball (the last request of ``npm unpublish name@version``).

    npm first PUTs the packument without the version, which already removed the version with
    its tarball; this request then finds nothing and answers 404, which npm ignores.

    Raises:
        PackageInvalid: ``filename`` is not a tarball of this package.
        VersionUnknown: no such version.
        RevisionConflict: ``rev`` is not the current revision.
    """
    version_name = names.parse_tarball_filename(name=package.name, filename=filename)
    with transaction.atomic():
        package = package_lock(package=package)
        _check_rev(package=package, rev=rev)
        version = version_get(package=package, version=version_name)
        version_delete(version=version, user=user)
        if not package.versions.exists():
            _package_forget(package=package, user=user)
            return
        _latest_repair(package=package, user=user)
        npm_documents_rebuild(package=package)


def npm_dist_tag_set(*, package: Package, tag: str, version: str, user: User) -> Tag:
    """Point dist-tag ``tag`` at ``version`` (``npm dist-tag add``), recorded in the history.

    Raises:
        PackageInvalid: the tag name looks like a version or is not URL-safe.
        VersionUnknown: the package has no such version.
    """
    names.validate_dist_tag(tag=tag)
    with transaction.atomic():
        package = package_lock(package=package)
        target = version_get(package=package, version=version)
        result = tag_set(package=package, name=tag, version=target, user=user)
        npm_documents_rebuild(package=package)
    return result


def npm_dist_tag_delete(*, package: Package, tag: str, user: User) -> None:
    """Remove dist-tag ``tag`` (``npm dist-tag rm``); ``latest`` stays.

    Raises:
        DistTagProtected: ``tag`` is ``latest``.
        DistTagUnknown: the package has no such tag.
    """
    if tag == LATEST:
        raise DistTagProtected()
    with transaction.atomic():
        package = package_lock(package=package)
        found = package.tags.select_related("package", "version").filter(name=tag).first()
        if found is None:
            raise DistTagUnknown(f"{package.name} has no dist-tag {tag!r}")
        tag_delete(tag=found, user=user)
        npm_documents_rebuild(package=package)


def npm_login(
    *, repository: Repository, login: bodies.LoginRequest, request: HttpRequest | None = None
) -> IssuedToken:
    """Exchange an existing user's password for a new API token (``npm login``).

    Accounts are never created here: an unknown user and a wrong password are refused alike.
    The token is limited to ``repository``, the registry URL npm stores it for, which the user
    must be able to read. ``request`` gives the sign-in throttle the client's address.

    Raises:
        LoginFailed: the user does not exist, is inactive, or the password is wrong.
        TooManyAttempts: the user name or the client's address is locked out (429).
        AuthenticationRequired: the user may not read ``repository``. A login is anonymous
            until it succeeds, so this is what every anonymous request to a repository one
            cannot read gets, whether it exists or not: a login tells no private names.
    """
    user = password_authenticate(request, username=login.name, password=login.password)
    if user is None:
        raise LoginFailed(challenge='Bearer realm="registry"')
    if not has_permission(principal=Principal(user=user), repository=repository, action=READ):
        raise AuthenticationRequired(challenge='Bearer realm="registry"')
    return token_create(user=user, name=LOGIN_TOKEN_NAME, repositories=[repository])


def npm_token_create(
    *, repository: Repository, principal: Principal, request: bodies.TokenCreateRequest
) -> IssuedToken:
    """Create a token for ``npm token create`` after confirming the caller's password.

    The token is limited to ``repository``, like the tokens ``npm login`` gets, and is at most
    as narrow as the token making the request (``access.services.token_create_for``).

    Raises:
        PasswordMismatch: the password is wrong (403: the caller is signed in, and npm reads
            a 401 as an invalid token).
        PermissionDenied: the request would widen the caller's own limits.
        BadRequest: the lifetime is out of range.
    """
    user = principal.user
    confirmed = password_authenticate(None, username=user.get_username(), password=request.password)
    if confirmed is None or confirmed.pk != user.pk:
        raise PasswordMismatch()
    return token_create_for(
        principal=principal,
        name=(request.name or CLI_TOKEN_NAME)[:100],
        repositories=[repository],
        read_only=request.readonly,
        expires_in_days=request.expires_days,
    )


def npm_token_revoke(*, principal: Principal, key: str) -> ApiToken:
    """Revoke the caller's token whose npm ``key`` (or secret) is ``key`` (``npm token revoke``).

    Raises:
        TokenUnknown: the caller has no working token with that key.
        PermissionDenied: it is another token and the caller's own is restricted.
    """
    token = npm_token_find(user=principal.user, key=key)
    if token is None:
        raise TokenUnknown()
    return token_revoke_for(principal=principal, token=token)


def npm_logout(*, principal: Principal, secret: str) -> ApiToken:
    """Revoke the token ``npm logout`` sends in the URL, if it is the caller's own.

    Raises:
        TokenUnknown: ``secret`` is not a working token of the caller.
        PermissionDenied: it is another token and the caller's own is restricted.
    """
    token = (
        npm_token_find(user=principal.user, key=secret) if secret.startswith(TOKEN_PREFIX) else None
    )
    if token is None:
        raise TokenUnknown()
    return token_revoke_for(principal=principal, token=token)


def npm_package_changed(*, package: Package) -> None:
    """Bring the packuments up to date after the management API removed versions or the package.

    A package left without versions is forgotten, as ``npm unpublish --force`` does.
    """
    with transaction.atomic():
        alive = package.pk is not None and Package.objects.filter(pk=package.pk).exists()
        if alive and package.versions.exists():
            package = package_lock(package=package)
            _latest_repair(package=package, user=None)
            npm_documents_rebuild(package=package)
        elif alive:
            _package_forget(package=package, user=None)
        else:
            document_delete(repository=package.repository, key=packument_key(name=package.name))
            document_delete(repository=package.repository, key=abbreviated_key(name=package.name))
