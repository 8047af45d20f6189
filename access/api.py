"""Management API for the caller's own API tokens.

A credential creates only tokens at most as narrow as itself and revokes only tokens within its
own reach (the rules are spelled out in ``access.services``). A token's secret is in the
response to its creation and nowhere else; its hash is never returned.
"""

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from access.drf import principal_of
from access.models import ApiToken
from access.permissions import readable_repositories
from access.selectors import token_list
from access.services import TOKEN_MAX_DAYS, token_create_for, token_revoke_for
from formats.models.repository import Repository
from registry_project.api import ANY_SEGMENT


class ReadableRepositoryField(serializers.SlugRelatedField):
    """A repository the caller may read, by name.

    One it may not read is "does not exist", exactly like a missing one, so naming repositories
    here does not tell which private ones exist.
    """

    def get_queryset(self) -> QuerySet[Repository]:
        return readable_repositories(principal=principal_of(self.context["request"]))


class ApiTokenSerializer(serializers.ModelSerializer):
    repositories = ReadableRepositoryField(
        slug_field="name",
        many=True,
        queryset=Repository.objects.all(),
        required=False,
        help_text="Limit the token to these repositories (omitted: the caller's own limit).",
    )
    # DRF's metaclass takes declared fields off the class, so this never shadows Field.read_only.
    read_only = serializers.BooleanField(  # type: ignore[assignment]
        required=False, help_text="Only reads (omitted: the caller's own flag)."
    )
    expires_in_days = serializers.IntegerField(
        write_only=True,
        required=False,
        min_value=1,
        max_value=TOKEN_MAX_DAYS,
        help_text="Lifetime (omitted: the caller's own expiry, if any).",
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "token_prefix",
            "repositories",
            "read_only",
            "created",
            "expires_at",
            "expires_in_days",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = ["token_prefix", "created", "expires_at", "last_used_at", "revoked_at"]


class ApiTokenViewSet(
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """List, create (the secret is in the response, once) and revoke your API tokens.

    A password, a web session or an unrestricted token creates any token. A read-only or
    repository-scoped token creates only tokens that are read-only too, limited to a subset of
    its repositories and expiring no later than it; what the request leaves out is inherited,
    what it widens is refused (403). An OCI registry JWT creates none.

    A token may revoke itself. Another token is revoked only by an unrestricted credential, or
    by a writable repository-scoped token when the other is limited to some of its repositories;
    never by a read-only token or a JWT.
    """

    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticated]
    lookup_value_regex = ANY_SEGMENT

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular: no caller to ask about
            return ApiToken.objects.none()
        user = self.request.user
        if isinstance(user, AnonymousUser):  # IsAuthenticated lets no one anonymous in
            return ApiToken.objects.none()
        return token_list(user=user)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        issued = token_create_for(
            principal=principal_of(request),
            name=data.get("name", ""),
            repositories=data.get("repositories"),
            expires_in_days=data.get("expires_in_days"),
            read_only=data.get("read_only"),
        )
        body = {**self.get_serializer(issued.token).data, "token": issued.secret}
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiToken) -> None:
        token_revoke_for(principal=principal_of(self.request), token=instance)
