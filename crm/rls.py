"""Row level security plumbing: the runtime role, per-request session variables, and policy SQL.

How it fits together (README, "Row level security"):
- Migrations run as the owner. They create the runtime role (settings.DATABASE_RUNTIME_ROLE, NOLOGIN,
  NOSUPERUSER, NOBYPASSRLS) when missing, grant it the least it needs, ENABLE and FORCE RLS on every
  tenant table and create its policies: literal SQL frozen in each migration (RunPolicySQL), written by
  `manage.py makepolicymigration` from the policies each app declares today with the conditions below
  (`<app>/policies.py`, crm.policy_declarations; a test compares them with the migrated catalog).
- Every request runs inside one transaction that starts with `set_config('role', <runtime role>, true)`
  and `crm_request_context(user_id)`, which sets `crm.user_id`, `crm.tenant_id`, `crm.role` and
  `crm.book` with is_local = true: they vanish at commit or rollback, so nothing survives into the next
  request on a reused connection, even through a transaction pooler.
- Policies read the variables once per statement (`(SELECT current_setting(...))` is an InitPlan) and
  compare them with indexed columns. Unset variables are NULL: no row matches, nothing can be written.
- The variables are unforgeable: crm_request_context() also sets `crm.context_mac`, a MAC of them (bound
  to the backend and the transaction) keyed by a secret only the owner reads, and every policy the runtime
  role meets starts with `(SELECT crm_context_ok())`, which recomputes it. SQL running as the runtime role
  that sets `crm.tenant_id` itself sees nothing and writes nothing (crm migration 0012).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

TENANT = "(SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint)"
USER = "(SELECT nullif(current_setting('crm.user_id', true), '')::bigint)"
ROLE = "(SELECT current_setting('crm.role', true))"
BOOK = "(SELECT nullif(current_setting('crm.book', true), '')::bigint[])"
# The variables count only with their MAC (crm migration 0012): every policy the runtime role meets starts
# with this check, evaluated once per statement (an InitPlan) like the variables themselves.
CONTEXT_OK = "(SELECT crm_context_ok())"


# How PostgreSQL prints a verified condition (pg_get_expr): this, the condition, then ")".
VERIFIED_PREFIX = "(( SELECT crm_context_ok() AS crm_context_ok) AND "


def unverified(expression: str | None) -> str | None:
    """The condition inside a verified policy expression as PostgreSQL prints it; None if it is not one."""
    if expression is None or not expression.startswith(VERIFIED_PREFIX) or not expression.endswith(")"):
        return None
    return expression[len(VERIFIED_PREFIX) : -1]


def verified(condition: str) -> str:
    """`condition`, holding only while the request's variables are the ones crm_request_context() set."""
    return f"{CONTEXT_OK} AND ({condition})"


@dataclass(frozen=True)
class RequestContext:
    """Who is asking: what the policies see through the session variables."""

    user_id: int | None = None
    tenant_id: int | None = None
    role: str | None = None
    book: tuple[int, ...] = field(default=())
    revoked: bool = False

    @property
    def member_tenant_id(self) -> int:
        """The firm's id, for code that runs only behind a membership permission."""
        if self.tenant_id is None:
            raise PermissionError("no firm in this request")
        return self.tenant_id

    @property
    def member_user_id(self) -> int:
        if self.user_id is None:
            raise PermissionError("nobody is signed in")
        return self.user_id

    @property
    def is_member(self) -> bool:
        return self.tenant_id is not None and self.role is not None

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "manager")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


ANONYMOUS = RequestContext()
# A token issued under credentials that have changed since (password, is_active, role): nobody.
REVOKED = RequestContext(revoked=True)


def context_of(request: Any) -> RequestContext:
    """The RLS context the middleware put on a Django (or DRF) request; nobody when there is none."""
    request = getattr(request, "_request", request)
    context = getattr(request, "crm", ANONYMOUS)
    assert isinstance(context, RequestContext)
    return context


_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def runtime_role() -> str:
    """The runtime role's name, checked to be a plain identifier (it is spliced into DDL)."""
    role = str(settings.DATABASE_RUNTIME_ROLE)
    if not _ROLE_NAME.match(role):
        raise ImproperlyConfigured(f"DATABASE_RUNTIME_ROLE must be a lower-case identifier, not {role!r}")
    return role


