"""Cleanup policies: set them, preview what they remove, and run them.

Removal goes through the same services as the management API's version DELETE
(``version_delete``, then the format's ``on_package_changed``), so packuments, simple pages,
maven-metadata.xml and tag lists stay true. Each package is planned again and cleaned holding
its lock, so a publish meanwhile is either seen or waits; pushes to other packages continue.
Packages share a transaction until about ``BATCH`` versions went, so a publish waits at most
for one batch. Blobs stay until garbage collection finds nothing referring to them.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import models as auth_models
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from formats.base import FormatConfig, format_config
from formats.lifecycle.errors import CleanupBusy, PolicyInvalid
from formats.lifecycle.lock import repository_lock
from formats.lifecycle.rules import Candidate, Rules, pattern_check, removable
from formats.models import (
    Asset,
    CleanupPolicy,
    CleanupRun,
    Package,
    Repository,
    Tag,
    Version,
)
from formats.services import package_lock, versions_delete
from registry_project.errors import RegistryError

logger = logging.getLogger(__name__)

SCHEDULE = "schedule"
BATCH = 500  # versions deleted in one statement, in one transaction
RULE_FIELDS = (
    "keep_last",
    "older_than_days",
    "unused_days",
    "match",
    "match_regex",
    "prerelease_only",
    "keep_tagged",
    "snapshot_builds",
)


@dataclass
class Removal:
    """One version that goes, or the older builds of one that stays (``builds``)."""

    package: str
    version: str
    files: list[str]
    bytes: int
    builds: bool = False
    error: str = ""


@dataclass(frozen=True)
class _Step:
    removal: Removal
    version: Version
    assets: list[Asset] | None  # None: the whole version


def policy_check(*, repository: Repository, rules: dict[str, Any]) -> None:
    """Raise PolicyInvalid unless ``rules`` (all of ``RULE_FIELDS``) fit ``repository``.

    Refused: a policy on a group (it holds nothing), a bad pattern, a pattern or prerelease
    scope without a rule that removes versions, and keeping no SNAPSHOT build at all.
    """
    if repository.kind == Repository.Kind.GROUP:
        raise PolicyInvalid("a group holds nothing of its own: set policies on its members")
    scope = _rules(rules)
    try:
        pattern_check(scope.match, regex=scope.match_regex)
    except ValueError as error:
        raise PolicyInvalid(str(error)) from None
    if (scope.match or scope.prerelease_only) and not scope.removes_versions:
        raise PolicyInvalid(
            "a pattern or --prerelease-only only narrows a rule: add --keep-last, "
            "--older-than-days or --unused-days"
        )
    if rules["snapshot_builds"] == 0:
        raise PolicyInvalid("--snapshot-builds keeps at least one build")


def policy_set(*, repository: Repository, **rules: object) -> CleanupPolicy:
    """Create or replace ``repository``'s cleanup policy; rules not given take their defaults.

    Raises:
        PolicyInvalid: an unknown rule, or what ``policy_check`` refuses.
    """
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise PolicyInvalid(f"unknown cleanup rules: {', '.join(sorted(unknown))}")
    unset = CleanupPolicy()
    values = {name: getattr(unset, name) for name in RULE_FIELDS}
    values.update(rules)
    policy_check(repository=repository, rules=values)
    with transaction.atomic():
        policy, _ = CleanupPolicy.objects.update_or_create(repository=repository, defaults=values)
        audit_record(Action.POLICY_SET, repository=repository.name, details=policy_snapshot(policy))
    return policy


def policy_clear(*, repository: Repository) -> bool:
    """Remove ``repository``'s cleanup policy; return whether it had one."""
    with transaction.atomic():
        deleted, _ = CleanupPolicy.objects.filter(repository=repository).delete()
        if deleted:
            audit_record(Action.POLICY_CLEAR, repository=repository.name)
    return bool(deleted)


def policy_snapshot(policy: CleanupPolicy) -> dict[str, Any]:
    """The rules of ``policy`` as a run records them."""
    return {name: getattr(policy, name) for name in RULE_FIELDS}


