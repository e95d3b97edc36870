"""API views for tasks."""

from __future__ import annotations

from crm.api.batch import BatchWriteMixin
from crm.api.viewsets import TenantModelViewSet
from tasks import filters, serializers


class TaskViewSet(BatchWriteMixin, TenantModelViewSet):
    """What members of the firm have to do, by due day: `?assignee=me&status=open&due_before=…`."""

    serializer_class = serializers.TaskSerializer
    filterset_class = filters.TaskFilter
    ordering = ("due_on", "id")
    ordering_fields = ("id", "due_on", "created_at", "updated_at")
