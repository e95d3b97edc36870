"""API views for opportunities, their products and contacts, and the firm's stage probabilities."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.batch import BatchWriteMixin
from crm.api.filters import refuse_unknown
from crm.api.viewsets import TenantModelViewSet
from crm.permissions import IsTenantAdminOrReadOnly
from crm.rls import context_of
from opportunities import filters, selectors, serializers, services


class OpportunityViewSet(BatchWriteMixin, TenantModelViewSet):
    """Placements of a principal's products at a customer, through the pipeline."""

    serializer_class = serializers.OpportunitySerializer
    filterset_class = filters.OpportunityFilter
    searchable = True
    ordering = ("-updated_at", "-id")

    def deletion_dependents(self, instance: Any) -> list[QuerySet[Any]]:
        return [instance.opportunity_products.all(), instance.opportunity_contacts.all()]

    ordering_fields = (
        "id",
        "name",
        "stage",
        "weekly_case_volume",
        "weighted_weekly_volume",
        "created_at",
        "updated_at",
    )

    @extend_schema(request=serializers.StageChangeSerializer, responses=serializers.OpportunitySerializer)
    @action(detail=True, methods=["post"], url_path="change-stage")
    def change_stage(self, request: Request, pk: Any = None) -> Response:
        """Move the opportunity to another stage (with the reason and date a close needs)."""
        opportunity = self.get_object()
        payload = serializers.StageChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.opportunity_change_stage(opportunity=opportunity, **payload.validated_data)
        return Response(self.representation_of(opportunity.pk))


class OpportunityProductViewSet(BatchWriteMixin, TenantModelViewSet):
    """Products of the opportunity's principal being placed."""

    serializer_class = serializers.OpportunityProductSerializer
    filterset_class = filters.OpportunityProductFilter
    ordering = ("-id",)


class OpportunityContactViewSet(BatchWriteMixin, TenantModelViewSet):
    """Contacts involved in an opportunity, with their role."""

    serializer_class = serializers.OpportunityContactSerializer
    filterset_class = filters.OpportunityContactFilter
    ordering = ("-id",)


class StageProbabilityView(APIView):
    """The firm's probability per stage (ADR 0032): every member reads it, its admins change it. An
    opportunity's probability follows it on create and on each stage change; opportunities already at a
    stage keep theirs until they move (or `manage.py reset_probabilities`)."""

    permission_classes = [IsTenantAdminOrReadOnly]
    problem_statuses = (400,)  # it takes no query parameter: one is a 400 naming it

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        refuse_unknown(request, frozenset())

    @extend_schema(
        responses=serializers.StageProbabilitiesSerializer, operation_id="stage_probabilities_retrieve"
    )
    def get(self, request: Request) -> Response:
        return self._answer(request)

    @extend_schema(
        request=serializers.StageProbabilitiesSerializer,
        responses=serializers.StageProbabilitiesSerializer,
        operation_id="stage_probabilities_update",
    )
    def put(self, request: Request) -> Response:
        return self._change(request, partial=False)

    @extend_schema(
        request=serializers.StageProbabilitiesSerializer,
        responses=serializers.StageProbabilitiesSerializer,
        operation_id="stage_probabilities_partial_update",
    )
    def patch(self, request: Request) -> Response:
        return self._change(request, partial=True)

    def _change(self, request: Request, *, partial: bool) -> Response:
        payload = serializers.StageProbabilitiesSerializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        services.stage_probabilities_set(
            tenant_id=context_of(request).member_tenant_id, probabilities=payload.validated_data
        )
        return self._answer(request)

    def _answer(self, request: Request) -> Response:
        figures = selectors.stage_probabilities(tenant_id=context_of(request).member_tenant_id)
        return Response(serializers.StageProbabilitiesSerializer(figures).data)
