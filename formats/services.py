"""Writes to the shared version model. Formats call these; they never write rows themselves."""

import fnmatch
import hashlib
import os

from django.contrib.auth import models as auth_models
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.models import Role
from access.services import role_grant
from audit.models import Action
from audit.services import audit_record, audit_record_many
from formats.base import SearchTerms, format_config
from formats.errors import (
    AssetExists,
    CoordinateReused,
    RepositoryInUse,
    RepositoryInvalid,
    TagImmutable,
    VersionExists,
)
from formats.mirror import mirror_root
from formats.mirror_tasks import mirror_refresh_on_commit
from formats.models import (
    Asset,
    Document,
    Package,
    PublishedCoordinate,
    Repository,
    RepositoryMember,
    Tag,
    TagEvent,
    Version,
)
from formats.quotas import repository_quota_check
from storage.models import Blob
from storage.services import blob_hold

LATEST_TAG = "latest"

# Who acts: a signed-in user, anonymous, or nobody (a command, a task).
User = auth_models.User | AnonymousUser | None


def _user_or_none(user: User) -> auth_models.User | None:
    return None if user is None or isinstance(user, AnonymousUser) else user


def repository_create(
    *,
    name: str,
    format: str,
    kind: str = Repository.Kind.HOSTED,
    anonymous_read: bool = False,
    allow_redeploy: bool = False,
    config: dict | None = None,
    members: list[Repository] | None = None,
    **options: object,
) -> Repository:
    """Create a repository after validating its name, format, kind and config.

    Args:
        members: for a group, its members in lookup order (``repository_members_set``).
        options: Other Repository fields (``immutable_tags``, ``upstream_url``, ``deploy_to``...).

    Raises:
        RepositoryInvalid: ``config`` is not a JSON object, the format cannot serve ``kind``,
            a proxy has no upstream, or the members or deploy target do not fit the group.
        ValidationError: a field fails the model's validation (name, format, kind, URL).
    """
    deploy_to = options.pop("deploy_to", None)
    repository = Repository(
        name=name,
        format=format,
        kind=kind,
        anonymous_read=anonymous_read,
        allow_redeploy=allow_redeploy,
        config=_config_checked({} if config is None else config),
        **options,
    )
    repository.full_clean()
    _kind_checked(repository)
    with transaction.atomic():
        repository.save()
        audit_record(
            Action.REPOSITORY_CREATE,
            repository=repository.name,
            details={"format": repository.format, "kind": repository.kind},
        )
        if members:
            repository_members_set(repository=repository, members=members)
        if deploy_to is not None:
            repository = repository_update(repository=repository, changes={"deploy_to": deploy_to})
    if repository.kind == Repository.Kind.PROXY:
        upstream_probe(repository=repository)
    return repository


def repository_check(*, repository: Repository, members: list[Repository] | None = None) -> None:
    """Raise RepositoryInvalid unless ``repository``, saved or not, fits its format and kind.

    ``members`` are the group's members to be (default: those stored), checked as
    ``repository_members_set`` checks them: a form validates with this before it saves.
    """
    if members is not None:
        _members_checked(repository, members)
    _kind_checked(repository, members)


def _kind_checked(repository: Repository, members: list[Repository] | None = None) -> None:
    config = format_config(repository.format)
    kinds = config.kinds if config is not None else (Repository.Kind.HOSTED,)
    if repository.kind not in kinds:
        raise RepositoryInvalid(
            f"{repository.format} repositories cannot be of kind {repository.kind!r}"
            f" (this format serves: {', '.join(kinds)})"
        )
    if repository.kind == Repository.Kind.PROXY and not repository.upstream_url:
        raise RepositoryInvalid("a proxy repository needs an upstream URL")
    if repository.kind != Repository.Kind.PROXY and repository.upstream_url:
        raise RepositoryInvalid("only proxy repositories have an upstream URL")
    if repository.kind != Repository.Kind.HOSTED and repository.quota_bytes is not None:
        raise RepositoryInvalid(
            "only hosted repositories have a quota (a group writes to its deploy target)"
        )
    if repository.deploy_to_id is not None:
        target = repository.deploy_to
        if repository.kind != Repository.Kind.GROUP:
            raise RepositoryInvalid("only group repositories have a deploy target")
        if target is None or target.kind != Repository.Kind.HOSTED:
            raise RepositoryInvalid("the deploy target must be a hosted repository")
        if members is not None:
            linked = target.pk in {member.pk for member in members}
        else:
            linked = RepositoryMember.objects.filter(group=repository, member=target).exists()
        if not linked:
            raise RepositoryInvalid(f"the deploy target {target.name!r} must be a member")


