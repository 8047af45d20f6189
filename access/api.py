"""Management API for the caller's own API tokens."""

from datetime import timedelta

from django.db.models import QuerySet
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from access.models import ApiToken
from access.services import token_create, token_revoke
from formats.models import Repository


class ApiTokenSerializer(serializers.ModelSerializer):
    repositories = serializers.SlugRelatedField(
        slug_field="name", many=True, queryset=Repository.objects.all(), required=False
    )
    expires_in_days = serializers.IntegerField(write_only=True, required=False, min_value=1)

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
    """List, create (the secret is in the response, once) and revoke your API tokens."""

    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[ApiToken]:
        return ApiToken.objects.filter(user=self.request.user).prefetch_related("repositories")

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        days = data.get("expires_in_days")
        issued = token_create(
            user=request.user,
            name=data.get("name", ""),
            repositories=data.get("repositories", []),
            expires_in=timedelta(days=days) if days else None,
            read_only=data.get("read_only", False),
        )
        body = {**self.get_serializer(issued.token).data, "token": issued.secret}
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiToken) -> None:
        token_revoke(token=instance)
