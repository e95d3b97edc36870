"""A list or detail read, parsed once into one object, and the one place that chooses how it is served.

`parse_read` and `read_rows` decide, for a request a TenantModelViewSet reads with a read plan
(crm.api.fast):

- representation: `sql_json` (rows as JSON text written by PostgreSQL, crm.api.sql_json) or `plan`
  (the read plan's Python) — the view's `writes_sql_json`;
- access (lists): `merge` over the caller's book or the `plain` range walk (crm.api.book_merge: the
  filters allow it, and the table's statistics say it reads fewer rows), or `search` (the search
  filter picks its own way, crm.api.filters.search);
- SQL: `shape` (compiled once per request shape and run with this request's values, crm.api.shapes) or
  `built` from the request (a search, which reads the database while it is built; a filter with a method
  of its own, which may read the clock or the request; a value that cannot fill a slot).

Parsing runs the checks the filter backends and the paginator run, in their order, so a bad request gets
the same 400 whichever way it would have been served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django_filters.constants import EMPTY_VALUES
from django_filters.utils import translate_validation
from rest_framework.request import Request

from crm.api import keyset
from crm.api.fast import ReadPlan
from crm.api.filtering import DateTimeFilter, FilterSetBackend, IdFilter, StrictBooleanFilter
from crm.api.filters import StrictQueryParamsBackend, ordering_of
from crm.api.pagination import book_to_merge, page_query
from crm.api.shapes import ShapeCache, slot_kind
from crm.rls import context_of

# Filters whose value goes into the query as it is, as one parameter, whatever the value (a slot). Exact
# classes: a subclass may filter another way.
SLOT_FILTERS = (
    django_filters.CharFilter,
    django_filters.NumberFilter,
    IdFilter,
    django_filters.DateFilter,
    django_filters.IsoDateTimeFilter,
    DateTimeFilter,
)
SLOT_LOOKUPS = frozenset({"exact", "iexact", "gt", "gte", "lt", "lte"})
# Filters of few values whose SQL may depend on the value (a multiple choice of every choice is no filter):
# the value is part of the shape. Exact classes, as above.
CHOICE_FILTERS = (
    django_filters.ChoiceFilter,
    django_filters.MultipleChoiceFilter,
    django_filters.BooleanFilter,
    StrictBooleanFilter,
)
DEFAULT_BACKENDS = (
    "StrictQueryParamsBackend",
    "FilterSetBackend",
    "FullTextSearchFilter",
    "StrictOrderingFilter",
)

shapes = ShapeCache()


@dataclass(frozen=True)
class Strategy:
    """How one read is served (see the module)."""

    representation: str  # "sql_json" | "plan"
    access: str  # "merge" | "plain" | "search" (lists), "key" (a detail)
    sql: str  # "shape" | "built"
    why: str = ""


@dataclass
class ParsedRead:
    """A read's inputs, checked: the filters given (name → cleaned value), the ordering, the page, the book
    to merge over (None: a plain walk), and the values and shape of its query."""

    filterset: Any
    filters: dict[str, Any]
    ordering: list[str]
    window: keyset.Window | None
    book: list[int] | None
    shape_key: tuple[Any, ...] | None = None  # None: not shaped (see the module)
    slots: dict[str, Any] = field(default_factory=dict)
    why: str = ""


def _uses_default_backends(view: Any) -> bool:
    return tuple(backend.__name__ for backend in view.filter_backends) == DEFAULT_BACKENDS


def _filterset(view: Any, request: Request, model: Any) -> Any:
    """The view's filterset, bound and valid (a 400 naming its fields otherwise), or None when the query
    has nothing for it (FilterSetBackend's rule)."""
    backend = FilterSetBackend()
    if getattr(view, "filterset_class", None) is None or not backend.has_input(request, view):
        return None
    filterset = backend.get_filterset(request, model._default_manager.none(), view)
    if filterset is None:
        return None
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    return filterset


def parse_read(view: Any, request: Request, plan: ReadPlan, *, detail: bool) -> ParsedRead | None:
    """`request`'s read, checked as the filter backends and the paginator check it; None when it is not
    one this module serves (a view with filter backends of its own, or a search: they are served as DRF
    serves them)."""
    if not _uses_default_backends(view) or (detail and view.lookup_field != "pk"):
        return None
    if getattr(view, "searchable", False) and request.query_params.get("search", "").strip():
        return None
    model = plan.model
    StrictQueryParamsBackend().filter_queryset(request, model._default_manager.none(), view)
    filterset = _filterset(view, request, model)
    filters = {}
    if filterset is not None:
        filters = {
            name: value for name, value in filterset.form.cleaned_data.items() if value not in EMPTY_VALUES
        }
    ordering = ordering_of(request, view)
    window = None if detail else keyset.window_of(request, model, ordering)
    context = context_of(request)
    book = None if window is None else book_to_merge(request, view, model, window)
    read = ParsedRead(filterset, filters, ordering, window, book)
    _shape(read, view, plan, context.tenant_id)
    return read


def _shape(read: ParsedRead, view: Any, plan: ReadPlan, tenant_id: int | None) -> None:
    """Set the read's slot values, and its shape key unless it is built per request (then say why)."""
    key: list[Any] = [type(view), view.action, plan]
    slots: dict[str, Any] = {"tenant": tenant_id}
    if not getattr(type(view).scope_conditions, "firm_only", False):
        read.why = "the view has scope conditions of its own"  # they may hold the caller's values
    filterset_class = type(read.filterset)
    for name, value in read.filters.items():
        # The class's filter, not the filterset's copy: inspecting it copies nothing.
        spec = filterset_class.base_filters[name]
        kind = type(spec)
        if spec.method is not None:
            if spec.method not in getattr(filterset_class, "value_only_methods", ()):
                read.why = read.why or f"filter {name} has a method that may read more than its value"
            elif slot_kind(value) is not None:
                key.append((name, "slot"))
                slots[f"filter:{name}"] = value
            else:
                key.append((name, _hashable(value)))
        elif spec.exclude:
            read.why = read.why or f"filter {name} excludes"
        elif kind in CHOICE_FILTERS:
            key.append((name, _hashable(value)))
        elif kind in SLOT_FILTERS and spec.lookup_expr in SLOT_LOOKUPS and not spec.distinct:
            key.append((name, "slot"))
            slots[f"filter:{name}"] = value
        else:
            # A subclass may filter as it likes (another lookup, the request's user): never assumed.
            read.why = read.why or f"filter {name} is not one whose SQL is known not to depend on its value"
    window = read.window
    key.append(tuple(read.ordering))
    if window is not None:
        key.extend((window.size, window.backwards, window.values is None, read.book is not None))
        for index, value in enumerate(window.values or ()):
            slots[f"cursor:{index}"] = value
        if read.book is not None:
            slots["book"] = read.book
    read.slots = slots
    if not read.why:
        read.shape_key = tuple(key)


def firm_only(method: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a view's `scope_conditions` as holding nothing of the request but its firm (a slot): an
    override without the mark is built per request."""
    method.firm_only = True  # type: ignore[attr-defined]
    return method


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | set) else value


def built_query(view: Any, plan: ReadPlan, read: ParsedRead, values: Mapping[str, Any]) -> QuerySet[Any]:
    """The read's query, built with `values` in its slots (the request's own, or a shape's probes)."""
    conditions = {**view.scope_conditions(), "tenant_id": values["tenant"]}
    keys = ["id" if name.lstrip("-") == "pk" else name.lstrip("-") for name in read.ordering]
    queryset = plan.json_rows(keys if read.window is not None else (), conditions)
    for name, value in read.filters.items():
        queryset = read.filterset.filters[name].filter(queryset, values.get(f"filter:{name}", value))
    window = read.window
    if window is None:
        return queryset
    if window.values is not None:
        window = keyset.Window(
            window.ordering,
            [values[f"cursor:{i}"] for i in range(len(window.values))],
            window.backwards,
            window.size,
        )
    book = values.get("book") if read.book is not None else None
    return page_query(queryset, window, book)


def read_rows(view: Any, plan: ReadPlan, read: ParsedRead, pk: Any = None) -> tuple[list[Any], Strategy]:
    """The read's rows (a list's page and one more; a detail's row, at most two), and how they were read."""
    access = "key" if read.window is None else ("merge" if read.book is not None else "plain")
    key = read.shape_key
    slots = dict(read.slots)
    if read.window is None:
        slots["pk"] = _lookup_value(plan, pk)
    shape = (
        None
        if key is None
        else shapes.shape(key, slots, lambda values: _detail_or_page(view, plan, read, values))
    )
    if shape is not None:
        return shape.rows(slots), Strategy("sql_json", access, "shape")
    why = read.why or "a value that cannot fill a slot"
    return list(_detail_or_page(view, plan, read, slots)), Strategy("sql_json", access, "built", why)


def _detail_or_page(view: Any, plan: ReadPlan, read: ParsedRead, values: Mapping[str, Any]) -> QuerySet[Any]:
    queryset = built_query(view, plan, read, values)
    if read.window is None:
        # QuerySet.get()'s query: the row, and a second one if the key were not unique.
        return queryset.filter(pk=values["pk"])[:2]
    return queryset


def _lookup_value(plan: ReadPlan, raw: Any) -> Any:
    """The detail's primary key from the URL, as the query would take it; a value that is not one is a 404
    (get_object_or_404's rule)."""
    try:
        return plan.model._meta.pk.to_python(raw)
    except (ValidationError, ValueError, TypeError):
        raise Http404 from None
