"""Webhook endpoints for the firm's admins: CRUD, secret rotation, the delivery log and redelivery."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.pagination import CursorPagination
from crm.api.viewsets import LocatedCreateMixin
from crm.permissions import IsTenantAdmin
from crm.rls import context_of
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.serializers import (
    CreatedWebhookEndpointSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointSerializer,
    WebhookSecretSerializer,
)


class WebhookEndpointViewSet(LocatedCreateMixin, viewsets.ModelViewSet):
    """The firm's webhook endpoints (admins only). Each receives the changes it subscribes to, signed per
    Standard Webhooks with its own secret (shown once), at least once, in order per record."""

    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.none()  # the schema's model; requests use get_queryset()
    permission_classes = [IsTenantAdmin]
    ordering = ("id",)
    ordering_fields = ("id", "created_at")
    filterset_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.objects.filter(tenant_id=context_of(self.request).member_tenant_id).order_by(
            "id"
        )

    @extend_schema(request=WebhookEndpointSerializer, responses={201: CreatedWebhookEndpointSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, secret = services.endpoint_create(
            context=context_of(request),
            url=data["url"],
            description=data.get("description", ""),
            events=data["events"],
            principals=data.get("principals", []),
        )
        body = dict(CreatedWebhookEndpointSerializer(endpoint, context=self.get_serializer_context()).data)
        body["secret"] = secret
        return Response(body, status=status.HTTP_201_CREATED, headers=self.get_success_headers(body))

    def perform_update(self, serializer: Any) -> None:
        services.endpoint_update(
            context=context_of(self.request), endpoint=serializer.instance, **serializer.validated_data
        )

    @extend_schema(request=None, responses=WebhookSecretSerializer, summary="Rotate an endpoint's secret")
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new signing secret, shown only in this response; deliveries are signed with it from now on."""
        secret = services.endpoint_rotate_secret(context=context_of(request), endpoint=self.get_object())
        return Response({"secret": secret})

    @extend_schema(responses=WebhookDeliverySerializer(many=True), filters=False, summary="Delivery log")
    @action(detail=True, methods=["get"], serializer_class=WebhookDeliverySerializer)
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The endpoint's deliveries, newest first: state, attempts, last status and error, next try."""
        endpoint = self.get_object()
        paginator = CursorPagination()
        page = paginator.paginate(WebhookDelivery.objects.filter(endpoint=endpoint), request, ["-id"])
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses=WebhookDeliverySerializer,
        parameters=[OpenApiParameter("delivery_id", int, OpenApiParameter.PATH)],
        summary="Redeliver",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver",
        serializer_class=WebhookDeliverySerializer,
    )
    def redeliver(self, request: Request, pk: str | None = None, delivery_id: str | None = None) -> Response:
        """Send a delivery again, whatever its state, with a fresh set of attempts (the same webhook-id:
        a receiver that already has it may ignore it)."""
        endpoint = self.get_object()
        delivery = WebhookDelivery.objects.filter(endpoint=endpoint, pk=int(delivery_id or 0)).first()
        if delivery is None:
            raise NotFound("No such delivery of this endpoint.")
        services.delivery_redeliver(delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data)
