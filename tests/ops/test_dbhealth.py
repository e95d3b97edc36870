"""dbhealth: each check finds the fault planted for it (in the test's transaction, or in a second session),
with the status it deserves, and a clean database passes with exit status 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import ProgrammingError, connection, transaction

from crm import rls
from crm.ops.dbhealth import Check, Thresholds, run_checks
from crm.ops.dbhealth.security import analyse_expression
from tests.conftest import Firm

SCRATCH = "dbhealth_scratch"
ROOT = Path(__file__).resolve().parents[2]


def sql(statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []


def check(name: str, **thresholds: Any) -> Check:
    (result,) = run_checks(connection, thresholds=Thresholds(**thresholds), only=[name]).checks
    return result


def column(result: Check, key: str) -> list[Any]:
    return [row[key] for row in result.details]


@pytest.fixture
def scratch(db: None) -> str:
    """A schema for planted objects; the test's transaction rolls it back with everything in it."""
    sql(f"CREATE SCHEMA {SCRATCH}")
    return SCRATCH


@pytest.fixture
def tenant_scratch_table(scratch: str) -> str:
    """A table holding tenant data (it has tenant_id) that no migration put under RLS."""
    sql(f"CREATE TABLE {scratch}.visit_note (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, body text)")
    return f"{scratch}.visit_note"


# ---------------------------------------------------------------------------------------------------
# Indexes and schema


def test_invalid_index_fails(scratch: str) -> None:
    sql(f"CREATE TABLE {scratch}.t (id int PRIMARY KEY, code text)")
    sql(f"CREATE UNIQUE INDEX t_code ON {scratch}.t (code)")
    assert check("invalid_indexes").status == "ok"
    # What a failed CREATE INDEX CONCURRENTLY leaves behind.
    sql("UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", [f"{scratch}.t_code"])
    result = check("invalid_indexes")
    assert result.status == "fail"
    assert column(result, "index") == [f"{scratch}.t_code"]
    assert result.details[0]["being_built"] is False


def test_duplicate_index_warns_and_names_the_one_to_keep(scratch: str) -> None:
    sql(f"CREATE TABLE {scratch}.t (id int PRIMARY KEY, a int, b int)")
    sql(f"CREATE INDEX t_a ON {scratch}.t (a)")
    sql(f"CREATE INDEX t_a_again ON {scratch}.t (a)")
    sql(f"CREATE INDEX t_a_desc ON {scratch}.t (a DESC)")  # a different order is not a duplicate
    sql(f"CREATE INDEX t_a_live ON {scratch}.t (a) WHERE b IS NULL")  # nor a different predicate
    result = check("duplicate_indexes")
    assert result.status == "warn"
    mine = [row for row in result.details if row["table"] == f"{scratch}.t"]
    assert mine == [
        {
            "index": f"{scratch}.t_a_again",
            "same_as": f"{scratch}.t_a",
            "table": f"{scratch}.t",
            "size": "0.0 MB",
        }
    ]


def test_redundant_index_warns_when_its_columns_lead_another(scratch: str) -> None:
    sql(f"CREATE TABLE {scratch}.t (id int PRIMARY KEY, a int, b int, c int)")
    sql(f"CREATE INDEX t_a ON {scratch}.t (a)")
    sql(f"CREATE INDEX t_a_b ON {scratch}.t (a, b)")
    sql(f"CREATE UNIQUE INDEX t_c ON {scratch}.t (c)")  # enforces something: never redundant
    sql(f"CREATE INDEX t_c_a ON {scratch}.t (c, a)")
    sql(f"CREATE INDEX t_b ON {scratch}.t (b) WHERE a > 0")  # another predicate than t_b_c's
    sql(f"CREATE INDEX t_b_c ON {scratch}.t (b, c)")
    result = check("redundant_indexes")
    assert result.status == "warn"
    mine = {row["index"]: row["covered_by"] for row in result.details if row["table"] == f"{scratch}.t"}
    assert mine == {f"{scratch}.t_a": f"{scratch}.t_a_b"}


