from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from access.api import ApiTokenViewSet
from audit.api import AuditEventViewSet
from formats.api import (
    AssetViewSet,
    PackageViewSet,
    RepositoryViewSet,
    StorageUsageView,
    TagEventViewSet,
    TagViewSet,
    VersionViewSet,
)
from formats.lifecycle.api import CleanupPolicyViewSet, CleanupRunViewSet
from registry_project.schedules_api import ScheduleViewSet

router = DefaultRouter()
router.register("repositories", RepositoryViewSet, basename="repository")
router.register("packages", PackageViewSet, basename="package")
router.register("versions", VersionViewSet, basename="version")
router.register("assets", AssetViewSet, basename="asset")
router.register("tags", TagViewSet, basename="tag")
router.register("tag-events", TagEventViewSet, basename="tag-event")
router.register("tokens", ApiTokenViewSet, basename="token")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("cleanup-policies", CleanupPolicyViewSet, basename="cleanup-policy")
router.register("cleanup-runs", CleanupRunViewSet, basename="cleanup-run")
router.register("schedules", ScheduleViewSet, basename="schedule")

urlpatterns = [
    path("v1/storage-usage/", StorageUsageView.as_view(), name="storage-usage"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
]
