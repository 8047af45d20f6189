"""Management API for repositories, packages, versions, tags and tag history.

Who may do what: reading needs the read role on the repository; yanking a version needs
write and deleting needs delete; creating a repository needs the global right (a superuser or
the ``formats.add_repository`` permission) with an unrestricted credential, and changing or
deleting one needs the admin role on it. Token limits (read-only, repository scope, JWT
claims) always apply: all of it goes through ``access.permissions``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django import forms
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.drf import (
    AdministratorPermission,
    RepositoryManagementPermission,
    RepositoryPermission,
    principal_of,
)
from access.permissions import ADMIN, has_permission, readable_repositories
from formats.base import FileDeleteUnsupported, format_config
from formats.models import (
    Asset,
    Package,
    Repository,
    RepositoryMember,
    Tag,
    TagEvent,
    Version,
)
from formats.quotas import repositories_usage, repository_usage, store_usage
from formats.services import (
    package_delete,
    repository_create_by,
    repository_delete,
    repository_members_set,
    repository_update,
    version_delete,
    version_deprecate,
    version_pin,
    version_yank,
)
from registry_project.api import ANY_SEGMENT
from registry_project.errors import AuthenticationRequired

# Primary keys are 64-bit: a larger number would overflow the database's integer.
MAX_ID = 2**63 - 1


def _package_changed(package: Package) -> None:
    """Let the package's format rebuild what it caches (see FormatConfig.on_package_changed)."""
    config = format_config(package.repository.format)
    if config is not None:
        config.on_package_changed(package)


def _shown(
    field: serializers.Field, group: Repository, repository: Repository | None
) -> Repository | None:
    """``repository`` if the caller may see its name in ``group``'s settings, else None.

    A group's admin sees all its members; anyone else the members it may read (the API hides
    the repositories a caller cannot read, their names included).
    """
    if repository is None:
        return None
    context = cast(dict, field.context)  # one request's: the readable set is computed once
    principal = principal_of(context["request"])
    if "readable" not in context:
        readable = readable_repositories(principal=principal)
        context["readable"] = set(readable.values_list("pk", flat=True))
    if repository.pk in context["readable"] or has_permission(
        principal=principal, repository=group, action=ADMIN
    ):
        return repository
    return None


@extend_schema_field({"type": "string", "description": "A repository name."})
class RepositoryName(serializers.SlugRelatedField):
    """A repository by name: one the caller may read, or one already in the group."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("error_messages", {"does_not_exist": "no repository {value!r}"})
        super().__init__(slug_field="name", **kwargs)

    def get_queryset(self) -> QuerySet[Repository]:
        readable = readable_repositories(principal=principal_of(self.context["request"]))
        group = self.root.instance
        if not isinstance(group, Repository):
            return readable
        linked = Q(group_links__group=group)
        return Repository.objects.filter(Q(pk__in=readable.values("pk")) | linked).distinct()


class DeployTarget(RepositoryName):
    def get_attribute(self, instance: Repository) -> Repository | None:
        return _shown(self, instance, instance.deploy_to)


class MemberNames(serializers.ListField):
    """A group's members by name, in lookup order (PATCH replaces the list, order kept)."""

    child = RepositoryName()

    def get_attribute(self, instance: Repository) -> list[Repository]:
        members = (_shown(self, instance, link.member) for link in instance.member_links.all())
        return [member for member in members if member is not None]


class RepositoryListSerializer(serializers.ListSerializer):
    """A list of repositories whose usage is read for all of them at once (not one by one)."""

    def to_representation(self, data: Any) -> list[Any]:
        repositories = list(data.all() if hasattr(data, "all") else data)
        usages = repositories_usage(repositories=repositories)
        self._context = {
            **self._context,
            "usage": {r.pk: u for r, u in zip(repositories, usages, strict=True)},
        }
        return super().to_representation(repositories)