def test_unused_index_warns_with_the_statistics_window_and_spares_unique_ones(scratch: str) -> None:
    sql(f"CREATE TABLE {scratch}.t (id int PRIMARY KEY, a int, b int UNIQUE)")
    sql(f"CREATE INDEX t_a ON {scratch}.t (a)")
    result = check("unused_indexes")
    assert result.status == "warn"
    assert f"{scratch}.t_a" in column(result, "index")
    assert not {f"{scratch}.t_pkey", f"{scratch}.t_b_key"} & set(column(result, "index"))
    assert "stats_reset" in result.figures
    assert "since the statistics" in result.summary


def test_foreign_key_without_index_warns_until_an_index_leads_with_it(scratch: str) -> None:
    sql(f"CREATE TABLE {scratch}.parent (id int PRIMARY KEY)")
    sql(
        f"CREATE TABLE {scratch}.child (id int PRIMARY KEY, note text, parent_id int REFERENCES {scratch}.parent)"
    )
    result = check("foreign_keys_without_index")
    assert result.status == "warn"
    assert [(r["table"], r["columns"]) for r in result.details if r["table"] == f"{scratch}.child"] == [
        (f"{scratch}.child", ["parent_id"])
    ]
    sql(f"CREATE INDEX child_note_parent ON {scratch}.child (note, parent_id)")  # not leading: no help
    assert f"{scratch}.child" in column(check("foreign_keys_without_index"), "table")
    sql(f"CREATE INDEX child_parent_note ON {scratch}.child (parent_id, note)")
    assert f"{scratch}.child" not in column(check("foreign_keys_without_index"), "table")


def test_a_key_holding_the_tenant_is_indexed_by_its_other_column(scratch: str) -> None:
    """(parent_id, tenant_id) → (id, tenant_id): parent_id alone finds the referencing rows; tenant_id
    alone does not."""
    sql(f"CREATE TABLE {scratch}.parent (id int PRIMARY KEY, tenant_id int, UNIQUE (id, tenant_id))")
    sql(
        f"CREATE TABLE {scratch}.child (id int PRIMARY KEY, tenant_id int, parent_id int,"
        f" FOREIGN KEY (parent_id, tenant_id) REFERENCES {scratch}.parent (id, tenant_id))"
    )
    sql(f"CREATE INDEX child_tenant ON {scratch}.child (tenant_id)")
    unindexed = [
        r["columns"] for r in check("foreign_keys_without_index").details if r["table"] == f"{scratch}.child"
    ]
    assert unindexed == [["parent_id", "tenant_id"]]
    sql(f"CREATE INDEX child_parent ON {scratch}.child (parent_id)")
    assert f"{scratch}.child" not in column(check("foreign_keys_without_index"), "table")


def test_table_without_primary_key_warns(scratch: str) -> None:
    sql(f"CREATE TABLE {scratch}.log (at timestamptz, line text)")
    result = check("tables_without_primary_key")
    assert result.status == "warn"
    assert column(result, "table") == [f"{scratch}.log"]


def test_not_valid_constraint_warns_until_validated(scratch: str) -> None:
    sql(f"CREATE TABLE {scratch}.t (id int PRIMARY KEY, qty int)")
    sql(f"ALTER TABLE {scratch}.t ADD CONSTRAINT qty_positive CHECK (qty >= 0) NOT VALID")
    result = check("not_valid_constraints")
    assert result.status == "warn"
    assert [(r["table"], r["constraint"], r["kind"]) for r in result.details] == [
        (f"{scratch}.t", "qty_positive", "check")
    ]
    sql(f"ALTER TABLE {scratch}.t VALIDATE CONSTRAINT qty_positive")
    assert check("not_valid_constraints").status == "ok"


def test_bloat_estimate_spares_a_packed_table_and_finds_a_mostly_deleted_one(scratch: str) -> None:
    sql(f"CREATE TABLE {scratch}.t (id int PRIMARY KEY, name text, qty int)")
    sql(f"INSERT INTO {scratch}.t SELECT g, 'row ' || g, g % 100 FROM generate_series(1, 20000) g")
    sql(f"ANALYZE {scratch}.t")
    small = {"bloat_warn_bytes": 0, "bloat_warn_ratio": 0.3}
    assert f"{scratch}.t" not in column(check("bloat", **small), "relation")
    # ANALYZE counts the rows this transaction deleted as dead; the pages stay: 90 % of them is waste.
    sql(f"DELETE FROM {scratch}.t WHERE id % 10 <> 0")
    sql(f"ANALYZE {scratch}.t")
    result = check("bloat", **small)
    assert result.status == "warn"
    (row,) = [r for r in result.details if r["relation"] == f"{scratch}.t"]
    assert row["kind"] == "table" and row["wasted_ratio"] > 0.8
    assert check("bloat", **small, bloat_fail_bytes=0).status == "fail"


