"""``/api/v1/schedules/``: the periodic tasks, for administrators with an unrestricted credential.

``GET`` lists them (or one, by name), ``PATCH <name>/`` changes ``every_seconds`` and
``enabled``, ``POST <name>/run/`` runs one now: 202 when queued on a worker, 200 with the
result when it ran in process (no broker). Changes and runs are audited.
"""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from access.drf import AdministratorPermission
from registry_project.api import ANY_SEGMENT
from registry_project.schedules import schedule_get, schedule_list, schedule_set, task_run_now


class ScheduleSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    task = serializers.CharField(read_only=True)
    every_seconds = serializers.IntegerField(
        min_value=1,
        max_value=10 * 365 * 86400,
        required=False,
        allow_null=True,
        help_text="Interval in seconds; null when the task runs on a crontab.",
    )
    enabled = serializers.BooleanField(required=False)
    last_run_at = serializers.DateTimeField(read_only=True, allow_null=True)
    total_run_count = serializers.IntegerField(read_only=True)
    next_run_at = serializers.DateTimeField(read_only=True, allow_null=True)


TaskRunSerializer = inline_serializer(
    "TaskRun",
    {
        "name": serializers.CharField(),
        "task": serializers.CharField(),
        "task_id": serializers.CharField(),
        "queued": serializers.BooleanField(),
        "result": serializers.JSONField(allow_null=True),
    },
)


class ScheduleViewSet(viewsets.ViewSet):
    """The periodic tasks (cleanup, garbage collection, fsck, statistics, audit pruning)."""

    permission_classes = [AdministratorPermission]
    required_permission = "django_celery_beat.change_periodictask"
    lookup_field = "name"
    lookup_value_regex = ANY_SEGMENT

    @extend_schema(responses=ScheduleSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(ScheduleSerializer(schedule_list(), many=True).data)

    @extend_schema(responses=ScheduleSerializer)
    def retrieve(self, request: Request, name: str) -> Response:
        return Response(ScheduleSerializer(schedule_get(name=name)).data)

    @extend_schema(request=ScheduleSerializer, responses=ScheduleSerializer)
    def partial_update(self, request: Request, name: str) -> Response:
        asked = ScheduleSerializer(data=request.data, partial=True)
        asked.is_valid(raise_exception=True)
        changed = schedule_set(
            name=name,
            every_seconds=asked.validated_data.get("every_seconds"),
            enabled=asked.validated_data.get("enabled"),
        )
        return Response(ScheduleSerializer(changed).data)

    @extend_schema(
        request=None,
        responses={200: TaskRunSerializer, 202: TaskRunSerializer},
        description="Run the task now: 202 when queued on a worker, 200 when it ran here.",
    )
    @action(detail=True, methods=["post"])
    def run(self, request: Request, name: str) -> Response:
        started = task_run_now(name=name)
        answer = status.HTTP_202_ACCEPTED if started.queued else status.HTTP_200_OK
        return Response(asdict(started), status=answer)
