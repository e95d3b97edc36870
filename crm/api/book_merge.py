"""A manager's list page read merged over the book: one index range per principal, plus the shared rows.

The policy's `principal_id = ANY(book) OR …` is an OR PostgreSQL cannot walk an index in order with: a
manager whose book is 10 of a firm's 2,400 principals would otherwise read ~240 rows of the firm's recency
index per row shown. The merge reads at most one page of a (tenant, principal, order…, id) index per
principal. `merges_over_book` says when a list is read that way; `merged_over_book` narrows its queryset.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql import Query
from django.db.models.sql.where import WhereNode
from psycopg import sql

from crm.rls import RequestContext

# Past this many principals a book is merged no more (one index range each): the plain query serves it.
# The rule when the table's statistics are unknown (never analyzed); with them, BookStatistics decides.
MAX_MERGED_BOOK = 64


@dataclass(frozen=True)
class BookStatistics:
    """What PostgreSQL's statistics say of a principal-scoped table, for choosing merge or plain.

    `firm_rows`: one firm's rows (reltuples / distinct tenants); `shared_rows`: those with no principal
    (its null fraction); `rows_per_principal`: the rest over the distinct principals.
    """

    firm_rows: float
    shared_rows: float
    rows_per_principal: float

    def merge_is_cheaper(self, book: int, limit: int) -> bool:
        """Whether merging reads fewer rows than the plain walk for a book of `book` principals and a page
        of `limit` rows: the merge reads up to `limit` rows of each principal and of the shared ones; the
        plain walk of the list's index reads rows until `limit` of them are the caller's, which, spread
        evenly, is `limit` × firm rows / visible rows. Checked against measured statement CPU on a firm of
        400k contacts and 4M interactions: right in 24 of 26 cases, the misses near-ties (docs/performance.md).
        """
        merged = book * min(limit, self.rows_per_principal) + min(limit, self.shared_rows)
        visible = book * self.rows_per_principal + self.shared_rows
        if visible <= 0:
            return True  # nothing to see: the merge reads nothing either
        plain = limit * self.firm_rows / visible
        return merged < plain


# By table; read when a database connection opens (read_book_statistics), so never inside a request.
_statistics: dict[str, BookStatistics] = {}

STATISTICS_SQL = """
SELECT c.relname, c.reltuples, t.n_distinct, p.n_distinct, p.null_frac
FROM unnest(%s::text[], %s::text[]) AS scoped(table_name, column_name)
JOIN pg_class c ON c.relname = scoped.table_name AND c.relkind IN ('r', 'p')
 AND c.relnamespace = current_schema()::regnamespace
JOIN pg_stats t ON t.schemaname = current_schema() AND t.tablename = c.relname AND t.attname = 'tenant_id'
JOIN pg_stats p ON p.schemaname = current_schema() AND p.tablename = c.relname AND p.attname = scoped.column_name
WHERE c.reltuples > 0
"""


def read_book_statistics(cursor: Any, scoped: dict[str, str]) -> None:
    """Refresh the statistics of the tables in `scoped` (table → its book scope column). A table never
    analyzed (or whose statistics this role may not read) has none: MAX_MERGED_BOOK decides for it."""
    found: dict[str, BookStatistics] = {}
    cursor.execute(STATISTICS_SQL, [list(scoped), list(scoped.values())])
    for table, rows, tenants, principals, null_fraction in cursor.fetchall():
        tenants = tenants if tenants > 0 else -tenants * rows
        principals = principals if principals > 0 else -principals * rows  # a fraction of all rows
        if tenants <= 0 or principals <= 0:
            continue
        firm_rows = rows / tenants
        shared_rows = firm_rows * null_fraction
        found[table] = BookStatistics(firm_rows, shared_rows, (firm_rows - shared_rows) / principals)
    global _statistics  # replaced whole: a request in another thread sees the old figures or the new
    _statistics = found


def column_of(model: type[Model], name: str) -> str:
    """The database column of `model`'s concrete field `name`."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise FieldDoesNotExist(f"{model.__name__}.{name} is not a column")
    return field.column


def merges_over_book(filters: set[str], filterset_class: Any, model: type[Model]) -> bool:
    """Whether a list of `model` filtered by the query parameters `filters` (of `filterset_class`) is read
    merged over the book.

    The unfiltered list always is. A filtered one only when each per-principal branch stays one bounded
    index range: every filter is a plain equality (no method, lookup `exact`) on a column that, with the
    others, makes up the columns right after (tenant, scope column) of one of the model's indexes — e.g.
    `?stage=` with opportunity_principal_stage (tenant, principal, stage): each branch reads only that
    principal's deals in that stage. Any other filter (a user, a due date, a range, a search) has an
    index of its own that finds its rows across the firm; per-principal branches would each sift through
    the principal's rows for them ("my follow-ups due": 1 → 141 ms when every filtered list was merged).
    """
    if not filters:
        return True
    column: str | None = getattr(model, "book_scope_column", None)
    if filterset_class is None or column is None:
        return False
    columns: set[str | None] = set()
    for name in filters:
        spec = filterset_class.base_filters.get(name)
        if spec is None or spec.method is not None or spec.lookup_expr != "exact":
            return False
        try:
            field = model._meta.get_field(spec.field_name)
        except FieldDoesNotExist:
            return False
        columns.add(field.column if isinstance(field, Field) else None)
    return any(columns == set(after[: len(columns)]) for after in _columns_after_book_scope(model, column))


