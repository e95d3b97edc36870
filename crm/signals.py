"""Around every `migrate`: a lock timeout while it runs, and hardening that migrations keep undoing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections

from crm.rls import runtime_role


def harden_trigger_ignore(using: str = "default", **kwargs: Any) -> None:
    """Make pgtrigger's ignore hook refuse the runtime role.

    pgtrigger lets a session skip triggers by naming them in the `pgtrigger.ignore` setting, which any
    role can set: the runtime role could switch off audit, reference checks, history and the refusal of
    hard deletes. pgtrigger re-creates this function whenever it installs a trigger, so it is replaced
    here, after every migrate. It also drops the EXCEPTION block (a subtransaction on every row written).
    """
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"""
            CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name NAME)
            RETURNS BOOLEAN LANGUAGE plpgsql STABLE AS $$
            BEGIN
                IF current_user = '{runtime_role()}' THEN
                    RETURN FALSE;  -- requests never skip a trigger
                END IF;
                RETURN trigger_name = ANY (coalesce(nullif(current_setting('pgtrigger.ignore', true), ''), '{{}}')::text[]);
            END;
            $$;
            """,
            None,
        )


def set_migration_lock_timeout(using: str = "default", **kwargs: Any) -> None:
    """Before `migrate` runs (pre_migrate): give up on a lock after settings.MIGRATION_LOCK_TIMEOUT.

    A DDL statement waiting for its lock behind a long transaction makes every later query of that table
    queue behind it too: an outage. Failing fast and running the migration again later is the safer
    deal (docs/migrations.md). Session-level, so it covers every migration of the run.
    """
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [str(settings.MIGRATION_LOCK_TIMEOUT)])


def reset_migration_lock_timeout(using: str = "default", **kwargs: Any) -> None:
    """After `migrate` (post_migrate): the connection goes on (tests, commands) with its usual timeout."""
    with connections[using].cursor() as cursor:
        cursor.execute("RESET lock_timeout")


def read_book_statistics(connection: Any, **kwargs: Any) -> None:
    """When a connection opens: the statistics the merge-or-plain choice reads (crm.api.book_merge), so a
    request never waits for them. A failure (a database still being created, statistics this role may not
    read) leaves the choice to its fixed rule."""
    from django.apps import apps
    from django.db import DatabaseError

    from crm.api.book_merge import read_book_statistics as read

    scoped = {
        model._meta.db_table: column
        for model in apps.get_models()
        if (column := getattr(model, "book_scope_column", None))
    }
    if not scoped or connection.alias != "default" or not connection.get_autocommit():
        return
    try:
        with connection.cursor() as cursor:
            read(cursor, scoped)
    except DatabaseError:
        pass