class RepositorySerializer(serializers.ModelSerializer):
    config = serializers.DictField(required=False, help_text="Format-specific policy.")
    members = MemberNames(
        required=False, help_text="For group repositories: member names in lookup order."
    )
    deploy_to = DeployTarget(
        required=False,
        allow_null=True,
        help_text="For group repositories: the hosted member that writes to the group land in.",
    )

    usage = serializers.SerializerMethodField(
        help_text="Bytes the repository holds: logical (every file), physical (each distinct "
        "content once; what quota_bytes limits), exclusive (shared with no other repository), "
        "shared, and saved by deduplication."
    )

    class Meta:
        model = Repository
        list_serializer_class = RepositoryListSerializer
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
            "upstream_username",
            "upstream_password",
            "metadata_ttl",
            "negative_ttl",
            "upstream_status",
            "upstream_checked",
            "members",
            "deploy_to",
            "hosted_guard",
            "quota_bytes",
            "usage",
            "created",
        ]
        read_only_fields = ["upstream_status", "upstream_checked", "created"]
        extra_kwargs = {
            "upstream_password": {"write_only": True, "style": {"input_type": "password"}}
        }

    @extend_schema_field(
        {"type": "object", "additionalProperties": {"type": "integer"}, "readOnly": True}
    )
    def get_usage(self, repository: Repository) -> dict[str, int]:
        usage = self.context.get("usage", {}).get(repository.pk) or repository_usage(
            repository=repository
        )
        return {
            "logical_bytes": usage.logical,
            "physical_bytes": usage.physical,
            "exclusive_bytes": usage.exclusive,
            "shared_bytes": usage.shared,
            "saved_bytes": usage.saved,
        }

    def validate_members(self, members: list[Repository]) -> list[Repository]:
        """Readers of a group read through its proxies and nested groups whatever their own
        rights: linking one needs its admin role (hosted members are filtered per reader)."""
        principal = principal_of(self.context["request"])
        linked = (
            set(self.instance.member_links.values_list("member", flat=True))
            if self.instance
            else set()
        )
        for member in members:
            if member.pk in linked:
                continue
            if member.kind != Repository.Kind.HOSTED and not has_permission(
                principal=principal, repository=member, action=ADMIN
            ):
                raise serializers.ValidationError(
                    f"linking the {member.kind} {member.name!r} needs the admin role on it"
                )
        return members


class PackageSerializer(serializers.ModelSerializer):
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )

    class Meta:
        model = Package
        fields = ["id", "repository", "name", "normalized_name", "created", "updated"]


class VersionSerializer(serializers.ModelSerializer):
    published_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

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
            "download_count",
            "last_downloaded",
            "pinned",
        ]
        read_only_fields = [
            "package",
            "version",
            "metadata",
            "published_at",
            "published_by",
            "download_count",
            "last_downloaded",
        ]


class AssetSerializer(serializers.ModelSerializer):
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    digest = serializers.CharField(source="blob.digest", read_only=True)
    size = serializers.IntegerField(source="blob.size", read_only=True)

    class Meta:
        model = Asset
        fields = [
            "id",
            "repository",
            "version",
            "path",
            "media_type",
            "digest",
            "size",
            "metadata",
            "created",
            "download_count",
            "last_downloaded",
        ]