def upstream_probe(*, repository: Repository) -> str:
    """Ask a proxy's upstream whether it answers; record and return the result as its status.

    An unreachable upstream is not an error: the proxy is kept and its status says so.
    """
    from formats.proxy.upstream import upstream_probe_status  # the client imports services

    status = upstream_probe_status(repository=repository)
    Repository.objects.filter(pk=repository.pk).update(
        upstream_status=status[:512], upstream_checked=timezone.now()
    )
    repository.upstream_status = status[:512]
    return status


@transaction.atomic
def repository_create_by(*, user: auth_models.User, **fields: object) -> Repository:
    """Create a repository (``repository_create``) and make ``user`` its admin.

    A user allowed to create repositories without being a superuser would otherwise not see
    the repository just created. The caller checks ``may_create_repositories`` first.
    """
    repository = repository_create(**fields)  # type: ignore[arg-type]
    if not user.is_superuser:
        role_grant(repository=repository, role=Role.ADMIN, user=user)
    return repository


def _config_checked(config: object) -> dict:
    # Formats read it with config.get(...): anything but an object breaks every request.
    if not isinstance(config, dict):
        raise RepositoryInvalid("config must be a JSON object")
    return config


def _holds_content(repository: Repository) -> bool:
    return (
        repository.packages.exists()
        or repository.assets.exists()
        or repository.members.exists()
        or Repository.objects.filter(members=repository).exists()
    )


def repository_update(*, repository: Repository, changes: dict[str, object]) -> Repository:
    """Change a repository's settings; its format and kind stay once it holds content.

    Args:
        changes: Repository fields and their new values.

    Raises:
        RepositoryInvalid: ``config`` is not a JSON object.
        RepositoryInUse: ``format`` or ``kind`` would change while the repository has packages
            or files, has group members or is a member of a group (their content and links
            are the old format's and kind's).
        ValidationError: a field fails the model's validation.
    """
    if "config" in changes:
        _config_checked(changes["config"])
    with transaction.atomic():
        repository = Repository.objects.select_for_update().get(pk=repository.pk)
        moved = [
            field
            for field in ("format", "kind")
            if field in changes and changes[field] != getattr(repository, field)
        ]
        if moved and _holds_content(repository):
            raise RepositoryInUse(
                f"repository {repository.name!r} holds content: its {' and '.join(moved)} "
                "cannot change"
            )
        for field, value in changes.items():
            setattr(repository, field, value)
        if "quota_bytes" in changes:
            repository.quota_used_bytes = None  # writes went unaccounted while there was none
        repository.full_clean()
        _kind_checked(repository)
        repository.save()
        # Field names only: a value may be a secret (upstream_password).
        audit_record(
            Action.REPOSITORY_UPDATE,
            repository=repository.name,
            details={"fields": sorted(changes)},
        )
    if "upstream_url" in changes and repository.kind == Repository.Kind.PROXY:
        upstream_probe(repository=repository)
    return repository


def repository_members_set(*, repository: Repository, members: list[Repository]) -> None:
    """Make ``members`` the members of group ``repository``, in this lookup order.

    Every change of members goes here: the order is stored explicitly (reordering included).
    When anything changed, the group's mirror is rebuilt after commit (with the mirror of
    every group containing it). A deploy target that stops being a member stops being the
    target.

    Raises:
        RepositoryInvalid: ``repository`` is not a group, a member is of another format, is
            listed twice, or contains the group (a loop).
    """
    _members_checked(repository, members)
    wanted = [member.pk for member in members]
    with transaction.atomic():
        links = RepositoryMember.objects.select_for_update().filter(group=repository)
        current = [link.member_id for link in links.order_by("position", "id")]
        if current == wanted:
            return
        links.exclude(member__in=wanted).delete()
        for position, member in enumerate(members):
            RepositoryMember.objects.update_or_create(
                group=repository, member=member, defaults={"position": position}
            )
        if repository.deploy_to_id is not None and repository.deploy_to_id not in wanted:
            Repository.objects.filter(pk=repository.pk).update(deploy_to=None)
            repository.deploy_to = None
        audit_record(
            Action.MEMBERS_SET,
            repository=repository.name,
            details={"members": [member.name for member in members]},
        )
        mirror_refresh_on_commit(repository=repository, prefix="")


