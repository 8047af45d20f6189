"""Admin console pages for roles and tokens; a token secret is shown once, at creation."""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from access.models import ApiToken, RepositoryRole, generate_token_secret, hash_token
from access.services import role_recorded, role_revoke, token_revoke
from audit.models import Action
from audit.services import audit_record


@admin.register(RepositoryRole)
class RepositoryRoleAdmin(admin.ModelAdmin):
    list_display = ["repository", "user", "group", "role"]
    list_filter = ["role", "repository"]
    autocomplete_fields = ["user", "group", "repository"]

    def save_model(self, request: HttpRequest, obj: RepositoryRole, form, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            role_recorded(binding=obj, action=Action.ROLE_GRANT)

    def delete_model(self, request: HttpRequest, obj: RepositoryRole) -> None:
        role_revoke(binding=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RepositoryRole]) -> None:
        for binding in queryset:
            role_revoke(binding=binding)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "token_prefix",
        "name",
        "user",
        "created",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "token_prefix"]
    readonly_fields = ["token_prefix", "created", "last_used_at", "revoked_at"]
    fields = [
        "user",
        "name",
        "repositories",
        "read_only",
        "expires_at",
        "token_prefix",
        "created",
        "last_used_at",
        "revoked_at",
    ]
    filter_horizontal = ["repositories"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        # A token's scope is chosen once, when it is made: widening it later is a new token.
        return [*self.readonly_fields, *(["repositories"] if obj is not None else [])]

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change and form.instance.repositories.exists():
            ApiToken.objects.filter(pk=form.instance.pk).update(scoped=True)

    def save_model(self, request: HttpRequest, obj: ApiToken, form, change: bool) -> None:
        if not change:
            secret = generate_token_secret()
            obj.token_hash = hash_token(secret)
            obj.token_prefix = secret[:10]
            messages.warning(request, f"New token (copy it now, it is not shown again): {secret}")
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                details = {"token_id": obj.pk, "owner": obj.user.username, "name": obj.name}
                audit_record(Action.TOKEN_CREATE, details=details)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            token_revoke(token=token)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")
