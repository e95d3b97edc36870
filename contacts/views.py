"""API views for contacts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts import filters, selectors, serializers, services
from crm.api.batch import BatchWriteMixin
from crm.api.merges import duplicates_page
from crm.api.schema import cursor_page_parameters
from crm.api.viewsets import TenantModelViewSet
from organizations.serializers import MergeSerializer


class ContactViewSet(BatchWriteMixin, TenantModelViewSet):
    """People at organizations."""

    serializer_class = serializers.ContactSerializer
    filterset_class = filters.ContactFilter
    searchable = True
    ordering = ("last_name", "first_name", "id")
    ordering_fields = ("id", "last_name", "first_name", "created_at", "updated_at")

    @extend_schema(
        responses=serializers.ContactDuplicatePageSerializer,
        filters=False,
        parameters=cursor_page_parameters(),
    )
    @action(detail=False, methods=["get"])
    def duplicates(self, request: Request) -> Response:
        """Pairs of contacts that look like one person (ADR 0029), best first, among those you see: the same
        name at one organization, the same email anywhere, the same phone at one organization. One query a
        page (`?cursor=`, `?page_size=`)."""
        return duplicates_page(
            request, self.crm, selectors.contact_duplicates, serializers.ContactDuplicateSerializer
        )

    @extend_schema(request=MergeSerializer, responses=serializers.ContactSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: Any = None) -> Response:
        """Merge the contacts listed in `merge` (of this contact's organization) into this one (ADR 0029), in
        one transaction: interactions, opportunity links and reports move here, identical links fold; they
        are deleted with `merged_into` set, and both sides' history records the merge. 409: another
        organization, links that clash, or records out of your reach referring to them."""
        survivor = self.get_object()
        payload = MergeSerializer(data=request.data, context={"survivor": survivor.pk})
        payload.is_valid(raise_exception=True)
        services.contact_merge(survivor=survivor, merged_ids=payload.validated_data["merge"])
        self.action = "retrieve"
        return Response(self.representation_of(survivor.pk))
