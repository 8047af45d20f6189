"""``GET /api/v1/audit-events/``: the audit log, for administrators with an unrestricted
credential; filter with ``?repository=``, ``?user=`` (a user name), ``?action=`` (prefixes
too: ``tag.``), ``?since=`` and ``?until=`` (ISO 8601)."""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers, viewsets

from access.drf import AdministratorPermission
from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "action",
            "username",
            "token_id",
            "address",
            "repository",
            "package",
            "version",
            "details",
        ]


class _UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, sent to the database in UTC (any offset a client writes is valid)."""

    def to_python(self, value: object) -> datetime | None:
        parsed = super().to_python(value)
        try:
            return None if parsed is None else parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError("time out of range", code="invalid") from None


class _UtcDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _UtcDateTimeField


class AuditEventFilter(filters.FilterSet):
    repository = filters.CharFilter()
    user = filters.CharFilter(field_name="username")
    action = filters.CharFilter(field_name="action", lookup_expr="startswith")
    since = _UtcDateTimeFilter(field_name="at", lookup_expr="gte")
    until = _UtcDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["repository", "user", "action", "since", "until"]


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """State changes, newest first: who (user, token, address), what, where, when."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    permission_classes = [AdministratorPermission]
    required_permission = "audit.view_auditevent"
    filter_backends = [filters.DjangoFilterBackend]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.all()