def test_sequences_near_their_limit_count_the_column_type(scratch: str) -> None:
    sql(f"CREATE TABLE {scratch}.small (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)")
    sql("SELECT setval(pg_get_serial_sequence(%s, 'id'), 1900000000)", [f"{scratch}.small"])
    # A bigint sequence feeding an integer column stops at the column's 2^31 - 1, not its own maximum.
    sql(f"CREATE TABLE {scratch}.legacy (id int PRIMARY KEY)")
    sql(f"CREATE SEQUENCE {scratch}.legacy_id AS bigint OWNED BY {scratch}.legacy.id")
    sql(f"SELECT setval('{scratch}.legacy_id', 1200000000)")
    sql(f"CREATE TABLE {scratch}.roomy (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)")
    sql("SELECT setval(pg_get_serial_sequence(%s, 'id'), 1900000000)", [f"{scratch}.roomy"])
    result = check("sequences")
    assert result.status == "fail"
    found = {row["sequence"]: row["status"] for row in result.details}
    assert found == {f"{scratch}.small_id_seq": "fail", f"{scratch}.legacy_id": "warn"}


# ---------------------------------------------------------------------------------------------------
# Server figures: graded by thresholds the test lowers (nothing to plant on a healthy server)


def test_cache_wraparound_and_connections_are_graded_by_their_thresholds(db: None) -> None:
    assert check("wraparound").status == "ok"
    assert check("wraparound", wraparound_warn=0.0).status == "warn"
    assert check("wraparound", wraparound_warn=0.0, wraparound_fail=0.0).status == "fail"
    assert check("connections", connections_warn=0.0).status == "warn"
    sql("SELECT count(*) FROM pg_class")  # some reads to judge
    assert check("cache_hit_rate", cache_min_reads=10**15).summary.startswith("too few reads")
    assert check("cache_hit_rate", cache_min_reads=0, cache_hit_warn=1.01).status == "warn"


def test_replication_is_ok_without_replicas_and_warns_on_an_inactive_slot_holding_wal(db: None) -> None:
    result = check("replication")
    assert (result.status, result.figures["replicas"]) == ("ok", 0)
    slot = f"dbhealth_test_{os.getpid()}"
    # Slots are not transactional: drop it whatever happens.
    sql("SELECT pg_create_physical_replication_slot(%s, true)", [slot])
    try:
        result = check("replication", slot_retained_warn_bytes=0)
        assert result.status == "warn"
        assert slot in column(result, "slot")
    finally:
        sql("SELECT pg_drop_replication_slot(%s)", [slot])


# ---------------------------------------------------------------------------------------------------
# Sessions: a second (and third) connection to the test database


def other_connection() -> psycopg.Connection[Any]:
    """A plain psycopg session to the test database, outside the test's transaction."""
    params = connection.get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    return psycopg.connect(**params, autocommit=True)


