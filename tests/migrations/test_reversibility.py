"""Every migration can be undone and redone: on a populated scratch database, stepping back to the
initial migrations and forward again keeps every row, and zero and back rebuilds the same schema.

The scratch database (test_crm_migrations_<pid>) is created and dropped here; migrations run in a
subprocess against it, as a deploy would (`manage.py migrate`), and the catalog and data are read as the
owner with plain SQL.

Stepping back costs Django ~20 s of CPU (it renders the project's state at every migration after the first
one it undoes), so the walk is done once and each test asserts on what it saw: back to the initial
migrations by way of organizations 0004 (before the purge migration), a copy of the database kept there
for the rest of the way to zero, and forward again by way of organizations 0005.

What "no data lost" can mean: `migrate <app> zero` drops the app's tables, so rows cannot survive zero.
Business rows live in the tables the initial migrations create; everything after them runs on live
tables, and that part is what must be reversible without losing rows. A column or table that a
non-initial migration *adds* does lose its values when that migration is undone (history, and the
`version`/`deleted_by` columns): reversal is for development and for backing out a failed deploy, and a
production schema change goes forward only (docs/migrations.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pprint import pformat
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db.migrations.loader import MigrationLoader

from crm import rls
from crm.migration_lint import project_app_labels

# A catalog query per kind of schema object; each returns rows that identify and describe one object.
# ACLs are sorted so the order of GRANTs does not matter, only what is granted, and a NULL ACL (the
# defaults) reads as the defaults it stands for, as a REVOKE spells them out.
ACL = "(SELECT array_agg(x::text ORDER BY x::text) FROM unnest({}) x)"
RELATION_ACL = ACL.format(
    "coalesce(relacl, acldefault(CASE relkind WHEN 'S' THEN 's'::\"char\" ELSE 'r'::\"char\" END, relowner))"
)
PUBLIC_RELATIONS = "SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace"
CATALOG = {
    "relations": f"""SELECT relname, relkind::text, relrowsecurity, relforcerowsecurity, {RELATION_ACL}
                       FROM pg_class WHERE relnamespace = 'public'::regnamespace""",
    "columns": f"""SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                          pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text, {ACL.format("a.attacl")}
                     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
                      AND a.attnum > 0 AND NOT a.attisdropped""",
    "indexes": f"""SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisvalid
                     FROM pg_index WHERE indrelid IN ({PUBLIC_RELATIONS})""",
    "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated
                        FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
    "policies": """SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check
                     FROM pg_policies WHERE schemaname = 'public'""",
    "triggers": f"""SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid), tgenabled::text
                      FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN ({PUBLIC_RELATIONS})""",
    "functions": f"""SELECT oid::regprocedure::text, md5(pg_get_functiondef(oid)), {ACL.format("coalesce(proacl, acldefault('f', proowner))")}
                       FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prokind = 'f'""",
    "schema": f"""SELECT nspname, {ACL.format("coalesce(nspacl, acldefault('n', nspowner))")}
                    FROM pg_namespace WHERE nspname = 'public'""",
}
Catalog = dict[str, set[tuple[Any, ...]]]

# Django's own apps and the job queue's (procrastinate), which the project's migrations build on and never unapply.
BASE_APPS = (
    "contenttypes",
    "auth",
    "sessions",
    "procrastinate",
)  # third-party apps the project migrates onto


@dataclass
class Scratch:
    name: str
    url: str  # DATABASE_URL for manage.py
    conninfo: dict[str, Any]

    def manage(self, *steps: list[str]) -> None:
        """Run management commands, in order, in one Django process against the scratch database."""
        code = (
            "import json, sys, django; django.setup()\n"
            "from django.core.management import call_command\n"
            "for step in json.loads(sys.argv[1]):\n"
            "    call_command(*step, verbosity=0, interactive=False) if step[0] == 'migrate'"
            " else call_command(*step, verbosity=0)\n"
        )
        env = {**os.environ, "DATABASE_URL": self.url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "crm.settings"}
        env.pop("SILK_ENABLED", None)
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(steps)],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert done.returncode == 0, f"{steps} failed:\n{done.stdout}\n{done.stderr}"

    def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(**self.conninfo, dbname=self.name, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())

    def copy(self, suffix: str) -> Scratch:
        """A new database copied from this one as it is now (a template copy: no session may be open on it)."""
        name = f"{self.name}_{suffix}"
        with psycopg.connect(**self.conninfo, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return Scratch(name, self.url.replace(f"@/{self.name}", f"@/{name}", 1), self.conninfo)

    def catalog(self) -> Catalog:
        with psycopg.connect(**self.conninfo, dbname=self.name, autocommit=True) as conn:
            return {
                kind: {tuple(str(v) if isinstance(v, list) else v for v in row) for row in conn.execute(sql)}
                for kind, sql in CATALOG.items()
            }


def without_pgtrigger_leftovers(catalog: Catalog) -> Catalog:
    """pgtrigger drops a trigger but leaves its function (no trigger calls it; re-created on install)."""
    called = " ".join(definition for _, _, definition, _ in catalog["triggers"])
    leftovers = {f for f in catalog["functions"] if f[0].startswith("pgtrigger_") and f[0][:-2] not in called}
    return {**catalog, "functions": catalog["functions"] - leftovers}


def differences(before: Catalog, after: Catalog) -> str:
    """What is only in `before` ("gone") or only in `after` ("new"), per kind; "" when the same."""
    found = {
        kind: {
            "gone": sorted(before[kind] - after[kind], key=str),
            "new": sorted(after[kind] - before[kind], key=str),
        }
        for kind in before
        if before[kind] != after[kind]
    }
    return pformat(found, width=160) if found else ""


def connection_settings() -> tuple[str, dict[str, Any]]:
    """A DATABASE_URL template and psycopg keywords for the server the test database lives on."""
    db = settings.DATABASES["default"]
    options = {k: v for k, v in db.get("OPTIONS", {}).items() if k in ("host", "port", "sslmode")}
    host = str(options.pop("host", None) or db.get("HOST") or "")
    port = str(options.pop("port", None) or db.get("PORT") or "")
    user, password = str(db.get("USER") or ""), str(db.get("PASSWORD") or "")
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    query = "&".join(f"{k}={quote(v, safe='/')}" for k, v in (("host", host), ("port", port)) if v)
    url = f"postgresql://{credentials}@/{{name}}" + (f"?{query}" if query else "")
    conninfo = {
        k: v for k, v in {"host": host, "port": port, "user": user, "password": password}.items() if v
    }
    return url, conninfo


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    url, conninfo = connection_settings()
    name = f"test_crm_migrations_{os.getpid()}"
    with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Scratch(name, url.format(name=name), conninfo)
    finally:
        with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as admin:
            for copy in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{name}_%"]):
                admin.execute(f'DROP DATABASE IF EXISTS "{copy[0]}" WITH (FORCE)')
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def base_catalog(scratch: Scratch) -> Catalog:
    """The schema with only Django's own apps migrated: what migrating the project to zero must leave."""
    scratch.manage(*(["migrate", app] for app in BASE_APPS))
    return scratch.catalog()


