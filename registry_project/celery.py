"""The Celery application; tasks are discovered in every installed app's ``tasks`` module.

Without a broker (the embedded default) there is no beat either: ``start_in_process_schedule``
runs ``CELERY_BEAT_SCHEDULE`` in a thread of one server process instead.
"""

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import Celery
from django.conf import settings
from django.db import connections

from registry_project import tasklog

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings.base")

app = Celery("registry_project", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
tasklog.connect()

logger = logging.getLogger(__name__)


def _interval(schedule: object) -> float | None:
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float):
        return float(schedule)
    return None  # crontab and solar schedules need beat


class InProcessSchedule:
    """Run beat's schedule in this process, in at most one process per ``state_dir`` at a time.

    Server processes all start one; the one that takes the lock file runs the entries, the
    others retry every ``poll`` seconds, so the schedule survives the death of its runner.
    When each entry last ran is kept in a file, so restarts do not postpone work forever; an
    entry never seen before first runs one interval after it was first seen.
    """

    def __init__(
        self, *, schedule: Mapping[str, Mapping[str, Any]], state_dir: Path, poll: float = 60.0
    ) -> None:
        self.entries = {}
        for name, entry in schedule.items():
            interval = _interval(entry["schedule"])
            if interval is None:
                logger.warning("in-process schedule: %s needs celery beat; skipped", name)
            else:
                self.entries[name] = (entry, interval)
        self.lock_file = state_dir / "schedule.lock"
        self.state_file = state_dir / "schedule.json"
        self.poll = poll
        self.running = threading.Event()  # set while this process is the one running entries
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="in-process-schedule", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _main(self) -> None:
        with self.lock_file.open("ab") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if self._stop.wait(self.poll):
                        return
            self.running.set()
            app.loader.import_default_modules()  # autodiscovery is lazy: the tasks modules
            try:
                self._loop()
            finally:
                self.running.clear()

    def _loop(self) -> None:
        try:
            last_run = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            last_run = {}
        while True:
            now = time.time()
            for name, (entry, interval) in self.entries.items():
                last_run.setdefault(name, now)
                if now - last_run[name] >= interval:
                    self._run(name, entry)
                    last_run[name] = time.time()
            self.state_file.write_text(json.dumps(last_run))
            due = min(
                (last_run[name] + interval for name, (_, interval) in self.entries.items()),
                default=now + self.poll,
            )
            if self._stop.wait(max(0.0, min(due - time.time(), self.poll))):
                return

    def _run(self, name: str, entry: Mapping[str, Any]) -> None:
        try:
            task = app.tasks[entry["task"]]
            result = task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
        except Exception:
            logger.exception("in-process schedule: %s could not run", name)
            return
        finally:
            # Runs are hours apart: this thread's connections would only go stale meanwhile.
            connections.close_all()
        if result.failed():
            logger.error("in-process schedule: %s failed: %r", name, result.result)
        else:
            logger.info("in-process schedule: %s: %s", name, result.result)


_started: InProcessSchedule | None = None
_start_lock = threading.Lock()


def start_in_process_schedule() -> None:
    """Start this process's schedule thread when ``REGISTRY_IN_PROCESS_SCHEDULE`` is on (once)."""
    global _started
    if not settings.REGISTRY_IN_PROCESS_SCHEDULE:
        return
    with _start_lock:
        if _started is None:
            _started = InProcessSchedule(
                schedule=settings.CELERY_BEAT_SCHEDULE, state_dir=settings.VAR_DIR
            )
            _started.start()
