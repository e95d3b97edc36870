"""Migration safety lint: squawk and django-migration-linter over every non-initial migration.

The rules, the exceptions and their reasons live in crm/migration_lint.toml; docs/migrations.md says
what each convention protects. `manage.py lint_migrations` (and so `make migration-lint`) runs this.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations import Migration
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django_migration_linter import MigrationLinter
from django_migration_linter.sql_analyser import PostgresqlAnalyser
from django_migration_linter.sql_analyser.analyser import analyse_sql_statements

CONFIG_PATH = Path(__file__).with_name("migration_lint.toml")


@dataclass(frozen=True)
class Finding:
    tool: str  # "squawk" or "django_migration_linter"
    rule: str
    message: str
    line: int | None = None


@dataclass
class Result:
    """One migration's findings: those the config excuses, and the rest (which fail the lint)."""

    label: str  # "<app>.<migration>"
    failures: list[Finding] = field(default_factory=list)
    excused: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Config:
    pg_version: str
    squawk_excluded: dict[str, str]
    linter_excluded: list[str]
    # {"<app>.<migration>": {"<rule>": "<reason>"}} per tool
    ignores: dict[str, dict[str, dict[str, str]]]

    @classmethod
    def load(cls, path: Path = CONFIG_PATH) -> Config:
        data = tomllib.loads(path.read_text())
        squawk, linter = data["squawk"], data["django_migration_linter"]
        return cls(
            pg_version=str(squawk["pg_version"]),
            squawk_excluded=dict(squawk.get("excluded_rules", {})),
            linter_excluded=list(linter.get("excluded_tests", [])),
            ignores={
                "squawk": dict(squawk.get("ignore", {})),
                "django_migration_linter": dict(linter.get("ignore", {})),
            },
        )

    def problems(self) -> list[str]:
        """Exceptions without a reason: the file's point is the reasons."""
        found = [f"squawk.excluded_rules.{r}" for r, why in self.squawk_excluded.items() if not why.strip()]
        for tool, per_migration in self.ignores.items():
            for label, rules in per_migration.items():
                found += [f"{tool}.ignore.{label}.{r}" for r, why in rules.items() if not str(why).strip()]
        return [f"{name}: an exception needs its reason" for name in found]


def project_app_labels() -> list[str]:
    """The project's own apps that have migrations (Django's and third-party apps' are not ours to lint;
    the workbench has none)."""
    base = Path(settings.BASE_DIR).resolve()
    return [
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(base)
        and ".venv" not in Path(config.path).parts
        and (Path(config.path) / "migrations").is_dir()
    ]


def migrations_to_lint(loader: MigrationLoader) -> Iterator[tuple[Migration, bool]]:
    """Every migration of the project's apps, in (app, name) order, with whether it is linted.

    Initial migrations (`initial = True`) are not linted: they create their app's tables, on a database
    that has none of them yet, so nothing they do can lock or break rows in use. Everything after them
    runs on live tables and is linted.
    """
    labels = set(project_app_labels())
    for (app_label, _name), migration in sorted(loader.disk_migrations.items()):
        if app_label in labels:
            yield migration, not migration.initial


def migration_sql(migration: Migration, state: ProjectState) -> str:
    """What `manage.py sqlmigrate` prints for `migration` applied on top of `state`: its statements,
    wrapped in BEGIN/COMMIT when it runs in a transaction (so squawk sees the transaction too)."""
    with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as schema_editor:
        migration.apply(state.clone(), schema_editor, collect_sql=True)
    statements = list(schema_editor.collected_sql)
    if migration.atomic and connection.features.can_rollback_ddl:
        statements = ["BEGIN;", *statements, "COMMIT;"]
    return "\n".join(statements) + "\n"


def squawk_executable() -> str:
    """squawk-cli installs its binary next to the venv's python."""
    beside_python = Path(sys.executable).with_name("squawk")
    found = str(beside_python) if beside_python.exists() else shutil.which("squawk")
    if not found:
        raise RuntimeError("squawk is not installed (squawk-cli, a dev dependency: `make install`)")
    return found


