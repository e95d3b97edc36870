"""Fast read path: a DRF serializer's exact representation built from `values_list()` rows.

DRF's ModelSerializer stays the single source of truth (the OpenAPI schema, writes and validation read
it); this module compiles it once per (serializer, expansions) into a `ReadPlan`: the columns to select
(expanded relations' columns come through the same joins select_related would make) and, per field, a
converter that gives what the field's `to_representation` gives. A page then costs one tuple per row and
a few dict stores per field, instead of model instances plus DRF's per-field machinery (~50 µs a row).

A serializer the compiler does not understand (a method field, a dotted source, an overridden
`to_representation`, …) gets no plan, and its view keeps DRF's own path: a plan is an optimisation,
never a second definition of the representation. tests/api/test_fast_read.py proves the two equal.
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Model, QuerySet
from django.utils import timezone
from rest_framework import ISO_8601, relations, serializers
from rest_framework import fields as drf_fields
from rest_framework.settings import api_settings

from crm.api import sql_json
from crm.api.serializers import TenantModelSerializer

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Zoned:
    """A converter that also needs the current time zone: looked up once a response (asgiref's
    context-local costs ~1–3 µs a lookup), not once a value."""

    convert: Callable[[Any, dt.tzinfo], Any]


# Field classes whose representation depends only on the attribute's value (not on the instance, the
# request or other fields), so a column value can stand in for the attribute. Anything else — method
# fields, nested serializers, many-related fields, hyperlinks — makes the serializer ineligible.
VALUE_FIELDS: tuple[type[drf_fields.Field], ...] = (
    drf_fields.CharField,
    drf_fields.IntegerField,
    drf_fields.FloatField,
    drf_fields.DecimalField,
    drf_fields.BooleanField,
    drf_fields.DateTimeField,
    drf_fields.DateField,
    drf_fields.TimeField,
    drf_fields.DurationField,
    drf_fields.ChoiceField,
    drf_fields.UUIDField,
    drf_fields.JSONField,
    drf_fields.ReadOnlyField,
)
NOT_VALUE_FIELDS: tuple[type[drf_fields.Field], ...] = (
    drf_fields.MultipleChoiceField,  # a set out of a list: not a column's value
    drf_fields.FilePathField,
    drf_fields.HiddenField,
)


class Unsupported(Exception):
    """The serializer has something the compiler cannot reproduce exactly: use DRF's path."""


def inherits(field: drf_fields.Field, base: type[drf_fields.Field], method: str) -> bool:
    """`field`'s class uses `base`'s own `method` (no subclass changed it)."""
    return getattr(type(field), method) is getattr(base, method)


def plain_iso_datetime(field: drf_fields.DateTimeField) -> bool:
    """DRF writes this field's value as ISO 8601 in the current time zone ("Z" for UTC), nothing else."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    return (
        settings.USE_TZ
        and not hasattr(field, "timezone")
        and output_format is not None
        and output_format.lower() == ISO_8601
        and inherits(field, drf_fields.DateTimeField, "enforce_timezone")
    )


def plain_iso_date(field: drf_fields.DateField) -> bool:
    """DRF writes this field's value as an ISO 8601 date."""
    output_format = getattr(field, "format", api_settings.DATE_FORMAT)
    return output_format is not None and output_format.lower() == ISO_8601


def plain_iso_time(field: drf_fields.TimeField) -> bool:
    """DRF writes this field's value as an ISO 8601 time of day (isoformat())."""
    output_format = getattr(field, "format", api_settings.TIME_FORMAT)
    return output_format is not None and output_format.lower() == ISO_8601


def plain_string_decimal(field: drf_fields.DecimalField) -> bool:
    """DRF writes this field's value as a string with its decimal places, unlocalised, not normalised."""
    coerce = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    return (
        bool(coerce)
        and not field.localize
        and not field.normalize_output
        and field.decimal_places is not None
    )


