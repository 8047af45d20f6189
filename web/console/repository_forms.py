"""The console's repository and cleanup forms: HTML input in, the API's validation behind it.

A form here only turns what a browser posts into the data the management API takes; the
``RepositorySerializer`` and ``CleanupPolicySerializer`` of the API validate it and the
services behind them save it, so the console and the API refuse the same input with the
same messages.
"""

import json
from typing import cast

from django import forms
from django.http import HttpRequest, QueryDict
from rest_framework.request import Request

from access.auth import Principal
from formats.lifecycle.cleanup import RULE_FIELDS
from formats.models import CleanupPolicy, Repository
from formats.models.repository import FORMAT_CHOICES

# What the form shows, and so sends, for each kind (besides name, format, anonymous read and
# config, which every kind has).
KIND_FIELDS: dict[str, set[str]] = {
    Repository.Kind.HOSTED: {
        "allow_redeploy",
        "immutable_tags",
        "immutable_tag_exceptions",
        "quota_bytes",
    },
    Repository.Kind.PROXY: {
        "upstream_url",
        "upstream_username",
        "upstream_password",
        "metadata_ttl",
        "negative_ttl",
    },
    Repository.Kind.GROUP: {"members", "deploy_to", "hosted_guard"},
}
TEXT_FIELDS = {"immutable_tag_exceptions", "upstream_url", "upstream_username"}
FLAG_FIELDS = {"allow_redeploy", "immutable_tags", "hosted_guard"}


def api_context(request: HttpRequest) -> dict[str, Request]:
    """The serializer context of an API request made by the signed-in console user."""
    api_request = Request(request)
    api_request.user = request.user
    api_request.auth = Principal(user=request.user)
    return {"request": api_request}


def errors_shown(form: forms.Form, errors: object) -> None:
    """Put the API's validation errors (a field name to messages, or a list) on ``form``."""
    if not isinstance(errors, dict):
        errors = {None: errors}
    for field, messages in errors.items():
        target = field if field in form.fields else None
        for message in messages if isinstance(messages, list) else [messages]:
            if isinstance(message, dict):  # a nested field's errors: name them
                message = "; ".join(f"{key}: {value}" for key, value in message.items())
            prefix = "" if target or field in (None, "non_field_errors", "detail") else f"{field}: "
            form.add_error(target, f"{prefix}{message}")


