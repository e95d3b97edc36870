"""Lint of the database catalog: every tenant table is locked down, the runtime role is powerless
outside the policies, and policies read the request variables once per statement, not once per row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from crm import rls
from tests import factories as f
from tests.conftest import Firm
from tests.rls.rules import TENANT_TABLES
from tests.rls.support import fetch_ids, runtime_may, scalar

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
WRITE_COMMANDS = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
# Tenant data without a tenant_id column: the firm itself, and the admin's per-user log.
TENANT_TABLES_WITHOUT_TENANT_ID = {"tenant", "django_admin_log"}
# Tenant data the runtime role holds no privilege on: reached only through reviewed SECURITY DEFINER
# functions (test_definer_functions.py), under forced RLS whose owner policies admit the verified caller's
# own rows. Growing this list is a decision to review.
TENANT_TABLES_BEHIND_DEFINER_FUNCTIONS = {"idempotency_key"}
# Django's own tables the runtime role may touch (users and sessions are under RLS of their own, see
# test_users_and_sessions.py; the rest hold no tenant data). Growing this list is a decision to review.
PLUMBING = {
    "crm_user",
    "crm_user_groups",
    "crm_user_user_permissions",
    "django_session",
    "django_content_type",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
    "django_migrations",
}
# The job queue's tables (ADR 0023), where the runtime role may only defer a job: insert it and its event,
# and read back the new job's id (test_job_queue_privileges below and tests/jobs/).
JOB_QUEUE = {"procrastinate_jobs", "procrastinate_events"}


def rows(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def role_oid() -> int:
    return int(scalar("SELECT oid FROM pg_roles WHERE rolname = %s", [rls.runtime_role()]))


def tables_with_tenant_id() -> set[str]:
    return {
        name
        for (name,) in rows(
            """SELECT c.relname FROM pg_class c
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"""
        )
    }


def test_every_tenant_table_is_covered_by_the_behaviour_suite(db: None) -> None:
    """A new table with tenant_id must be added to rules.TENANT_TABLES, and so to every behaviour test."""
    assert tables_with_tenant_id() | TENANT_TABLES_WITHOUT_TENANT_ID == set(TENANT_TABLES) | (
        TENANT_TABLES_BEHIND_DEFINER_FUNCTIONS
    )


@pytest.mark.parametrize("table", sorted(TENANT_TABLES_BEHIND_DEFINER_FUNCTIONS))
def test_tables_behind_definer_functions_are_out_of_the_runtime_roles_reach(db: None, table: str) -> None:
    assert [c for c in ("SELECT", *WRITE_COMMANDS) if runtime_may(table, c)] == []
    # Every policy for PUBLIC (and so the runtime role) admits nothing; only the owner's admit rows.
    for name, roles, qual, check in rows(
        "SELECT policyname, roles::text[], qual, with_check FROM pg_policies WHERE tablename = %s", [table]
    ):
        if roles == ["public"]:
            assert {rls.unverified(qual), rls.unverified(check)} <= {"false", None}, name


@pytest.mark.parametrize("table", [*TENANT_TABLES, *sorted(TENANT_TABLES_BEHIND_DEFINER_FUNCTIONS)])
def test_tenant_table_has_row_level_security_enabled_and_forced(db: None, table: str) -> None:
    enabled, forced = rows(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass", [table]
    )[0]
    assert enabled, f"RLS is not enabled on {table}"
    assert forced, f"RLS is not forced on {table}: the owner would bypass it"


@pytest.mark.parametrize("table", [*TENANT_TABLES, *sorted(TENANT_TABLES_BEHIND_DEFINER_FUNCTIONS)])
def test_tenant_table_has_a_policy_for_every_command(db: None, table: str) -> None:
    """Policies that apply to the runtime role (directly or through PUBLIC), one per command at least."""
    commands = {
        cmd
        for (cmd,) in rows(
            "SELECT cmd FROM pg_policies WHERE schemaname = 'public' AND tablename = %s"
            " AND (roles && ARRAY['public', %s]::name[])",
            [table, rls.runtime_role()],
        )
    }
    assert "ALL" not in commands, "an ALL policy hides which command is allowed what"
    assert set(COMMANDS) <= commands


def test_runtime_role_is_not_superuser_bypassrls_or_able_to_log_in(db: None) -> None:
    (row,) = rows(
        "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb, rolinherit"
        " FROM pg_roles WHERE rolname = %s",
        [rls.runtime_role()],
    )
    assert row == (False, False, False, False, False, False)


def test_runtime_role_owns_nothing(db: None) -> None:
    owned = rows(
        """SELECT classid::regclass::text, objid FROM pg_shdepend
            WHERE refclassid = 'pg_authid'::regclass AND refobjid = %s AND deptype = 'o'
              AND dbid IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))""",
        [role_oid()],
    )
    assert owned == []
    assert scalar("SELECT count(*) FROM pg_class WHERE relowner = %s", [role_oid()]) == 0


def test_runtime_role_is_a_member_of_no_other_role(db: None) -> None:
    assert scalar("SELECT count(*) FROM pg_auth_members WHERE member = %s", [role_oid()]) == 0


def test_runtime_role_reaches_only_rls_tables_and_djangos_plumbing(db: None) -> None:
    reachable = {
        name
        for (name,) in rows(
            """SELECT c.relname FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
                  AND has_table_privilege(%s, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')""",
            [rls.runtime_role()],
        )
    }
    assert reachable - PLUMBING - JOB_QUEUE == set(TENANT_TABLES)
    truncatable = [t for t in reachable if runtime_may(t, "TRUNCATE")]
    assert truncatable == [], "TRUNCATE ignores row level security"
    # History is read under RLS and written by the record_history triggers alone.
    assert [c for c in ("SELECT", *WRITE_COMMANDS) if runtime_may("history", c)] == ["SELECT"]