def _members_checked(repository: Repository, members: list[Repository]) -> None:
    if repository.kind != Repository.Kind.GROUP:
        raise RepositoryInvalid(f"{repository.name!r} is not a group: it has no members")
    wanted = [member.pk for member in members]
    if len(set(wanted)) != len(wanted):
        raise RepositoryInvalid("a member is listed twice")
    for member in members:
        if member.format != repository.format:
            raise RepositoryInvalid(
                f"{member.name!r} is a {member.format} repository, not {repository.format}"
            )
        if member.pk == repository.pk or repository.pk in _reachable_members(member):
            raise RepositoryInvalid(f"{member.name!r} contains {repository.name!r}: a loop")


def _reachable_members(repository: Repository) -> set[int]:
    """Every repository ``repository`` contains, directly or through groups in it."""
    seen: set[int] = set()
    pending = [repository.pk]
    while pending:
        found = RepositoryMember.objects.filter(group__in=pending).values_list("member", flat=True)
        pending = [pk for pk in found if pk not in seen]
        seen.update(pending)
    return seen


def package_ensure(*, repository: Repository, name: str, normalized_name: str) -> Package:
    """Return the package with ``normalized_name``, creating it (concurrency-safe) if absent."""
    searched = package_search_text(name=name, normalized_name=normalized_name, terms=SearchTerms())
    package, _ = Package.objects.get_or_create(
        repository=repository,
        normalized_name=normalized_name,
        defaults={"name": name, "search_text": searched},
    )
    package.repository = repository  # what records of it read next, without a query
    return package


def version_create(*, package: Package, version: str, metadata: dict, user: User) -> Version:
    """Publish a new version; an existing one is never changed (raises VersionExists)."""
    try:
        with transaction.atomic():
            created = Version.objects.create(
                package=package,
                version=version,
                metadata=metadata,
                published_by=_user_or_none(user),
            )
            _version_event(Action.VERSION_PUBLISH, created, user)
            package_search_refresh(package=package)
            return created
    except IntegrityError:
        raise VersionExists(f"{package.name} {version} already exists") from None


def version_ensure(*, package: Package, version: str, metadata: dict, user: User) -> Version:
    """Return the version, creating it on first upload (formats whose versions gain files)."""
    with transaction.atomic():
        existing, created = Version.objects.get_or_create(
            package=package,
            version=version,
            defaults={"metadata": metadata, "published_by": _user_or_none(user)},
        )
        if created:
            _version_event(Action.VERSION_PUBLISH, existing, user)
            package_search_refresh(package=package)
    return existing


def version_metadata_set(*, version: Version, metadata: dict) -> Version:
    """Replace a version's metadata (a file that describes it arrived: a Maven POM)."""
    version.metadata = metadata
    version.save(update_fields=["metadata"])
    package_search_refresh(package=version.package)
    return version


def package_search_text(*, name: str, normalized_name: str, terms: SearchTerms) -> str:
    """Return the lowercase text whose words search matches: names, summary and keywords."""
    names = [name] if name == normalized_name else [name, normalized_name]
    return "\n".join(part for part in (*names, terms.summary, *terms.keywords) if part).lower()


def package_search_refresh(*, package: Package) -> None:
    """Store what search reads of ``package``: its latest version's name, summary and keywords.

    The latest version is the one the ``latest`` tag points at, else the newest published;
    the format says what of it is searched (``FormatConfig.search_terms``). Every write that
    can change the latest version or its metadata calls this, so a search reads only columns.
    """
    latest = Version.objects.filter(tags__package=package, tags__name=LATEST_TAG).first()
    latest = latest or package.versions.order_by("-published_at", "-pk").first()
    config = format_config(package.repository.format)
    terms = config.search_terms(latest) if latest is not None and config else SearchTerms()
    Package.objects.filter(pk=package.pk).update(
        latest_version=latest.version if latest is not None else "",
        summary=terms.summary,
        search_text=package_search_text(
            name=package.name, normalized_name=package.normalized_name, terms=terms
        ),
    )


def _latest_searched(package: Package, tag: str) -> None:
    if tag == LATEST_TAG:
        package_search_refresh(package=package)