def _datetime_converter(field: drf_fields.DateTimeField) -> Converter | Zoned:
    if not plain_iso_datetime(field):
        return field.to_representation
    slow = field.to_representation

    def convert(value: Any, zone: dt.tzinfo) -> Any:
        # DRF: enforce_timezone (astimezone to the current time zone), isoformat, "+00:00" → "Z".
        if type(value) is not dt.datetime or value.tzinfo is None:
            return slow(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return slow(value)  # raises what DRF raises
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return Zoned(convert)


def _date_converter(field: drf_fields.DateField) -> Converter:
    if not plain_iso_date(field):
        return field.to_representation
    slow = field.to_representation
    return lambda value: value.isoformat() if type(value) is dt.date else slow(value)


def _time_converter(field: drf_fields.TimeField) -> Converter:
    if not plain_iso_time(field):
        return field.to_representation
    slow = field.to_representation
    return lambda value: value.isoformat() if type(value) is dt.time else slow(value)


def _decimal_converter(field: drf_fields.DecimalField) -> Converter:
    if not plain_string_decimal(field) or field.decimal_places is None:  # (the latter: for the checker)
        return field.to_representation
    # DRF quantizes in a copy of the thread's context with prec = max_digits; that context is the default
    # one here (nothing in the project changes it), so it is built once.
    context = decimal.getcontext().copy()
    if field.max_digits is not None:
        context.prec = field.max_digits
    exponent = decimal.Decimal(".1") ** field.decimal_places
    rounding = field.rounding
    slow = field.to_representation

    def convert(value: Any) -> Any:
        if type(value) is not decimal.Decimal:
            return slow(value)
        return f"{value.quantize(exponent, rounding=rounding, context=context):f}"

    return convert


def _choice_converter(field: drf_fields.ChoiceField) -> Converter:
    choices = field.choice_strings_to_values
    slow = field.to_representation
    # DRF: '' and None as they are, else the choice whose string is the value's (the value itself for
    # the plain text choices a column holds).
    return lambda value: choices.get(value, value) if type(value) is str else slow(value)


def _boolean_converter(field: drf_fields.BooleanField) -> Converter:
    slow = field.to_representation
    return lambda value: value if type(value) is bool else slow(value)


def converter_for(field: drf_fields.Field) -> Converter | Zoned | None:
    """What turns a column value into `field.to_representation(value)`; None: the value as it is."""
    if isinstance(field, relations.RelatedField):
        if (
            isinstance(field, relations.PrimaryKeyRelatedField)
            and field.pk_field is None
            and inherits(field, relations.PrimaryKeyRelatedField, "to_representation")
            and inherits(field, relations.RelatedField, "get_attribute")
        ):
            return None  # the foreign key column is the related row's pk: what DRF outputs
        raise Unsupported(f"{field.field_name}: {type(field).__name__}")
    if not isinstance(field, VALUE_FIELDS) or isinstance(field, NOT_VALUE_FIELDS):
        raise Unsupported(f"{field.field_name}: {type(field).__name__}")
    if not inherits(field, drf_fields.Field, "get_attribute"):
        raise Unsupported(f"{field.field_name}: reads the instance its own way")
    # Known classes get a converter that skips DRF's generic work; a subclass that changed
    # to_representation keeps it (it is still a function of the value alone).
    for base, factory in FAST_CONVERTERS:
        if isinstance(field, base):
            if inherits(field, base, "to_representation"):
                return factory(field)
            break
    return field.to_representation


def _as_is(field: drf_fields.Field) -> Converter | None:
    return None


# The first base class a field is an instance of picks its converter.
FAST_CONVERTERS: tuple[tuple[type[drf_fields.Field], Callable[[Any], Converter | Zoned | None]], ...] = (
    (drf_fields.ChoiceField, _choice_converter),
    (drf_fields.CharField, lambda field: str),
    (drf_fields.IntegerField, lambda field: int),
    (drf_fields.BooleanField, _boolean_converter),
    (drf_fields.DateTimeField, _datetime_converter),
    (drf_fields.DateField, _date_converter),
    (drf_fields.TimeField, _time_converter),
    (drf_fields.DecimalField, _decimal_converter),
    (drf_fields.ReadOnlyField, _as_is),
)


@dataclass(frozen=True)
class Column:
    """One output key: read `index` of the row; convert it unless it is None (None: as is)."""

    name: str
    index: int
    convert: Converter | None
    zoned: Callable[[Any, dt.tzinfo], Any] | None = None  # instead of convert: also takes the zone
    json: str | None = None  # the SQL template writing its JSON (crm.api.sql_json); None: none exists


@dataclass(frozen=True)
class Embedded:
    """An expanded relation: its summary's columns, or None when no live row was joined."""

    name: str
    present: int  # a NOT NULL column of the related row: NULL when the join found none (or RLS hid it)
    deleted: int | None  # its deleted_at: a soft-deleted row is not embedded
    columns: tuple[Column, ...]


class _Lookups:
    """The values_list() lookups of a plan, each once, with their positions."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._positions: dict[str, int] = {}

    def index(self, lookup: str) -> int:
        if lookup not in self._positions:
            self._positions[lookup] = len(self.names)
            self.names.append(lookup)
        return self._positions[lookup]


def _concrete_field(model: type[Model], source: str) -> Any:
    try:
        model_field = model._meta.get_field(source)
    except FieldDoesNotExist:
        raise Unsupported(f"{source}: not a model field") from None
    if not getattr(model_field, "concrete", False) or model_field.many_to_many:
        raise Unsupported(f"{source}: not a column")
    return model_field


def _columns(
    serializer: serializers.Serializer, base: type[serializers.Serializer], prefix: str, lookups: _Lookups
) -> tuple[list[Column], type[Model]]:
    if type(serializer).to_representation is not base.to_representation:
        raise Unsupported(f"{type(serializer).__name__} overrides to_representation")
    model: type[Model] = serializer.Meta.model  # type: ignore[attr-defined]
    columns = []
    for name, field in serializer.fields.items():
        if field.write_only:
            continue
        source = field.source
        if not isinstance(source, str) or source == "*" or "." in source:
            raise Unsupported(f"{name}: source {source!r}")
        model_field = _concrete_field(model, source)
        convert = converter_for(field)
        index = lookups.index(prefix + source)
        json = sql_json.template_for(field, model_field)
        if isinstance(convert, Zoned):
            columns.append(Column(name, index, None, convert.convert, json))
        else:
            columns.append(Column(name, index, convert, json=json))
    return columns, model


def _presence_lookup(model: type[Model], prefix: str, taken: Sequence[str]) -> str:
    """A NOT NULL column of the related table (not its pk, which Django reads from the foreign key
    itself): NULL exactly when the LEFT JOIN found no row, as select_related's pk check is."""
    candidates = [
        f
        for f in model._meta.concrete_fields
        if not f.null and not f.primary_key and getattr(f, "column", None) is not None
    ]
    if not candidates:
        raise Unsupported(f"{model.__name__}: no NOT NULL column to tell a joined row")
    names = [f.name for f in candidates]
    already = [n for n in names if prefix + n in taken]
    return prefix + (already[0] if already else names[0])


class ReadPlan:
    """The compiled representation of one serializer with one set of expansions."""

    def __init__(
        self, serializer_class: type[TenantModelSerializer], expansions: Sequence[str], extra: Iterable[str]
    ) -> None:
        lookups = _Lookups()
        serializer = serializer_class(context={"expand": ()})
        columns, self.model = _columns(serializer, TenantModelSerializer, "", lookups)
        embedded: dict[str, Embedded] = {}
        for name in expansions:
            summary_class = serializer_class.expandable[name]()
            if not issubclass(summary_class, serializers.ModelSerializer):
                raise Unsupported(f"{name}: summary is not a ModelSerializer")
            summary = summary_class()
            prefix = f"{name}__"
            summary_columns, related = _columns(summary, serializers.Serializer, prefix, lookups)
            relation = _concrete_field(self.model, name)
            if not relation.is_relation or relation.related_model is not related:
                raise Unsupported(f"{name}: not a foreign key to {related.__name__}")
            present = lookups.index(_presence_lookup(related, prefix, lookups.names))
            deleted = None
            if any(f.name == "deleted_at" for f in related._meta.concrete_fields):
                deleted = lookups.index(f"{prefix}deleted_at")
            embedded[name] = Embedded(name, present, deleted, tuple(summary_columns))
        # Columns the paginator's cursor and the ordering need, by their own names.
        for name in extra:
            lookups.index(name)
        # What a row read as SQL JSON always selects besides its JSON: its id, and the version a single
        # record's ETag is made of.
        has_version = any(f.name == "version" for f in self.model._meta.concrete_fields)
        self._json_always: tuple[str, ...] = ("id", "version") if has_version else ("id",)
        self._json_templates: dict[tuple[tuple[str, ...], tuple[tuple[str, Any], ...]], QuerySet[Any]] = {}
        self.lookups: tuple[str, ...] = tuple(lookups.names)
        # Output order is DRF's: the serializer's fields, an expansion in its field's place (or after
        # them, in the order asked, when it is not a field).
        slots: list[Column | Embedded] = [embedded.pop(c.name, c) for c in columns]
        slots.extend(embedded[name] for name in expansions if name in embedded)
        self._slots = tuple(slots)
        # A represented record gets an ETag from its version (TenantModelViewSet.finalize_response): only
        # when the representation shows both.
        self.shows_version = {"id", "version"} <= {slot.name for slot in slots}
        self._template: QuerySet[Any] | None = None  # never evaluated itself: rows() clones it
        self._json = self._json_text()

    # --- the representation as SQL JSON (crm.api.sql_json) ------------------------------------------

    def _json_pieces(self, columns: Sequence[Column | Embedded]) -> list[Any] | None:
        pieces: list[Any] = []
        for position, slot in enumerate(columns):
            pieces.append(("{" if position == 0 else ",") + orjson.dumps(slot.name).decode() + ":")
            if type(slot) is Column:
                if slot.json is None:
                    return None
                pieces.append((slot.json, (F(self.lookups[slot.index]),)))
                continue
            assert isinstance(slot, Embedded)
            inner = self._json_pieces(slot.columns)
            if inner is None:
                return None
            hidden = "{0} IS NULL" + (" OR {1} IS NOT NULL" if slot.deleted is not None else "")
            parts: tuple[Any, ...] = (F(self.lookups[slot.present]),)
            if slot.deleted is not None:
                parts += (F(self.lookups[slot.deleted]),)
            parts += (sql_json.JsonText(inner),)
            pieces.append((f"(CASE WHEN {hidden} THEN 'null'::text ELSE {{{len(parts) - 1}}} END)", parts))
        pieces.append("}" if columns else "{}")
        return pieces

    def _json_text(self) -> sql_json.JsonText | None:
        pieces = self._json_pieces(self._slots)
        return None if pieces is None else sql_json.JsonText(pieces)

    @property
    def has_json(self) -> bool:
        """Whether PostgreSQL can write this plan's representation (json_rows); the time zone aside."""
        return self._json is not None

    def json_rows(
        self, keys: Sequence[str] = (), conditions: Mapping[str, Any] | None = None
    ) -> QuerySet[Any]:
        """Every row of the model (or those meeting `conditions`, filter() keyword arguments) as
        (`crm_json`, id, version, *keys): its representation as JSON text, written by PostgreSQL exactly as
        the renderer would write represent()'s dict, and the columns a cursor (`keys`: the ordering's field
        names) and an ETag are made of. Only when has_json and sql_json.usable_now().

        Kept built per (keys, conditions): building a filter costs more than the rest of a detail's
        query, and a view's scope (the firm, live rows) is the same for all its requests in a firm."""
        names = tuple(dict.fromkeys((*self._json_always, *keys)))
        cache_key = (names, tuple(sorted((conditions or {}).items())))
        template = self._json_templates.get(cache_key)
        if template is None:
            assert self._json is not None
            template = self.model._default_manager.annotate(**{JSON_COLUMN: self._json})
            if conditions:
                template = template.filter(**conditions)
            template = template.values_list(JSON_COLUMN, *names, named=True)
            if len(self._json_templates) >= MAX_TEMPLATES:
                self._json_templates.clear()  # many firms: the hot ones come back first
            self._json_templates[cache_key] = template
        return template.all()

    def rows(self) -> QuerySet[Any]:
        """Every row of the model, reading just the plan's columns, as named rows (the paginator reads
        their attributes). Resolving the columns costs more than the rest of the query's building
        (~0.2–0.5 ms), so it is done once; each call gets a fresh clone to narrow."""
        template = self._template
        if template is None:
            template = self._template = self.model._default_manager.values_list(*self.lookups, named=True)
        return template.all()

    def represent(self, row: Sequence[Any], zone: dt.tzinfo | None = None) -> dict[str, Any]:
        """The serializer's representation of `row` (`zone`: the current time zone, when known)."""
        if zone is None:
            zone = timezone.get_current_timezone()
        data: dict[str, Any] = {}
        for slot in self._slots:
            if type(slot) is Column:  # _value(), inlined: this loop is the per-row cost
                value = row[slot.index]
                if value is not None:
                    if slot.convert is not None:
                        value = slot.convert(value)
                    elif slot.zoned is not None:
                        value = slot.zoned(value, zone)
                data[slot.name] = value
            else:
                assert isinstance(slot, Embedded)
                if row[slot.present] is None or (slot.deleted is not None and row[slot.deleted] is not None):
                    data[slot.name] = None
                else:
                    data[slot.name] = {column.name: _value(column, row, zone) for column in slot.columns}
        return data

    def represent_many(self, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
        represent, zone = self.represent, timezone.get_current_timezone()
        return [represent(row, zone) for row in rows]


def _value(column: Column, row: Sequence[Any], zone: dt.tzinfo) -> Any:
    value = row[column.index]
    if value is None:
        return None  # as DRF's Serializer.to_representation: no field sees a None
    if column.convert is not None:
        return column.convert(value)
    if column.zoned is not None:
        return column.zoned(value, zone)
    return value


# Querysets a plan keeps built (json_rows): per ordering and firm.
MAX_TEMPLATES = 1024

# The name the row's JSON text is selected as (a named row's attribute: no leading underscore).
JSON_COLUMN = "crm_json"

_plans: dict[tuple[type[TenantModelSerializer], tuple[str, ...], tuple[str, ...]], ReadPlan | None] = {}
_plans_lock = threading.Lock()


def read_plan(
    serializer_class: type[TenantModelSerializer], expansions: Sequence[str], extra: Sequence[str] = ()
) -> ReadPlan | None:
    """The plan for `serializer_class` with `expansions` (compiled on first use), or None when the
    serializer needs DRF's own path. `extra`: further column names the caller reads from the rows."""
    key = (serializer_class, tuple(expansions), tuple(extra))
    try:
        return _plans[key]
    except KeyError:
        pass
    with _plans_lock:
        if key not in _plans:
            try:
                _plans[key] = ReadPlan(serializer_class, expansions, extra)
            except Unsupported:
                _plans[key] = None
        return _plans[key]


class FlatRowSerializer(serializers.Serializer):
    """A read-only serializer of flat rows (dataclasses, objects): its representation of each row is built
    by the same converters as a ReadPlan's — every declared field read by its name, None as None — compiled
    once per class, instead of DRF's per-field machinery (~60 µs a row of fifteen fields; reports list
    thousands). A subclass whose fields the compiler does not understand (a dotted source, a method or
    nested field, a time zone) keeps DRF's own path; tests/api/test_fast_read.py proves the two equal."""

    _flat_plans: dict[type, list[tuple[str, Converter | None]] | None] = {}

    @classmethod
    def _flat_plan(cls, fields: Mapping[str, drf_fields.Field]) -> list[tuple[str, Converter | None]] | None:
        if cls in cls._flat_plans:
            return cls._flat_plans[cls]
        plan: list[tuple[str, Converter | None]] | None = []
        try:
            for name, field in fields.items():
                if field.write_only:
                    continue
                if field.source != name:
                    raise Unsupported(f"{name}: source {field.source}")
                converter = converter_for(field)
                if isinstance(converter, Zoned):
                    raise Unsupported(f"{name}: needs the time zone")
                assert plan is not None
                plan.append((name, converter))
        except Unsupported:
            plan = None
        cls._flat_plans[cls] = plan
        return plan

    def to_representation(self, instance: Any) -> Any:
        plan = self._flat_plan(self.fields)
        if plan is None:
            return super().to_representation(instance)
        out: dict[str, Any] = {}
        for name, convert in plan:
            value = getattr(instance, name)
            out[name] = value if value is None or convert is None else convert(value)
        return out
