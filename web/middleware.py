"""Middleware of the browser-facing chain (settings.MIDDLEWARE; package clients skip it)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from access.errors import TooManyAttempts


class TooManyAttemptsMiddleware:
    """Answer a sign-in form that hit the throttle (web UI and admin console) with a 429 page.

    The password check raises TooManyAttempts out of the form's validation; protocol views and
    the management API render it themselves, in their own formats.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, TooManyAttempts):
            return None
        response = render(
            request,
            "web/too_many_attempts.html",
            {"retry_after": exception.retry_after},
            status=exception.http_status,
        )
        for name, value in exception.headers.items():
            response[name] = value
        return response
