"""Management API of cleanup: policies per repository, runs (their record, and starting one).

Reading needs the read role on the repository; setting or removing its policy needs the admin
role; a cleanup run the delete role, a preview (``dry_run``) the read role.
"""

from django.contrib.auth.models import User
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from access.drf import RepositoryManagementPermission, RepositoryPermission, principal_of
from access.permissions import DELETE, has_permission, readable_repositories
from formats.lifecycle.cleanup import (
    RULE_FIELDS,
    cleanup_preview,
    cleanup_run,
    policy_clear,
    policy_set,
)
from formats.lifecycle.errors import PolicyInvalid
from formats.models import CleanupPolicy, CleanupRun, Repository
from registry_project.api import ANY_SEGMENT
from registry_project.errors import PermissionDenied


class CleanupPolicySerializer(serializers.ModelSerializer):
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    match = serializers.CharField(required=False, allow_blank=True, max_length=255)

    class Meta:
        model = CleanupPolicy
        fields = ["repository", *RULE_FIELDS, "updated"]
        read_only_fields = ["updated"]


class CleanupPolicyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The cleanup policy of each repository, by repository name. PUT sets it (rules left out
    take their defaults), DELETE removes it."""

    serializer_class = CleanupPolicySerializer
    permission_classes = [RepositoryManagementPermission]
    lookup_field = "repository__name"
    lookup_url_kwarg = "repository"
    lookup_value_regex = ANY_SEGMENT
    http_method_names = ["get", "put", "delete", "head", "options"]

    def get_queryset(self):
        readable = readable_repositories(principal=principal_of(self.request))
        return CleanupPolicy.objects.filter(repository__in=readable).select_related("repository")

    def repository_of(self, obj: CleanupPolicy | Repository) -> Repository:
        return obj if isinstance(obj, Repository) else obj.repository

    def _repository(self) -> Repository:
        readable = readable_repositories(principal=principal_of(self.request))
        repository = get_object_or_404(readable, name=self.kwargs["repository"])
        self.check_object_permissions(self.request, repository)
        return repository

    def update(self, request: Request, *args, **kwargs) -> Response:
        repository = self._repository()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            policy = policy_set(repository=repository, **serializer.validated_data)
        except PolicyInvalid as error:
            raise serializers.ValidationError({"detail": error.message}) from None
        return Response(self.get_serializer(policy).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        if not policy_clear(repository=self._repository()):
            raise Http404("this repository has no cleanup policy")
        return Response(status=status.HTTP_204_NO_CONTENT)


class CleanupRunSerializer(serializers.ModelSerializer):
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )

    class Meta:
        model = CleanupRun
        fields = [
            "id",
            "repository",
            "started",
            "finished",
            "status",
            "actor_name",
            "policy",
            "removed",
            "versions_removed",
            "files_removed",
            "bytes_freed",
            "error",
        ]


class CleanupRequestSerializer(serializers.Serializer):
    repository = serializers.CharField(help_text="Repository name.")
    dry_run = serializers.BooleanField(
        default=False, help_text="Answer what would go, remove nothing and record no run."
    )


class CleanupRunFilter(filters.FilterSet):
    repository = filters.CharFilter(field_name="repository__name", help_text="Repository name.")

    class Meta:
        model = CleanupRun
        fields = ["repository"]


class CleanupRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Cleanup runs, newest first; filter with ``?repository=<name>``. POST runs the
    repository's policy now (409 while another run of it goes on), or with ``dry_run`` answers
    what it would remove."""

    serializer_class = CleanupRunSerializer
    permission_classes = [RepositoryPermission]
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = CleanupRunFilter

    def get_queryset(self):
        readable = readable_repositories(principal=principal_of(self.request))
        return CleanupRun.objects.filter(repository__in=readable).select_related("repository")

    def repository_of(self, obj: CleanupRun) -> Repository:
        return obj.repository

    @extend_schema(request=CleanupRequestSerializer, responses=CleanupRunSerializer)
    def create(self, request: Request, *args, **kwargs) -> Response:
        asked = CleanupRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        principal = principal_of(request)
        readable = readable_repositories(principal=principal)
        repository = get_object_or_404(readable, name=asked.validated_data["repository"])
        if asked.validated_data["dry_run"]:
            removals = cleanup_preview(repository=repository)
            return Response({"dry_run": True, "removed": [vars(r) for r in removals]})
        if not has_permission(principal=principal, repository=repository, action=DELETE):
            raise PermissionDenied("running a cleanup needs the delete role on the repository")
        user = request.user if isinstance(request.user, User) else None
        run = cleanup_run(repository=repository, user=user)
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)