def test_security_definer_functions_pin_search_path_and_are_not_public(db: None) -> None:
    functions = rows(
        """SELECT p.oid::regprocedure::text, coalesce(array_to_string(p.proconfig, ','), ''),
                  has_function_privilege('public', p.oid, 'EXECUTE')
             FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef"""
    )
    assert {name for name, _, _ in functions} >= {
        "crm_request_context(bigint)",
        "crm_history_write(text,text,jsonb,jsonb,text,boolean)",
    }
    for name, config, public in functions:
        assert "search_path=" in config, f"{name} runs as its owner with the caller's search_path"
        assert not public, f"everyone may run {name}"


# ---------------------------------------------------------------------------------------------------
# Policies read the variables once per statement.


def bare_current_setting_calls(expression: str) -> list[int]:
    """Positions of current_setting( calls not enclosed in a scalar sub-SELECT (deparsed policy text).

    Inside `( SELECT current_setting(...) )` PostgreSQL evaluates the call once, as an InitPlan; anywhere
    else it is a volatile function call per row (and keeps indexes from being used).
    """
    bare, opened, in_string, i = [], [], False, 0
    while i < len(expression):
        char = expression[i]
        if in_string:
            if char == "'" and expression[i + 1 : i + 2] == "'":
                i += 1
            elif char == "'":
                in_string = False
        elif char == "'":
            in_string = True
        elif char == "(":
            opened.append(i)
        elif char == ")":
            opened.pop()
        elif expression.startswith("current_setting(", i) and not any(
            expression[p + 1 :].lstrip().upper().startswith("SELECT") for p in opened
        ):
            bare.append(i)
        i += 1
    return bare


@pytest.mark.parametrize(
    ("expression", "bare"),
    [
        (
            "(tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint))",
            0,
        ),
        ("(tenant_id = (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint)", 1),
        ("((x = '(SELECT'::text) AND (y = current_setting('crm.role'::text, true)))", 1),
        ("(( SELECT current_setting('crm.role'::text, true)) = current_setting('crm.role'::text, true))", 1),
    ],
)
def test_lint_tells_per_statement_from_per_row_current_setting(expression: str, bare: int) -> None:
    assert len(bare_current_setting_calls(expression)) == bare


def policies() -> list[tuple[str, str, str, str | None, str | None]]:
    return [
        row
        for row in rows(
            "SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies WHERE schemaname = 'public'"
            " ORDER BY tablename, policyname"
        )
    ]


