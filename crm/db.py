"""Builders for the PL/pgSQL that keeps cross-row rules in the database (used by pgtrigger triggers).

Every check runs as the invoking role, so under row level security a referenced row the writer cannot
see is reported exactly like one that does not exist: no existence leak through foreign keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import pgtrigger
from django.db import models
from psycopg import sql

from crm.sql_names import plain


@dataclass(frozen=True)
class Ref:
    """A foreign key column that must point at a live, visible row of the same tenant.

    The database's composite foreign key `(x_id, tenant_id) → (id, tenant_id)` (the `…_in_firm`
    constraints, docs/scaling.md) holds the tenant whatever writes the row; this check adds what a
    constraint cannot: the row is live and visible to the writer (row level security), of the right type.

    `types` restricts the referenced organization's type; `copy` assigns columns of the referenced row
    to this row (scope keys), in which case the lookup runs on every write so the copy never goes stale.
    """

    column: str
    table: str
    types: tuple[str, ...] = ()
    type_label: str = ""
    copy: tuple[tuple[str, str], ...] = ()

    @property
    def field(self) -> str:
        return self.column.removesuffix("_id")

    def plpgsql(self) -> str:
        column, field = plain(self.column), sql.Literal(self.column)
        when = sql.SQL("NEW.{column} IS NOT NULL").format(column=column)
        if not self.copy:
            when += sql.SQL(" AND (TG_OP = 'INSERT' OR NEW.{column} IS DISTINCT FROM OLD.{column})").format(
                column=column
            )
        columns: list[sql.Composable] = [sql.SQL("type" if self.types else "NULL::text AS type")]
        columns += [
            sql.SQL("{source} AS copy_{target}").format(source=plain(source), target=plain(target))
            for target, source in self.copy
        ]
        type_check: sql.Composable = sql.SQL("")
        if self.types:
            type_check = sql.SQL("""
            IF ref.type NOT IN ({allowed}) THEN
                RAISE EXCEPTION {message}
                    USING ERRCODE = 'check_violation', COLUMN = {field}, TABLE = TG_TABLE_NAME;
            END IF;""").format(
                allowed=sql.SQL(", ").join(sql.Literal(t) for t in self.types),
                message=sql.Literal(f"{self.field} must be {self.type_label}"),
                field=field,
            )
        copies = sql.SQL("").join(
            sql.SQL("\n            NEW.{target} := ref.copy_{target};").format(target=plain(target))
            for target, _ in self.copy
        )
        # A row may keep pointing at a row deleted since (it existed); a new or changed reference, or a
        # row being restored, must point at a live one.
        unchanged = sql.SQL(
            "(TG_OP = 'UPDATE' AND NEW.{column} = OLD.{column}"
            " AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL))"
        ).format(column=column)
        return (
            sql.SQL("""
        IF {when} THEN
            SELECT {columns} INTO ref FROM {table}
             WHERE id = NEW.{column} AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR {unchanged});
            IF NOT FOUND THEN
                RAISE EXCEPTION {message}, NEW.{column}
                    USING ERRCODE = 'foreign_key_violation', COLUMN = {field}, TABLE = TG_TABLE_NAME;
            END IF;{type_check}{copies}
        END IF;""")
            .format(
                when=when,
                columns=sql.SQL(", ").join(columns),
                table=plain(self.table),
                column=column,
                unchanged=unchanged,
                message=sql.Literal(f"{self.field} % does not exist"),
                field=field,
                type_check=type_check,
                copies=copies,
            )
            .as_string()
        )


def immutable(*columns: str) -> str:
    """PL/pgSQL refusing a change of the given columns after insert."""
    return "".join(
        f"""
        IF TG_OP = 'UPDATE' AND NEW.{column} IS DISTINCT FROM OLD.{column} THEN
            RAISE EXCEPTION '{column.removesuffix("_id")} cannot change once set'
                USING ERRCODE = 'check_violation', COLUMN = '{column}', TABLE = TG_TABLE_NAME;
        END IF;"""
        for column in columns
    )


def member_check(column: str) -> str:
    """PL/pgSQL checking that a user column names a member of the row's tenant."""
    return f"""
        IF NEW.{column} IS NOT NULL
           AND (TG_OP = 'INSERT' OR NEW.{column} IS DISTINCT FROM OLD.{column})
           AND NOT crm_is_member(NEW.{column}, NEW.tenant_id) THEN
            RAISE EXCEPTION '{column.removesuffix("_id")} % does not exist', NEW.{column}
                USING ERRCODE = 'foreign_key_violation', COLUMN = '{column}', TABLE = TG_TABLE_NAME;
        END IF;"""


def references_trigger(
    *refs: Ref, extra: str = "", declare: tuple[tuple[str, str], ...] = ()
) -> pgtrigger.Trigger:
    """One BEFORE INSERT/UPDATE trigger checking every reference of a table, then `extra` rules.

    Named so that it fires after `audit_columns` (PostgreSQL fires same-event triggers by name), which
    fills tenant_id first.
    """
    body = "".join(ref.plpgsql() for ref in refs)
    return pgtrigger.Trigger(
        name="check_references",
        operation=pgtrigger.Insert | pgtrigger.Update,
        when=pgtrigger.Before,
        declare=[("ref", "record"), *declare],
        func=f"{body}{extra}\n        RETURN NEW;",
    )


