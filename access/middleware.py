"""Every request runs in an audit scope naming its client address (``access.throttle``)."""

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from access.throttle import client_address
from audit.context import audit_scope


class AuditScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with audit_scope(address=client_address(request), request=request):
            return self.get_response(request)