@cache
def _columns_after_book_scope(model: type[Model], scope_column: str) -> list[tuple[str, ...]]:
    """The columns after (tenant_id, `scope_column`) of each index of `model` that leads with them, over
    every row or every live row (the only rows a list reads)."""
    found = []
    for index in model._meta.indexes:
        if index.condition is not None and index.condition != Q(deleted_at__isnull=True):
            continue
        if not index.fields:  # an expression index
            continue
        columns = tuple(column_of(model, name.lstrip("-")) for name in index.fields)
        if columns[:2] == ("tenant_id", scope_column) and len(columns) > 2:
            found.append(columns[2:])
    return found


def _expressions(node: Any) -> Iterator[Any]:
    """Every expression in a where tree, nested ones included."""
    if isinstance(node, WhereNode):
        for child in node.children:
            yield from _expressions(child)
    elif hasattr(node, "flatten"):
        yield from node.flatten()


def _drop_select_joins(query: Query) -> None:
    """Leave out of `query`'s FROM the joins only its former select list needed (a read plan's expanded
    relations, the JSON text's columns): a branch selects the sort keys of its own table, and a join kept
    there would run, with the joined table's policies, for every row of every branch.

    Exact because a row the caller sees never points at a row hidden from them (the integrity triggers
    keep a reference within one visibility scope: an organization's parent chain, a row's principal in
    the book that shows it), so the page's inner joins drop none of the ids a branch picks.

    Joins a condition refers to stay (with the joins they hang from); the merge's filters are on the
    table's own columns (merges_over_book), so none is expected."""
    base = query.get_initial_alias()
    needed = {base}
    for node in _expressions(query.where):
        alias = getattr(node, "alias", None)
        while alias is not None and alias not in needed:
            needed.add(alias)
            alias = getattr(query.alias_map.get(alias), "parent_alias", None)
    for alias in query.alias_map:
        if alias not in needed:
            query.alias_refcount[alias] = 0


def merge_is_chosen(model: type[Model], order: Sequence[str], limit: int, context: RequestContext) -> bool:
    """Whether a page of `limit` rows of `model` in `order` is read merged over the caller's book (a list
    merges_over_book allows): not for an admin, a model with no `book_scope_column` or an order without the
    primary key; otherwise when the table's statistics say the merge reads fewer rows (BookStatistics), or,
    with no statistics, for a book of at most MAX_MERGED_BOOK principals."""
    if getattr(model, "book_scope_column", None) is None or not context.is_member or context.is_admin:
        return False
    if not any(field.lstrip("-") in ("id", "pk") for field in order):
        return False
    statistics = _statistics.get(model._meta.db_table)
    if statistics is None:
        return len(context.book) <= MAX_MERGED_BOOK
    return statistics.merge_is_cheaper(len(context.book), limit)


def merged_over_book(
    queryset: QuerySet[Any], order: Sequence[str], limit: int, book: Sequence[int]
) -> QuerySet[Any]:
    """`queryset` narrowed to the `limit` first ids in `order` picked from one index range per principal of
    `book` plus the shared rows (for a page merge_is_chosen picked).

    `unnest(book) CROSS JOIN LATERAL (… WHERE principal_id = book.principal_id ORDER BY … LIMIT n)
    UNION ALL (… shared …) ORDER BY … LIMIT n`. Only a narrowing: every branch still runs under the
    caller's policies, and the branches cover all a non-admin can see (their book and the shared rows),
    so no visible row is left out.
    """
    column: str = queryset.model.book_scope_column
    names = ["id" if field.lstrip("-") == "pk" else field.lstrip("-") for field in order]

    def branch(scoped: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
        # An ordered, limited range of ids (and sort keys) of its own: as a LATERAL subquery or a UNION
        # ALL member it is planned apart, so its order and limit must be its own. DISTINCT (from a
        # multiple-choice filter) is not needed for ids.
        ranged = scoped.order_by(*order).values_list(*names)
        ranged.query.distinct = False
        _drop_select_joins(ranged.query)
        return ranged[:limit].query.sql_with_params()

    # One compiled branch for every principal of the book (LATERAL over the book's ids), one for the shared
    # rows: compiling a branch per principal cost more Python than the whole page's SQL.
    per_principal, per_params = branch(queryset.filter(**{column: RawSQL("crm_book.principal_id", ())}))
    shared, shared_params = branch(queryset.filter(**{f"{column}__isnull": True}))
    sort = sql.SQL(", ").join(
        sql.SQL("{} DESC").format(sql.Identifier(column_of(queryset.model, name)))
        if field.startswith("-")
        else sql.Identifier(column_of(queryset.model, name))
        for name, field in zip(names, order, strict=True)
    )
    # The branches are the ORM's own SQL with %s placeholders, kept as they are (sql.SQL, not a literal).
    merged = sql.SQL(
        "SELECT merged.id FROM (SELECT branch.* FROM unnest(%s::bigint[]) AS crm_book(principal_id)"
        " CROSS JOIN LATERAL ({per_principal}) AS branch UNION ALL ({shared})) AS merged"
        " ORDER BY {sort} LIMIT {limit}"
    ).format(
        per_principal=sql.SQL(per_principal),  # type: ignore[arg-type]  # the ORM's SQL is a str
        shared=sql.SQL(shared),  # type: ignore[arg-type]
        sort=sort,
        limit=sql.Literal(int(limit)),
    )
    params = (book, *per_params, *shared_params)
    return queryset.filter(pk__in=RawSQL(merged.as_string(), params))  # noqa: S611 (parameters bound, not interpolated)
