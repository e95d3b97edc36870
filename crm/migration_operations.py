"""Migration operations for row level security (reversible, idempotent, role name read at run time), and
for dropping a foreign key's own index without locking writes.

Policies, grants and search functions are not built here from live code: each migration carries the
literal SQL it applied (RunPolicySQL), written once by `manage.py makepolicymigration` from the apps'
declarations (crm.policy_declarations), so replaying history reproduces every step."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.migrations.operations.base import Operation
from psycopg import sql

from crm import rls, text

RUNTIME_ROLE = "{runtime_role}"


class RunPolicySQL(migrations.RunSQL):
    """RunSQL carrying the literal SQL of a row level security step (policies, grants, search functions),
    frozen when its migration was written (`manage.py makepolicymigration`). The runtime role's name is
    the one thing that varies per deployment: each statement may name it as `{runtime_role}`, replaced
    with settings.DATABASE_RUNTIME_ROLE when the migration runs (forwards and backwards)."""

    def _run_sql(self, schema_editor: Any, sqls: Any) -> None:
        # RunSQL's own, with the role's name substituted (a string or a list of strings and (sql, params)).
        role = rls.runtime_role()
        for statement in [sqls] if isinstance(sqls, str) else sqls:
            text, params = (statement, None) if isinstance(statement, str) else statement
            if text != migrations.RunSQL.noop:
                schema_editor.execute(text.replace(RUNTIME_ROLE, role), params=params)


class CreateRuntimeRole(Operation):
    """The role requests run as: created when missing, never superuser, owner or BYPASSRLS."""

    reversible = True
    reduces_to_sql = False

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__name__, [], {})

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        role = rls.runtime_role()
        name, role_literal = sql.Identifier(role), sql.Literal(role)
        schema_editor.execute(
            sql.SQL("""
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {role}) THEN
                    CREATE ROLE {name} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
                END IF;
            EXCEPTION
                -- Roles are cluster-wide: another database of this server migrating at the same moment
                -- created it between the check and the CREATE.
                WHEN duplicate_object OR unique_violation THEN NULL;
            END
            $$;
            """)
            .format(role=role_literal, name=name)
            .as_string()
        )
        # A runtime role that could bypass RLS defeats the design: refuse to go on.
        schema_editor.execute(
            sql.SQL("""
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {role} AND (rolsuper OR rolbypassrls)) THEN
                    RAISE EXCEPTION {refusal};
                END IF;
                IF NOT pg_has_role(current_user, {role}, 'MEMBER') THEN
                    EXECUTE format('GRANT %I TO %I', {role}, current_user);
                END IF;
            END
            $$;
            """)
            .format(role=role_literal, refusal=sql.Literal(f"runtime role {role} is superuser or BYPASSRLS"))
            .as_string(),
            params=None,
        )
        schema_editor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {};").format(name).as_string())

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        # The role is cluster-wide and may serve other databases, so it is neither dropped nor stripped
        # with DROP OWNED (which also revokes its grants on shared objects, such as CONNECT on another
        # database), and the owner's membership in it stays. Only what it holds in this database goes:
        # the later migrations' reversals revoked their own grants; this sweeps up anything left.
        role = rls.runtime_role()
        name = sql.Identifier(role)
        for kind in ("TABLES", "SEQUENCES", "FUNCTIONS"):
            schema_editor.execute(
                sql.SQL("REVOKE ALL ON ALL {} IN SCHEMA public FROM {};")
                .format(sql.SQL(kind), name)
                .as_string()
            )
        schema_editor.execute(sql.SQL("REVOKE USAGE ON SCHEMA public FROM {};").format(name).as_string())

    def describe(self) -> str:
        return "Create the runtime role when missing"


def drop_foreign_key_index(
    model_name: str, name: str, field: models.ForeignKey[Any, Any], *, table: str, column: str, index: str
) -> migrations.SeparateDatabaseAndState:
    """`field` (the ForeignKey with db_index=False) in the state, and its automatic index `index` dropped
    CONCURRENTLY in the database; backwards builds it again CONCURRENTLY under the same name. Django's
    AlterField would DROP INDEX without CONCURRENTLY, blocking the table's writes while it waits for
    its lock. Use it in a migration with `atomic = False` (docs/migrations.md)."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX CONCURRENTLY IF EXISTS "{index}"',
                f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
            )
        ],
    )


class NameConflicts(Exception):
    """Stored rows that a name rule about to be added would refuse: listed for a person to resolve."""


def _shown(value: str) -> str:
    """A stored value quoted, its control and invisible characters spelled out (\\u200b)."""
    return "'" + text.REFUSED.sub(lambda m: f"\\u{ord(m.group()):04x}", value) + "'"


