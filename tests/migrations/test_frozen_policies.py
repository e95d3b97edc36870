"""No migration builds policy SQL from live code: none imports the policy builders of crm.rls, nor the
operations that read them when `migrate` runs. Each carries the literal SQL it applied (RunPolicySQL)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps

from crm.migration_lint import project_app_labels

BUILDERS = {"TablePolicy", "TENANT", "ROLE", "USER", "BOOK", "CONTEXT_OK", "verified", "policies_sql"}
# crm.rls's policy and search-function builders live in these; runtime_role (crm.rls.context) may be imported.
BUILDER_MODULES = {"crm.rls.policy", "crm.rls.search"}
LIVE_OPERATIONS = {
    "ApplyRowLevelSecurity",
    "CreateSearchFunction",
    "CreateKeyedSearchFunction",
    "RequireVerifiedContext",
    "GrantRuntime",
}


def migration_files() -> list[Path]:
    files = []
    for label in project_app_labels():
        files += sorted((Path(apps.get_app_config(label).path) / "migrations").glob("[0-9]*.py"))
    return files


def forbidden_uses(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in BUILDER_MODULES:
            found.append(f"from {node.module} import …")
        elif isinstance(node, ast.ImportFrom) and node.module == "crm.rls":
            found += [
                f"from crm.rls import {a.name}"
                for a in node.names
                if a.name in BUILDERS | {"policy", "search", "*"}
            ]
        elif isinstance(node, ast.ImportFrom) and node.module == "crm.migration_operations":
            found += [f"import {a.name}" for a in node.names if a.name in LIVE_OPERATIONS]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "crm"
            and any(a.name == "rls" for a in node.names)
        ):
            found.append("from crm import rls")
        elif isinstance(node, ast.Import) and any(
            a.name == "crm.rls" or a.name.startswith("crm.rls.") for a in node.names
        ):
            found.append("import crm.rls")
        elif isinstance(node, ast.Attribute) and node.attr in BUILDERS | LIVE_OPERATIONS:
            found.append(f".{node.attr}")
    return found


def test_the_scan_finds_a_builder() -> None:
    assert forbidden_uses("from crm.rls import TENANT, runtime_role\n") == ["from crm.rls import TENANT"]
    assert forbidden_uses("from crm.migration_operations import ApplyRowLevelSecurity\n")
    assert forbidden_uses("import crm.rls\nx = crm.rls.TablePolicy\n")
    assert forbidden_uses("def f():\n    from crm.rls import runtime_role\n") == []
    assert forbidden_uses("from crm.rls.policy import TablePolicy\n")
    assert forbidden_uses("from crm.rls import policy\n")
    assert forbidden_uses("from crm.rls.context import runtime_role\n") == []


def test_no_migration_builds_policy_sql_from_live_code() -> None:
    files = migration_files()
    assert len(files) > 50
    offenders = {str(path): uses for path in files if (uses := forbidden_uses(path.read_text()))}
    assert not offenders, f"migrations importing policy builders (freeze their SQL): {offenders}"


def _policy_statements(label: str, name: str, table: str, command: str) -> tuple[list[str], list[str]]:
    """The CREATE POLICY <table>_<command> statements of a migration, forwards and backwards."""
    from django.db.migrations.loader import MigrationLoader

    from crm.migration_operations import RunPolicySQL

    migration = MigrationLoader(None, ignore_no_migrations=True).disk_migrations[(label, name)]
    prefix = f"CREATE POLICY {table}_{command} ON {table} "
    found: tuple[list[str], list[str]] = ([], [])
    for operation in migration.operations:
        if isinstance(operation, RunPolicySQL):
            found[0].extend(s for s in operation.sql if s.startswith(prefix))
            found[1].extend(s for s in operation.reverse_sql if s.startswith(prefix))
    return found


PURGES = [
    ("organizations", "0002_row_level_security", "0005_purge_for_admins_only", "organization"),
    ("organizations", "0002_row_level_security", "0005_purge_for_admins_only", "customer_distributor"),
    ("contacts", "0003_row_level_security", "0006_purge_for_admins_only", "contact"),
    ("interactions", "0002_row_level_security", "0005_purge_for_admins_only", "interaction"),
    ("opportunities", "0002_row_level_security", "0006_purge_for_admins_only", "opportunity_product"),
    ("products", "0002_row_level_security", "0005_purge_for_admins_only", "product"),
]


@pytest.mark.parametrize(("label", "initial", "purge", "table"), PURGES)
def test_the_purge_migration_introduces_the_admin_only_delete_policy(
    label: str, initial: str, purge: str, table: str
) -> None:
    """History as it happened: RLS first let every writer DELETE (TablePolicy.write_condition); the purge
    migration narrowed DELETE to admins, and reversing it restores the writers' policy."""
    (created,), _ = _policy_statements(label, initial, table, "delete")
    (update,), _ = _policy_statements(label, initial, table, "update")
    writers = update.split(" USING (", 1)[1].split(") WITH CHECK (", 1)[0]
    assert created.endswith(f"FOR DELETE USING ({writers});"), "RLS's DELETE was the writers' condition"
    assert "IN ('admin', 'manager')" in created
    (narrowed,), (restored,) = _policy_statements(label, purge, table, "delete")
    assert "IN ('admin', 'manager')" not in narrowed and narrowed.endswith("= 'admin');")
    assert restored == created
