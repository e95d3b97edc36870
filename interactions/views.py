"""API views for interactions."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.serializers import BaseSerializer

from crm.api.batch import BatchWriteMixin
from crm.api.viewsets import TenantModelViewSet
from interactions import filters, serializers
from interactions.models import InteractionType
from tasks.services import task_create_for_follow_up


class InteractionViewSet(BatchWriteMixin, TenantModelViewSet):
    """Touch points logged against organizations."""

    serializer_class = serializers.InteractionSerializer
    filterset_class = filters.InteractionFilter
    searchable = True
    ordering = ("-occurred_at", "-id")
    ordering_fields = ("id", "occurred_at", "created_at", "updated_at")

    def deletion_dependents(self, instance: Any) -> list[QuerySet[Any]]:
        # A sample interaction's sample and lines (the samples app's) go and come back with it, lines first;
        # no other interaction has any, and pays no statement for them.
        if instance.type != InteractionType.SAMPLE:
            return []
        return [instance.sample_lines.all(), instance.samples.all()]

    def soft_delete(self, instance: Any, *, cascade: bool) -> None:
        # Its sample is part of the interaction, not a record of its own that could block it: always along.
        super().soft_delete(instance, cascade=True)

    def create_defaults(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        defaults = super().create_defaults(validated_data)
        if validated_data.get("user") is None:
            validated_data.pop("user", None)
            defaults["user_id"] = self.crm.user_id  # logged by whoever sends it, unless said otherwise
        return defaults

    def save_new(self, serializer: BaseSerializer[Any]) -> None:
        follow_up_task = serializer.validated_data.pop("follow_up_task", None)  # type: ignore[union-attr]
        super().save_new(serializer)
        if follow_up_task is not None:
            assignee = follow_up_task.pop("assignee", None)
            task_create_for_follow_up(
                interaction=serializer.instance, assignee_id=getattr(assignee, "pk", None), **follow_up_task
            )
