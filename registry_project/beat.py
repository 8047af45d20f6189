"""What runs the periodic tasks stored in the database (``registry_project.schedules``).

With a broker, Celery beat does, with ``DatabaseScheduler`` (``CELERY_BEAT_SCHEDULER``).
Without one there is no beat: ``start_in_process_schedule`` runs the same rows in a thread of
one server process, and records their runs in the same columns beat does.
"""

import fcntl
import logging
import threading
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.models import F
from django.utils import timezone
from django_celery_beat import schedulers
from django_celery_beat.models import PeriodicTask

from registry_project.celery import app
from registry_project.schedules import schedules_install, task_arguments

logger = logging.getLogger(__name__)


class DatabaseScheduler(schedulers.DatabaseScheduler):
    """django-celery-beat's scheduler, but the defaults only fill in absent rows.

    The stock one writes ``CELERY_BEAT_SCHEDULE`` over the rows at every start, which would
    undo an operator's changes.
    """

    def setup_schedule(self) -> None:
        schedules_install()


class InProcessSchedule:
    """Run the enabled periodic tasks in this process, in one process per ``state_dir`` at a time.

    Server processes all start one; the one that takes the lock file runs the tasks, the others
    retry every ``poll`` seconds, so the schedule survives the death of its runner. The rows are
    read again every round (at most ``poll`` seconds apart), so changes take effect without a
    restart; a task first runs one interval after its row was created or last changed.
    """

    def __init__(self, *, state_dir: Path, poll: float = 60.0) -> None:
        self.lock_file = state_dir / "schedule.lock"
        self.poll = poll
        self.running = threading.Event()  # set while this process is the one running tasks
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
                schedules_install()
                while not self._stop.wait(max(0.0, min(self.run_due(), self.poll))):
                    pass
            finally:
                self.running.clear()
                connections.close_all()

    def run_due(self) -> float:
        """Run the tasks that are due, in the order they were created; return the seconds
        until the next one is."""
        wait = self.poll
        try:
            tasks = PeriodicTask.objects.filter(enabled=True).order_by("pk")
            for task in tasks.select_related("interval", "crontab", "solar", "clocked"):
                due, next_check = task.schedule.is_due(task.last_run_at or task.date_changed)
                if due:
                    self._run(task)
                wait = min(wait, next_check)
        finally:
            # Rounds are minutes apart: this thread's connections would only go stale meanwhile.
            connections.close_all()
        return wait

    def _run(self, task: PeriodicTask) -> None:
        PeriodicTask.objects.filter(pk=task.pk).update(  # update(): no change signal for beat
            last_run_at=timezone.now(), total_run_count=F("total_run_count") + 1
        )
        try:
            celery_task = app.tasks[task.task]
            args, kwargs = task_arguments(task)
            result = celery_task.apply(args=args, kwargs=kwargs)
        except Exception:
            logger.exception("in-process schedule: %s could not run", task.name)
            return
        if result.failed():
            logger.error("in-process schedule: %s failed: %r", task.name, result.result)
        else:
            logger.info("in-process schedule: %s: %s", task.name, result.result)


_started: InProcessSchedule | None = None
_start_lock = threading.Lock()


def start_in_process_schedule() -> None:
    """Start this process's schedule thread when ``REGISTRY_IN_PROCESS_SCHEDULE`` is on (once)."""
    global _started
    if not settings.REGISTRY_IN_PROCESS_SCHEDULE:
        return
    with _start_lock:
        if _started is None:
            _started = InProcessSchedule(state_dir=settings.VAR_DIR)
            _started.start()
