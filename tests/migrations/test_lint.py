"""The migration lint catches the unsafe shapes of a new migration and passes the conventional ones.

Each test lints a migration made up here, on top of the project's latest migrations, exactly as
`manage.py lint_migrations` lints the real ones (squawk on its SQL, django-migration-linter on both).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader

from crm import migration_lint as lint

# The rules behind the conventions of docs/migrations.md: never switched off for every migration.
CONVENTION_RULES = {
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
    "ban-concurrent-index-creation-in-transaction",
    "constraint-missing-not-valid",
    "adding-foreign-key-constraint",
    "adding-field-with-default",
    "ban-drop-column",
    "ban-drop-default",
    "renaming-column",
    "renaming-table",
    "changing-column-type",
    "adding-required-field",
    "disallowed-unique-constraint",
}


@pytest.fixture
def sql_only(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """A connection to the test database without a wrapping transaction (concurrent index operations
    refuse to be collected inside one). Nothing is executed: the SQL is only collected."""
    with django_db_blocker.unblock():
        yield


def lint_new(*operations: Any, atomic: bool = True) -> set[tuple[str, str]]:
    """(tool, rule) of every failing finding for a new organizations migration with `operations`."""
    loader = MigrationLoader(connection, replace_migrations=False)
    (leaf,) = loader.graph.leaf_nodes("organizations")
    migration = type(
        "Migration", (migrations.Migration,), {"atomic": atomic, "operations": list(operations)}
    )("0999_new", "organizations")
    migration.dependencies = [leaf]
    state = loader.project_state(leaf, at_end=True)
    result = lint.lint_migration(migration, state, linter=lint.new_linter(), config=lint.Config.load())
    return {(f.tool, f.rule) for f in result.failures}


def index(name: str) -> models.Index:
    return models.Index(fields=["phone"], name=name)


def test_a_plain_add_index_on_an_existing_table_fails(sql_only: None) -> None:
    failures = lint_new(migrations.AddIndex("organization", index("organization_phone_plain")))
    assert ("squawk", "require-concurrent-index-creation") in failures
    assert ("django_migration_linter", "CREATE_INDEX") in failures


def test_add_index_concurrently_in_a_non_atomic_migration_passes(sql_only: None) -> None:
    assert (
        lint_new(AddIndexConcurrently("organization", index("organization_phone_cic")), atomic=False) == set()
    )


def test_a_concurrent_index_inside_a_transaction_fails(sql_only: None) -> None:
    operation = migrations.RunSQL(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS organization_phone_tx ON organization (phone)",
        "DROP INDEX CONCURRENTLY IF EXISTS organization_phone_tx",
    )
    assert ("squawk", "ban-concurrent-index-creation-in-transaction") in lint_new(operation)


def test_a_check_constraint_added_valid_fails(sql_only: None) -> None:
    constraint = models.CheckConstraint(condition=models.Q(name__gt=""), name="organization_name_set")
    assert ("squawk", "constraint-missing-not-valid") in lint_new(
        migrations.AddConstraint("organization", constraint)
    )


def test_a_check_constraint_added_not_valid_then_validated_passes(sql_only: None) -> None:
    add = migrations.RunSQL(
        "ALTER TABLE organization ADD CONSTRAINT organization_name_set CHECK (name <> '') NOT VALID",
        "ALTER TABLE organization DROP CONSTRAINT IF EXISTS organization_name_set",
    )
    validate = migrations.RunSQL(
        "ALTER TABLE organization VALIDATE CONSTRAINT organization_name_set", migrations.RunSQL.noop
    )
    assert lint_new(add) == set()
    assert lint_new(validate) == set()


def test_a_migration_without_its_reverse_fails(sql_only: None) -> None:
    failures = lint_new(migrations.RunSQL("COMMENT ON TABLE organization IS 'accounts'"))
    assert ("django_migration_linter", "RUNSQL_REVERSIBLE") in failures


def test_adding_a_column_with_a_python_default_fails_and_with_db_default_passes(sql_only: None) -> None:
    python_default = migrations.AddField("organization", "rank", models.IntegerField(default=0))
    db_default = migrations.AddField("organization", "rank", models.BigIntegerField(db_default=0))
    assert ("squawk", "ban-drop-default") in lint_new(python_default)
    assert lint_new(db_default) == set()


def test_dropping_a_function_fails_unless_it_is_a_trigger_function_pgtrigger_left(sql_only: None) -> None:
    def drop(name: str, ignore: str = "") -> migrations.RunSQL:
        return migrations.RunSQL(f"{ignore}DROP FUNCTION {name}();", migrations.RunSQL.noop)

    allowed = "-- squawk-ignore ban-drop-function\n"
    assert ("squawk", "ban-drop-function") in lint_new(drop("crm_member_ids"))
    assert lint_new(drop("pgtrigger_audit_columns_00000", allowed)) == set()
    # The same comment cannot excuse dropping a function clients call, nor silence another rule.
    assert ("squawk", "inline-ignore") in lint_new(drop("crm_member_ids", allowed))
    other = migrations.RunSQL(
        "-- squawk-ignore ban-drop-column\nALTER TABLE organization DROP COLUMN phone;",
        migrations.RunSQL.noop,
    )
    assert ("squawk", "inline-ignore") in lint_new(other)


def test_no_convention_rule_is_switched_off_for_every_migration() -> None:
    config = lint.Config.load()
    assert CONVENTION_RULES.isdisjoint(config.squawk_excluded)
    assert config.linter_excluded == []


def test_every_exception_in_the_config_gives_its_reason() -> None:
    assert lint.Config.load().problems() == []


def test_an_exception_that_excuses_nothing_is_reported() -> None:
    config = lint.Config(
        pg_version="16.0",
        squawk_excluded={},
        linter_excluded=[],
        ignores={
            "squawk": {"organizations.0002_row_level_security": {"ban-drop-column": "why"}},
            "django_migration_linter": {"organizations.9999_gone": {"DROP_COLUMN": "why"}},
        },
    )
    used = lint.Result("organizations.0002_row_level_security")
    stale = lint.stale_ignores(config, [used], {"organizations.0002_row_level_security"})
    assert stale == [
        "squawk.ignore.organizations.0002_row_level_security.ban-drop-column: excuses nothing any more, remove it",
        "django_migration_linter.ignore.organizations.9999_gone: no such migration",
    ]
