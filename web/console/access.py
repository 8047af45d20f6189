"""Console pages for access: users, groups, each repository's permission matrix, tokens."""

from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from access.models import ApiToken, RepositoryRole, Role
from access.services import (
    group_create,
    group_members_set,
    role_grant,
    role_revoke,
    token_revoke,
    user_active_set,
    user_create,
    user_password_set,
)
from formats.api import repository_update_from
from formats.models import Repository
from web.console.guard import console_view

T = TypeVar("T")
TOKENS_SHOWN = 500


class UserForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput)


class PasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, label="New password")


class GroupForm(forms.Form):
    name = forms.CharField(max_length=150)


class GrantForm(forms.Form):
    """A role for a user or a group on one repository (exactly one of the two)."""

    user = forms.ModelChoiceField(
        queryset=User.objects.order_by("username"), required=False, to_field_name="username"
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"), required=False, to_field_name="name"
    )
    role = forms.TypedChoiceField(choices=Role.choices, coerce=int)

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if bool(cleaned.get("user")) == bool(cleaned.get("group")):
            raise ValidationError("choose a user or a group")
        return cleaned


def _validation_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            for message in messages_:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error("password" if "password" in form.fields else None, message)


def _done(form: forms.Form, service: Callable[..., T], **arguments: object) -> T | None:
    """Call ``service``; None, with its validation errors on ``form``, if it refused."""
    try:
        return service(**arguments)
    except ValidationError as error:
        _validation_errors(form, error)
        return None


@console_view
def user_list(request: HttpRequest) -> HttpResponse:
    """Every user; create one."""
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = _done(form, user_create, **form.cleaned_data)
        if user is not None:
            messages.success(request, f"Created user {user.username}.")
            return redirect("web:console:user", username=user.username)
    users = User.objects.order_by("username").prefetch_related("groups")
    return render(request, "console/users.html", {"users": users, "form": form})


@console_view
def user_detail(request: HttpRequest, username: str) -> HttpResponse:
    """One user: activate or deactivate, a new password, groups, roles and tokens."""
    user = get_object_or_404(User, username=username)
    form = PasswordForm(request.POST or None)
    action = request.POST.get("action")
    if action in ("activate", "deactivate"):
        user_active_set(user=user, active=action == "activate")
        state = "active" if user.is_active else "inactive"
        messages.success(request, f"{user.username} is {state}.")
        return redirect("web:console:user", username=username)
    if action == "password" and form.is_valid():
        password = form.cleaned_data["password"]
        if _done(form, user_password_set, user=user, password=password) is not None:
            messages.success(request, f"New password set for {user.username}.")
            return redirect("web:console:user", username=username)
    context = {
        "subject": user,
        "form": form,
        "roles": RepositoryRole.objects.filter(user=user).select_related("repository"),
        "tokens": ApiToken.objects.filter(user=user).prefetch_related("repositories"),
    }
    return render(request, "console/user.html", context)


@console_view
def token_list(request: HttpRequest) -> HttpResponse:
    """Every user's tokens that still work, newest first."""
    tokens = ApiToken.objects.filter(revoked_at__isnull=True).select_related("user")
    context = {"tokens": tokens.prefetch_related("repositories")[:TOKENS_SHOWN], "owners": True}
    return render(request, "console/tokens.html", context)


@console_view
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke any user's token."""
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=token_id)
    token_revoke(token=token)
    messages.success(request, f"Revoked token {token.token_prefix}… of {token.user.username}.")
    if request.POST.get("back") == "tokens":
        return redirect("web:console:tokens")
    return redirect("web:console:user", username=token.user.username)


@console_view
def group_list(request: HttpRequest) -> HttpResponse:
    """Every group and its members; create one."""
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group = _done(form, group_create, name=form.cleaned_data["name"])
        if group is not None:
            messages.success(request, f"Created group {group.name}.")
            return redirect("web:console:group", name=group.name)
    groups = Group.objects.order_by("name").prefetch_related("user_set")
    return render(request, "console/groups.html", {"groups": groups, "form": form})


@console_view
def group_detail(request: HttpRequest, name: str) -> HttpResponse:
    """One group: choose its members."""
    group = get_object_or_404(Group, name=name)
    users = User.objects.order_by("username")
    if request.method == "POST":
        chosen = list(users.filter(username__in=request.POST.getlist("members")))
        group_members_set(group=group, users=chosen)
        messages.success(request, f"Members of {group.name} saved.")
        return redirect("web:console:group", name=name)
    members = set(group.user_set.values_list("pk", flat=True))
    context = {"group": group, "users": [(user, user.pk in members) for user in users]}
    return render(request, "console/group.html", context)


@console_view
def permission_matrix(request: HttpRequest, name: str) -> HttpResponse:
    """Who reads, writes, deletes and administers a repository; grant, revoke, anonymous read."""
    repository = get_object_or_404(Repository, name=name)
    form = GrantForm(request.POST or None)
    action = request.POST.get("action")
    if action == "grant" and form.is_valid():
        data = form.cleaned_data
        binding = role_grant(
            repository=repository, role=Role(data["role"]), user=data["user"], group=data["group"]
        )
        messages.success(request, f"Granted {binding}.")
        return redirect("web:console:permissions", name=name)
    if action == "revoke":
        posted = request.POST.get("binding", "")
        binding = get_object_or_404(
            RepositoryRole, pk=int(posted) if posted.isdigit() else 0, repository=repository
        )
        role_revoke(binding=binding)
        messages.success(request, "Role revoked.")
        return redirect("web:console:permissions", name=name)
    if action == "anonymous":
        public = request.POST.get("anonymous_read") == "on"
        repository_update_from(repository=repository, data={"anonymous_read": public})
        messages.success(request, f"Anonymous read {'on' if public else 'off'}.")
        return redirect("web:console:permissions", name=name)
    bindings = RepositoryRole.objects.filter(repository=repository).select_related("user", "group")
    rows = [
        (binding, [binding.role >= role for role in Role.values])
        for binding in bindings.order_by("group__name", "user__username")
    ]
    context = {
        "repository": repository,
        "rows": rows,
        "roles": Role.choices,
        "superusers": User.objects.filter(is_superuser=True, is_active=True).order_by("username"),
        "form": form,
    }
    return render(request, "console/permissions.html", context)
