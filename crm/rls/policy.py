"""Policy conditions over the request's session variables, which each app's policies.py declares its tables with.

Migrations never import them: they carry the literal SQL they applied (tests/migrations/test_frozen_policies.py).
"""

from __future__ import annotations

from dataclasses import dataclass

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
