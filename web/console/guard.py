"""Who may use the admin console: registry administrators (``access.permissions``)."""

from collections.abc import Callable
from functools import wraps
from typing import cast

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from access.auth import Principal
from access.permissions import is_registry_admin

View = Callable[..., HttpResponse]


def console_view(view: View) -> View:
    """Let registry administrators through; send others to sign in, or refuse them (403)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_registry_admin(principal=Principal(user=request.user)):
            raise PermissionDenied("the admin console is for registry administrators")
        return view(request, *args, **kwargs)

    return guarded


def console_user(request: HttpRequest) -> User:
    """The administrator of a request ``console_view`` let through."""
    return cast(User, request.user)