def begin(
    user_id: int | None,
    *,
    session_key: str | None = None,
    request_id: str = "",
    credentials: int | None = None,
) -> RequestContext:
    """Switch the current transaction to the runtime role and set the variables for `user_id`.

    One statement, called as the connection's own (owner) role: crm_request_context() runs before the
    role switch in the same statement, and the runtime role itself may not call it, so code running as
    the runtime role cannot assume another identity. Must run inside a transaction (the settings are
    transaction-local). `credentials`: the epoch a token was issued under (crm migration 0010); a stale
    one gets nobody, with `revoked` set. None (sessions, commands) is not checked.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("rls.begin() must run inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('role', %s, true), set_config('crm.session_key', %s, true),"
            " set_config('crm.request_id', %s, true), c.tenant_id, c.role, c.book, c.revoked"
            " FROM crm_request_context(%s, %s) c",
            [runtime_role(), session_key or "", request_id, user_id, credentials],
        )
        row = cursor.fetchone()
    if row is not None and row[6]:
        return REVOKED
    if row is None or row[3] is None:
        return RequestContext(user_id=user_id) if user_id is not None else ANONYMOUS
    return RequestContext(user_id=user_id, tenant_id=row[3], role=row[4], book=tuple(row[5] or ()))


def end() -> None:
    """Drop the runtime role and variables before the transaction ends.

    Needed only when the request ran inside an outer transaction (tests): committing or rolling back
    the request's own transaction clears them anyway.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('crm.user_id', '', true), set_config('crm.tenant_id', '', true),"
            " set_config('crm.role', '', true), set_config('crm.book', '', true),"
            " set_config('crm.session_key', '', true), set_config('crm.request_id', '', true),"
            " set_config('crm.context_mac', '', true),"
            " set_config('role', 'none', true)"
        )


@contextmanager
def acting_as(user_id: int | None, *, request_id: str = "") -> Iterator[RequestContext]:
    """Run a block as a user would through the API: runtime role, that user's tenant, role and book.

    For management commands and tests that must act on a tenant's data: there is no other way in.
    """
    with transaction.atomic():
        context = begin(user_id, request_id=request_id)
        yield context
        # On error (raised, or caught inside the block) the transaction or savepoint is rolled back,
        # which undoes the settings anyway.
        if not connection.needs_rollback:
            end()


# ---------------------------------------------------------------------------------------------------
# Policy conditions, declared in each app's policies.py (crm.policy_declarations). Migrations never import
# them: they carry the literal SQL they applied (tests/migrations/test_frozen_policies.py).


@dataclass(frozen=True)
class TablePolicy:
    """How one tenant table is scoped.

    scope_column: the column holding the row's principal (NULL = shared row); None = every row shared.
    viewers_see_shared: whether viewers read the shared rows (organizations yes; contacts and
    interactions no).
    """

    table: str
    scope_column: str | None
    viewers_see_shared: bool = False

    def read_condition(self) -> str:
        if self.scope_column is None:
            visible = "true" if self.viewers_see_shared else f"{ROLE} <> 'viewer'"
            return f"tenant_id = {TENANT} AND {visible}"
        shared = f"{self.scope_column} IS NULL"
        if not self.viewers_see_shared:
            shared = f"({shared} AND {ROLE} <> 'viewer')"
        return f"tenant_id = {TENANT} AND ({ROLE} = 'admin' OR {self.scope_column} = ANY ({BOOK}::bigint[]) OR {shared})"

    def write_condition(self) -> str:
        writer = f"{ROLE} IN ('admin', 'manager')"
        if self.scope_column is None:
            return f"tenant_id = {TENANT} AND {writer}"
        return (
            f"tenant_id = {TENANT} AND {writer} AND ({ROLE} = 'admin' OR {self.scope_column} = ANY ({BOOK}::bigint[])"
            f" OR {self.scope_column} IS NULL)"
        )

    def delete_condition(self) -> str:
        """Rows are soft-deleted through UPDATE; a real DELETE is a purge, which only admins may do."""
        return f"tenant_id = {TENANT} AND {ROLE} = 'admin'"


# ---------------------------------------------------------------------------------------------------
# Full-text search under row level security.
#
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
    if not _ROLE_NAME.match(table):
        raise ImproperlyConfigured(f"not a plain table name: {table!r}")
    return f"crm_search_{table}"


def search_function_sql(table: str, policy_qual: str, runtime: str, cap: int | None = None) -> str:
    """CREATE OR REPLACE the search function of `table` filtering by `policy_qual` (the deparsed USING
    expression of its SELECT policy), executable by the runtime role only. With `cap`, it returns at most
    that many ids (any of them): the caller learns whether the matches are few enough for an id list.
    For writing a new searchable table's migration once (runtime="{runtime_role}", into RunPolicySQL):
    migrations never call it."""
    name = search_function(table)
    limit = f"\n     LIMIT {int(cap)}" if cap is not None else ""
    return f"""
CREATE OR REPLACE FUNCTION {name}(query text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT id FROM {table}
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy {table}_select, verbatim:
       AND ({policy_qual}){limit}
$$;
REVOKE ALL ON FUNCTION {name}(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {name}(text) TO "{runtime}";
"""


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
    name = keyed_search_function(table)
    for column, _ in keys:
        if not _ROLE_NAME.match(column):
            raise ImproperlyConfigured(f"not a plain column name: {column!r}")
    returns = ", ".join(["id bigint", *(f"{column} {sql_type}" for column, sql_type in keys)])
    selected = ", ".join(["id", *(column for column, _ in keys)])
    return f"""
CREATE OR REPLACE FUNCTION {name}(query text) RETURNS TABLE ({returns})
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT {selected} FROM {table}
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy {table}_select, verbatim:
       AND ({policy_qual})
$$;
REVOKE ALL ON FUNCTION {name}(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {name}(text) TO "{runtime}";
"""


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