@pytest.fixture(scope="module")
def initial_catalog(scratch: Scratch, base_catalog: Catalog) -> Catalog:
    """The schema built forward up to each app's initial migrations (and Django's admin, which needs
    only those): what stepping back to them must leave."""
    forward = [["migrate", app, target] for app, target in reversed(initial_targets()) if target != "zero"]
    scratch.manage(*forward, ["migrate", "admin"])
    return scratch.catalog()


@pytest.fixture(scope="module")
def populated(scratch: Scratch, initial_catalog: Catalog) -> Catalog:
    """Every migration applied and the demo firm loaded; returns the latest schema.

    The demo's sales import record is removed first: `import_run.kind` of the initial migration cannot
    hold `sales` (imports 0003 adds it), so stepping back past 0003 refuses a database that has recorded a
    sales import, as it should (its facts, in the sales app's own initial tables, stay)."""
    scratch.manage(["migrate"], ["load_demo"])
    assert scratch.query("DELETE FROM import_run WHERE kind = 'sales' RETURNING id"), "the demo imports sales"
    return scratch.catalog()


Checksums = dict[str, dict[str, Any]]
BEFORE_PURGE = "0004_history_version_soft_delete"  # organizations: the purge migration (0005) comes next


@dataclass
class SteppedBack:
    """What stepping the populated database back to the initial migrations saw on the way."""

    tables: set[str]
    before: Checksums  # at the latest migrations
    delete_policy_latest: str
    delete_policy_before_purge: str  # organizations at BEFORE_PURGE
    at_initial: Checksums
    catalog_at_initial: Catalog
    copy_at_initial: Scratch  # the database as stepping back left it, rows included


