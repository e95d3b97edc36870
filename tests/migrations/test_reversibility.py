"""Every migration can be undone and redone: on a populated scratch database, stepping back to the
initial migrations and forward again keeps every row, and zero and back rebuilds the same schema.

The scratch database (test_crm_migrations_<pid>) is created and dropped here; migrations run in a
subprocess against it, as a deploy would (`manage.py migrate`), and the catalog and data are read as the
owner with plain SQL.

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

# Django's own apps, which the project's migrations build on and never unapply.
BASE_APPS = ("contenttypes", "auth", "sessions")


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
    """Every migration applied and the demo firm loaded; returns the latest schema."""
    scratch.manage(["migrate"], ["load_demo"])
    return scratch.catalog()


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


def column_checksums(scratch: Scratch, tables: set[str]) -> dict[str, dict[str, Any]]:
    """Per table: its row count ("*") and, per stored column, an md5 of its values in primary-key order."""
    result: dict[str, dict[str, Any]] = {}
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
    scratch: Scratch, initial_catalog: Catalog, populated: Catalog
) -> None:
    tables = business_tables(scratch)
    assert {"organization", "contact", "product", "opportunity", "interaction"} <= tables
    before = column_checksums(scratch, tables)
    assert sum(t["*"] for t in before.values()) > 500, "the demo firm should populate the tables"

    scratch.manage(*(["migrate", app, target] for app, target in initial_targets()))
    at_initial = column_checksums(scratch, tables)
    # Every reversal really undid its work: policies, grants, functions, triggers, indexes.
    assert not (diff := differences(initial_catalog, without_pgtrigger_leftovers(scratch.catalog()))), (
        "stepping back left a schema other than the initial migrations build:\n" + diff
    )
    scratch.manage(["migrate"])
    after = column_checksums(scratch, tables)

    # Business data lives only in tables the initial migrations create: stepping back dropped none.
    assert set(at_initial) == tables
    for table in sorted(tables):
        assert before[table]["*"] == at_initial[table]["*"] == after[table]["*"], f"{table}: rows lost"
        # Columns a later migration adds (version, deleted_by) are re-created with their defaults;
        # every other column must hold exactly the same values throughout.
        for column in sorted(set(at_initial[table]) & set(before[table])):
            assert before[table][column] == at_initial[table][column] == after[table][column], (
                f"{table}.{column} changed"
            )
    assert not (diff := differences(populated, scratch.catalog())), (
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
    scratch: Scratch, base_catalog: Catalog, populated: Catalog
) -> None:
    scratch.manage(*(["migrate", app, "zero"] for app in reversed(project_app_labels())))
    zero = without_pgtrigger_leftovers(scratch.catalog())
    assert not (diff := differences(base_catalog, zero)), (
        "migrating to zero left (or removed) something:\n" + diff
    )

    scratch.manage(["migrate"])
    assert not (diff := differences(populated, scratch.catalog())), (
        "zero and back built a different schema:\n" + diff
    )


def test_each_step_applies_the_policy_of_its_own_time(scratch: Scratch, populated: Catalog) -> None:
    """Migrations carry the literal policy SQL of their point in history: back before the purge migration,
    every writer may DELETE (as organizations 0002 created it); the purge migration narrows it to admins."""

    def delete_policy() -> str:
        ((qual,),) = scratch.query(
            "SELECT qual FROM pg_policies WHERE tablename = 'organization' AND policyname = 'organization_delete'"
        )
        return str(qual)

    assert "'manager'" not in delete_policy()
    scratch.manage(["migrate", "organizations", "0004_history_version_soft_delete"])
    assert "'manager'::text" in delete_policy() and "crm_context_ok" not in delete_policy()
    scratch.manage(["migrate", "organizations", "0005_purge_for_admins_only"])
    assert "'manager'" not in delete_policy() and "crm_context_ok" not in delete_policy()
    scratch.manage(["migrate"])
    assert not (diff := differences(populated, scratch.catalog())), diff


def test_migrate_twice_changes_nothing(scratch: Scratch, populated: Catalog) -> None:
    scratch.manage(["migrate"], ["migrate"])
    assert not (diff := differences(populated, scratch.catalog())), diff