def _version_event(action: str, version: Version, user: User = None, **details: object) -> None:
    audit_record(
        action,
        repository=version.package.repository.name,
        package=version.package.name,
        version=version.version,
        user=user,
        details=details,
    )


def _asset_event(action: str, asset: Asset, user: User = None) -> None:
    version = asset.version
    audit_record(
        action,
        repository=asset.repository.name,
        package=version.package.name if version is not None else "",
        version=version.version if version is not None else "",
        user=user,
        details={"path": asset.path, "digest": asset.blob_id, "size": asset.blob.size},
    )


def asset_cache_event(*, asset: Asset) -> None:
    """Audit a file a proxy kept from its upstream (``asset.cache``), in its transaction."""
    _asset_event(Action.ASSET_CACHE, asset)


def gc_run_event(*, collector: str, counts: dict[str, int]) -> None:
    """Audit a garbage collection of a format that removed something (``gc.run``)."""
    audit_record(Action.GC_RUN, details={"collector": collector, **counts})


def blob_link_event(
    *, repository: Repository, package: str, path: str, blob: Blob, linked: bool
) -> None:
    """Audit a blob that became part of ``package`` without an Asset of its own (an OCI layer
    or config pushed or mounted: ``linked``), or stopped being part of it: as an asset's
    upload or delete, at ``path``. Call it inside the transaction of the change."""
    audit_record(
        Action.ASSET_UPLOAD if linked else Action.ASSET_DELETE,
        repository=repository.name,
        package=package,
        details={"path": path, "digest": blob.pk, "size": blob.size},
    )


def asset_put(
    *,
    repository: Repository,
    path: str,
    blob: Blob,
    media_type: str,
    user: User,
    version: Version | None = None,
    metadata: dict | None = None,
) -> Asset:
    """Put a file at ``path``; an existing path is replaced only if the repository allows redeploy.

    Raises:
        AssetExists: the path exists and redeploy is not allowed.
        BlobCollected: garbage collection removed ``blob`` since it was ingested (retry).
        QuotaExceeded: the repository would hold more than its quota.
    """
    with transaction.atomic():
        blob_hold(blob=blob)
        existing = Asset.objects.select_for_update().filter(repository=repository, path=path)
        asset = existing.first()
        if asset is not None and not repository.allow_redeploy:
            raise AssetExists(f"{path} already exists", path=path)
        repository_quota_check(repository=repository, blob=blob, replacing=asset)
        fields = {
            "blob": blob,
            "media_type": media_type,
            "uploaded_by": _user_or_none(user),
            "version": version,
            "metadata": metadata or {},
        }
        if asset is None:
            try:
                with transaction.atomic():
                    asset = Asset.objects.create(repository=repository, path=path, **fields)
            except IntegrityError:
                raise AssetExists(f"{path} already exists", path=path) from None
        else:
            for name, value in fields.items():
                setattr(asset, name, value)
            asset.save()
        proxied = repository.kind == Repository.Kind.PROXY
        _asset_event(Action.ASSET_CACHE if proxied else Action.ASSET_UPLOAD, asset, user)
        mirror_refresh_on_commit(repository=repository, prefix=path)
        return asset


def asset_delete(*, asset: Asset) -> None:
    """Remove a file; its blob stays until garbage collection finds it unreferenced."""
    with transaction.atomic():
        _asset_event(Action.ASSET_DELETE, asset)
        mirror_refresh_on_commit(repository=asset.repository, prefix=asset.path)
        asset.delete()


def _require_mutable(*, repository: Repository, name: str) -> None:
    if not repository.immutable_tags:
        return
    patterns = [p.strip() for p in repository.immutable_tag_exceptions.split(",") if p.strip()]
    if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
        raise TagImmutable(f"tag {name!r} is immutable in this repository", tag=name)


def tag_set(*, package: Package, name: str, version: Version, user: User) -> Tag:
    """Point tag ``name`` at ``version``, recording the move in the tag history.

    Raises:
        TagImmutable: the repository forbids moving this tag.
    """
    with transaction.atomic():
        tag = Tag.objects.select_for_update().filter(package=package, name=name).first()
        if tag is not None and tag.version_id == version.pk:
            return tag
        if tag is not None:
            _require_mutable(repository=package.repository, name=name)
        previous = tag.version.version if tag is not None else ""
        if tag is None:
            tag = Tag.objects.create(package=package, name=name, version=version)
        else:
            tag.version = version
            tag.save(update_fields=["version", "updated"])
        _tag_event(
            package=package,
            tag=name,
            action=TagEvent.Action.MOVE if previous else TagEvent.Action.SET,
            from_version=previous,
            to_version=version.version,
            user=user,
        )
        _latest_searched(package, name)
        return tag


