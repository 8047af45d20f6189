"""Management API for repositories, packages, versions, tags and tag history."""

from django.db.models import QuerySet
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from access.drf import RepositoryPermission, principal_of
from access.permissions import readable_repositories
from formats.base import FileDeleteUnsupported, format_config
from formats.models import Asset, Package, Repository, Tag, TagEvent, Version
from formats.services import package_delete, version_delete, version_yank


def _package_changed(package: Package) -> None:
    """Let the package's format rebuild what it caches (see FormatConfig.on_package_changed)."""
    config = format_config(package.repository.format)
    if config is not None:
        config.on_package_changed(package)


class RepositorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Repository
        fields = [
            "name",
            "format",
            "kind",
            "anonymous_read",
            "allow_redeploy",
            "immutable_tags",
            "immutable_tag_exceptions",
            "config",
            "upstream_url",
            "created",
        ]
        read_only_fields = ["created"]


class PackageSerializer(serializers.ModelSerializer):
    repository = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Package
        fields = ["id", "repository", "name", "normalized_name", "created", "updated"]


class VersionSerializer(serializers.ModelSerializer):
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Version
        fields = [
            "id",
            "package",
            "version",
            "metadata",
            "published_at",
            "published_by",
            "yanked",
            "yanked_reason",
            "deprecated",
        ]
        read_only_fields = ["package", "version", "metadata", "published_at", "published_by"]


class AssetSerializer(serializers.ModelSerializer):
    repository = serializers.SlugRelatedField(slug_field="name", read_only=True)
    digest = serializers.CharField(source="blob.digest", read_only=True)
    size = serializers.IntegerField(source="blob.size", read_only=True)

    class Meta:
        model = Asset
        fields = ["id", "repository", "version", "path", "media_type", "digest", "size", "created"]


class TagSerializer(serializers.ModelSerializer):
    version = serializers.SlugRelatedField(slug_field="version", read_only=True)

    class Meta:
        model = Tag
        fields = ["id", "package", "name", "version", "updated"]


class TagEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TagEvent
        fields = [
            "id",
            "package",
            "tag",
            "action",
            "from_version",
            "to_version",
            "actor_name",
            "at",
        ]


class RepositoryViewSet(viewsets.ModelViewSet):
    """Repositories the caller may read; only administrators create, change or delete them."""

    serializer_class = RepositorySerializer
    lookup_field = "name"

    def get_queryset(self) -> QuerySet[Repository]:
        return readable_repositories(principal=principal_of(self.request))

    def get_permissions(self) -> list:
        if self.action in ("list", "retrieve"):
            return [RepositoryPermission()]
        return [IsAdminUser()]

    def repository_of(self, obj: Repository) -> Repository:
        return obj


class _InReadableRepositories:
    """Limit a viewset's queryset to objects in repositories the caller may read."""

    repository_path: str
    permission_classes = [RepositoryPermission]
    request: Request

    def scoped(self, queryset: QuerySet) -> QuerySet:
        readable = readable_repositories(principal=principal_of(self.request))
        return queryset.filter(**{f"{self.repository_path}__in": readable})


class PackageViewSet(
    _InReadableRepositories, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Packages; filter with ``?repository=<name>`` and ``?name=<name>``."""

    serializer_class = PackageSerializer
    repository_path = "repository"

    def get_queryset(self) -> QuerySet[Package]:
        queryset = self.scoped(Package.objects.select_related("repository"))
        if name := self.request.query_params.get("repository"):
            queryset = queryset.filter(repository__name=name)
        if name := self.request.query_params.get("name"):
            queryset = queryset.filter(name=name)
        return queryset

    def repository_of(self, obj: Package) -> Repository:
        return obj.repository

    def perform_destroy(self, instance: Package) -> None:
        package_delete(package=instance, user=self.request.user)
        _package_changed(instance)


class VersionViewSet(
    _InReadableRepositories,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Versions; filter with ``?package=<id>``. PATCH yanks/unyanks or deprecates."""

    serializer_class = VersionSerializer
    repository_path = "package__repository"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Version]:
        queryset = self.scoped(
            Version.objects.select_related("package__repository", "published_by")
        )
        if package := self.request.query_params.get("package"):
            queryset = queryset.filter(package_id=package)
        return queryset

    def repository_of(self, obj: Version) -> Repository:
        return obj.package.repository

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        version = self.get_object()
        serializer = self.get_serializer(version, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "yanked" in data:
            version_yank(
                version=version, yanked=data["yanked"], reason=data.get("yanked_reason", "")
            )
        if "deprecated" in data:
            version.deprecated = data["deprecated"]
            version.save(update_fields=["deprecated"])
        _package_changed(version.package)
        return Response(self.get_serializer(version).data)

    def perform_destroy(self, instance: Version) -> None:
        version_delete(version=instance, user=self.request.user)
        _package_changed(instance.package)


class AssetViewSet(
    _InReadableRepositories, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Files; filter with ``?repository=<name>`` and ``?version=<id>``. DELETE removes one file
    where the format allows it (raw, PyPI), else answers 405."""

    serializer_class = AssetSerializer
    repository_path = "repository"

    def get_queryset(self) -> QuerySet[Asset]:
        queryset = self.scoped(Asset.objects.select_related("repository", "blob"))
        if name := self.request.query_params.get("repository"):
            queryset = queryset.filter(repository__name=name)
        if version := self.request.query_params.get("version"):
            queryset = queryset.filter(version_id=version)
        return queryset

    def repository_of(self, obj: Asset) -> Repository:
        return obj.repository

    def perform_destroy(self, instance: Asset) -> None:
        config = format_config(instance.repository.format)
        if config is None:
            raise FileDeleteUnsupported("this repository's format is not installed")
        config.asset_delete(instance, self.request.user)


class TagViewSet(_InReadableRepositories, viewsets.ReadOnlyModelViewSet):
    """Tags; filter with ``?package=<id>``."""

    serializer_class = TagSerializer
    repository_path = "package__repository"

    def get_queryset(self) -> QuerySet[Tag]:
        queryset = self.scoped(Tag.objects.select_related("version", "package__repository"))
        if package := self.request.query_params.get("package"):
            queryset = queryset.filter(package_id=package)
        return queryset

    def repository_of(self, obj: Tag) -> Repository:
        return obj.package.repository


class TagEventViewSet(_InReadableRepositories, viewsets.ReadOnlyModelViewSet):
    """The history of tag moves; filter with ``?package=<id>``."""

    serializer_class = TagEventSerializer
    repository_path = "package__repository"

    def get_queryset(self) -> QuerySet[TagEvent]:
        queryset = self.scoped(TagEvent.objects.select_related("package__repository"))
        if package := self.request.query_params.get("package"):
            queryset = queryset.filter(package_id=package)
        return queryset

    def repository_of(self, obj: TagEvent) -> Repository:
        return obj.package.repository