class TagSerializer(serializers.ModelSerializer):
    version: serializers.SlugRelatedField[Version] = serializers.SlugRelatedField(
        slug_field="version", read_only=True
    )

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


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    """A primary key: anything but a whole number in the database's range is a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class PackageFilter(filters.FilterSet):
    repository = filters.CharFilter(field_name="repository__name", help_text="Repository name.")
    name = filters.CharFilter(help_text="Package name, exactly as published.")

    class Meta:
        model = Package
        fields = ["repository", "name"]


class VersionFilter(filters.FilterSet):
    package = IdFilter(help_text="Package id.")
    version = filters.CharFilter(help_text="Version string, exactly.")

    class Meta:
        model = Version
        fields = ["package", "version"]


class AssetFilter(filters.FilterSet):
    repository = filters.CharFilter(field_name="repository__name", help_text="Repository name.")
    version = IdFilter(help_text="Version id.")

    class Meta:
        model = Asset
        fields = ["repository", "version"]


class TagFilter(filters.FilterSet):
    package = IdFilter(help_text="Package id.")

    class Meta:
        model = Tag
        fields = ["package"]


class TagEventFilter(filters.FilterSet):
    package = IdFilter(help_text="Package id.")

    class Meta:
        model = TagEvent
        fields = ["package"]


class RepositoryViewSet(viewsets.ModelViewSet):
    """Repositories the caller may read. Creating one needs the right to create repositories
    (superuser or ``formats.add_repository``) and an unrestricted credential; the creator
    becomes its admin. Changing or deleting one needs the admin role on it; its format and kind
    cannot change once it holds content."""

    serializer_class = RepositorySerializer
    permission_classes = [RepositoryManagementPermission]
    lookup_field = "name"
    lookup_value_regex = ANY_SEGMENT

    def get_queryset(self) -> QuerySet[Repository]:
        links = RepositoryMember.objects.select_related("member")
        return readable_repositories(principal=principal_of(self.request)).prefetch_related(
            Prefetch("member_links", queryset=links)
        )

    def repository_of(self, obj: Repository) -> Repository:
        return obj

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        user = self.request.user
        if isinstance(user, AnonymousUser):  # RepositoryManagementPermission challenged it
            raise AuthenticationRequired()
        created = repository_create_from(user=user, data=serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=created.pk)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        repository = cast(Repository, serializer.instance)
        repository = repository_update_from(repository=repository, data=serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=repository.pk)

    def perform_destroy(self, instance: Repository) -> None:
        repository_delete(repository=instance)


def repository_create_from(*, user: User, data: dict) -> Repository:
    """Create a repository from a ``RepositorySerializer``'s validated data, ``user`` its admin.

    Raises:
        serializers.ValidationError: the model refused a field (as the API's 400 per field).
        RegistryError: the services refused the repository (RepositoryInvalid...).
    """
    with _field_errors():
        return repository_create_by(user=user, **data)


def repository_update_from(*, repository: Repository, data: dict) -> Repository:
    """Apply a ``RepositorySerializer``'s validated (partial) data to ``repository``.

    Kind first, then the members, then a deploy target among them, in one transaction.
    Raises what ``repository_create_from`` raises, and RepositoryInUse.
    """
    changes = dict(data)
    members = changes.pop("members", None)
    linked = {"deploy_to": changes.pop("deploy_to")} if "deploy_to" in changes else {}
    with _field_errors(), transaction.atomic():
        if changes or not (members is not None or linked):
            repository = repository_update(repository=repository, changes=changes)
        if members is not None:
            repository_members_set(repository=repository, members=members)
        if linked:
            repository = repository_update(repository=repository, changes=linked)
    return repository


@contextmanager
def _field_errors() -> Iterator[None]:
    """The model's validation errors (raised by the services) as the API's 400 per field."""
    try:
        yield
    except ValidationError as error:
        detail = error.message_dict if hasattr(error, "error_dict") else error.messages
        raise serializers.ValidationError(detail) from None


class _InReadableRepositories(viewsets.GenericViewSet):
    """Limit a viewset's queryset to objects in repositories the caller may read."""

    repository_path: str
    permission_classes = [RepositoryPermission]
    filter_backends = [filters.DjangoFilterBackend]
    lookup_value_regex = ANY_SEGMENT

    def scoped(self, queryset: QuerySet) -> QuerySet:
        readable = readable_repositories(principal=principal_of(self.request))
        return queryset.filter(**{f"{self.repository_path}__in": readable})


class PackageViewSet(
    _InReadableRepositories, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Packages; filter with ``?repository=<name>`` and ``?name=<name>``."""

    serializer_class = PackageSerializer
    filterset_class = PackageFilter
    repository_path = "repository"

    def get_queryset(self) -> QuerySet[Package]:
        return self.scoped(Package.objects.select_related("repository"))

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
    """Versions; filter with ``?package=<id>&version=<version>``. PATCH yanks/unyanks,
    deprecates, or pins (a pinned version is kept by every cleanup policy)."""

    serializer_class = VersionSerializer
    filterset_class = VersionFilter
    repository_path = "package__repository"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Version]:
        return self.scoped(Version.objects.select_related("package__repository", "published_by"))

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
            version_deprecate(version=version, deprecated=data["deprecated"])
        if "pinned" in data:
            version_pin(version=version, pinned=data["pinned"])
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
    filterset_class = AssetFilter
    repository_path = "repository"

    def get_queryset(self) -> QuerySet[Asset]:
        return self.scoped(Asset.objects.select_related("repository", "blob"))

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
    filterset_class = TagFilter
    repository_path = "package__repository"

    def get_queryset(self) -> QuerySet[Tag]:
        return self.scoped(Tag.objects.select_related("version", "package__repository"))

    def repository_of(self, obj: Tag) -> Repository:
        return obj.package.repository


class TagEventViewSet(_InReadableRepositories, viewsets.ReadOnlyModelViewSet):
    """The history of tag moves; filter with ``?package=<id>``."""

    serializer_class = TagEventSerializer
    filterset_class = TagEventFilter
    repository_path = "package__repository"

    def get_queryset(self) -> QuerySet[TagEvent]:
        return self.scoped(TagEvent.objects.select_related("package__repository"))

    def repository_of(self, obj: TagEvent) -> Repository:
        return obj.package.repository


class StorageUsageView(APIView):
    """The whole store's usage for superusers: every repository's, the bytes all of them hold
    (each blob once), what deduplication saves in total, and what awaits garbage collection."""

    permission_classes = [AdministratorPermission]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        usage = store_usage()
        return Response(
            {
                **usage.as_dict(),
                "repositories": [repository.as_dict() for repository in usage.repositories],
            }
        )
