"""Filter backends shared by every list: strict query parameters, full-text search, strict ordering."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django.contrib.postgres.search import SearchQuery
from django.db import OperationalError, connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL
from psycopg.errors import QueryCanceled
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from crm.api.book_merge import column_of
from crm.api.keyset import Window, complete, window_of
from crm.rls import keyed_search_function, search_function

# Parameters every list understands besides its filterset's; `search`, `ordering` and `expand` only
# where the view offers them (see allowed_params).
COMMON_PARAMS = frozenset({"cursor", "page_size", "format"})
# Parameters that leave a list unfiltered (its order, page and shape only).
UNFILTERED_PARAMS = frozenset({*COMMON_PARAMS, "ordering", "expand"})
_TOKEN = re.compile(r"\w+", re.UNICODE)


def allowed_params(view: Any) -> set[str]:
    """The query parameters `view` understands: a parameter it would ignore is not among them."""
    allowed = set(COMMON_PARAMS)
    if getattr(view, "searchable", False):
        allowed.add("search")
    if getattr(view, "ordering_fields", None):
        allowed.add("ordering")
    if getattr(getattr(view, "serializer_class", None), "expandable", None):
        allowed.add("expand")
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is not None:
        allowed.update(filterset_class.base_filters)
    if getattr(view, "action", None) == "destroy" and hasattr(view, "blocking_dependents"):
        allowed.add("cascade")
    return allowed


def refuse_nul(request: Request) -> None:
    """A NUL character in a query parameter is a 400 naming it (PostgreSQL text cannot hold one)."""
    bad = sorted(
        name
        for name, values in request.query_params.lists()
        if "\x00" in name or any("\x00" in value for value in values)
    )
    if bad:
        # The code DRF gives a NUL in a body field, so clients (and the fuzz run) see one rule.
        message = ErrorDetail("May not contain the NUL character.", code="null_characters_not_allowed")
        raise ValidationError({name: [message] for name in bad})


def refuse_repeats(request: Request, *, many: set[str] | frozenset[str] = frozenset()) -> None:
    """A parameter that takes one value, given twice (`?ordering=name&ordering=-name`), is a 400 naming it:
    silently reading one of them would answer a question the client did not ask. The parameters in
    `many` (multiple-choice filters: `?stage=a&stage=b`) take every value given."""
    repeated = sorted(
        name for name, values in request.query_params.lists() if len(values) > 1 and name not in many
    )
    if repeated:
        message = ErrorDetail("Given more than once; this parameter takes one value.", code="repeated")
        raise ValidationError({name: [message] for name in repeated})


def refuse_unknown(request: Request, allowed: set[str] | frozenset[str]) -> None:
    """A parameter the endpoint does not take (a misspelled filter) is a 400 naming it: silently ignoring
    it would answer another question than the one asked."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ValidationError({name: ["Unknown query parameter."] for name in unknown})


class StrictQueryParamsBackend(BaseFilterBackend):
    """A misspelled filter, or one this list does not offer, must not silently return everything:
    unknown parameters are a 400."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        refuse_unknown(request, allowed_params(view))
        refuse_nul(request)
        filterset_class = getattr(view, "filterset_class", None)
        many = {
            name
            for name, spec in (filterset_class.base_filters.items() if filterset_class is not None else ())
            if isinstance(spec, django_filters.MultipleChoiceFilter)
        }
        refuse_repeats(request, many=many)
        return queryset


def prefix_search_terms(text: str) -> str | None:
    """`"acme fo"` → `acme:* & fo:*` (to_tsquery syntax, every word a prefix); None when nothing to search."""
    tokens = _TOKEN.findall(text.lower())[:8]
    if not tokens:
        return None
    return " & ".join(f"{token}:*" for token in tokens)


def prefix_search_query(text: str) -> SearchQuery | None:
    """`"acme fo"` → `acme:* & fo:*` in the 'simple' configuration; None when there is nothing to search."""
    terms = prefix_search_terms(text)
    return None if terms is None else SearchQuery(terms, search_type="raw", config="simple")


def list_filters(request: Request) -> set[str]:
    """The query parameters of `request` that filter its list (rather than order, page or shape it)."""
    return set(request.query_params) - UNFILTERED_PARAMS


def search(queryset: QuerySet[Any], text: str, *, window: Window | None = None) -> QuerySet[Any]:
    """Rows of `queryset` whose `search_vector` matches `text` (every word as a prefix).

    Under row level security `search_vector @@ …` cannot use its GIN index (the operator is not
    LEAKPROOF), so the match comes from the table's search function, which applies the same SELECT policy
    as the owner and can (crm.rls.search_function_sql). The query itself still runs under the caller's
    policies: the ids can only narrow it. The list keeps its own ordering (and so its cursors); ranking
    would need a position a cursor cannot hold.

    `window` (the page the list will read, crm.api.keyset), when the search is the list's only filter: a model with
    `search_keys` in that order gets only the page's ids, picked from its keyed search function's rows.
    """
    terms = prefix_search_terms(text)
    if terms is None:
        return queryset
    if window is not None:
        page = _keyed_search_page(queryset.model, terms, window)
        if page is not None:
            return queryset.filter(pk__in=page)
    function = search_function(queryset.model._meta.db_table)
    cap: int | None = getattr(queryset.model, "search_id_cap", None)
    if cap is not None:
        ids = _capped_search_ids(function, terms, cap)
        if ids is not None:
            return queryset.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
        return queryset.filter(search_vector=SearchQuery(terms, search_type="raw", config="simple"))
    return queryset.filter(pk__in=RawSQL(f"SELECT found FROM {function}(%s) AS found", [terms]))  # noqa: S608, S611 (a checked identifier)


def _keyed_search_page(model: type[Model], terms: str, window: Window) -> RawSQL | None:
    """The ids of one page of the matches, ordered and cut from the keyed search function's own rows; None
    unless the page's order is the model's `search_keys` then id, all one way.

    Exact only because every row the function returns is one the list shows: the same policy, live rows,
    the firm, and no other filter (the caller passes a window only then). The list's query still runs
    under the caller's policies, so these ids can only narrow it.
    """
    keys: tuple[str, ...] | None = getattr(model, "search_keys", None)
    order, values, limit = window.order, window.values, window.limit
    if not keys or [field.lstrip("-") for field in order] != [*keys, "id"]:
        return None
    descending = order[0].startswith("-")
    if any(field.startswith("-") != descending for field in order):
        return None
    columns = ", ".join(f"s.{column_of(model, name)}" for name in (*keys, "id"))
    direction = " DESC" if descending else ""
    sort = ", ".join(f"{column}{direction}" for column in columns.split(", "))
    after = ""
    params: list[Any] = [terms]
    if values is not None:
        after = f" WHERE ({columns}) {'<' if descending else '>'} ({', '.join(['%s'] * len(values))})"
        params += values
    function = keyed_search_function(model._meta.db_table)
    sql = f"SELECT s.id FROM {function}(%s) AS s{after} ORDER BY {sort} LIMIT {int(limit)}"  # noqa: S608 (a checked identifier, model columns)
    return RawSQL(sql, params)  # noqa: S611 (values bound as parameters)


# How long the id probe of a capped search may take before the list walks its own index instead.
SEARCH_PROBE_TIMEOUT = "20ms"


def _capped_search_ids(function: str, terms: str, cap: int) -> list[int] | None:
    """Every visible match's id when there are fewer than `cap` and the GIN lookup finds them quickly; None
    when the list should rather walk its own index and test each row.

    Neither way is fast for every word on a table this size: a rare word (or a typo) makes the walk read
    the whole firm, while a word common in the firm but sparse in what the caller may see makes the GIN
    lookup sift through every firm's matches. The lookup is cheap exactly when the walk is not, so it gets
    a short statement timeout, in a savepoint so that cancelling it leaves the request's transaction usable.
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
                [SEARCH_PROBE_TIMEOUT],
            )
            previous = cursor.fetchone()[0]
            cursor.execute(f"SELECT array(SELECT {function}(%s))", [terms])
            ids: list[int] = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except OperationalError as exc:  # Django wraps psycopg's error
        if isinstance(exc.__cause__, QueryCanceled):
            return None
        raise
    return ids if len(ids) < cap else None


