"""SQL of the SECURITY DEFINER full-text search functions, filtered by their table's own SELECT policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from psycopg import sql

from crm.sql_names import PLAIN_IDENTIFIER, plain

# `search_vector @@ query` is not LEAKPROOF, so below a policy PostgreSQL may not evaluate it before the
# policy's own quals: it cannot be a GIN index condition, and a search filters every row of the firm one
# by one. Marking ts_match_vq LEAKPROOF would be a lie (and needs a superuser), and a (tenant_id,
# search_vector) GIN index (btree_gin, not shipped with the embedded server) would still be unusable for
# the same reason. Instead each searchable table has a SECURITY DEFINER function that returns the ids of
# the live rows matching a query *and* the table's SELECT policy, copied verbatim from pg_policy when the
# function is created (literal SQL in the migration; `makepolicymigration` re-creates the functions of a
# table whose SELECT policy it changes; tests/rls checks they stay equal).
# Run as the owner (superuser or BYPASSRLS), the policy there is a plain qual, so the GIN index answers
# the search; the list query then reads `id IN (those ids)` under the caller's own RLS as before, so the
# function can only narrow what the caller sees, never widen it. pg_temp comes last in its search_path
# (crm migration 0007 says why). An owner still subject to RLS gets the same rows, only without the index.


def search_function(table: str) -> str:
    """The name of `table`'s search function: `crm_search_<table>(query text) RETURNS SETOF bigint`."""
    if not PLAIN_IDENTIFIER.match(table):
        raise ImproperlyConfigured(f"not a plain table name: {table!r}")
    return f"crm_search_{table}"


def search_function_sql(table: str, policy_qual: str, runtime: str, cap: int | None = None) -> str:
    """CREATE OR REPLACE the search function of `table` filtering by `policy_qual` (the deparsed USING
    expression of its SELECT policy), executable by the runtime role only. With `cap`, it returns at most
    that many ids (any of them): the caller learns whether the matches are few enough for an id list.
    For writing a new searchable table's migration once (runtime="{runtime_role}", into RunPolicySQL):
    migrations never call it."""
    limit = sql.SQL("\n     LIMIT {}").format(sql.Literal(int(cap))) if cap is not None else sql.SQL("")
    return _function_sql(
        name=search_function(table),
        returns=sql.SQL("SETOF bigint"),
        selected=sql.SQL("id"),
        table=table,
        policy_qual=policy_qual,
        limit=limit,
        runtime=runtime,
    )


def keyed_search_function(table: str) -> str:
    """The name of `table`'s keyed search function (keyed_search_function_sql)."""
    return f"{search_function(table)}_keyed"


def keyed_search_function_sql(
    table: str, policy_qual: str, runtime: str, keys: Sequence[tuple[str, str]]
) -> str:
    """CREATE OR REPLACE `crm_search_<table>_keyed(query) RETURNS TABLE (id, <keys>)`: the search function's
    rows with the columns of the list's order (`keys`: column name and SQL type), under the same verbatim
    policy. The list can then pick its page (order, cursor, limit) from the function's own rows and read
    only that page's rows again, where an id list made it read every match to sort them (a common last
    name prefix: ~10,000 matches)."""
    columns = [plain(column, "column name") for column, _ in keys]
    # A key's type is SQL written with the table's migration (`character varying(100)`), never input.
    returns = sql.SQL(", ").join(
        [
            sql.SQL("id bigint"),
            *(sql.SQL("{} {}").format(c, sql.SQL(t)) for c, (_, t) in zip(columns, keys, strict=True)),
        ]
    )
    return _function_sql(
        name=keyed_search_function(table),
        returns=sql.SQL("TABLE ({})").format(returns),
        selected=sql.SQL(", ").join([sql.SQL("id"), *columns]),
        table=table,
        policy_qual=policy_qual,
        limit=sql.SQL(""),
        runtime=runtime,
    )


def _function_sql(
    *,
    name: str,
    returns: sql.Composable,
    selected: sql.Composable,
    table: str,
    policy_qual: str,
    limit: sql.Composable,
    runtime: str,
) -> str:
    """The CREATE, REVOKE and GRANT of one search function. Names are spliced unquoted (crm.sql_names),
    as the migrations frozen so far have them; the policy is SQL PostgreSQL deparsed, spliced verbatim."""
    return (
        sql.SQL(
            """
CREATE OR REPLACE FUNCTION {name}(query text) RETURNS {returns}
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT {selected} FROM {table}
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy {table}_select, verbatim:
       AND ({policy_qual}){limit}
$$;
REVOKE ALL ON FUNCTION {name}(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {name}(text) TO {runtime};
"""
        )
        .format(
            name=plain(name, "function name"),
            returns=returns,
            selected=selected,
            table=plain(table, "table name"),
            policy_qual=sql.SQL(policy_qual),
            limit=limit,
            runtime=sql.Identifier(runtime),
        )
        .as_string()
    )


def select_policy_qual(cursor: Any, table: str) -> str:
    """The USING expression of `table`'s SELECT policy, as PostgreSQL deparses it."""
    cursor.execute(
        "SELECT pg_get_expr(p.polqual, p.polrelid) FROM pg_policy p"
        " WHERE p.polrelid = %s::regclass AND p.polname = %s",
        [table, f"{table}_select"],
    )
    row = cursor.fetchone()
    if row is None or not row[0]:
        raise ImproperlyConfigured(f"{table} has no SELECT policy to search under")
    return str(row[0])
