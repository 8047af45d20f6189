"""Admin console pages for repositories and what they hold."""

from django import forms
from django.contrib import admin
from django.db import models

from formats.errors import RepositoryInvalid
from formats.lifecycle.cleanup import RULE_FIELDS, policy_check
from formats.lifecycle.errors import PolicyInvalid
from formats.models import (
    Asset,
    CleanupPolicy,
    CleanupRun,
    Document,
    Package,
    ProxyEntry,
    Repository,
    RepositoryMember,
    Tag,
    TagEvent,
    Version,
)
from formats.quotas import format_size, repository_usage
from formats.services import repository_check, repository_members_set, upstream_probe
from registry_project.jsonbody import BoundedJSONDecoder


class MemberFormSet(forms.BaseInlineFormSet):
    """A group's member rows, checked as one ordered list with the repository being saved."""

    def ordered_members(self) -> list[Repository]:
        """The members the rows name, lowest position first (ties: the order of the rows)."""
        kept = [
            (row.cleaned_data["position"], index, row.cleaned_data["member"])
            for index, row in enumerate(self.forms)
            if row.cleaned_data
            and row.cleaned_data.get("member")
            and not row.cleaned_data.get("DELETE")
        ]
        return [member for _, _, member in sorted(kept, key=lambda item: item[:2])]

    def clean(self) -> None:
        """Refuse what the core would refuse (kind, upstream, loop, format, deploy target)."""
        super().clean()
        if any(self.errors):
            return
        members = self.ordered_members()
        group = self.instance.kind == Repository.Kind.GROUP
        try:
            repository_check(
                repository=self.instance, members=members if group or members else None
            )
        except RepositoryInvalid as error:
            raise forms.ValidationError(error.message) from None


class MemberInline(admin.TabularInline):
    """A group's members in lookup order (lowest position first)."""

    model = RepositoryMember
    formset = MemberFormSet
    fk_name = "group"
    fields = ["position", "member"]
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "members (groups only), in lookup order"


