"""FilterSet base for business resources: ids, choices and date ranges, named as a user would."""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.http import QueryDict
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, taken to UTC before it reaches the database.

    RFC 3339 allows UTC offsets up to ±23:59, PostgreSQL only up to ±15:59: `?created_after=…T10:00+16:20`
    would otherwise fail in the query. An instant beyond year 1–9999 once in UTC is clamped to the
    first or last one, which bounds every row the same way.
    """

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed: dt.datetime | None = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            edge = dt.datetime.min if parsed.year == dt.MINYEAR else dt.datetime.max
            return edge.replace(tzinfo=dt.UTC)


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class TenantFilterSet(django_filters.FilterSet):
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = DateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = DateTimeFilter(field_name="updated_at", lookup_expr="lt")

    # Names of this filterset's filter methods whose query depends on nothing but their value (not the
    # clock, the request or the database): a list filtered by one keeps its SQL per shape (crm.api.reads).
    value_only_methods: frozenset[str] = frozenset()

    # django-filter deep-copies every filter (choices and all) and builds a form class, its fields and
    # their labels for each request (~0.8 ms a list). None of it depends on the request unless a filter's
    # choices come from it (QuerySetRequestMixin): otherwise filters are copied shallowly and the form
    # class is built once per filterset class.

    def __init__(self, data: Any = None, queryset: Any = None, *, request: Any = None, prefix: Any = None):
        if self._request_dependent():
            super().__init__(data, queryset, request=request, prefix=prefix)
            return
        # BaseFilterSet.__init__ (django-filter 26.2), but for the copies of the filters.
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix

    # The filters are copied when first used: a request's form is cleaned without them (its class is
    # built once), and a list read by its shape (crm.api.reads) filters nothing itself.
    @property
    def filters(self) -> dict[str, Any]:
        made: dict[str, Any] | None = self.__dict__.get("_filters")
        if made is None:
            made = {}
            self._filters = made
            for name, base in self.base_filters.items():
                filter_ = copy.copy(base)
                if base.method is not None:
                    filter_.method = base.method  # a FilterMethod of its own, bound to this filterset
                filter_.model = self.queryset.model
                filter_.parent = self
                made[name] = filter_
        return made

    @filters.setter
    def filters(self, value: dict[str, Any]) -> None:
        self._filters = value

    @classmethod
    def _request_dependent(cls) -> bool:
        flag: bool | None = cls.__dict__.get("_depends_on_request")
        if flag is None:
            cls._no_distinct_on_own_columns()  # once per class, on its first use, as this flag
            flag = any(isinstance(f, QuerySetRequestMixin) for f in cls.base_filters.values())
            cls._depends_on_request = flag  # type: ignore[attr-defined]
        return flag

    @classmethod
    def _no_distinct_on_own_columns(cls) -> None:
        """A filter on the table's own column cannot repeat a row (a list joins only the rows its foreign
        keys point at), so django-filter's DISTINCT for multiple choices (`?type=a&type=b`) only costs: a
        SELECT DISTINCT over every selected column, the page's JSON text included. Kept for a filter that
        follows a relation (`a__b`), which may reach several rows."""
        model = cls._meta.model
        for spec in cls.base_filters.values():
            if not spec.distinct or spec.method is not None or model is None:
                continue
            try:
                field = model._meta.get_field(spec.field_name or "")
            except FieldDoesNotExist:
                continue  # a path through relations (`a__b`), or no field: keep DISTINCT
            # A column of the table (a foreign key's own column included); not a many-to-many or reverse
            # relation, whose rows a filter joins.
            if getattr(field, "concrete", False) and not field.many_to_many:
                spec.distinct = False

    def get_form_class(self) -> type[forms.Form]:
        cls = type(self)
        if cls._request_dependent():
            built = super().get_form_class()
            return type(built.__name__, (FilterForm, built), {})  # comma lists (FilterForm) here too
        cached: type[forms.Form] | None = cls.__dict__.get("_form_class")
        if cached is None:
            built = super().get_form_class()
            cached = type(built.__name__, (FilterForm, built), {})
            cached.base_fields = SharedFields(built.base_fields)
            cls._form_class = cached  # type: ignore[attr-defined]
        return cached


def comma_separated(values: Any) -> Any:
    """A multiple-value filter's values with each comma-separated list split: `?type=a,b` is
    `?type=a&type=b` (and `?type=a,b&type=c` all three), as `expand` and `ordering` take commas. Spaces
    around an item go; an empty item stays, to be refused like `?type=` (no choice is empty or has a
    comma)."""
    if not isinstance(values, list):
        return values
    return [item.strip() for value in values for item in str(value).split(",")]


class FilterForm(forms.Form):
    """A filter form cleaned without a BoundField per field (a filterset has a dozen fields and a request
    gives one or two): each field's value comes from its widget and is cleaned as Django's
    `Field._clean_bound_field` cleans it, then the form's `clean_<name>` as Django calls it. Disabled
    fields and file fields, which need their bound field's initial value, take Django's own way. A
    multiple-value field takes comma lists (comma_separated)."""

    def _clean_fields(self) -> None:
        omitted = self._omitted_values()
        for name, field in self.fields.items():
            try:
                if field.disabled or isinstance(field, forms.FileField):
                    self.cleaned_data[name] = field._clean_bound_field(self[name])  # type: ignore[attr-defined]
                elif name in omitted and self.add_prefix(name) not in self.data:
                    self.cleaned_data[name] = copy.copy(omitted[name])
                else:
                    value = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
                    if isinstance(field, forms.MultipleChoiceField):
                        value = comma_separated(value)
                    self.cleaned_data[name] = field.clean(value)
                if hasattr(self, f"clean_{name}"):
                    self.cleaned_data[name] = getattr(self, f"clean_{name}")()
            except forms.ValidationError as error:
                self.add_error(name, error)

    @classmethod
    def _omitted_values(cls) -> dict[str, Any]:
        """What each field cleans to when the query does not give it, worked out once per form class (a
        request gives one or two of a dozen filters): the field cleaned as Django cleans an omitted value.
        Only for Django's own single-value widgets, which read nothing but the field's name from the query
        (a MultiWidget reads suffixed names, a custom widget may read anything); fields whose clean hook
        or an error would have a say are left out too. Those are cleaned on every request."""
        known: dict[str, Any] | None = cls.__dict__.get("_omitted")
        if known is None:
            known = {}
            for name, field in cls.base_fields.items():
                widget = field.widget
                if (
                    type(widget).__module__ != "django.forms.widgets"
                    or isinstance(widget, forms.MultiWidget)
                    or field.disabled
                    or isinstance(field, forms.FileField)
                    or hasattr(cls, f"clean_{name}")
                ):
                    continue
                try:
                    known[name] = field.clean(widget.value_from_datadict(QueryDict(), {}, name))
                except forms.ValidationError:
                    continue
            cls._omitted = known  # type: ignore[attr-defined]
        return known


class SharedFields(dict[str, forms.Field]):
    """A filter form's fields, shared by every form of its class rather than deep-copied for each (Django's
    BaseForm copies them so a form may change its own; ~0.4 ms a filtered list). A filter form is only
    cleaned, never rendered or changed, and cleaning reads a field without changing it."""

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedFields:
        return SharedFields(self)


# Query parameters that are never a filterset's input (unless it has a filter of that name).
VIEW_PARAMS = frozenset({"cursor", "page_size", "format", "search", "ordering", "expand", "cascade"})


class FilterSetBackend(DjangoFilterBackend):
    """django-filter's backend, without building the filterset when the query has nothing for it.

    With no input a filterset's form is valid and every filter leaves the queryset as it is, so the
    result is the same queryset; a list without filters (and every detail) saves ~1 ms of form work.
    """

    @staticmethod
    def has_input(request: Request, view: Any) -> bool:
        """Whether the query gives the view's filterset anything to filter by."""
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is None or getattr(view, "filterset_fields", None):
            return True  # DRF's own rules decide
        inputs = VIEW_PARAMS.difference(filterset_class.base_filters)
        return not all(name in inputs for name in request.query_params)

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if not self.has_input(request, view):
            return queryset
        return super().filter_queryset(request, queryset, view)  # type: ignore[no-any-return]