def run_squawk(sql: str, *, label: str, config: Config) -> list[Finding]:
    command = [squawk_executable(), "--pg-version", config.pg_version, "--reporter", "json"]
    command += ["--stdin-filepath", label]
    if config.squawk_excluded:
        command += ["--exclude", ",".join(sorted(config.squawk_excluded))]
    done = subprocess.run(command, input=sql, capture_output=True, text=True, check=False)  # noqa: S603
    output = done.stdout.strip()
    if not output.startswith("["):  # squawk could not run, or could not parse the SQL
        raise RuntimeError(f"squawk failed on {label}: {done.stderr or output}")
    return [Finding("squawk", v["rule_name"], v["message"], int(v["line"]) + 1) for v in json.loads(output)]


def run_django_migration_linter(
    sql: str, migration: Migration, *, linter: MigrationLinter, config: Config
) -> list[Finding]:
    """Its SQL checks on the same statements, and its RunSQL/RunPython checks (reversibility,
    model imports). Warnings count as failures: every one of them is about locks or reversibility."""
    linter.exclude_migration_tests = config.linter_excluded
    errors, _, warnings = analyse_sql_statements(PostgresqlAnalyser, sql.splitlines(), config.linter_excluded)
    data_errors, _, data_warnings = linter.analyse_data_migration(migration)
    return [
        Finding("django_migration_linter", issue.code, issue.message)
        for issue in [*errors, *warnings, *data_errors, *data_warnings]
    ]


# squawk's own ignore comments bypass crm/migration_lint.toml, so only one is allowed: before dropping a
# function pgtrigger left behind (a trigger function, which no client can call; docs/migrations.md).
ALLOWED_INLINE_IGNORE = re.compile(
    r"-- squawk-ignore ban-drop-function\n(?:DROP FUNCTION pgtrigger_\w+\(\);)$", re.MULTILINE
)


def inline_ignores(sql: str) -> list[Finding]:
    """A `-- squawk-ignore…` comment other than the one allowed is itself a finding."""
    allowed = {m.start() for m in ALLOWED_INLINE_IGNORE.finditer(sql)}
    return [
        Finding(
            "squawk",
            "inline-ignore",
            "only `-- squawk-ignore ban-drop-function` before dropping a "
            "pgtrigger function is allowed; add an exception to crm/migration_lint.toml instead",
            sql.count("\n", 0, m.start()) + 1,
        )
        for m in re.finditer(r"--\s*squawk-ignore", sql)
        if m.start() not in allowed
    ]


def lint_migration(
    migration: Migration, state: ProjectState, *, linter: MigrationLinter, config: Config
) -> Result:
    label = f"{migration.app_label}.{migration.name}"
    sql = migration_sql(migration, state)
    result = Result(label)
    findings = run_squawk(sql, label=label, config=config) + inline_ignores(sql)
    findings += run_django_migration_linter(sql, migration, linter=linter, config=config)
    for finding in findings:
        excused = finding.rule in config.ignores[finding.tool].get(label, {})
        (result.excused if excused else result.failures).append(finding)
    return result


def stale_ignores(config: Config, results: list[Result], known: set[str]) -> list[str]:
    """Exceptions that excuse nothing (the migration is gone, or no longer breaks that rule)."""
    used = {(f.tool, r.label, f.rule) for r in results for f in r.excused}
    stale = []
    for tool, per_migration in config.ignores.items():
        for label, rules in per_migration.items():
            if label not in known:
                stale.append(f"{tool}.ignore.{label}: no such migration")
                continue
            stale += [
                f"{tool}.ignore.{label}.{rule}: excuses nothing any more, remove it"
                for rule in rules
                if (tool, label, rule) not in used
            ]
    return stale


def new_linter() -> MigrationLinter:
    return MigrationLinter(no_cache=True, no_output=True)


def state_before(loader: MigrationLoader, migration: Migration) -> ProjectState:
    return loader.project_state((migration.app_label, migration.name), at_end=False)


def summary_counts(results: list[Result]) -> dict[str, Any]:
    return {
        "linted": len(results),
        "failed": sum(1 for r in results if r.failures),
        "excused": sum(len(r.excused) for r in results),
    }