def test_no_policy_calls_current_setting_per_row(db: None) -> None:
    found = policies()
    assert {table for table, *_ in found} >= set(TENANT_TABLES)
    offenders = [
        f"{table}.{name} {part}"
        for table, name, _, qual, check in found
        for part, text in (("USING", qual), ("WITH CHECK", check))
        if text and bare_current_setting_calls(text)
    ]
    assert offenders == []


def plan_nodes(plan: dict[str, Any], in_initplan: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    yield plan, in_initplan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child, in_initplan or child.get("Parent Relationship") == "InitPlan")


def node_text(node: dict[str, Any]) -> str:
    return " ".join(str(value) for key, value in node.items() if key != "Plans")


STATEMENTS = {
    "SELECT": "SELECT id FROM {table}",
    "UPDATE": "UPDATE {table} SET id = id",
    "DELETE": "DELETE FROM {table}",
}
# Privileges the runtime role never needs: firms are created, renamed and deleted by the owner only
# (names are unique across firms), the admin log is append-only, history is appended by triggers, API keys
# are created by crm_create_api_key() and only revoked (a column grant of revoked_at), never deleted;
# webhook deliveries are created by the worker and go with their endpoint; a firm's stage probabilities
# are created with it and go with it.
NOT_GRANTED = {
    ("api_key", "INSERT"),
    ("api_key", "UPDATE"),
    ("api_key", "DELETE"),
    ("tenant", "INSERT"),
    ("tenant", "UPDATE"),
    ("tenant", "DELETE"),
    ("django_admin_log", "UPDATE"),
    ("django_admin_log", "DELETE"),
    ("history", "INSERT"),
    ("history", "UPDATE"),
    ("history", "DELETE"),
    ("import_run", "DELETE"),
    ("webhook_delivery", "INSERT"),
    ("webhook_delivery", "DELETE"),
    ("stage_probability", "INSERT"),
    ("stage_probability", "DELETE"),
}
EXPLAINED = [
    (table, command)
    for table in TENANT_TABLES
    for command in STATEMENTS
    if (table, command) not in NOT_GRANTED
]


def test_runtime_role_lacks_the_privileges_no_request_needs(db: None) -> None:
    assert [pair for pair in sorted(NOT_GRANTED) if runtime_may(*pair)] == []


@pytest.mark.parametrize(("table", "command"), EXPLAINED, ids=[f"{t}-{c}" for t, c in EXPLAINED])
def test_policy_reads_variables_once_per_statement_as_an_initplan(
    db: None, firm: Firm, table: str, command: str
) -> None:
    with rls.acting_as(firm.manager.pk):
        (plan_json,) = rows(f"EXPLAIN (VERBOSE, FORMAT JSON) {STATEMENTS[command].format(table=table)}")[0]
    nodes = list(plan_nodes(plan_json[0]["Plan"]))
    initplans = [node for node, in_initplan in nodes if in_initplan]
    per_row = [node_text(node) for node, in_initplan in nodes if not in_initplan]
    policy_filtered = any(pred in text for text in per_row for pred in ("tenant_id", "user_id", "id ="))
    assert policy_filtered, "the plan shows no policy condition at all"
    assert initplans, "the variables are not read through InitPlans"
    assert not [text for text in per_row if "current_setting" in text], "current_setting is evaluated per row"


def test_variables_are_read_once_not_per_row_when_many_rows_are_scanned(db: None, firm: Firm) -> None:
    """EXPLAIN ANALYZE on a bigger table: each InitPlan runs once however many rows the scan visits."""
    for _ in range(30):
        f.CustomerFactory(tenant=firm.tenant)
    with rls.acting_as(firm.manager.pk):
        visible = fetch_ids("SELECT id FROM organization")
        (plan_json,) = rows("EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) SELECT id FROM organization")[0]
    assert len(visible) > 30
    loops = [node["Actual Loops"] for node, in_initplan in plan_nodes(plan_json[0]["Plan"]) if in_initplan]
    assert loops and set(loops) == {1}
