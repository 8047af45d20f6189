"""``/ui/tokens/``: a signed-in user's personal API tokens (create, list, revoke).

The same services as the management API (``access.services``) do the work and write the
audit records; the secret of a new token is in the one response that creates it, never stored.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from access.auth import Principal
from access.permissions import readable_repositories
from access.selectors import token_list
from access.services import TOKEN_MAX_DAYS, token_create_for, token_revoke_for
from formats.models.repository import Repository
from registry_project.errors import RegistryError


class TokenForm(forms.Form):
    """What a new token is: its label, its limits and its lifetime."""

    name = forms.CharField(max_length=100, required=False, label="Name")
    repositories = forms.ModelMultipleChoiceField(
        queryset=Repository.objects.none(),
        required=False,
        label="Repositories",
        help_text="None chosen: every repository you may use.",
        widget=forms.CheckboxSelectMultiple,
    )
    read_only = forms.BooleanField(required=False, label="Read-only")
    expires_in_days = forms.IntegerField(
        min_value=1,
        max_value=TOKEN_MAX_DAYS,
        required=False,
        label="Expires in (days)",
        help_text="Empty: never.",
    )

    def __init__(self, *args: object, principal: Principal, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["repositories"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = readable_repositories(principal=principal).order_by("name")


def _principal(request: HttpRequest) -> Principal:
    return Principal(user=request.user)


def _user(request: HttpRequest) -> User:
    """The signed-in user of a view behind ``login_required``."""
    assert isinstance(request.user, User)
    return request.user


def _page(request: HttpRequest, form: TokenForm, *, secret: str = "", status: int = 200):
    context = {"form": form, "tokens": token_list(user=_user(request)), "secret": secret}
    return render(request, "web/tokens.html", context, status=status)


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; on POST create one and show its secret, this once."""
    principal = _principal(request)
    if request.method != "POST":
        return _page(request, TokenForm(principal=principal))
    form = TokenForm(request.POST, principal=principal)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    try:
        issued = token_create_for(
            principal=principal,
            name=data["name"],
            repositories=list(data["repositories"]),
            expires_in_days=data["expires_in_days"],
            read_only=data["read_only"],
        )
    except RegistryError as error:
        form.add_error(None, error.message)
        return _page(request, form, status=error.http_status)
    response = _page(request, TokenForm(principal=principal), secret=issued.secret)
    response["Cache-Control"] = "no-store"  # the secret must not stay in a cache
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's tokens; it stops working at once and stays listed."""
    token = get_object_or_404(token_list(user=_user(request)), pk=token_id)
    token_revoke_for(principal=_principal(request), token=token)
    messages.success(request, f"Token {token.name or token.token_prefix} revoked.")
    return redirect("web:tokens")
