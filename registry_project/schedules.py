"""The periodic tasks, kept in the database (django-celery-beat's ``PeriodicTask`` rows).

``CELERY_BEAT_SCHEDULE`` holds the defaults: ``schedules_install`` creates each entry that has no
row yet and never touches one that has, so an operator's interval or switch survives restarts
and upgrades. Celery beat reads the rows (``registry_project.beat.DatabaseScheduler``); without a
broker the in-process schedule (``registry_project.celery``) runs the same rows. The admin
console and ``/api/v1/schedules/`` change them through ``schedule_set`` and ``task_run_now``.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from audit.models import Action
from audit.services import audit_record
from registry_project.celery import app
from registry_project.errors import BadRequest, NotFound

logger = logging.getLogger(__name__)


class ScheduleUnknown(NotFound):
    """no periodic task of that name"""

    code = "SCHEDULE_UNKNOWN"


class ScheduleInvalid(BadRequest):
    """the schedule is invalid"""

    code = "SCHEDULE_INVALID"


@dataclass(frozen=True)
class Schedule:
    """One periodic task as the console and the API show it.

    Attributes:
        every_seconds: its interval; None when it runs on a crontab, solar or clocked schedule.
        last_run_at: when beat (or the in-process schedule) last sent it; None: never yet.
        next_run_at: when it is due next, from ``last_run_at`` (or its last change) and its
            schedule; None when it is disabled.
    """

    name: str
    task: str
    every_seconds: int | None
    enabled: bool
    last_run_at: datetime | None
    total_run_count: int
    next_run_at: datetime | None


@dataclass(frozen=True)
class TaskRun:
    """A task started by ``task_run_now``: queued on a worker, or run here without a broker.

    Attributes:
        task_id: Celery's id of the run.
        queued: True when a worker runs it; False when it ran in this process.
        result: what the task returned when it ran in this process (None when queued).
    """

    name: str
    task: str
    task_id: str
    queued: bool
    result: Any = None


def _interval_seconds(task: PeriodicTask) -> int | None:
    if task.interval is None:
        return None
    return int(timedelta(**{task.interval.period: task.interval.every}).total_seconds())


def task_arguments(task: PeriodicTask) -> tuple[list[Any], dict[str, Any]]:
    """Return the positional and keyword arguments a periodic task is sent with."""
    return json.loads(task.args or "[]"), json.loads(task.kwargs or "{}")


def _describe(task: PeriodicTask) -> Schedule:
    next_run_at = None
    if task.enabled:
        last = task.last_run_at or task.date_changed
        remaining = task.schedule.remaining_estimate(last)
        next_run_at = task.schedule.now() + max(remaining, timedelta(0))
    return Schedule(
        name=task.name,
        task=task.task,
        every_seconds=_interval_seconds(task),
        enabled=task.enabled,
        last_run_at=task.last_run_at,
        total_run_count=task.total_run_count,
        next_run_at=next_run_at,
    )


def schedules_install() -> list[str]:
    """Create the ``CELERY_BEAT_SCHEDULE`` entries that have no row; return their names.

    Existing rows are left as they are (an operator may have changed them). Safe to run in
    several processes at once: a row created meanwhile by another is kept.
    """
    defaults = settings.CELERY_BEAT_SCHEDULE
    rows = PeriodicTask.objects.filter(name__in=list(defaults))
    present = set(rows.values_list("name", flat=True))
    created = []
    for name, entry in defaults.items():
        if name in present:
            continue
        fields = ModelEntry._unpack_fields(**entry)  # beat's own conversion of an entry
        _, made = PeriodicTask.objects.get_or_create(name=name, defaults=fields)
        if made:
            created.append(name)
    if created:
        logger.info("schedules: installed the default entries %s", ", ".join(created))
    return created


def schedule_list() -> list[Schedule]:
    """Return every periodic task, by name (the defaults installed first if absent)."""
    schedules_install()
    tasks = PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked")
    return [_describe(task) for task in tasks.order_by("name")]


def _task(name: str, *, lock: bool = False) -> PeriodicTask:
    schedules_install()
    tasks = PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked")
    try:
        return (tasks.select_for_update(of=("self",)) if lock else tasks).get(name=name)
    except PeriodicTask.DoesNotExist:
        raise ScheduleUnknown(f"no periodic task named {name!r}", name=name) from None


def schedule_get(*, name: str) -> Schedule:
    """Return the periodic task ``name`` (``ScheduleUnknown``: there is none)."""
    return _describe(_task(name))


def schedule_set(
    *, name: str, every_seconds: int | None = None, enabled: bool | None = None
) -> Schedule:
    """Change how often the periodic task ``name`` runs, or switch it on or off; audited.

    Beat notices the change at its next tick (the row's change marks the table changed) and
    counts the new interval from the task's last run.

    Args:
        every_seconds: the new interval, at least 1 (a crontab schedule is replaced by it).
        enabled: run the task on its schedule (True) or not at all (False).
    """
    if every_seconds is not None and every_seconds < 1:
        raise ScheduleInvalid("every_seconds must be at least 1", every_seconds=every_seconds)
    with transaction.atomic():
        task = _task(name, lock=True)
        before = _describe(task)
        if every_seconds is not None:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=every_seconds, period=IntervalSchedule.SECONDS
            )
            task.interval, task.crontab, task.solar, task.clocked = interval, None, None, None
        if enabled is not None:
            task.enabled = enabled
        task.no_changes = False  # beat's own saves set it: this one must reach beat
        task.save()
        after = _describe(task)
        changes = {
            field: {"from": getattr(before, field), "to": getattr(after, field)}
            for field in ("every_seconds", "enabled")
            if getattr(before, field) != getattr(after, field)
        }
        if changes:
            audit_record(Action.SCHEDULE_SET, details={"schedule": name, **changes})
    return after


def task_run_now(*, name: str) -> TaskRun:
    """Run the periodic task ``name`` now, off its schedule; audited.

    With a broker it is queued for a worker and this returns at once; without one it runs in
    this process and the result is returned. Its schedule is not changed.
    """
    task = _task(name)
    with transaction.atomic():
        audit_record(Action.TASK_RUN, details={"schedule": name, "task": task.task})
    app.loader.import_default_modules()  # the tasks modules are discovered lazily
    try:
        celery_task = app.tasks[task.task]
    except KeyError:
        raise ScheduleInvalid(f"task {task.task!r} is not known", task=task.task) from None
    args, kwargs = task_arguments(task)
    result = celery_task.apply_async(args=args, kwargs=kwargs)
    queued = not app.conf.task_always_eager
    logger.info("schedules: %s (%s) %s", name, task.task, "queued" if queued else "ran")
    return TaskRun(
        name=name,
        task=task.task,
        task_id=result.id,
        queued=queued,
        result=None if queued else result.get(),
    )
