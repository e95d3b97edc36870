"""The firm's API keys: admins create, list and revoke them; the secret is shown once, at creation."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm import api_keys
from crm.api.exports import ExportableListMixin
from crm.api.viewsets import LocatedCreateMixin
from crm.models import PRINCIPAL, ApiKey, PrincipalAssignment, book_organizations
from crm.permissions import IsTenantAdmin
from crm.rls import context_of


class ApiKeySerializer(serializers.ModelSerializer):
    """An integration's key: it acts as a member with `role` and `book` would, and history names it (its
    `user` is the id history entries give as their `actor`). The secret is never shown again."""

    role = serializers.ChoiceField(
        choices=api_keys.KEY_ROLE_CHOICES,
        source="user.membership.role",
        help_text="manager (reads and writes its book and the shared rows) or viewer (reads its book); never admin.",
    )
    book = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="Ids of the firm's principals the key works: what a member with this role and book sees.",
    )
    user = serializers.IntegerField(source="user_id", read_only=True)

    class Meta:
        model = ApiKey
        fields: tuple[str, ...] = (
            "id",
            "name",
            "key_id",
            "role",
            "book",
            "expires_at",
            "user",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
            "revoked_by",
        )
        read_only_fields = (
            "key_id",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
            "revoked_by",
        )

    def to_representation(self, instance: ApiKey) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["book"] = [a.principal_id for a in getattr(instance.user, "live_book", [])]
        return data

    def validate_expires_at(self, value: Any) -> Any:
        if value is not None and value <= timezone.now():
            raise ValidationError("An expiry must be in the future.")
        return value

    def validate_book(self, value: list[int]) -> list[int]:
        wanted = set(value)
        found = set(
            book_organizations()
            ._default_manager.filter(
                tenant_id=context_of(self.context["request"]).member_tenant_id,
                type=PRINCIPAL,
                deleted_at__isnull=True,
                pk__in=wanted,
            )
            .values_list("pk", flat=True)
        )
        if missing := sorted(wanted - found):
            raise ValidationError(f"Not principals of the firm: {', '.join(map(str, missing))}.")
        return sorted(wanted)


class CreatedApiKeySerializer(ApiKeySerializer):
    """A key just created: `key` is the whole key, secret included, shown this once and stored nowhere."""

    key = serializers.CharField(
        read_only=True,
        help_text="Send it as `Authorization: Api-Key <key>`. Shown only in this response: keep it safe.",
    )

    class Meta(ApiKeySerializer.Meta):
        fields = (*ApiKeySerializer.Meta.fields, "key")


class ApiKeyViewSet(
    ExportableListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    LocatedCreateMixin,
    viewsets.GenericViewSet,
):
    """The firm's API keys (admins only): create one for an integration, list them with their last use,
    revoke one. A key is never an admin, so no key can manage keys or members."""

    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.none()  # the schema's model; every request goes through get_queryset()
    permission_classes = [IsTenantAdmin]
    ordering = ("id",)
    ordering_fields = ("id", "created_at")
    filterset_class = None

    def get_queryset(self) -> QuerySet[ApiKey]:
        return (
            ApiKey.objects.filter(tenant_id=context_of(self.request).member_tenant_id)
            .select_related("user__membership")
            .prefetch_related(
                Prefetch(
                    "user__book",
                    queryset=PrincipalAssignment.objects.filter(deleted_at__isnull=True).order_by(
                        "principal_id"
                    ),
                    to_attr="live_book",
                )
            )
            .order_by("id")
        )

    @extend_schema(request=ApiKeySerializer, responses={201: CreatedApiKeySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = api_keys.api_key_create(
            name=data["name"],
            role=data["user"]["membership"]["role"],
            book=data.get("book", ()),
            expires_at=data.get("expires_at"),
        )
        api_key = self.get_queryset().get(pk=created.api_key.pk)
        body = CreatedApiKeySerializer(api_key, context=self.get_serializer_context()).data
        body["key"] = created.key
        return Response(body, status=status.HTTP_201_CREATED, headers=self.get_success_headers(body))

    @extend_schema(request=None, responses=ApiKeySerializer, summary="Revoke an API key")
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke the key, for good and at once: its next request is a 401."""
        api_key = api_keys.api_key_revoke(api_key=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=api_key.pk)).data)
