"""The migrated catalog is what the apps declare (`<app>/policies.py`), and `makepolicymigration` writes
the migration for a changed declaration: literal SQL that applies it and, reversed, restores the catalog."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from crm import policy_declarations as pd
from crm import rls
from crm.migration_operations import RunPolicySQL

pytestmark = pytest.mark.django_db


def every_declaration() -> list[pd.TableRules]:
    return [rules for declared in pd.all_declarations().values() for rules in declared]


def test_the_migrated_catalog_is_what_the_apps_declare() -> None:
    found = pd.differences(every_declaration())
    assert not found, (
        "the migrated policies differ from the declarations (edit <app>/policies.py and run"
        " `manage.py makepolicymigration <app>`):\n" + "\n".join(found)
    )


def test_every_table_under_rls_is_declared_by_its_app() -> None:
    declared = pd.all_declarations()
    assert {r.table for r in declared["crm"]} == {
        "tenant",
        "membership",
        "crm_user",
        "django_session",
        "django_admin_log",
        "history",
        "principal_assignment",
        "idempotency_key",
        "api_key",
    }
    assert {r.table for r in declared["organizations"]} == {
        "organization",
        "distributor_authorization",
        "customer_distributor",
    }
    assert {r.table for r in declared["contacts"]} == {"contact"}
    tables = [r.table for r in every_declaration()]
    assert len(tables) == len(set(tables)), "a table is declared twice"


def _with(rules: pd.TableRules, name: str, **changes: Any) -> pd.TableRules:
    policies = tuple(dataclasses.replace(p, **changes) if p.name == name else p for p in rules.policies)
    return dataclasses.replace(rules, policies=policies)


def test_a_declaration_the_catalog_does_not_match_is_reported() -> None:
    (contact,) = pd.app_declarations("contacts")
    changed = _with(contact, "contact_delete", using=rls.verified(f"tenant_id = {rls.TENANT}"))
    found = pd.differences([changed], complete=False)
    assert len(found) == 1 and found[0].startswith("contact.contact_delete: catalog")

    extra = dataclasses.replace(contact, policies=contact.policies[:-1], force=False)
    found = pd.differences([extra], complete=False)
    assert "contact: FORCE is True, declared False" in found
    assert "contact.contact_delete: in the catalog, not declared" in found
    assert pd.differences([contact], complete=False) == []


def test_declarations_compare_as_postgresql_deparses_them() -> None:
    (contact,) = pd.app_declarations("contacts")
    respelled = _with(
        contact, "contact_delete", using=rls.verified(f"{rls.ROLE} = 'admin' AND tenant_id = {rls.TENANT}")
    )
    assert pd.differences([respelled], complete=False) != []  # operands swapped: another expression
    # The catalog's own deparsed text, declared back, is the same policy.
    with connection.cursor() as cursor:
        found = pd.catalog(cursor)["contact"].policies["contact_delete"]
    assert pd.differences([_with(contact, "contact_delete", using=found.using)], complete=False) == []


def test_no_change_writes_no_migration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("makepolicymigration", "contacts", output_dir=str(tmp_path))
    assert "No changes in contacts's policies" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def _search_sources() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'crm_search_contact%%'")
        return dict(cursor.fetchall())


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("written_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_makepolicymigration_writes_the_literal_sql_of_a_changed_declaration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contacts.policies

    (before,) = contacts.policies.POLICIES
    # Viewers read shared contacts too, and managers may purge: SELECT and DELETE change.
    after = pd.declare_table_policy(rls.TablePolicy("contact", "scope_principal_id", viewers_see_shared=True))
    writers = rls.TablePolicy("contact", "scope_principal_id").write_condition()
    after = _with(after, "contact_delete", using=rls.verified(writers))
    monkeypatch.setattr(contacts.policies, "POLICIES", (after,))
    sources_before = _search_sources()
    assert set(sources_before) == {"crm_search_contact", "crm_search_contact_keyed"}

    call_command("makepolicymigration", "contacts", output_dir=str(tmp_path), name="viewers_read_shared")
    (written,) = tmp_path.iterdir()
    assert written.name.endswith("_viewers_read_shared.py") and written.name[:4].isdigit()
    text = written.read_text()
    assert "from crm.rls" not in text and "RunPolicySQL(" in text
    assert "CREATE POLICY contact_select ON contact FOR SELECT USING" in text
    assert "CREATE POLICY contact_delete ON contact FOR DELETE USING" in text
    assert "contact_insert" not in text and "contact_update" not in text  # unchanged: not touched
    assert "CREATE OR REPLACE FUNCTION public.crm_search_contact(query text)" in text
    assert "CREATE OR REPLACE FUNCTION public.crm_search_contact_keyed(query text)" in text
    compile(text, str(written), "exec")

    module = _load(written)
    (operation,) = module.Migration.operations
    assert isinstance(operation, RunPolicySQL)
    latest = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("contacts")
    assert module.Migration.dependencies == latest

    with connection.schema_editor() as editor:
        operation.database_forwards("contacts", editor, None, None)
    assert pd.differences([after], complete=False) == []
    with connection.cursor() as cursor:
        qual = rls.select_policy_qual(cursor, "contact")
    sources = _search_sources()
    assert all(f"AND ({qual})" in source for source in sources.values()), (
        "search functions kept the old policy"
    )
    assert sources != sources_before

    with connection.schema_editor() as editor:
        operation.database_backwards("contacts", editor, None, None)
    assert pd.differences([before], complete=False) == []
    assert _search_sources() == sources_before
    with connection.cursor() as cursor:
        cursor.execute("SELECT proconfig FROM pg_proc WHERE proname LIKE 'crm_search_contact%%'")
        assert {tuple(row[0]) for row in cursor.fetchall()} == {("search_path=pg_catalog, public, pg_temp",)}


def test_a_grant_the_catalog_does_not_hold_is_reported() -> None:
    (contact,) = pd.app_declarations("contacts")
    found = pd.differences([dataclasses.replace(contact, grant=frozenset({"SELECT"}))], complete=False)
    assert found == ["contact: the runtime role holds DELETE, INSERT, SELECT, UPDATE, declared SELECT"]


def test_a_new_table_gets_rls_policies_and_grants_from_its_declaration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import products.policies

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE product_note (id bigint PRIMARY KEY, tenant_id bigint, principal_id bigint)"
        )
    note = pd.declare_table_policy(rls.TablePolicy("product_note", "principal_id"))
    assert pd.differences([note], complete=False)[0] == "product_note: row level security is not enabled"
    monkeypatch.setattr(products.policies, "POLICIES", (*products.policies.POLICIES, note))

    call_command("makepolicymigration", "products", output_dir=str(tmp_path), name="product_note")
    (written,) = tmp_path.iterdir()
    text = written.read_text()
    assert "ALTER TABLE product_note ENABLE ROW LEVEL SECURITY;" in text
    assert 'GRANT DELETE, INSERT, SELECT, UPDATE ON product_note TO "{runtime_role}";' in text
    assert "product_distributor" not in text  # unchanged tables are left alone
    (operation,) = _load(written).Migration.operations

    with connection.schema_editor() as editor:
        operation.database_forwards("products", editor, None, None)
    assert pd.differences([note], complete=False) == []
    with rls.acting_as(None), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM product_note")  # granted, and nobody sees anything
        assert cursor.fetchone() == (0,)

    with connection.schema_editor() as editor:
        operation.database_backwards("products", editor, None, None)
    with connection.cursor() as cursor:
        state = pd.catalog(cursor).get("product_note")
        cursor.execute("SELECT has_table_privilege(%s, 'product_note', 'SELECT')", [rls.runtime_role()])
        assert cursor.fetchone() == (False,)
    assert state is None, "reversed: no RLS and no policy left on the table"
