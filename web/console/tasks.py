"""Console page for background tasks: schedules (interval, on/off, "run now") and what runs did."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from audit.models import AuditEvent
from formats.models import CleanupRun
from registry_project.schedules import (
    ScheduleInvalid,
    ScheduleUnknown,
    schedule_list,
    schedule_set,
    task_run_now,
)
from web.console.guard import console_view

# The audit actions maintenance runs record (fsck.run: the integrity check's runs).
RUN_ACTIONS = ("gc.run", "cleanup.run", "fsck.run")
SHOWN_RUNS = 50


@console_view
def task_list(request: HttpRequest) -> HttpResponse:
    """The schedules, recent garbage collection, cleanup and fsck runs, and cleanup runs."""
    context = {
        "schedules": schedule_list(),
        "events": AuditEvent.objects.filter(action__in=RUN_ACTIONS)[:SHOWN_RUNS],
        "cleanups": CleanupRun.objects.select_related("repository")[:SHOWN_RUNS],
    }
    return render(request, "console/tasks.html", context)


@console_view
@require_POST
def task_run(request: HttpRequest, name: str) -> HttpResponse:
    """Start a scheduled task now (queued on a worker, or run here without a broker)."""
    try:
        run = task_run_now(name=name)
    except ScheduleUnknown:
        raise Http404("no such schedule") from None
    done = "" if run.queued else f" It ran here: {run.result}"
    messages.success(request, f"Started {name} (task {run.task_id}).{done}")
    return redirect("web:console:tasks")


@console_view
@require_POST
def schedule_change(request: HttpRequest, name: str) -> HttpResponse:
    """Change a schedule's interval and switch it on or off."""
    every = request.POST.get("every_seconds", "").strip()
    try:
        schedule_set(
            name=name,
            every_seconds=int(every) if every else None,
            enabled=request.POST.get("enabled") == "on",
        )
    except ScheduleUnknown:
        raise Http404("no such schedule") from None
    except ValueError:
        messages.error(request, f"{name}: the interval must be a whole number of seconds.")
    except ScheduleInvalid as error:
        messages.error(request, f"{name}: {error.message}")
    else:
        messages.success(request, f"Changed the schedule of {name}.")
    return redirect("web:console:tasks")
