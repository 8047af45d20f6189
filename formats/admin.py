"""Admin console pages for repositories and what they hold."""

from django.contrib import admin
from django.db import models

from formats.models import Asset, Document, Package, Repository, Tag, TagEvent, Version
from formats.services import repository_members_set
from registry_project.jsonbody import BoundedJSONDecoder


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["name", "format", "kind", "anonymous_read", "allow_redeploy", "immutable_tags"]
    list_filter = ["format", "kind", "anonymous_read"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https"},
        models.JSONField: {"decoder": BoundedJSONDecoder},  # a deep config was a 500
    }

    def save_related(self, request, form, formsets, change) -> None:
        """Members change through ``repository_members_set`` (the format follows), not save_m2m."""
        members = form.cleaned_data.pop("members", None)
        super().save_related(request, form, formsets, change)
        if members is not None:
            repository_members_set(repository=form.instance, members=list(members))


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