class FullTextSearchFilter(BaseFilterBackend):
    """`?search=` over the model's stored `search_vector` (GIN-indexed, see search()), with prefix matching."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        text = request.query_params.get("search", "").strip()
        if not text or not getattr(view, "searchable", False):
            return queryset
        window = None
        if (
            getattr(queryset.model, "search_keys", None)
            and list_filters(request) == {"search"}
            and not getattr(view, "exporting", False)  # an export has every match, not a page's
        ):
            window = window_of(request, queryset.model, ordering_of(request, view))
        return search(queryset, text, window=window)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        if not getattr(view, "searchable", False):
            return []
        return [
            {
                "name": "search",
                "required": False,
                "in": "query",
                "description": "Full-text search with prefix matching (every word must match).",
                "schema": {"type": "string"},
            }
        ]


def ordering_of(request: Request, view: Any) -> list[str]:
    """The ordering `request` asks of `view`'s list (`?ordering=`, else the view's own), ending with the
    primary key; an unknown field is a 400 naming `ordering`. Worked out once a request: the view, the
    search filter and the paginator all ask (the view instance lives for one request)."""
    known: tuple[Request, list[str]] | None = getattr(view, "_crm_ordering", None)
    if known is not None and known[0] is request:
        return list(known[1])
    ordering = complete(StrictOrderingFilter().get_ordering(request, view))
    if view is not None:
        view._crm_ordering = (request, ordering)
    return list(ordering)


class StrictOrderingFilter(BaseFilterBackend):
    """`?ordering=name,-created_at` over the view's `ordering_fields`; unknown fields are a 400.

    The chosen ordering always ends with the primary key so cursor positions are unique. Only NOT NULL
    columns are orderable: a cursor cannot point at a NULL position.
    """

    def get_ordering(self, request: Request, view: Any) -> list[str]:
        raw = request.query_params.get("ordering", "").strip()
        default = list(getattr(view, "ordering", None) or ["-id"])
        if not raw:
            return default
        allowed = set(getattr(view, "ordering_fields", ()))
        fields = [part.strip() for part in raw.split(",")]
        bad = [f for f in fields if f.removeprefix("-") not in allowed]
        if bad:
            shown = ", ".join(repr(f) for f in bad)
            raise ValidationError(
                {"ordering": [f"Cannot order by {shown}. Allowed: {', '.join(sorted(allowed))}."]}
            )
        if not any(f.lstrip("-") == "id" for f in fields):
            fields.append("-id" if fields[-1].startswith("-") else "id")
        return fields

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        return queryset.order_by(*self.get_ordering(request, view))

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = sorted(getattr(view, "ordering_fields", ()))
        if not fields:
            return []
        # Comma-separated (`?ordering=name,-id`): an array parameter with style=form, explode=false.
        return [
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "description": "Comma-separated fields to order by, `-` for descending; the primary key "
                "always breaks ties. An unknown field is a 400.",
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "enum": [f"{sign}{name}" for name in fields for sign in ("", "-")],
                    },
                },
                "style": "form",
                "explode": False,
            }
        ]