def tag_delete(*, tag: Tag, user: User) -> None:
    """Remove a tag, recording it in the history.

    A tag the repository forbids moving cannot be removed either: removing it and setting it
    again would move it. So neither can the version it points at, nor its package.

    Raises:
        TagImmutable: the repository forbids moving this tag.
    """
    _require_mutable(repository=tag.package.repository, name=tag.name)
    with transaction.atomic():
        _tag_event(
            package=tag.package,
            tag=tag.name,
            action=TagEvent.Action.DELETE,
            from_version=tag.version.version,
            to_version="",
            user=user,
        )
        tag.delete()
        _latest_searched(tag.package, tag.name)


def _tag_event(
    *, package: Package, tag: str, action: str, from_version: str, to_version: str, user: User
) -> None:
    actor = _user_or_none(user)
    TagEvent.objects.create(
        package=package,
        tag=tag,
        action=action,
        from_version=from_version,
        to_version=to_version,
        actor=actor,
        actor_name=actor.get_username() if actor else "",
    )
    audit_record(
        _TAG_ACTIONS[action],
        repository=package.repository.name,
        package=package.name,
        version=to_version or from_version,
        user=user,
        details={"tag": tag, "from": from_version, "to": to_version},
    )


_TAG_ACTIONS: dict[str, str] = {
    TagEvent.Action.SET: Action.TAG_SET,
    TagEvent.Action.MOVE: Action.TAG_MOVE,
    TagEvent.Action.DELETE: Action.TAG_DELETE,
}


def version_delete(*, version: Version, user: User) -> None:
    """Delete a version with its files; tags that pointed at it are removed and recorded."""
    versions_delete(versions=[version], user=user)


def versions_delete(*, versions: list[Version], user: User) -> None:
    """Delete versions with their files at once (``version_delete`` of each, in fewer queries)."""
    with transaction.atomic():
        tags = Tag.objects.filter(version__in=versions).select_related(
            "package__repository", "version"
        )
        for tag in tags:
            tag_delete(tag=tag, user=user)
        audit_record_many(
            Action.VERSION_DELETE,
            targets=[(v.package.repository.name, v.package.name, v.version) for v in versions],
            user=user,
        )
        _mirror_follows_removal(versions)
        # Only the keys: the cascade needs nothing else of the rows it collects.
        Version.objects.filter(pk__in=[version.pk for version in versions]).only("pk").delete()
        for package in {version.package_id: version.package for version in versions}.values():
            package_search_refresh(package=package)


def _mirror_follows_removal(versions: list[Version]) -> None:
    # One refresh per package, of the folder all its removed files are in (a cleanup batch
    # spans many packages: their common folder would be the whole repository).
    if mirror_root() is None:
        return
    paths: dict[tuple[int, int], list[str]] = {}
    for repository_id, package_id, path in Asset.objects.filter(version__in=versions).values_list(
        "repository_id", "version__package_id", "path"
    ):
        paths.setdefault((repository_id, package_id), []).append(path)
    repositories = Repository.objects.in_bulk([repository_id for repository_id, _ in paths])
    for (repository_id, _), removed in paths.items():
        common = os.path.commonprefix(removed)
        prefix = common if common in removed else common.rpartition("/")[0] + "/"
        mirror_refresh_on_commit(repository=repositories[repository_id], prefix=prefix.lstrip("/"))


def package_delete(*, package: Package, user: User) -> None:
    """Delete a package with all its versions, files and tags."""
    with transaction.atomic():
        versions_delete(
            versions=list(package.versions.select_related("package__repository")), user=user
        )
        audit_record(
            Action.PACKAGE_DELETE,
            repository=package.repository.name,
            package=package.name,
            user=user,
        )
        package.delete()


