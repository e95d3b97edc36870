"""API views for organizations, distributor authorizations, customer distributors and books."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from crm.api.batch import BatchWriteMixin
from crm.api.keyset import page_size_of
from crm.api.merges import duplicates_page
from crm.api.positions import decode_position, encode_position
from crm.api.schema import cursor_page_parameters
from crm.api.viewsets import TenantModelViewSet
from crm.permissions import IsTenantAdminOrReadOnly
from organizations import filters, selectors, serializers, services
from organizations.models import Organization
from organizations.serializers import TimelineEventSerializer, TimelinePageSerializer


class OrganizationViewSet(BatchWriteMixin, TenantModelViewSet):
    """Principals, distributors, customers and prospects.

    DELETE refuses (409) while live contacts or open opportunities remain, unless `?cascade=true`
    soft-deletes them too; `restore` brings them back together.
    """

    serializer_class = serializers.OrganizationSerializer
    filterset_class = filters.OrganizationFilter
    searchable = True
    ordering = ("name", "id")
    ordering_fields = ("id", "name", "type", "priority", "created_at", "updated_at")

    @extend_schema(responses=TimelinePageSerializer, filters=False, parameters=cursor_page_parameters())
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: Any = None) -> Response:
        """The organization's interactions, stage changes, and contacts and opportunities added: newest
        first, one feed, one query a page (`?cursor=`, `?page_size=`)."""
        organization = self.get_object()
        size = page_size_of(request)
        before = decode_position(request.query_params.get("cursor"))
        events = selectors.organization_timeline(
            organization_id=organization.pk, before=before, limit=size + 1
        )
        more = len(events) > size
        events = events[:size]
        next_link = None
        if more and events:
            next_link = replace_query_param(
                request.build_absolute_uri(), "cursor", encode_position(events[-1].position)
            )
        return Response({"next": next_link, "results": TimelineEventSerializer(events, many=True).data})

    @extend_schema(
        responses=serializers.OrganizationDuplicatePageSerializer,
        filters=False,
        parameters=cursor_page_parameters(),
    )
    @action(detail=False, methods=["get"])
    def duplicates(self, request: Request) -> Response:
        """Pairs of organizations that look like one (ADR 0029), best first, among those you see: the same
        name's words ("Sysco Boston", "SYSCO – Boston"), or alike words with the city or phone agreeing;
        one type, never principals. One query a page (`?cursor=`, `?page_size=`)."""
        return duplicates_page(
            request, self.crm, selectors.organization_duplicates, serializers.OrganizationDuplicateSerializer
        )

    @extend_schema(
        request=serializers.MergeSerializer,
        responses=serializers.OrganizationSerializer,
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: Any = None) -> Response:
        """Merge the organizations listed in `merge` into this one (ADR 0029), in one transaction: every
        record referring to them (contacts, opportunities, interactions, authorizations, links, item
        numbers, children…) moves here, identical links fold into one, contacts with the same email merge;
        they are deleted with `merged_into` set, and both sides' history records the merge. 409: another
        type, a principal, links that clash, or records out of your reach referring to them."""
        survivor = self.get_object()
        payload = serializers.MergeSerializer(data=request.data, context={"survivor": survivor.pk})
        payload.is_valid(raise_exception=True)
        services.organization_merge(survivor=survivor, merged_ids=payload.validated_data["merge"])
        self.action = "retrieve"
        return Response(self.representation_of(survivor.pk))

    def deletion_dependents(self, instance: Organization) -> list[QuerySet[Any]]:
        return services.organization_dependents(organization=instance)

    def blocking_dependents(self, instance: Organization) -> dict[str, int]:
        return services.organization_blocking_dependents(organization=instance)


class DistributorAuthorizationViewSet(TenantModelViewSet):
    """Which distributors carry which principal's line."""

    serializer_class = serializers.DistributorAuthorizationSerializer
    filterset_class = filters.DistributorAuthorizationFilter
    ordering = ("-id",)
    ordering_fields = ("id", "created_at", "updated_at")


class CustomerDistributorViewSet(TenantModelViewSet):
    """Which distributors deliver to which operator (one primary each)."""

    serializer_class = serializers.CustomerDistributorSerializer
    filterset_class = filters.CustomerDistributorFilter
    ordering = ("-id",)


class PrincipalAssignmentViewSet(TenantModelViewSet):
    """Books: the principals each user works. Admins manage them; others read their own."""

    serializer_class = serializers.PrincipalAssignmentSerializer
    filterset_class = filters.PrincipalAssignmentFilter
    permission_classes = [IsTenantAdminOrReadOnly]
    ordering = ("-id",)
