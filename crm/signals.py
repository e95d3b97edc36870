"""Database hardening applied after every `migrate` (post_migrate), because migrations keep undoing it."""

from __future__ import annotations

from typing import Any

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
