"""API views for organizations, distributor authorizations, customer distributors and books."""

from __future__ import annotations

from crm.api.viewsets import TenantModelViewSet
from crm.permissions import IsTenantAdminOrReadOnly
from organizations import filters, serializers


class OrganizationViewSet(TenantModelViewSet):
    """Principals, distributors, customers and prospects."""

    serializer_class = serializers.OrganizationSerializer
    filterset_class = filters.OrganizationFilter
    searchable = True
    ordering = ("name", "id")
    ordering_fields = ("id", "name", "type", "priority", "created_at", "updated_at")


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