def version_yank(*, version: Version, yanked: bool, reason: str = "", user: User = None) -> Version:
    """Mark a version yanked (hidden from resolution, still installable by exact pin) or not."""
    with transaction.atomic():
        version.yanked = yanked
        version.yanked_reason = reason if yanked else ""
        version.save(update_fields=["yanked", "yanked_reason"])
        action = Action.VERSION_YANK if yanked else Action.VERSION_UNYANK
        _version_event(action, version, user, reason=version.yanked_reason)
    return version


def version_deprecate(*, version: Version, deprecated: str, user: User = None) -> Version:
    """Set the deprecation message clients show on install (npm's ``deprecated``); "" lifts it."""
    with transaction.atomic():
        version.deprecated = deprecated
        version.save(update_fields=["deprecated"])
        action = Action.VERSION_DEPRECATE if deprecated else Action.VERSION_UNDEPRECATE
        _version_event(action, version, user, message=deprecated)
    return version


def version_pin(*, version: Version, pinned: bool) -> Version:
    """Pin ``version`` (every cleanup policy keeps it) or unpin it."""
    version.pinned = pinned
    version.save(update_fields=["pinned"])
    return version


def repository_delete(*, repository: Repository) -> None:
    """Delete a repository with everything in it; its blobs are left to garbage collection."""
    with transaction.atomic():
        audit_record(
            Action.REPOSITORY_DELETE,
            repository=repository.name,
            details={"format": repository.format, "kind": repository.kind},
        )
        repository.delete()


def coordinate_record(
    *, repository: Repository, key: str, sha256: str, user: User
) -> PublishedCoordinate:
    """Remember that ``key`` was published as the bytes ``sha256``, refusing other bytes forever.

    Formats call it inside the transaction that publishes, with the key their clients know
    (npm ``name@version``, a PyPI filename, a Maven release path); the record outlives the
    version, its files and cleanup, so a deleted coordinate cannot return with other bytes.
    The same bytes again are always accepted. Where the repository allows redeploy, other bytes
    are too, and the record follows them.

    Raises:
        CoordinateReused: ``key`` was published before with other bytes.
    """
    with transaction.atomic():
        record = (
            PublishedCoordinate.objects.select_for_update()
            .filter(repository=repository, key=key)
            .first()
        )
        if record is None:
            actor = _user_or_none(user)
            try:
                with transaction.atomic():
                    return PublishedCoordinate.objects.create(
                        repository=repository,
                        key=key,
                        sha256=sha256,
                        published_by=actor,
                        published_by_name=actor.get_username() if actor else "",
                    )
            except IntegrityError:
                # A concurrent first publish committed; its bytes are the ones to compare with.
                record = PublishedCoordinate.objects.select_for_update().get(
                    repository=repository, key=key
                )
        if record.sha256 == sha256:
            return record
        if not repository.allow_redeploy:
            raise CoordinateReused(
                f"{key} was published before with other bytes", key=key, sha256=record.sha256
            )
        record.sha256 = sha256
        record.save(update_fields=["sha256", "last_published"])
        return record


def package_lock(*, package: Package) -> Package:
    """Lock ``package``'s row until the transaction ends and return it fresh.

    Every change of a package's versions, tags or generated documents takes this lock first, so
    two publishes of one package serialize and each rebuilds its documents from the other's
    result. Call it inside ``transaction.atomic()``.
    """
    # Only the package's row: FOR UPDATE of the joined repository row too would make every
    # publish (and a cleanup's every package) in the repository wait for each other.
    locked = Package.objects.select_for_update(of=("self",)).select_related("repository")
    return locked.get(pk=package.pk)


def document_etag(content: bytes) -> str:
    """Return the strong ETag (without quotes) of a generated document's bytes."""
    return hashlib.sha256(content).hexdigest()[:40]


def document_put(
    *, repository: Repository, key: str, content: bytes, content_type: str
) -> Document:
    """Store a generated metadata document under ``key`` with a strong ETag."""
    document = Document(repository=repository, key=key, content=content, content_type=content_type)
    document.etag = document_etag(content)
    # One upsert: no read first and no savepoint (every publish and cleanup rebuilds some).
    Document.objects.bulk_create(
        [document],
        update_conflicts=True,
        unique_fields=["repository", "key"],
        update_fields=["content", "content_type", "etag", "updated"],
    )
    return document


def document_delete(*, repository: Repository, key: str) -> None:
    """Forget a generated document (e.g. after the last version of a package is gone)."""
    Document.objects.filter(repository=repository, key=key).delete()
