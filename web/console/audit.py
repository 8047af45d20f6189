"""Console page for the audit log, filtered as the API filters it, paginated."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit.api import AuditEventFilter
from audit.models import AuditEvent
from web.console.guard import console_view

PAGE_SIZE = 50


@console_view
def audit_log(request: HttpRequest) -> HttpResponse:
    """State changes, newest first; filter by user, repository, action (prefix) and time."""
    found = AuditEventFilter(request.GET, queryset=AuditEvent.objects.all())
    events = found.qs if found.is_valid() else AuditEvent.objects.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": found, "page": page, "query": query.urlencode()}
    return render(request, "console/audit.html", context, status=200 if found.is_valid() else 400)
