"""Console page for background tasks: schedules with "run now", and what the runs did."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from audit.models import AuditEvent
from formats.models import CleanupRun
from web.console.guard import console_view
from web.console.schedules import UnknownSchedule, schedule_list, task_run_now

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
    """Start a scheduled task now."""
    try:
        task_id = task_run_now(name)
    except UnknownSchedule:
        raise Http404("no such schedule") from None
    messages.success(request, f"Started {name} (task {task_id}).")
    return redirect("web:console:tasks")