@dataclass
class SteppedForward:
    """What migrating forward again from there saw."""

    delete_policy_after_purge: str  # organizations at 0005_purge_for_admins_only
    after: Checksums
    catalog: Catalog


def delete_policy(scratch: Scratch) -> str:
    ((qual,),) = scratch.query(
        "SELECT qual FROM pg_policies WHERE tablename = 'organization' AND policyname = 'organization_delete'"
    )
    return str(qual)


@pytest.fixture(scope="module")
def stepped_back(scratch: Scratch, populated: Catalog) -> SteppedBack:
    """The populated database stepped back to each app's initial migrations, organizations first to the
    migration before its purge one; copied there (the walk to zero goes on from the copy)."""
    tables = business_tables(scratch)
    before = column_checksums(scratch, tables)
    latest = delete_policy(scratch)
    scratch.manage(["migrate", "organizations", BEFORE_PURGE])
    before_purge = delete_policy(scratch)
    scratch.manage(*(["migrate", app, target] for app, target in initial_targets()))
    return SteppedBack(
        tables=tables,
        before=before,
        delete_policy_latest=latest,
        delete_policy_before_purge=before_purge,
        at_initial=column_checksums(scratch, tables),
        catalog_at_initial=without_pgtrigger_leftovers(scratch.catalog()),
        copy_at_initial=scratch.copy("at_initial"),
    )


@pytest.fixture(scope="module")
def stepped_forward(scratch: Scratch, stepped_back: SteppedBack) -> SteppedForward:
    """Forward again from the initial migrations, organizations first to its purge migration."""
    scratch.manage(["migrate", "organizations", "0005_purge_for_admins_only"])
    after_purge = delete_policy(scratch)
    scratch.manage(["migrate"])
    return SteppedForward(
        delete_policy_after_purge=after_purge,
        after=column_checksums(scratch, stepped_back.tables),
        catalog=scratch.catalog(),
    )


def initial_targets() -> list[tuple[str, str]]:
    """Per project app, in reverse dependency order, its last initial migration ("zero" if none)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    targets = []
    for label in reversed(project_app_labels()):
        initial = sorted(
            name for (app, name), m in loader.disk_migrations.items() if app == label and m.initial
        )
        targets.append((label, initial[-1] if initial else "zero"))
    return targets


def stored_columns(scratch: Scratch) -> dict[str, list[str]]:
    """Each table's stored (not generated) columns."""
    columns: dict[str, list[str]] = {}
    for table, column in scratch.query(
        """SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0
              AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY c.relname, a.attname"""
    ):
        columns.setdefault(table, []).append(column)
    return columns


def column_checksums(scratch: Scratch, tables: set[str]) -> Checksums:
    """Per table: its row count ("*") and, per stored column, an md5 of its values in primary-key order."""
    result: Checksums = {}
    for table, names in stored_columns(scratch).items():
        if table not in tables:
            continue
        digests = ", ".join(f"md5(string_agg(quote_nullable(\"{n}\"), ',' ORDER BY id))" for n in names)
        (row,) = scratch.query(f'SELECT count(*), {digests} FROM "{table}"')
        result[table] = {"*": row[0], **dict(zip(names, row[1:], strict=True))}
    return result


def business_tables(scratch: Scratch) -> set[str]:
    """Tables holding a firm's data: those with tenant_id, bar history (appended by triggers)."""
    rows = scratch.query(
        """SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT a.attisdropped"""
    )
    return {name for (name,) in rows} - {"history"}


def visible_as(scratch: Scratch, user_id: int | None, table: str) -> int:
    """Rows of `table` the runtime role sees for `user_id`, switched into as a request is (crm.rls.begin)."""
    with psycopg.connect(**scratch.conninfo, dbname=scratch.name) as conn:
        conn.execute(
            "SELECT set_config('role', %s, true), c.tenant_id FROM crm_request_context(%s) c",
            [rls.runtime_role(), user_id],
        )
        ((count,),) = conn.execute(f'SELECT count(*) FROM "{table}"').fetchall()
        conn.rollback()
    return int(count)


