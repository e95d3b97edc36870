"""Serializer base: audit fields read-only, foreign keys as ids, `?expand=` to embed related objects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from rest_framework import serializers

from crm import text
from crm.models import HistoryOperation, TenantModel

AUDIT_FIELDS = ("version", "created_at", "updated_at", "created_by", "updated_by")

JsonType = type | tuple[type, ...]

# The JSON type each kind of field takes, as the OpenAPI schema gives it; first match wins. Other fields
# parse their own input. A decimal is a string or a JSON number: crm.api.parsers reads a number with a
# fraction as a Decimal from its own digits (a whole one as an int), so neither loses precision.
JSON_TYPES: tuple[tuple[type[serializers.Field], JsonType, str], ...] = (
    (serializers.BooleanField, bool, "Must be a valid boolean."),
    (serializers.CharField, str, "Not a valid string."),
    (serializers.IntegerField, int, "A valid integer is required."),
    (serializers.DecimalField, (str, int, Decimal), "A valid number is required: a JSON number or a string."),
    (serializers.RelatedField, int, "Incorrect type. Expected pk value."),
)


def json_type_of(field: serializers.Field) -> tuple[JsonType, str] | None:
    """(JSON type, message when another is sent) for fields that need one checked, else None."""
    return next(
        ((json_type, message) for kind, json_type, message in JSON_TYPES if isinstance(field, kind)), None
    )


class StrictJSONTypes(serializers.Serializer):
    """A body field takes the JSON type the schema gives it, not whatever DRF can coerce into it:
    `"notes": 0`, `"is_primary": 0`, `"probability": "5"` or `"principal": "1"` are 400s, as the schema
    says, rather than stored as "0", false, 5 and 1."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors: dict[str, list[serializers.ErrorDetail]] = {}
            for field in self._writable_fields:
                value, expected = data.get(field.field_name), json_type_of(field)
                if value is None or expected is None:
                    continue
                json_type, message = expected
                if not isinstance(value, json_type) or (isinstance(value, bool) and json_type is not bool):
                    errors[str(field.field_name)] = [serializers.ErrorDetail(message, code="invalid")]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class NormalizedText(serializers.CharField):
    """A name, email or code: stored NFC, and a control or invisible character is a 400 naming the
    field (crm.text; the database's CHECKs refuse what slips past)."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return text.normalized(value)
        except text.ForbiddenCharacter as error:
            raise serializers.ValidationError(str(error), code="forbidden_characters") from error


_NORMALIZED: dict[type[serializers.Field], type[serializers.CharField]] = {}


def normalized_text_field(field_class: type[serializers.Field]) -> type[serializers.CharField]:
    """`field_class` (CharField, EmailField…) normalising its input as NormalizedText does."""
    if field_class not in _NORMALIZED:
        _NORMALIZED[field_class] = type(
            f"Normalized{field_class.__name__}", (NormalizedText, field_class), {}
        )
    return _NORMALIZED[field_class]


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ("id", "email", "first_name", "last_name")
        read_only_fields = fields


class ReferenceField(serializers.PrimaryKeyRelatedField):
    """A foreign key as an id, found with the field's queryset (what the user may see), as DRF does; a
    batch (crm.api.batch) reads the rows its operations name once for all of them and hands them over in
    the serializer context (`references`: field name → {id: row}). An id not handed over is looked up."""

    def to_internal_value(self, data: Any) -> Any:
        known = self.context.get("references")
        if known is not None and type(data) is int:
            row = known.get(self.field_name, {}).get(data)
            if row is not None:
                return row
        return super().to_internal_value(data)


class TenantModelSerializer(StrictJSONTypes, serializers.ModelSerializer):
    """Base of every business serializer.

    `expandable` maps a foreign key field to a callable returning its summary serializer class; the view
    select_related()s the requested ones, so embedding costs no extra query.
    """

    expandable: ClassVar[dict[str, Callable[[], type[serializers.Serializer]]]] = {}
    serializer_related_field = ReferenceField

    def to_representation(self, instance: TenantModel) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        for name in self.context.get("expand", ()):
            related = getattr(instance, name, None)
            if getattr(related, "deleted_at", None) is not None:
                related = None  # a deleted record is not embedded
            data[name] = (
                None if related is None else self.expandable[name]()(related, context=self.context).data
            )
        return data

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[Any, dict[str, Any]]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_name in getattr(self.Meta.model, "normalized_text_fields", ()):
            field_class = normalized_text_field(field_class)
        return field_class, kwargs

    def build_relational_field(self, field_name: str, relation_info: Any) -> tuple[Any, dict[str, Any]]:
        field_class, kwargs = super().build_relational_field(field_name, relation_info)
        # Related choices come from what the database lets this user see (RLS); hidden and missing ids
        # get the same "does not exist" answer. Soft-deleted rows are not valid targets.
        model = relation_info.related_model
        if "queryset" in kwargs and issubclass(model, TenantModel):
            kwargs["queryset"] = model._default_manager.filter(deleted_at__isnull=True)
        return field_class, kwargs


def expand_choices(serializer_class: type[TenantModelSerializer]) -> list[str]:
    return sorted(serializer_class.expandable)


def user_summary() -> type[serializers.Serializer]:
    return UserSummarySerializer


class TenantMemberField(ReferenceField):
    """A user id that must name a member of the request's firm (owners, account managers, loggers).

    Users are not tenant rows, so membership is checked with crm_is_member(): ids of other firms' users
    get the same answer as ids that do not exist.
    """

    def get_queryset(self) -> Any:
        from django.db.models import BooleanField
        from django.db.models.expressions import RawSQL

        request = self.context.get("request")
        tenant_id = request._request.crm.tenant_id if request is not None else None
        return get_user_model()._default_manager.filter(
            RawSQL("crm_is_member(crm_user.id, %s)", (tenant_id,), output_field=BooleanField())
        )


class HistoryEntrySerializer(serializers.Serializer):
    """One recorded change: who, when, in which request, and each changed field's [old, new]."""

    id = serializers.IntegerField()
    operation = serializers.ChoiceField(choices=HistoryOperation.choices)
    occurred_at = serializers.DateTimeField()
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    request_id = serializers.CharField()
    changes = serializers.DictField(
        child=serializers.ListField(min_length=2, max_length=2, allow_null=True),
        help_text='Changed fields: {"field": [old, new]} (values as stored, ids for relations).',
    )