def name_conflicts(
    cursor: Any,
    table: str,
    column: str,
    *,
    scope: tuple[str, ...] | None,
    condition: str = "TRUE",
    tenant_column: str | None = "tenant_id",
    key: str = "crm_name_key",
    pattern: str | None = text.FORBIDDEN_PATTERN,
    characters: str = "control or invisible formatting characters",
) -> list[str]:
    """Lines reporting the rows of `table` whose `column` matches `pattern` (a PostgreSQL regex of the
    `characters` a CHECK is about to refuse; None: no such report), and, with `scope`, the groups of
    rows (`condition`) sharing one `key`(`column`) within `scope` (the unique index's leading columns;
    `key` is the SQL function computing the name key). Empty when nothing is in the way."""
    # `condition`, `tenant_column` and `key` are SQL written in a migration (an expression may stand for
    # the tenant), never input.
    tenant = sql.SQL(tenant_column or "NULL::bigint")
    names = {"tenant": tenant, "table": sql.Identifier(table), "column": sql.Identifier(column)}
    lines: list[str] = []
    if pattern is not None:
        cursor.execute(
            sql.SQL("SELECT {tenant}, id, {column} FROM {table} WHERE {column} ~ %s ORDER BY 1, 2")
            .format(**names)
            .as_string(),
            [pattern],
        )
        rows = cursor.fetchall()
        if rows:
            lines.append(f"{table}.{column}: {len(rows)} row(s) hold {characters}:")
            lines += [f"  tenant {t}: id {pk}: {_shown(value)}" for t, pk, value in rows]
    if scope is not None:
        group = sql.SQL(", ").join(
            [*map(sql.Identifier, scope), sql.SQL("{}({})").format(sql.SQL(key), sql.Identifier(column))]
        )
        cursor.execute(
            sql.SQL(
                "SELECT min({tenant}), array_agg(id ORDER BY id), array_agg({column} ORDER BY id)"
                " FROM {table} WHERE {condition} GROUP BY {group} HAVING count(*) > 1 ORDER BY 1, 2"
            )
            .format(**names, condition=sql.SQL(condition), group=group)
            .as_string()
        )
        groups = cursor.fetchall()
        if groups:
            lines.append(
                f"{table}.{column}: {len(groups)} group(s) of rows ({condition}) share one name key"
                " (crm_name_key: NFKC, case and spaces ignored"
                + ("" if key == "crm_name_key" else "; invisible characters too, case fully folded")
                + "):"
            )
            lines += [
                f"  tenant {t}: ids {', '.join(map(str, ids))}: {', '.join(map(_shown, values))}"
                for t, ids, values in groups
            ]
    return lines


class RefuseNameConflicts(Operation):
    """Fails the migration, with a report, when rows stand in the way of the name rules it adds: a
    character `pattern` matches in `column` (its CHECK), or rows whose `key`(`column`) clash within
    `scope` (its unique index). Nothing is merged or renamed: a person decides."""

    reversible = True
    reduces_to_sql = False

    def __init__(
        self,
        table: str,
        column: str,
        scope: tuple[str, ...] | None = None,
        condition: str = "TRUE",
        tenant_column: str | None = "tenant_id",
        key: str = "crm_name_key",
        pattern: str | None = text.FORBIDDEN_PATTERN,
        characters: str = "control or invisible formatting characters",
    ) -> None:
        self.table = table
        self.column = column
        self.scope = None if scope is None else tuple(scope)
        self.condition = condition
        self.tenant_column = tenant_column
        self.key = key
        self.pattern = pattern
        self.characters = characters

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {"scope": self.scope, "condition": self.condition}
        if self.tenant_column != "tenant_id":
            kwargs["tenant_column"] = self.tenant_column
        if self.key != "crm_name_key":
            kwargs["key"] = self.key
        if self.pattern != text.FORBIDDEN_PATTERN:
            kwargs["pattern"] = self.pattern
        if self.characters != "control or invisible formatting characters":
            kwargs["characters"] = self.characters
        return (self.__class__.__name__, [self.table, self.column], kwargs)

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        with schema_editor.connection.cursor() as cursor:
            lines = name_conflicts(
                cursor,
                self.table,
                self.column,
                scope=self.scope,
                condition=self.condition,
                tenant_column=self.tenant_column,
                key=self.key,
                pattern=self.pattern,
                characters=self.characters,
            )
        if lines:
            raise NameConflicts(
                "Rows stand in the way of the name rules (rename, correct or delete them, then migrate"
                " again):\n" + "\n".join(lines)
            )

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        pass

    def describe(self) -> str:
        return f"Refuse conflicting names in {self.table}.{self.column}"