class RepositoryForm(forms.ModelForm):
    upstream_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="With a username: HTTP Basic; alone: a bearer token. Empty: unchanged.",
    )
    clear_upstream_password = forms.BooleanField(
        required=False, help_text="Forget the stored password or token."
    )

    class Meta:
        model = Repository
        exclude = ["members"]  # noqa: DJ006 - edited in the member rows, in order

    def clean_upstream_password(self) -> str:
        # The secret is never shown back, so an empty field means "unchanged".
        return self.cleaned_data["upstream_password"] or self.instance.upstream_password

    def clean(self) -> dict:
        super().clean()
        if self.cleaned_data.get("clear_upstream_password"):
            self.cleaned_data["upstream_password"] = ""
        return self.cleaned_data


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    form = RepositoryForm
    list_display = ["name", "format", "kind", "anonymous_read", "upstream_url", "upstream_status"]
    list_filter = ["format", "kind", "anonymous_read"]
    search_fields = ["name"]
    inlines = [MemberInline]
    fieldsets = [
        (None, {"fields": ["name", "format", "kind", "anonymous_read"]}),
        (
            "Hosted repositories",
            {
                "fields": [
                    "allow_redeploy",
                    "immutable_tags",
                    "immutable_tag_exceptions",
                    "config",
                    "quota_bytes",
                ]
            },
        ),
        ("Storage", {"fields": ["storage_usage"]}),
        (
            "Proxy repositories",
            {
                "fields": [
                    "upstream_url",
                    "upstream_username",
                    "upstream_password",
                    "clear_upstream_password",
                    "metadata_ttl",
                    "negative_ttl",
                    "upstream_status",
                    "upstream_checked",
                ]
            },
        ),
        ("Group repositories", {"fields": ["deploy_to", "hosted_guard"]}),
    ]
    formfield_overrides = {
        models.JSONField: {"decoder": BoundedJSONDecoder},  # a deep config was a 500
    }

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # Content, members and groups are of one format and kind: those stay once created.
        fixed = ["format", "kind"] if obj is not None else []
        return [*fixed, "upstream_status", "upstream_checked", "storage_usage"]

    @admin.display(description="usage")
    def storage_usage(self, obj: Repository) -> str:
        """What ``manage.py usage`` shows for the repository."""
        if obj.pk is None:
            return "-"
        usage = repository_usage(repository=obj)
        quota = "no quota" if usage.quota is None else f"quota {format_size(usage.quota)}"
        return (
            f"{format_size(usage.physical)} stored ({quota}); {format_size(usage.logical)} of "
            f"files, {format_size(usage.saved)} saved by deduplication, "
            f"{format_size(usage.shared)} shared with other repositories"
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "deploy_to":
            kwargs["queryset"] = Repository.objects.filter(kind=Repository.Kind.HOSTED)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        """Save, then check a new or changed upstream and say what it answered."""
        if "quota_bytes" in form.changed_data:
            obj.quota_used_bytes = None  # as ``repository_update`` does
        super().save_model(request, obj, form, change)
        upstream = ("upstream_url", "upstream_username", "upstream_password")
        moved = any(form.initial.get(field) != getattr(obj, field) for field in upstream)
        if obj.kind == Repository.Kind.PROXY and (not change or moved):
            status = upstream_probe(repository=obj)
            self.message_user(request, f"upstream {obj.upstream_url}: {status}")

    def save_formset(self, request, form, formset, change) -> None:
        """Members change through ``repository_members_set`` (order, checks, format hooks)."""
        if formset.model is not RepositoryMember:
            super().save_formset(request, form, formset, change)
            return
        if form.instance.kind == Repository.Kind.GROUP:
            repository_members_set(repository=form.instance, members=formset.ordered_members())
        # What the admin's change message reads from a formset that saved itself.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


@admin.register(ProxyEntry)
class ProxyEntryAdmin(admin.ModelAdmin):
    list_display = ["key", "repository", "status", "checked", "fetched"]
    list_filter = ["repository", "status"]
    search_fields = ["key", "package"]
    exclude = ["content"]
    readonly_fields = [
        "repository",
        "key",
        "package",
        "url",
        "status",
        "content_type",
        "upstream_etag",
        "upstream_last_modified",
        "fetched",
        "checked",
    ]


class VersionInline(admin.TabularInline):
    model = Version
    fields = ["version", "published_at", "published_by", "yanked", "deprecated"]
    readonly_fields = ["version", "published_at", "published_by"]
    extra = 0
    show_change_link = True


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    list_display = ["name", "repository", "updated"]
    list_filter = ["repository"]
    search_fields = ["name", "normalized_name"]
    readonly_fields = ["repository", "name", "normalized_name", "created", "updated"]
    inlines = [VersionInline]


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    list_display = ["package", "version", "published_at", "published_by", "yanked", "pinned"]
    list_filter = ["package__repository", "yanked", "pinned"]
    search_fields = ["package__name", "version"]
    # Published versions are immutable: only the yank/deprecation/pinned state may change.
    readonly_fields = ["package", "version", "metadata", "published_at", "published_by"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["package", "name", "version", "updated"]
    search_fields = ["package__name", "name"]
    raw_id_fields = ["package", "version"]


@admin.register(TagEvent)
class TagEventAdmin(admin.ModelAdmin):
    list_display = ["package", "tag", "action", "from_version", "to_version", "actor_name", "at"]
    list_filter = ["action"]
    search_fields = ["package__name", "tag"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["path", "repository", "media_type", "created"]
    list_filter = ["repository"]
    search_fields = ["path"]
    # What was stored, and where a proxy fetched it from (metadata["proxy"]), is history.
    readonly_fields = [
        "repository",
        "version",
        "path",
        "blob",
        "metadata",
        "created",
        "uploaded_by",
    ]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["key", "repository", "content_type", "updated"]
    readonly_fields = ["repository", "key", "content_type", "etag", "updated"]
    exclude = ["content"]


class CleanupPolicyForm(forms.ModelForm):
    class Meta:
        model = CleanupPolicy
        fields = ["repository", *RULE_FIELDS]

    def clean(self) -> dict:
        """Refuse what ``setpolicy`` refuses (groups, bad patterns, a scope without a rule)."""
        super().clean()
        cleaned = self.cleaned_data
        repository = cleaned.get("repository")
        if repository is not None and not self.errors:
            try:
                policy_check(repository=repository, rules={n: cleaned.get(n) for n in RULE_FIELDS})
            except PolicyInvalid as error:
                raise forms.ValidationError(error.message) from None
        return cleaned


@admin.register(CleanupPolicy)
class CleanupPolicyAdmin(admin.ModelAdmin):
    form = CleanupPolicyForm
    list_display = ["repository", "keep_last", "older_than_days", "unused_days", "match"]
    list_select_related = ["repository"]


@admin.register(CleanupRun)
class CleanupRunAdmin(admin.ModelAdmin):
    """The record of cleanups: read only, as an audit record is."""

    list_display = [
        "repository",
        "started",
        "status",
        "actor_name",
        "versions_removed",
        "files_removed",
        "bytes_freed",
    ]
    list_filter = ["status", "repository"]
    list_select_related = ["repository"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