class RepositoryForm(forms.Form):
    """Every field the API has; a new repository's kind is chosen before the form shows."""

    name = forms.CharField(max_length=64, help_text="Lowercase letters, digits, . _ -")
    format = forms.ChoiceField(choices=FORMAT_CHOICES)
    anonymous_read = forms.BooleanField(required=False, label="Anyone may read (anonymous read)")
    allow_redeploy = forms.BooleanField(required=False, label="Allow redeploy")
    immutable_tags = forms.BooleanField(required=False, label="Immutable tags")
    immutable_tag_exceptions = forms.CharField(
        required=False,
        max_length=255,
        label="Movable tags",
        help_text="Comma-separated tag patterns that stay movable (fnmatch).",
    )
    config = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Format policy (JSON object)",
        help_text='E.g. {"version_policy": "release"} for Maven.',
    )
    quota_bytes = forms.CharField(required=False, label="Quota (bytes, empty: none)")
    upstream_url = forms.CharField(required=False, label="Upstream URL")
    upstream_username = forms.CharField(required=False, label="Upstream username")
    upstream_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label="Upstream password or token",
        help_text="With a username: HTTP Basic; alone: a bearer token. Empty: unchanged.",
    )
    clear_upstream_password = forms.BooleanField(required=False, label="Forget the stored password")
    metadata_ttl = forms.CharField(required=False, label="Metadata TTL (seconds)")
    negative_ttl = forms.CharField(required=False, label="Not-found TTL (seconds)")
    members = forms.MultipleChoiceField(required=False, label="Members, in lookup order")
    EMPTY_MEMBER_ROWS = 3  # rows to add members in, below the current ones
    deploy_to = forms.ChoiceField(required=False, label="Deploy target (a hosted member)")
    hosted_guard = forms.BooleanField(
        required=False, label="Dependency-confusion guard (hosted names stay hosted)"
    )

    def __init__(self, *args, kind: str, instance: Repository | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind, self.instance = kind, instance
        names = [(name, name) for name in Repository.objects.values_list("name", flat=True)]
        cast(forms.ChoiceField, self.fields["members"]).choices = names
        hosted = Repository.objects.filter(kind=Repository.Kind.HOSTED)
        cast(forms.ChoiceField, self.fields["deploy_to"]).choices = [("", "none")] + [
            (name, name) for name in hosted.values_list("name", flat=True)
        ]
        if instance is not None:
            self.fields["name"].disabled = self.fields["format"].disabled = True

    def member_rows(self) -> list[str]:
        """The member each row's list shows chosen, in lookup order, then empty rows."""
        posted = cast(QueryDict, self.data)
        chosen = posted.getlist("members") if self.is_bound else self.initial.get("members")
        kept = [name for name in chosen or [] if name]
        return kept + [""] * self.EMPTY_MEMBER_ROWS

    @classmethod
    def initial_of(cls, repository: Repository) -> dict[str, object]:
        """The form's values for a stored repository (the password is never shown back)."""
        fields = [name for name in cls.base_fields if name not in ("config", "members")]
        initial = {name: getattr(repository, name, "") for name in fields}
        initial["upstream_password"] = ""
        initial["config"] = json.dumps(repository.config) if repository.config else ""
        initial["members"] = [link.member.name for link in repository.member_links.all()]
        initial["deploy_to"] = repository.deploy_to.name if repository.deploy_to else ""
        initial["quota_bytes"] = repository.quota_bytes or ""
        return initial

    def api_data(self, posted: QueryDict) -> dict[str, object] | None:
        """The API's request body for what was posted (None, with an error, if it is not one).

        Only the fields the form shows for its kind are sent, so an edit leaves the others as
        they are. Members keep the order of the posted rows; empty rows are left out.
        """
        shown = KIND_FIELDS[self.kind]
        data: dict[str, object] = {"anonymous_read": "anonymous_read" in posted}
        if self.instance is None:
            data.update(name=posted.get("name", ""), format=posted.get("format", ""))
            data["kind"] = self.kind
        for name in shown & TEXT_FIELDS:
            data[name] = posted.get(name, "")
        for name in shown & FLAG_FIELDS:
            data[name] = name in posted
        for name in shown & {"metadata_ttl", "negative_ttl"}:
            if posted.get(name):
                data[name] = posted[name]
        for name in shown & {"quota_bytes", "deploy_to"}:
            data[name] = posted.get(name) or None
        if "members" in shown:
            data["members"] = [name for name in posted.getlist("members") if name]
        if "clear_upstream_password" in posted:
            data["upstream_password"] = ""
        elif "upstream_password" in shown and posted.get("upstream_password"):
            data["upstream_password"] = posted["upstream_password"]
        try:
            data["config"] = json.loads(posted.get("config") or "{}")
        except ValueError as error:
            self.add_error("config", f"not JSON: {error}")
            return None
        return data


class CleanupPolicyForm(forms.Form):
    """A repository's cleanup rules; ``CleanupPolicySerializer`` validates them."""

    keep_last = forms.CharField(required=False, label="Keep the last N versions per package")
    older_than_days = forms.CharField(required=False, label="Remove versions older than (days)")
    unused_days = forms.CharField(required=False, label="Remove versions unused for (days)")
    match = forms.CharField(required=False, label="Only versions matching")
    match_regex = forms.BooleanField(required=False, label="The pattern is a regular expression")
    prerelease_only = forms.BooleanField(required=False, label="Only prereleases")
    keep_tagged = forms.BooleanField(required=False, label="Keep tagged versions", initial=True)
    snapshot_builds = forms.CharField(required=False, label="Maven: SNAPSHOT builds to keep")

    @staticmethod
    def initial_of(policy: CleanupPolicy | None) -> dict[str, object]:
        """The form's values for a stored policy (the defaults without one)."""
        if policy is None:
            return {"keep_tagged": True}
        values = {name: getattr(policy, name) for name in RULE_FIELDS}
        return {name: "" if value is None else value for name, value in values.items()}

    @staticmethod
    def api_data(posted: QueryDict) -> dict[str, object]:
        """The API's request body for what was posted: empty numbers are unset rules."""
        data: dict[str, object] = {"match": posted.get("match", "")}
        for name in ("match_regex", "prerelease_only", "keep_tagged"):
            data[name] = name in posted
        for name in ("keep_last", "older_than_days", "unused_days", "snapshot_builds"):
            data[name] = posted.get(name) or None
        return data