def add_check_not_valid(
    model_name: str, constraint: models.CheckConstraint, *, table: str, check: str
) -> migrations.SeparateDatabaseAndState:
    """`constraint` in the state; in the database `CHECK (check) NOT VALID` (new writes only), to be
    validated by a later migration (`validate_constraint`), as docs/migrations.md asks."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AddConstraint(model_name=model_name, constraint=constraint)],
        database_operations=[
            migrations.RunSQL(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint.name}" CHECK ({check}) NOT VALID',
                f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{constraint.name}"',
            )
        ],
    )


def validate_constraint(table: str, name: str) -> migrations.RunSQL:
    """VALIDATE CONSTRAINT: scans the table without blocking its writes."""
    return migrations.RunSQL(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"', migrations.RunSQL.noop)


def replace_unique_index(
    model_name: str, old_name: str, constraint: models.UniqueConstraint, *, table: str, new: str, old: str
) -> migrations.SeparateDatabaseAndState:
    """The unique index `old_name` (on `old`: what follows `ON table`) replaced by `constraint`'s (on
    `new`) without blocking writes: the new one built CONCURRENTLY beside it, then the old one dropped
    CONCURRENTLY, so uniqueness holds throughout; backwards the same way round. Use it in a migration
    with `atomic = False`."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.RemoveConstraint(model_name=model_name, name=old_name),
            migrations.AddConstraint(model_name=model_name, constraint=constraint),
        ],
        database_operations=[
            migrations.RunSQL(
                f'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "{constraint.name}" ON "{table}" {new}',
                f'DROP INDEX CONCURRENTLY IF EXISTS "{constraint.name}"',
            ),
            migrations.RunSQL(
                f'DROP INDEX CONCURRENTLY IF EXISTS "{old_name}"',
                f'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "{old_name}" ON "{table}" {old}',
            ),
        ],
    )


def firm_key(table: str) -> migrations.RunSQL:
    """The unique index `<table>_id_in_firm` on (id, tenant_id), built CONCURRENTLY: what the composite
    foreign keys into `table` reference (a foreign key needs a unique index on exactly its columns).
    Use it in a migration with `atomic = False`."""
    return migrations.RunSQL(
        f'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "{table}_id_in_firm" ON "{table}" (id, tenant_id)',
        f'DROP INDEX CONCURRENTLY IF EXISTS "{table}_id_in_firm"',
    )


def add_foreign_key_in_firm(table: str, field: str, references: str) -> migrations.RunSQL:
    """`table`.`field`_id as the composite foreign key `<table>_<field>_in_firm`: (field_id, tenant_id)
    REFERENCES references (id, tenant_id), deferred like Django's own keys; NOT VALID (new writes only),
    validated by `foreign_key_in_firm` in a later migration."""
    return migrations.RunSQL(
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{field}_in_firm" FOREIGN KEY ("{field}_id", tenant_id)'
        f' REFERENCES "{references}" (id, tenant_id) DEFERRABLE INITIALLY DEFERRED NOT VALID',
        f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{table}_{field}_in_firm"',
    )


def foreign_key_in_firm(
    model_name: str, name: str, field: models.ForeignKey[Any, Any], *, table: str, references: str, old: str
) -> migrations.SeparateDatabaseAndState:
    """`field` (db_constraint=False) in the state; in the database the composite key
    `add_foreign_key_in_firm` added validated (a scan that blocks no writes), then Django's
    single-column key `old` dropped: the reference is held throughout. Backwards, `old` comes back."""
    constraint, column = f"{table}_{name}_in_firm", f"{name}_id"
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
        database_operations=[
            migrations.RunSQL(
                f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{constraint}"', migrations.RunSQL.noop
            ),
            migrations.RunSQL(
                f'ALTER TABLE "{table}" DROP CONSTRAINT "{old}"',
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{old}" FOREIGN KEY ("{column}")'
                f' REFERENCES "{references}" (id) DEFERRABLE INITIALLY DEFERRED',
            ),
        ],
    )


def fill_in_batches(table: str, assignments: str, *, missing: str, batch: int = 5000) -> migrations.RunPython:
    """Set `assignments` (SQL over the row's own columns) on the rows of `table` where `missing` holds,
    `batch` rows a transaction, for a column a trigger keeps from now on (the match keys, ADR 0029). The
    table's own triggers are skipped (pgtrigger.ignore, which only the owner may set: crm.signals): the
    value is derived, not a change, so the rows' version, updated_at and history stay as they were. Writers
    wait at most for one batch's row locks; a run stopped part way resumes where it stopped. Use it in a
    migration with `atomic = False`; `table`, `assignments` and `missing` are SQL written in a migration."""

    def fill(apps: Any, schema_editor: Any) -> None:
        from django.db import transaction

        connection = schema_editor.connection
        last = 0
        while True:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('pgtrigger.ignore', coalesce(array_agg(tgname)::text, '{}'), true)"
                    " FROM pg_trigger WHERE tgrelid = %s::regclass AND left(tgname, 10) = 'pgtrigger_'",
                    [table],
                )
                cursor.execute(
                    f"WITH batch AS (SELECT id FROM {table} WHERE ({missing}) AND id > %s ORDER BY id LIMIT %s)"  # noqa: S608
                    f" UPDATE {table} t SET {assignments} FROM batch WHERE t.id = batch.id RETURNING t.id",
                    [last, batch],
                )
                ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return
            last = max(ids)

    return migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)
