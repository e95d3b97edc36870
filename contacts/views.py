"""API views for contacts."""

from __future__ import annotations

from contacts import filters, serializers
from crm.api.batch import BatchWriteMixin
from crm.api.viewsets import TenantModelViewSet


class ContactViewSet(BatchWriteMixin, TenantModelViewSet):
    """People at organizations."""

    serializer_class = serializers.ContactSerializer
    filterset_class = filters.ContactFilter
    searchable = True
    ordering = ("last_name", "first_name", "id")
    ordering_fields = ("id", "last_name", "first_name", "created_at", "updated_at")