def test_stepping_back_to_the_initial_migrations_and_forward_keeps_every_row_and_rls(
    scratch: Scratch,
    initial_catalog: Catalog,
    populated: Catalog,
    stepped_back: SteppedBack,
    stepped_forward: SteppedForward,
) -> None:
    tables, before = stepped_back.tables, stepped_back.before
    assert {"organization", "contact", "product", "opportunity", "interaction"} <= tables
    assert sum(t["*"] for t in before.values()) > 500, "the demo firm should populate the tables"

    at_initial = stepped_back.at_initial
    # Every reversal really undid its work: policies, grants, functions, triggers, indexes.
    assert not (diff := differences(initial_catalog, stepped_back.catalog_at_initial)), (
        "stepping back left a schema other than the initial migrations build:\n" + diff
    )
    after = stepped_forward.after

    # Business data lives in tables the initial migrations create: stepping back dropped none. Tables of later
    # migrations (API keys, stored idempotent answers) hold none of the demo firm's rows, so dropping them
    # on the way back loses nothing; they come back empty. A firm's stage probabilities (ADR 0032) are
    # seeded by their migration: they come back with the same figures, in the same order.
    later = tables - set(at_initial)
    reseeded = {"stage_probability"}
    assert set(at_initial) <= tables and later <= {"api_key", "idempotency_key", *reseeded}, later
    assert all(before[table]["*"] == after[table]["*"] == 0 for table in later - reseeded), later
    for table in reseeded:
        assert before[table]["*"] == after[table]["*"] > 0, table
        for column in ("tenant_id", "stage", "probability"):
            assert before[table][column] == after[table][column], f"{table}.{column} changed"
    for table in sorted(tables - later):
        assert before[table]["*"] == at_initial[table]["*"] == after[table]["*"], f"{table}: rows lost"
        # Columns a later migration adds (version, deleted_by) are re-created with their defaults;
        # every other column must hold exactly the same values throughout.
        for column in sorted(set(at_initial[table]) & set(before[table])):
            assert before[table][column] == at_initial[table][column] == after[table][column], (
                f"{table}.{column} changed"
            )
    assert not (diff := differences(populated, stepped_forward.catalog)), (
        "the schema differs after back and forth:\n" + diff
    )

    # Row level security is in force again for the runtime role.
    ((manager, tenant),) = scratch.query(
        "SELECT user_id, tenant_id FROM membership WHERE role = 'manager' ORDER BY user_id LIMIT 1"
    )
    ((in_book,),) = scratch.query(
        """SELECT count(*) FROM opportunity WHERE tenant_id = %s AND principal_id IN
             (SELECT principal_id FROM principal_assignment WHERE user_id = %s AND deleted_at IS NULL)""",
        [tenant, manager],
    )
    ((everything,),) = scratch.query("SELECT count(*) FROM opportunity")
    assert 0 < in_book < everything
    assert visible_as(scratch, manager, "opportunity") == in_book
    assert visible_as(scratch, None, "opportunity") == 0
    assert visible_as(scratch, None, "organization") == 0


def test_migrating_to_zero_leaves_what_django_alone_leaves_and_forward_again_rebuilds_the_same_schema(
    stepped_back: SteppedBack, base_catalog: Catalog, populated: Catalog
) -> None:
    """From where stepping back left the populated database (the test above proves that point is what the
    initial migrations build), the rest of the way to zero, then forward in one go."""
    copy = stepped_back.copy_at_initial
    copy.manage(*(["migrate", app, "zero"] for app in reversed(project_app_labels())))
    zero = without_pgtrigger_leftovers(copy.catalog())
    assert not (diff := differences(base_catalog, zero)), (
        "migrating to zero left (or removed) something:\n" + diff
    )

    copy.manage(["migrate"])
    assert not (diff := differences(populated, copy.catalog())), (
        "zero and back built a different schema:\n" + diff
    )


def test_each_step_applies_the_policy_of_its_own_time(
    populated: Catalog, stepped_back: SteppedBack, stepped_forward: SteppedForward
) -> None:
    """Migrations carry the literal policy SQL of their point in history: back before the purge migration,
    every writer may DELETE (as organizations 0002 created it); the purge migration narrows it to admins."""
    assert "'manager'" not in stepped_back.delete_policy_latest
    before_purge = stepped_back.delete_policy_before_purge
    assert "'manager'::text" in before_purge and "crm_context_ok" not in before_purge
    after_purge = stepped_forward.delete_policy_after_purge
    assert "'manager'" not in after_purge and "crm_context_ok" not in after_purge
    assert not (diff := differences(populated, stepped_forward.catalog)), diff


def test_migrate_twice_changes_nothing(scratch: Scratch, populated: Catalog) -> None:
    scratch.manage(["migrate"], ["migrate"])
    assert not (diff := differences(populated, scratch.catalog())), diff
