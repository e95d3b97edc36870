"""The sales API: facts (read), kept rows and their confirmation, customer aliases and saved mappings."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.viewsets import LocatedCreateMixin
from crm.permissions import IsTenantMember
from crm.rls import context_of
from sales import filters, services
from sales.models import ColumnMapping, CustomerAlias, SalesFact, SalesUnmatched
from sales.serializers import (
    ColumnMappingSerializer,
    ConfirmedSerializer,
    ConfirmSerializer,
    CustomerAliasSerializer,
    SalesFactSerializer,
    SalesUnmatchedSerializer,
)


class SalesFactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Distributor sales: cases (and dollars) per distributor, product, customer and week or month, as
    imported from the distributors' reports (POST /imports/ with kind=sales). Read under the product's
    principal's access, like the product itself."""

    serializer_class = SalesFactSerializer
    queryset = SalesFact.objects.none()
    filterset_class = filters.SalesFactFilter
    ordering = ("-period_start", "-id")
    # Orders an index serves (sales_fact_tenant_period, the primary key): ordering millions of facts by
    # cases would sort them all for each page (~0.9 s at scale 20); the reports rank by cases.
    ordering_fields = ("id", "period_start")

    def get_queryset(self) -> QuerySet[SalesFact]:
        return SalesFact.objects.filter(tenant_id=context_of(self.request).member_tenant_id)


class SalesUnmatchedViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Rows of sales files whose product or customer was not recognised, with the best candidates by name;
    confirm one to learn the match and apply it to every kept row with the same ship-to or item."""

    serializer_class = SalesUnmatchedSerializer
    queryset = SalesUnmatched.objects.none()
    filterset_class = filters.SalesUnmatchedFilter
    ordering = ("id",)
    ordering_fields = ("id", "period_start")

    def get_queryset(self) -> QuerySet[SalesUnmatched]:
        return SalesUnmatched.objects.filter(tenant_id=context_of(self.request).member_tenant_id)

    @extend_schema(request=ConfirmSerializer, responses=ConfirmedSerializer, filters=False)
    @action(detail=True, methods=["post"], serializer_class=ConfirmSerializer, filterset_class=None)
    def confirm(self, request: Request, pk: Any = None) -> Response:
        """Say which customer and/or product the row is: the alias (or the distributor's item number) is
        learned, every kept row of the distributor with the same ship-to (or item) gets it, and the rows
        that then have both become facts."""
        unmatched = self.get_object()
        serializer = ConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = services.unmatched_confirm(
            context=context_of(request),
            unmatched=unmatched,
            customer_id=serializer.validated_data.get("customer"),
            product_id=serializer.validated_data.get("product"),
        )
        body = {
            "alias": done.alias.pk if done.alias else None,
            "product_distributor": done.item.pk if done.item else None,
            "rows_matched": done.rows_matched,
            "facts": done.facts,
        }
        return Response(ConfirmedSerializer(body).data, status=status.HTTP_200_OK)


class _SharedViewSet(LocatedCreateMixin, viewsets.ModelViewSet):
    """Shared rows of the firm: every member reads them, admins and managers write them (RLS)."""

    permission_classes = [IsTenantMember]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ordering = ("id",)
    ordering_fields = ("id",)


class CustomerAliasViewSet(_SharedViewSet):
    """What distributors call the firm's customers (a ship-to number or name), learned when a kept row is
    confirmed, or entered here; later sales files recognise the customer by it."""

    serializer_class = CustomerAliasSerializer
    queryset = CustomerAlias.objects.none()
    filterset_class = filters.CustomerAliasFilter

    def get_queryset(self) -> QuerySet[CustomerAlias]:
        return CustomerAlias.objects.filter(tenant_id=context_of(self.request).member_tenant_id)

    def perform_create(self, serializer: Any) -> None:
        context = context_of(self.request)
        serializer.save(tenant_id=context.member_tenant_id, created_by_id=context.member_user_id)


class ColumnMappingViewSet(_SharedViewSet):
    """Each distributor's file layout (header → sales field), saved by an import given a mapping and used
    by the distributor's later imports that give none."""

    serializer_class = ColumnMappingSerializer
    queryset = ColumnMapping.objects.none()
    filterset_class = filters.ColumnMappingFilter

    def get_queryset(self) -> QuerySet[ColumnMapping]:
        return ColumnMapping.objects.filter(tenant_id=context_of(self.request).member_tenant_id)

    def perform_create(self, serializer: Any) -> None:
        context = context_of(self.request)
        serializer.save(tenant_id=context.member_tenant_id, updated_by_id=context.member_user_id)

    def perform_update(self, serializer: Any) -> None:
        serializer.save(updated_by_id=context_of(self.request).member_user_id)
