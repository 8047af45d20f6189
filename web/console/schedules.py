"""The background tasks an administrator sees and starts: ``schedule_list`` and ``task_run_now``.

Built on ``settings.CELERY_BEAT_SCHEDULE`` and each task's ``delay()`` (without a broker the
task runs in process, as the in-process schedule runs it).
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from registry_project.celery import app as celery_app


@dataclass(frozen=True)
class Schedule:
    """One scheduled task: its name, the Celery task it runs, how often and with what."""

    name: str
    task: str
    every_seconds: float | None  # None: a crontab or solar schedule
    kwargs: dict


class UnknownSchedule(KeyError):
    """No schedule has this name."""


def schedule_list() -> list[Schedule]:
    """Return the scheduled tasks, by name."""
    schedules = []
    entries: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    for name, entry in sorted(entries.items()):
        every = entry["schedule"]
        schedules.append(
            Schedule(
                name=name,
                task=entry["task"],
                every_seconds=float(every) if isinstance(every, int | float) else None,
                kwargs=dict(entry.get("kwargs", {})),
            )
        )
    return schedules


def task_run_now(name: str) -> str:
    """Start the scheduled task ``name`` now, as its schedule would; return the Celery task id.

    Raises:
        UnknownSchedule: no schedule is called ``name``.
    """
    entry: dict[str, Any] | None = settings.CELERY_BEAT_SCHEDULE.get(name)
    if entry is None:
        raise UnknownSchedule(name)
    celery_app.loader.import_default_modules()  # autodiscovery is lazy: the tasks modules
    task = celery_app.tasks[entry["task"]]
    return task.delay(*entry.get("args", ()), **entry.get("kwargs", {})).id
