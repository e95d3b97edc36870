"""Raw SQL for the integrity suite: writes that bypass Django, as the runtime role or the owner.

Every refusal asserted here comes from PostgreSQL itself (CHECK, unique index, trigger), so it holds for
the API, the admin and any SQL a bug or an operator might run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm import rls
from crm.models import User

# Values for the NOT NULL columns Django fills in Python (CharField blank=True, BooleanField defaults).
DEFAULTS: dict[str, dict[str, Any]] = {
    "organization": {
        "type": "customer",
        "priority": "C",
        "segment": "",
        "status": "active",
        "phone": "",
        "email": "",
        "website": "",
        "street": "",
        "city": "",
        "state": "",
        "postal_code": "",
        "country": "US",
        "notes": "",
    },
    "distributor_authorization": {"notes": ""},
    "customer_distributor": {"is_primary": False},
    "principal_assignment": {},
    "contact": {
        "first_name": "Pat",
        "last_name": "Quinn",
        "title": "",
        "role": "other",
        "email": "",
        "phone": "",
        "mobile": "",
        "is_primary": False,
        "notes": "",
    },
    "product": {
        "name": "Crinkle-Cut Fries",
        "category": "frozen",
        "status": "active",
        "pack_size": "6/5 lb",
        "unit_of_measure": "case",
        "description": "",
    },
    "product_distributor": {"vendor_item_number": "V-1"},
    "opportunity": {
        "name": "Fries at the bistro",
        "stage": "new_lead",
        "status": "active",
        "priority": "medium",
        "weekly_case_volume": 10,
        "probability": None,  # NULL: the stage's figure (ADR 0032)
        "win_reason": "",
        "loss_reason": "",
        "next_action": "",
        "notes": "",
    },
    "opportunity_product": {"notes": ""},
    "opportunity_contact": {"role": "other"},
    "interaction": {
        "type": "call",
        "subject": "Menu review call",
        "notes": "",
        "outcome": "",
        "sentiment": "",
        "follow_up_done": False,
    },
    "sample": {"status": "requested", "feedback": "", "sentiment": ""},
    "sample_line": {"quantity": 1, "unit": "case"},
    "task": {"title": "Call the chef back", "notes": "", "priority": "normal", "status": "open"},
}


def run(user: User | None, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Execute `sql` as the runtime role acting for `user`, or as the owner (outside RLS) when None."""
    if user is None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    with rls.acting_as(user.pk), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def insert(user: User | None, table: str, **values: Any) -> int:
    """INSERT one row with the table's defaults overridden by `values`; returns its id."""
    row = {**DEFAULTS[table], **values}
    if table == "interaction":
        row.setdefault("occurred_at", timezone.now())
    if table == "task":
        row.setdefault("due_on", timezone.localdate())
    columns = ", ".join(row)
    placeholders = ", ".join(["%s"] * len(row))
    result = run(
        user, f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id", list(row.values())
    )
    return int(result[0][0])


def update(user: User | None, table: str, pk: int, **values: Any) -> None:
    """UPDATE one row; fails the test if the row was not visible (RLS would make it a silent no-op)."""
    assignments = ", ".join(f"{column} = %s" for column in values)
    result = run(user, f"UPDATE {table} SET {assignments} WHERE id = %s RETURNING id", [*values.values(), pk])
    assert result, f"{table} {pk} was not updated"


def select(table: str, pk: int, *columns: str) -> tuple[Any, ...]:
    """Read columns of a row as the owner."""
    result = run(None, f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s", [pk])
    return result[0]


def value(table: str, pk: int, column: str) -> Any:
    return select(table, pk, column)[0]


def db_now() -> Any:
    """The transaction's now(): what the triggers write (the whole test runs in one transaction)."""
    return run(None, "SELECT now()")[0][0]


def backdate(table: str, pk: int, **values: Any) -> None:
    """Set columns the triggers own (as the owner, user triggers off) to simulate an older row."""
    assignments = ", ".join(f"{column} = %s" for column in values)
    with transaction.atomic(), connection.cursor() as cursor:
        # ALTER TABLE refuses while deferred FK checks of earlier inserts are pending: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*values.values(), pk])
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def refused(
    action: Callable[[], object],
    error: type[psycopg.Error],
    *,
    column: str | None = None,
    constraint: str | None = None,
    message: str | None = None,
) -> psycopg.Error:
    """Assert that `action` is refused by the database with `error`, naming `column`/`constraint`."""
    with pytest.raises(IntegrityError) as caught:
        action()
    cause = caught.value.__cause__
    assert isinstance(cause, error), repr(cause)
    if column is not None:
        assert cause.diag.column_name == column, cause.diag.message_primary
    if constraint is not None:
        assert cause.diag.constraint_name == constraint, cause.diag.message_primary
    if message is not None:
        assert message in (cause.diag.message_primary or ""), cause.diag.message_primary
    return cause


CHECK = psycopg.errors.CheckViolation
FOREIGN_KEY = psycopg.errors.ForeignKeyViolation
UNIQUE = psycopg.errors.UniqueViolation
