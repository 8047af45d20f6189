"""Console pages for repositories: list, create, edit, delete, members' order and cleanup."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework import serializers

from formats.api import (
    RepositorySerializer,
    repository_create_from,
    repository_update_from,
)
from formats.lifecycle.api import CleanupPolicySerializer
from formats.lifecycle.cleanup import cleanup_preview, cleanup_run, policy_clear, policy_set
from formats.models import CleanupPolicy, CleanupRun, Repository
from formats.quotas import repositories_usage, repository_usage
from formats.services import repository_delete, repository_members_set, upstream_probe
from registry_project.errors import RegistryError
from web.console.guard import console_user, console_view
from web.console.repository_forms import (
    CleanupPolicyForm,
    RepositoryForm,
    api_context,
    errors_shown,
)


def _repository(name: str) -> Repository:
    return get_object_or_404(Repository.objects.select_related("deploy_to"), name=name)


@console_view
def repository_list(request: HttpRequest) -> HttpResponse:
    """Every repository with its format, kind, size and, for proxies, its upstream's status."""
    repositories = list(Repository.objects.order_by("name"))
    rows = list(zip(repositories, repositories_usage(repositories=repositories), strict=True))
    return render(
        request, "console/repositories.html", {"rows": rows, "kinds": Repository.Kind.values}
    )


def _saved(request: HttpRequest, form: RepositoryForm) -> Repository | None:
    """Validate and save what ``form`` was posted, as the API would; None if it was refused."""
    data = form.api_data(request.POST)
    if data is None:
        return None
    serializer = RepositorySerializer(
        form.instance, data=data, partial=form.instance is not None, context=api_context(request)
    )
    if not serializer.is_valid():
        errors_shown(form, serializer.errors)
        return None
    try:
        if form.instance is None:
            return repository_create_from(
                user=console_user(request), data=serializer.validated_data
            )
        return repository_update_from(repository=form.instance, data=serializer.validated_data)
    except serializers.ValidationError as error:
        errors_shown(form, error.detail)
    except RegistryError as error:
        errors_shown(form, [error.message])
    return None


@console_view
def repository_create(request: HttpRequest, kind: str) -> HttpResponse:
    """Create a hosted, proxy or group repository."""
    if kind not in Repository.Kind.values:
        raise Http404("no such kind of repository")
    form = RepositoryForm(
        request.POST or None,
        kind=kind,
        initial={"hosted_guard": True, "immutable_tag_exceptions": "latest"},
    )
    if request.method == "POST":
        repository = _saved(request, form)
        if repository is not None:
            messages.success(request, f"Created {repository.kind} repository {repository.name}.")
            return redirect("web:console:repository", name=repository.name)
    context = {"form": form, "kind": kind, "repository": None}
    return render(request, "console/repository_form.html", context)


@console_view
def repository_edit(request: HttpRequest, name: str) -> HttpResponse:
    """Change a repository's settings; also shows its members' order, usage and cleanup."""
    repository = _repository(name)
    form = RepositoryForm(
        request.POST or None,
        kind=repository.kind,
        instance=repository,
        initial=RepositoryForm.initial_of(repository),
    )
    if request.method == "POST":
        saved = _saved(request, form)
        if saved is not None:
            messages.success(request, f"Saved {saved.name}.")
            return redirect("web:console:repository", name=saved.name)
    policy = CleanupPolicy.objects.filter(repository=repository).first()
    context = {
        "form": form,
        "kind": repository.kind,
        "repository": repository,
        "members": [link.member for link in repository.member_links.select_related("member")],
        "usage": repository_usage(repository=repository),
        "policy_form": CleanupPolicyForm(initial=CleanupPolicyForm.initial_of(policy)),
        "policy": policy,
        "runs": CleanupRun.objects.filter(repository=repository)[:10],
    }
    return render(request, "console/repository_form.html", context)


@console_view
def repository_delete_confirm(request: HttpRequest, name: str) -> HttpResponse:
    """Ask, then delete a repository and everything in it."""
    repository = _repository(name)
    if request.method == "POST":
        try:
            repository_delete(repository=repository)
        except RegistryError as error:
            messages.error(request, error.message)
            return redirect("web:console:repository", name=name)
        messages.success(request, f"Deleted {name}.")
        return redirect("web:console:repositories")
    return render(request, "console/repository_delete.html", {"repository": repository})


@console_view
@require_POST
def repository_member_move(request: HttpRequest, name: str) -> HttpResponse:
    """Move one member of a group up or down its lookup order."""
    repository = _repository(name)
    members = [link.member for link in repository.member_links.select_related("member")]
    names = [member.name for member in members]
    moved, direction = request.POST.get("member", ""), request.POST.get("direction")
    if moved not in names or direction not in ("up", "down"):
        messages.error(request, "no such member to move")
        return redirect("web:console:repository", name=name)
    index = names.index(moved)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(members):
        members[index], members[other] = members[other], members[index]
        repository_members_set(repository=repository, members=members)
    return redirect("web:console:repository", name=name)


@console_view
@require_POST
def repository_upstream_check(request: HttpRequest, name: str) -> HttpResponse:
    """Ask a proxy's upstream now whether it answers, and show what it said."""
    repository = _repository(name)
    if repository.kind != Repository.Kind.PROXY:
        raise Http404("only proxies have an upstream")
    messages.success(
        request, f"Upstream {repository.upstream_url}: {upstream_probe(repository=repository)}"
    )
    return redirect("web:console:repository", name=name)


@console_view
@require_POST
def repository_cleanup(request: HttpRequest, name: str) -> HttpResponse:
    """Set or clear the cleanup policy, preview what it would remove, or run it now."""
    repository = _repository(name)
    action = request.POST.get("action")
    if action == "clear":
        policy_clear(repository=repository)
        messages.success(request, "Cleanup policy removed.")
    elif action == "run":
        run = cleanup_run(repository=repository, user=console_user(request))
        messages.success(
            request,
            f"Cleanup {run.status}: {run.versions_removed} versions, {run.files_removed} files, "
            f"{run.bytes_freed} bytes removed.",
        )
    elif action == "preview":
        removals = cleanup_preview(repository=repository)
        context = {"repository": repository, "removals": removals}
        return render(request, "console/cleanup_preview.html", context)
    elif action == "set":
        return _policy_set(request, repository)
    return redirect("web:console:repository", name=name)


def _policy_set(request: HttpRequest, repository: Repository) -> HttpResponse:
    form = CleanupPolicyForm(request.POST)
    serializer = CleanupPolicySerializer(data=CleanupPolicyForm.api_data(request.POST))
    if serializer.is_valid():
        try:
            policy_set(repository=repository, **serializer.validated_data)
        except RegistryError as error:
            errors_shown(form, [error.message])
    else:
        errors_shown(form, serializer.errors)
    if form.errors:
        context = {"repository": repository, "policy_form": form}
        return render(request, "console/cleanup_policy.html", context, status=400)
    messages.success(request, "Cleanup policy saved.")
    return redirect("web:console:repository", name=repository.name)