def _rules(values: dict[str, Any]) -> Rules:
    """The version rules among a policy's ``values`` (all but the SNAPSHOT builds)."""
    return Rules(**{name: values[name] for name in RULE_FIELDS if name != "snapshot_builds"})


def _plan(
    *, policy: CleanupPolicy, config: FormatConfig, package: Package, now: datetime
) -> list[_Step]:
    # A version never downloaded counts as last used when it was published.
    rows = Version.objects.filter(package=package).values_list(
        "pk", "version", "published_at", "last_downloaded", "pinned"
    )
    tagged = set(Tag.objects.filter(package=package).values_list("version_id", flat=True))
    candidates = [
        Candidate(
            pk=pk,
            version=name,
            published_at=at,
            last_used=downloaded or at,
            pinned=pinned,
            tagged=pk in tagged,
        )
        for pk, name, at, downloaded, pinned in rows
    ]
    gone = removable(
        _rules(policy_snapshot(policy)), candidates, now=now, is_prerelease=config.is_prerelease
    )
    if gone:
        gone -= config.cleanup_needs(package, {c.pk for c in candidates} - gone)
    files: dict[int | None, list[tuple[str, int]]] = defaultdict(list)
    described = Asset.objects.filter(version__in=gone).order_by("path")
    for version_id, path, size in described.values_list("version_id", "path", "blob__size"):
        files[version_id].append((path, size))
    steps = []
    # Through the package's manager, each version knows its package (and repository) without
    # a query, as the delete services' audit records need them; nothing else of it is read.
    going = package.versions.filter(pk__in=gone).only("pk", "package_id", "version")
    for version in going.order_by("published_at", "pk"):
        removal = _describe(package, version, files[version.pk], builds=False)
        steps.append(_Step(removal, version, None))
    if policy.snapshot_builds:
        for version in package.versions.exclude(pk__in=gone):
            stale = config.stale_builds(version, policy.snapshot_builds)
            if stale:
                sized = [(asset.path, asset.blob.size) for asset in stale]
                steps.append(_Step(_describe(package, version, sized, builds=True), version, stale))
    return steps


def _describe(
    package: Package, version: Version, files: list[tuple[str, int]], *, builds: bool
) -> Removal:
    """The Removal of ``files`` (path and size of each) of ``version``."""
    return Removal(
        package=package.name,
        version=version.version,
        files=[path for path, _ in files],
        bytes=sum(size for _, size in files),
        builds=builds,
    )


def _context(repository: Repository) -> tuple[CleanupPolicy | None, FormatConfig | None]:
    policy = CleanupPolicy.objects.filter(repository=repository).first()
    return policy, format_config(repository.format)


def cleanup_preview(*, repository: Repository) -> list[Removal]:
    """Return what a cleanup of ``repository`` would remove now (nothing without a policy)."""
    policy, config = _context(repository)
    if policy is None or config is None:
        return []
    now = timezone.now()
    removals = []
    for package in repository.packages.all().iterator():
        steps = _plan(policy=policy, config=config, package=package, now=now)
        removals += [step.removal for step in steps]
    return removals