def history_trigger(scope_column: str | None, *, viewers_see_shared: bool = False) -> pgtrigger.Trigger:
    """AFTER trigger recording every insert, update, soft delete, restore and purge into `history`.

    crm_history_write() (crm/migrations) is SECURITY DEFINER: the runtime role reads history under RLS
    but cannot write it except through this trigger.
    """
    scope = f"'{scope_column}'" if scope_column else "NULL"
    viewers = "true" if viewers_see_shared else "false"
    return pgtrigger.Trigger(
        name="record_history",
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        when=pgtrigger.After,
        func=f"""
        PERFORM crm_history_write(
            TG_OP, TG_TABLE_NAME,
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END,
            {scope}, {viewers}
        );
        RETURN NULL;""",
    )


def merge_checks(table: str) -> list[models.CheckConstraint]:
    """The single-row rules of a mergeable table's `merged_into` (ADR 0029): never itself, and a merged row
    is deleted (so it is in no list, and a restore, which would clear deleted_at, is refused)."""
    return [
        models.CheckConstraint(
            condition=~models.Q(merged_into=models.F("id")), name=f"{table}_merged_into_not_self"
        ),
        models.CheckConstraint(
            condition=models.Q(merged_into__isnull=True) | models.Q(deleted_at__isnull=False),
            name=f"{table}_merged_is_deleted",
        ),
    ]


def match_keys_trigger(**keys: str) -> pgtrigger.Trigger:
    """BEFORE trigger keeping a mergeable table's match keys (ADR 0029): each column of `keys` set to its
    SQL expression of NEW on every insert and update, whatever the writer sent, so the duplicates list
    reads stored keys instead of folding every name of the firm on every page. Nothing else writes them
    (a migration's backfill and generate_data set them with triggers off, by the same expressions)."""
    assignments = "".join(
        f"\n        NEW.{plain(column).as_string()} := {expression};" for column, expression in keys.items()
    )
    return pgtrigger.Trigger(
        name="match_keys",
        operation=pgtrigger.Insert | pgtrigger.Update,
        when=pgtrigger.Before,
        func=f"{assignments}\n        RETURN NEW;\n",
    )


def merge_trigger(
    table: str, *, same: tuple[str, str], follows: str = "", refuse: str = "", refusal: str = ""
) -> pgtrigger.Trigger:
    """BEFORE trigger holding a mergeable table's cross-row merge rules (ADR 0029): `merged_into` names a
    live row of the same firm that the writer sees, agreeing on `same` (a column and the message when it
    does not); `refuse` (a condition on NEW) names rows that are never merged; once merged, a row stays
    merged (it may be pointed on to the survivor of a later merge, never back to none). With `follows` (the
    table `same` references, itself mergeable), the survivor may also be of the row that one was merged
    into: a contact merged into its twin while their organizations merge.

    Named so that it fires after `audit_columns` (which fills tenant_id) and before `check_references`.
    """
    column, message = same
    followed = ""
    if follows:
        followed = f"""
               AND NOT EXISTS (SELECT 1 FROM {plain(follows).as_string()}
                                WHERE id = NEW.{plain(column).as_string()} AND tenant_id = NEW.tenant_id
                                  AND merged_into_id = survivor.same)"""  # noqa: S608
    refused = ""
    if refuse:
        refused = f"""
            IF {refuse} THEN
                RAISE EXCEPTION {sql.Literal(refusal).as_string()}
                    USING ERRCODE = 'check_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;
            END IF;"""
    return pgtrigger.Trigger(
        name="check_merge",
        operation=pgtrigger.Insert | pgtrigger.Update,
        when=pgtrigger.Before,
        declare=[("survivor", "record")],
        func=f"""
        IF NEW.merged_into_id IS NOT NULL
           AND (TG_OP = 'INSERT' OR NEW.merged_into_id IS DISTINCT FROM OLD.merged_into_id) THEN{refused}
            SELECT {plain(column).as_string()} AS same INTO survivor FROM {plain(table).as_string()}
             WHERE id = NEW.merged_into_id AND tenant_id = NEW.tenant_id AND deleted_at IS NULL;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'merged_into % does not exist', NEW.merged_into_id
                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;
            END IF;
            IF survivor.same IS DISTINCT FROM NEW.{plain(column).as_string()}{followed} THEN
                RAISE EXCEPTION {sql.Literal(message).as_string()}
                    USING ERRCODE = 'check_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.merged_into_id IS NOT NULL AND NEW.merged_into_id IS NULL THEN
            RAISE EXCEPTION 'a merged row stays merged'
                USING ERRCODE = 'check_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;
        END IF;
        RETURN NEW;""",  # noqa: S608
    )
