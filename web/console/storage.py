"""Console page for storage: bytes per repository and in total, deduplication, growth."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from formats.quotas import store_usage
from web.console.growth import growth_by_day, growth_chart
from web.console.guard import console_view


@console_view
def storage_overview(request: HttpRequest) -> HttpResponse:
    """Every repository's logical and physical bytes, the store's totals, and its growth."""
    days = growth_by_day()
    context = {"usage": store_usage(), "days": days[-30:], "chart": growth_chart(days)}
    return render(request, "console/storage.html", context)