class WholeNumberField(forms.IntegerField):
    """Digits only, as the schema's `integer` says: Django's IntegerField also takes `1.0` and ` 1 `."""

    def to_python(self, value: Any) -> int | None:
        if value not in self.empty_values and not re.fullmatch(r"-?\d+", str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class IdFilter(django_filters.NumberFilter):
    """A related row's id: a whole number (`?principal=1.5` is a 400, not a silent miss)."""

    field_class = WholeNumberField

    def get_max_validator(self) -> None:
        # Any integer is an id to look for (none beyond bigint exists); the stock 1e50 cap would make a
        # valid integer a 400.
        return None


def id_filter(field_name: str, help_text: str = "") -> IdFilter:
    """Filter by a related id. A hidden or unknown id simply matches nothing."""
    return IdFilter(
        field_name=field_name,
        help_text=help_text or f"Only rows whose {field_name.removesuffix('_id')} has this id.",
    )


class StrictBooleanField(forms.Field):
    """true/false/1/0 in any case; anything else is an error rather than "no filter"."""

    default_error_messages = {"invalid": "Must be one of true, false, 1, 0."}

    def to_python(self, value: Any) -> bool | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """BooleanFilter that refuses `?is_open=maybe` (the stock one silently ignores it)."""

    field_class = StrictBooleanField


def query_flag(request: Request, name: str) -> bool:
    """A true/false query parameter outside any filterset (`?cascade=true`); absent is false, and a value
    that is not a boolean is a 400 rather than quietly false."""
    try:
        return bool(StrictBooleanField(required=False).clean(request.query_params.get(name)))
    except forms.ValidationError as error:
        raise ValidationError({name: error.messages}) from None