def cleanup_run(
    *,
    repository: Repository,
    user: auth_models.User | None = None,
    actor_name: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> CleanupRun:
    """Apply ``repository``'s policy and record the run (a CleanupRun, also when it fails).

    Args:
        user: who asked; ``actor_name`` names the caller otherwise (``"schedule"``).
        progress: called with (packages done, packages in all) as the run goes.

    Raises:
        CleanupBusy: another cleanup of the repository is running.
    """
    with repository_lock(repository.pk) as held:
        if not held:
            raise CleanupBusy(f"a cleanup of {repository.name!r} is already running")
        policy, config = _context(repository)
        run = CleanupRun.objects.create(
            repository=repository,
            actor=user,
            actor_name=user.get_username() if user else actor_name,
            policy=policy_snapshot(policy) if policy else {},
        )
        try:
            if policy is not None and config is not None:
                _apply(run=run, policy=policy, config=config, user=user, progress=progress)
        except Exception as error:
            run.status, run.error = CleanupRun.Status.FAILED, repr(error)[:2000]
            raise
        else:
            run.status = CleanupRun.Status.DONE
        finally:
            run.finished = timezone.now()
            with transaction.atomic():
                run.save()
                audit_record(
                    Action.CLEANUP_RUN,
                    repository=repository.name,
                    user=user,
                    username=run.actor_name,
                    details={
                        "run": run.pk,
                        "status": run.status,
                        "versions": run.versions_removed,
                        "files": run.files_removed,
                        "bytes": run.bytes_freed,
                    },
                )
    logger.info(
        "cleanup of %s: %d versions, %d files, %d bytes",
        repository.name,
        run.versions_removed,
        run.files_removed,
        run.bytes_freed,
    )
    return run


def _apply(
    *,
    run: CleanupRun,
    policy: CleanupPolicy,
    config: FormatConfig,
    user: auth_models.User | None,
    progress: Callable[[int, int], None] | None,
) -> None:
    package_ids = list(run.repository.packages.order_by("pk").values_list("pk", flat=True))
    done = 0
    while done < len(package_ids):
        # Packages share a transaction until about BATCH versions went: their versions go in
        # one delete, the commits are fewer, and no package stays locked for longer than one
        # batch takes.
        with transaction.atomic():
            planned: list[tuple[Package, list[_Step]]] = []
            work = 0
            while done < len(package_ids) and work < BATCH:
                try:
                    package = package_lock(package=Package(pk=package_ids[done]))
                except Package.DoesNotExist:
                    package = None  # deleted since the run started
                if package is not None:
                    steps = _plan(policy=policy, config=config, package=package, now=timezone.now())
                    planned.append((package, steps))
                    work += max(len(steps), 1)
                done += 1
            _carry_out(run=run, config=config, planned=planned, user=user)
        if progress is not None:
            progress(done, len(package_ids))


def _carry_out(
    *,
    run: CleanupRun,
    config: FormatConfig,
    planned: list[tuple[Package, list[_Step]]],
    user: auth_models.User | None,
) -> None:
    """Carry out the ``planned`` steps of locked packages and record them in ``run``.

    The versions that go whole go together, then the older builds one version at a time;
    each package whose versions changed then rebuilds its documents once.
    """
    whole = [step for _, steps in planned for step in steps if step.assets is None]
    for start in range(0, len(whole), BATCH):
        _remove(whole[start : start + BATCH], user=user)
    for package, steps in planned:
        for step in steps:
            if step.assets is not None:
                try:
                    with transaction.atomic():
                        config.builds_delete(step.version, step.assets, user)
                except RegistryError as error:
                    step.removal.error = error.message
            if not step.removal.error:
                run.versions_removed += 1 if step.assets is None else 0
                run.files_removed += len(step.removal.files)
                run.bytes_freed += step.removal.bytes
            run.removed.append(asdict(step.removal))
        if any(step.assets is None for step in steps):
            config.on_package_changed(package)


def _remove(steps: list[_Step], *, user: auth_models.User | None) -> None:
    """Delete the versions of ``steps`` at once, or one by one to tell which one is refused."""
    try:
        with transaction.atomic():
            versions_delete(versions=[step.version for step in steps], user=user)
    except RegistryError as error:  # an immutable tag on one, say: it stays, and says why
        if len(steps) == 1:
            steps[0].removal.error = error.message
        else:
            for step in steps:
                _remove([step], user=user)


def cleanup_scheduled() -> list[CleanupRun]:
    """Run every repository's policy, as beat does; a repository being cleaned is skipped."""
    runs = []
    for policy in CleanupPolicy.objects.select_related("repository").order_by("repository__name"):
        try:
            runs.append(cleanup_run(repository=policy.repository, actor_name=SCHEDULE))
        except CleanupBusy as error:
            logger.info("scheduled cleanup: %s", error.message)
    return runs
