"""API views for samples."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from crm.api.viewsets import TenantModelViewSet
from samples import filters, selectors, serializers
from samples.models import OPEN_SAMPLE_STATUSES


class SampleViewSet(TenantModelViewSet):
    """What became of sample interactions' products: open ones by default, with their lines."""

    serializer_class = serializers.SampleSerializer
    filterset_class = filters.SampleFilter
    ordering = ("-id",)
    ordering_fields = ("id", "requested_at", "created_at", "updated_at")

    def get_queryset(self) -> QuerySet[Any]:
        # A sample goes with its interaction: one deleted since (raw SQL, not the API's cascade) hides it.
        return selectors.samples_with_lines(
            super().get_queryset().filter(interaction__deleted_at__isnull=True)
        )

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        if self.action == "list" and not filters.STATUS_PARAMETERS & set(self.request.query_params):
            queryset = queryset.filter(status__in=OPEN_SAMPLE_STATUSES)  # the list's default: open samples
        return queryset

    def deletion_dependents(self, instance: Any) -> list[QuerySet[Any]]:
        return [instance.interaction.sample_lines.all()]
