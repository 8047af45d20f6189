"""Admin console pages for repositories and what they hold."""

from django import forms
from django.contrib import admin
from django.db import models

from formats.models import (
    Asset,
    Document,
    Package,
    ProxyEntry,
    Repository,
    RepositoryMember,
    Tag,
    TagEvent,
    Version,
)
from formats.services import repository_members_set
from registry_project.jsonbody import BoundedJSONDecoder


class MemberInline(admin.TabularInline):
    """A group's members in lookup order (lowest position first)."""

    model = RepositoryMember
    fk_name = "group"
    fields = ["position", "member"]
    extra = 1
    verbose_name = "member"


class RepositoryForm(forms.ModelForm):
    upstream_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="With a username: HTTP Basic; alone: a bearer token. Empty: unchanged.",
    )

    class Meta:
        model = Repository
        exclude = ["members"]  # noqa: DJ006 - edited in the member rows, in order

    def clean_upstream_password(self) -> str:
        # The secret is never shown back, so an empty field means "unchanged".
        return self.cleaned_data["upstream_password"] or self.instance.upstream_password


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    form = RepositoryForm
    list_display = ["name", "format", "kind", "anonymous_read", "upstream_url", "upstream_status"]
    list_filter = ["format", "kind", "anonymous_read"]
    search_fields = ["name"]
    readonly_fields = ["upstream_status", "upstream_checked"]
    inlines = [MemberInline]
    formfield_overrides = {
        models.JSONField: {"decoder": BoundedJSONDecoder},  # a deep config was a 500
    }

    def save_formset(self, request, form, formset, change) -> None:
        """Members change through ``repository_members_set`` (order, checks, format hooks)."""
        if formset.model is not RepositoryMember:
            super().save_formset(request, form, formset, change)
            return
        kept = [
            (row.cleaned_data["position"], index, row.cleaned_data["member"])
            for index, row in enumerate(formset.forms)
            if row.cleaned_data
            and row.cleaned_data.get("member")
            and not row.cleaned_data.get("DELETE")
        ]
        members = [member for _, _, member in sorted(kept, key=lambda item: item[:2])]
        repository_members_set(repository=form.instance, members=members)
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
    list_display = ["package", "version", "published_at", "published_by", "yanked"]
    list_filter = ["package__repository", "yanked"]
    search_fields = ["package__name", "version"]
    # Published versions are immutable: only the yank/deprecation state may change.
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
    readonly_fields = ["repository", "version", "path", "blob", "created", "uploaded_by"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["key", "repository", "content_type", "updated"]
    readonly_fields = ["repository", "key", "content_type", "etag", "updated"]
    exclude = ["content"]