def wait_until(condition: str, params: Any, *, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sql("SELECT pg_stat_clear_snapshot()")
        if sql(condition, params)[0][0]:
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {condition}")


@contextmanager
def running_in_background(statement: str) -> Iterator[int]:
    """Run `statement` in another session from a thread; yield that session's pid meanwhile."""
    session = other_connection()
    pid = session.info.backend_pid
    errors: list[BaseException] = []

    def run() -> None:
        try:
            session.execute(statement)
        except psycopg.errors.QueryCanceled:
            pass
        except BaseException as error:  # surfaced in the test below
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield pid
    finally:
        sql("SELECT pg_cancel_backend(%s)", [pid])
        thread.join(timeout=10)
        session.close()
    assert not errors


def test_idle_in_transaction_session_is_reported(db: None) -> None:
    with other_connection() as session:
        session.execute("BEGIN")
        session.execute("SELECT 1")
        pid = session.info.backend_pid
        wait_until(
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = %s AND state = 'idle in transaction'",
            [pid],
        )
        assert pid not in column(check("idle_in_transaction"), "pid")  # younger than a minute
        result = check("idle_in_transaction", idle_in_transaction_warn_s=0)
        assert result.status == "warn"
        assert pid in column(result, "pid")
        assert (
            check("idle_in_transaction", idle_in_transaction_warn_s=0, idle_in_transaction_fail_s=0).status
            == "fail"
        )
        session.execute("ROLLBACK")


def test_blocked_query_is_reported_with_its_blocker(db: None) -> None:
    with other_connection() as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(424242)")
        with running_in_background("SELECT pg_advisory_xact_lock(424242)") as waiter:
            wait_until("SELECT cardinality(pg_blocking_pids(%s)) > 0", [waiter])
            result = check("blocked_queries", blocked_warn_s=0)
            assert result.status == "warn"
            (row,) = [r for r in result.details if r["pid"] == waiter]
            assert row["blocked_by"].startswith(f"{holder.info.backend_pid} (idle in transaction")
            # A blocked query is reported as blocked, not as long.
            assert waiter not in column(check("long_queries", long_query_warn_s=0), "pid")
            holder.execute("ROLLBACK")


def test_long_query_is_reported(db: None) -> None:
    with running_in_background("SELECT pg_sleep(30)") as pid:
        wait_until("SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = %s AND state = 'active'", [pid])
        assert pid not in column(check("long_queries"), "pid")
        result = check("long_queries", long_query_warn_s=0)
        assert result.status == "warn"
        assert pid in column(result, "pid")


# ---------------------------------------------------------------------------------------------------
# Row level security lints: tenant tables come from the Django models and from tenant_id columns


def test_rls_disabled_fails_for_a_model_table_and_for_a_raw_tenant_table(tenant_scratch_table: str) -> None:
    sql("ALTER TABLE organization DISABLE ROW LEVEL SECURITY")
    result = check("rls_disabled")
    assert result.status == "fail"
    assert {(r["table"], r["source"]) for r in result.details} == {
        ("organization", "model organizations.Organization"),
        (tenant_scratch_table, "tenant_id column"),
    }


def test_rls_not_forced_fails_except_for_the_documented_exemptions(db: None) -> None:
    result = check("rls_not_forced")
    assert result.status == "ok"
    assert sorted(line.split(":")[0] for line in result.figures["exempt"]) == ["crm_user", "django_session"]
    sql("ALTER TABLE contact NO FORCE ROW LEVEL SECURITY")
    result = check("rls_not_forced")
    assert (result.status, column(result, "table")) == ("fail", ["contact"])


def test_command_without_policy_warns(tenant_scratch_table: str) -> None:
    sql("DROP POLICY interaction_delete ON interaction")
    sql(f"ALTER TABLE {tenant_scratch_table} ENABLE ROW LEVEL SECURITY")
    sql(f"CREATE POLICY note_select ON {tenant_scratch_table} FOR SELECT USING (tenant_id = {rls.TENANT})")
    result = check("rls_command_without_policy")
    assert result.status == "warn"
    assert {r["table"]: r["missing"] for r in result.details} == {
        "interaction": "DELETE",
        tenant_scratch_table: "INSERT, UPDATE, DELETE",
    }


def test_always_true_policy_fails_but_not_a_restrictive_or_the_documented_session_insert(db: None) -> None:
    result = check("rls_always_true_policy")
    assert result.status == "ok"
    assert [line.split(":")[0] for line in result.figures["exempt"]] == [
        "django_session.django_session_insert"
    ]
    sql("CREATE POLICY everything ON opportunity AS RESTRICTIVE FOR SELECT USING (true)")
    assert check("rls_always_true_policy").status == "ok"
    sql("CREATE POLICY leak ON opportunity FOR SELECT USING (true)")
    sql("CREATE POLICY also_leak ON product FOR UPDATE USING (1 = 1) WITH CHECK (tenant_id > 0)")
    result = check("rls_always_true_policy")
    assert result.status == "fail"
    assert {(r["table"], r["policy"], r["clause"]) for r in result.details} == {
        ("opportunity", "leak", "USING"),
        ("product", "also_leak", "USING"),
    }


def test_always_true_policy_really_leaks_other_firms_rows_to_the_runtime_role(
    firm: Firm, other_firm: Firm
) -> None:
    """What the lint protects against, seen as a request would see it."""
    sql("CREATE POLICY leak ON organization FOR SELECT USING (true)")
    with rls.acting_as(firm.viewer.pk):
        seen = {row[0] for row in sql("SELECT tenant_id FROM organization")}
    assert seen == {firm.tenant.pk, other_firm.tenant.pk}


def test_per_row_current_setting_warns(db: None) -> None:
    assert check("rls_per_row_current_setting").status == "ok"
    sql(
        "CREATE POLICY slow ON product FOR SELECT"
        " USING (tenant_id = nullif(current_setting('crm.tenant_id', true), '')::bigint)"
    )
    result = check("rls_per_row_current_setting")
    assert result.status == "warn"
    assert [(r["table"], r["policy"], r["calls"]) for r in result.details] == [("product", "slow", 1)]


@pytest.mark.parametrize(
    ("expression", "bare"),
    [
        (f"tenant_id = {rls.TENANT}", 0),
        ("tenant_id = nullif(current_setting('crm.tenant_id', true), '')::bigint", 1),
        ("x = '(SELECT current_setting(1))' AND y = pg_catalog.current_setting('crm.role', true)", 1),
        (f"{rls.ROLE} = current_setting('crm.role', true)", 1),
        (f"principal_id = ANY ({rls.BOOK}::bigint[])", 0),
    ],
)
def test_per_row_lint_reads_the_expression_with_postgresqls_parser(expression: str, bare: int) -> None:
    assert analyse_expression(expression).bare_settings == bare


def test_policy_ignoring_tenant_id_warns(db: None) -> None:
    assert check("rls_policy_ignores_tenant").status == "ok"
    sql("CREATE POLICY by_scope ON product FOR SELECT USING (principal_id IS NOT NULL)")
    result = check("rls_policy_ignores_tenant")
    assert result.status == "warn"
    assert [(r["table"], r["policy"]) for r in result.details] == [("product", "by_scope")]


def test_policy_taking_the_variables_without_their_mac_fails(db: None) -> None:
    assert check("rls_unverified_context").status == "ok"
    sql(f"CREATE POLICY by_tenant ON product FOR SELECT USING (tenant_id = {rls.TENANT})")
    sql(f"CREATE POLICY checked ON contact FOR SELECT USING ({rls.verified(f'tenant_id = {rls.TENANT}')})")
    result = check("rls_unverified_context")
    assert result.status == "fail"
    assert [(r["table"], r["policy"]) for r in result.details] == [("product", "by_tenant")]


def test_view_read_with_its_owners_rights_fails_until_security_invoker(scratch: str) -> None:
    sql(f"CREATE VIEW {scratch}.names AS SELECT id, name FROM organization")
    sql(f'GRANT SELECT ON {scratch}.names TO "{rls.runtime_role()}"')
    result = check("rls_views_bypass")
    assert result.status == "fail"
    assert column(result, "view") == [f"{scratch}.names"]
    sql(f"ALTER VIEW {scratch}.names SET (security_invoker = true)")
    assert check("rls_views_bypass").status == "ok"


def test_security_definer_function_without_search_path_fails(scratch: str) -> None:
    assert check("security_definer_functions").status == "ok"
    sql(f"CREATE FUNCTION {scratch}.loose() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'")
    sql(
        f"CREATE FUNCTION {scratch}.pinned() RETURNS int LANGUAGE sql SECURITY DEFINER"
        " SET search_path = pg_catalog, pg_temp AS 'SELECT 1'"
    )
    sql(f"REVOKE ALL ON FUNCTION {scratch}.pinned() FROM PUBLIC")
    sql(
        f"CREATE FUNCTION {scratch}.temp_first() RETURNS int LANGUAGE sql SECURITY DEFINER"
        " SET search_path = pg_catalog, public AS 'SELECT 1'"
    )
    sql(f"REVOKE ALL ON FUNCTION {scratch}.temp_first() FROM PUBLIC")
    # A search_path without pg_temp last matters only to a caller that may create temporary tables, which
    # the runtime role may not (crm migration 0017): grant it here (the test's transaction undoes it).
    sql(f'GRANT TEMPORARY ON DATABASE "{connection.settings_dict["NAME"]}" TO "{rls.runtime_role()}"')
    result = check("security_definer_functions")
    assert result.status == "fail"
    found = {(r["function"], r["status"], r["problem"].split(":")[0]) for r in result.details}
    assert found == {
        (f"{scratch}.loose()", "fail", "no search_path pinned"),
        (f"{scratch}.loose()", "warn", "PUBLIC may execute it"),
        (
            f"{scratch}.temp_first()",
            "warn",
            "search_path 'pg_catalog, public' lets a caller's temporary table shadow its tables",
        ),
    }


def test_runtime_role_cannot_shadow_a_definer_functions_tables_with_a_temporary_table(firm: Firm) -> None:
    """The fault the lint found in our own schema (crm migration 0007): pg_temp is searched last. Since
    crm migration 0017 the role may create no temporary table at all; granted one here (the test's
    transaction undoes it), the pinned search_path still holds."""
    members = {firm.admin.pk, firm.manager.pk, firm.other_manager.pk, firm.viewer.pk}
    with rls.acting_as(firm.admin.pk), pytest.raises(ProgrammingError), transaction.atomic():
        sql("CREATE TEMP TABLE membership (user_id bigint, tenant_id bigint)")
    sql(f'GRANT TEMPORARY ON DATABASE "{connection.settings_dict["NAME"]}" TO "{rls.runtime_role()}"')
    with rls.acting_as(firm.admin.pk):
        sql("CREATE TEMP TABLE membership (user_id bigint, tenant_id bigint)")
        sql("INSERT INTO membership VALUES (-42, %s)", [firm.tenant.pk])
        assert set(sql("SELECT crm_member_ids()")[0][0]) == members


def test_runtime_role_able_to_bypass_rls_fails(scratch: str) -> None:
    role = rls.runtime_role()
    assert check("runtime_role").status == "ok"
    try:
        sql(f'ALTER ROLE "{role}" BYPASSRLS')
        result = check("runtime_role")
        assert result.status == "fail"
        assert "has BYPASSRLS" in result.summary
    finally:
        sql(f'ALTER ROLE "{role}" NOBYPASSRLS')  # the transaction's rollback undoes it too
    sql(f"CREATE TABLE {scratch}.owned (id int PRIMARY KEY)")
    sql(f'ALTER TABLE {scratch}.owned OWNER TO "{role}"')
    result = check("runtime_role")
    assert result.status == "fail"
    assert f"owns {scratch}.owned" in result.summary


def test_runtime_role_able_to_create_temporary_tables_or_in_public_fails(db: None) -> None:
    role, database = rls.runtime_role(), connection.settings_dict["NAME"]
    assert check("runtime_role").status == "ok"
    sql(f'GRANT TEMPORARY ON DATABASE "{database}" TO "{role}"')
    sql(f'GRANT CREATE ON SCHEMA public TO "{role}"')
    result = check("runtime_role")
    assert result.status == "fail"
    assert (
        "may create temporary tables" in result.summary and "may create objects in public" in result.summary
    )


# ---------------------------------------------------------------------------------------------------
# The command


def test_clean_database_passes_with_exit_status_zero_and_rls_lints_all_ok(db: None) -> None:
    out, err = StringIO(), StringIO()
    call_command("dbhealth", "--json", stdout=out, stderr=err)
    report = json.loads(out.getvalue())
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert "fail" not in statuses.values()
    assert report["status"] in ("ok", "warn")
    security = [name for name in statuses if name.startswith("rls_")] + [
        "security_definer_functions",
        "runtime_role",
    ]
    assert {name: statuses[name] for name in security} == dict.fromkeys(security, "ok")
    assert "[28/28] runtime_role" in err.getvalue()  # progress goes to stderr


def test_a_failing_check_makes_the_command_exit_1_and_the_table_shows_the_remedy(
    tenant_scratch_table: str,
) -> None:
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "dbhealth", "--check", "rls_disabled", "--check", "wraparound", stdout=out, stderr=StringIO()
        )
    assert raised.value.returncode == 1
    assert "rls_disabled" in str(raised.value)
    text = out.getvalue()
    assert "fail    rls_disabled" in text and "ok      wraparound" in text
    assert tenant_scratch_table in text and "remedy: Declare the table in its app's policies.py" in text
    assert text.rstrip().endswith("2 checks in " + text.rstrip().split("2 checks in ")[1])


def test_unreachable_database_exits_2(db: None) -> None:
    params = connection.get_connection_params()
    url = f"postgresql://{params['user']}@/dbhealth_no_such_database?host={params.get('host') or 'localhost'}"
    if params.get("port"):
        url += f"&port={params['port']}"
    done = subprocess.run(
        [sys.executable, "manage.py", "dbhealth"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "cannot connect" in done.stderr
