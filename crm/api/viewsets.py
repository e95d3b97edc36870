"""The viewset every business resource builds on: selector for reads, RLS-scoped writes, soft delete."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.serializers import BaseSerializer

from crm.api.serializers import TenantModelSerializer
from crm.rls import RequestContext, context_of


class TenantModelViewSet(viewsets.ModelViewSet):
    """CRUD over one tenant table.

    Reads: `base_queryset()` (live rows, the select_related every response needs) plus whatever `?expand=`
    asks for; PostgreSQL's policies decide which rows exist for this user. Writes: the tenant comes from
    the request's context, never from the body; the database checks the rest.
    """

    serializer_class: type[TenantModelSerializer]
    searchable = False
    ordering_fields: tuple[str, ...] = ("id", "created_at", "updated_at")
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    @property
    def crm(self) -> RequestContext:
        # Schema generation builds views without going through the middleware: nobody, no rows.
        return context_of(self.request)

    def base_queryset(self) -> QuerySet[Any]:
        model: type[Model] = self.serializer_class.Meta.model
        return model._default_manager.filter(deleted_at__isnull=True)

    def requested_expansions(self) -> tuple[str, ...]:
        raw = self.request.query_params.get("expand", "") if self.request else ""
        names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
        allowed = self.serializer_class.expandable
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise ValidationError(
                {
                    "expand": [
                        f"Cannot expand {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed)) or 'none'}."
                    ]
                }
            )
        return names

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.base_queryset().filter(tenant_id=self.crm.tenant_id)
        expansions = self.requested_expansions()
        if expansions:
            queryset = queryset.select_related(*expansions)
        return queryset

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["expand"] = self.requested_expansions() if self.request else ()
        return context

    def create_defaults(self, validated_data: dict[str, Any]) -> dict[str, Any]:
        """Values a new row takes from the request rather than the body."""
        return {
            "tenant_id": self.crm.tenant_id,
            "created_by_id": self.crm.user_id,
            "updated_by_id": self.crm.user_id,
        }

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        with transaction.atomic():
            serializer.save(**self.create_defaults(serializer.validated_data))  # type: ignore[arg-type]
        self._refresh(serializer)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        with transaction.atomic():
            serializer.save(updated_by_id=self.crm.user_id)
        self._refresh(serializer)

    def _refresh(self, serializer: BaseSerializer[Any]) -> None:
        # Columns the database keeps (audit, scope keys, weighted volume, stage dates) are re-read so the
        # response shows what was stored, and expansions are loaded in the same query.
        instance = serializer.instance
        assert isinstance(instance, Model)
        serializer.instance = self.get_queryset().get(pk=instance.pk)

    def perform_destroy(self, instance: Any) -> None:
        # Soft delete: the row stays (history, restore) but vanishes from every list and detail.
        type(instance)._default_manager.filter(pk=instance.pk).update(
            deleted_at=timezone.now(), updated_by_id=self.crm.user_id
        )
