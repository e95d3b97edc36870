"""No migration builds policy SQL from live code: none imports the policy builders of crm.rls, nor the
operations that read them when `migrate` runs. Each carries the literal SQL it applied (RunPolicySQL)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

from crm.migration_lint import project_app_labels

BUILDERS = {"TablePolicy", "TENANT", "ROLE", "USER", "BOOK", "CONTEXT_OK", "verified", "policies_sql"}
LIVE_OPERATIONS = {
    "ApplyRowLevelSecurity",
    "CreateSearchFunction",
    "CreateKeyedSearchFunction",
    "RequireVerifiedContext",
}


def migration_files() -> list[Path]:
    files = []
    for label in project_app_labels():
        files += sorted((Path(apps.get_app_config(label).path) / "migrations").glob("[0-9]*.py"))
    return files


def forbidden_uses(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "crm.rls":
            found += [
                f"from crm.rls import {a.name}" for a in node.names if a.name in BUILDERS or a.name == "*"
            ]
        elif isinstance(node, ast.ImportFrom) and node.module == "crm.migration_operations":
            found += [f"import {a.name}" for a in node.names if a.name in LIVE_OPERATIONS]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "crm"
            and any(a.name == "rls" for a in node.names)
        ):
            found.append("from crm import rls")
        elif isinstance(node, ast.Import) and any(a.name == "crm.rls" for a in node.names):
            found.append("import crm.rls")
        elif isinstance(node, ast.Attribute) and node.attr in BUILDERS | LIVE_OPERATIONS:
            found.append(f".{node.attr}")
    return found


def test_the_scan_finds_a_builder() -> None:
    assert forbidden_uses("from crm.rls import TENANT, runtime_role\n") == ["from crm.rls import TENANT"]
    assert forbidden_uses("from crm.migration_operations import ApplyRowLevelSecurity\n")
    assert forbidden_uses("import crm.rls\nx = crm.rls.TablePolicy\n")
    assert forbidden_uses("def f():\n    from crm.rls import runtime_role\n") == []


def test_no_migration_builds_policy_sql_from_live_code() -> None:
    files = migration_files()
    assert len(files) > 50
    offenders = {str(path): uses for path in files if (uses := forbidden_uses(path.read_text()))}
    assert not offenders, f"migrations importing policy builders (freeze their SQL): {offenders}"
