"""Tasks: the database fills the assignee and completed_at, keeps the scope like interactions', and refuses
bad raw SQL writes."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, FOREIGN_KEY, insert, refused, run, select, update, value

pytestmark = pytest.mark.django_db


def test_the_assignee_defaults_to_whoever_inserts_and_the_creator_is_kept(firm: Firm) -> None:
    pk = insert(firm.manager, "task")
    assert select("task", pk, "assignee_id", "created_by_id") == (firm.manager.pk, firm.manager.pk)
    other = insert(firm.manager, "task", assignee_id=firm.other_manager.pk)
    assert select("task", other, "assignee_id", "created_by_id") == (firm.other_manager.pk, firm.manager.pk)


def test_without_an_acting_user_the_assignee_is_required(firm: Firm) -> None:
    refused(lambda: insert(None, "task", tenant_id=firm.tenant.pk), psycopg.errors.NotNullViolation)


def test_the_assignee_must_be_a_member_of_the_firm(firm: Firm, other_firm: Firm) -> None:
    refused(
        lambda: insert(firm.manager, "task", assignee_id=other_firm.manager.pk),
        FOREIGN_KEY,
        column="assignee_id",
    )
    pk = insert(firm.manager, "task")
    refused(lambda: update(firm.manager, "task", pk, assignee_id=other_firm.admin.pk), FOREIGN_KEY)


def test_completed_at_is_the_databases(firm: Firm) -> None:
    pk = insert(firm.manager, "task", completed_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert value("task", pk, "completed_at") is None
    update(firm.manager, "task", pk, status="done")
    done_at = value("task", pk, "completed_at")
    assert done_at is not None and done_at.year > 2020
    update(firm.manager, "task", pk, title="Called", completed_at=None)
    assert value("task", pk, "completed_at") == done_at
    update(firm.manager, "task", pk, status="cancelled")
    assert value("task", pk, "completed_at") is None


def test_a_task_no_longer_open_is_not_snoozed(firm: Firm) -> None:
    pk = insert(firm.manager, "task", snoozed_until=dt.date(2030, 1, 1))
    update(firm.manager, "task", pk, status="cancelled")
    assert value("task", pk, "snoozed_until") is None


@pytest.mark.parametrize(
    ("column", "bad"), [("status", "closed"), ("priority", "asap"), ("title", ""), ("notes", "x" * 10_001)]
)
def test_bad_values_are_refused(firm: Firm, column: str, bad: str) -> None:
    refused(lambda: insert(firm.manager, "task", **{column: bad}), CHECK)


def test_the_principal_is_taken_from_the_opportunity(firm: Firm) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    pk = insert(firm.admin, "task", opportunity_id=opportunity.pk, principal_id=firm.principal_b.pk)
    assert value("task", pk, "principal_id") == firm.principal_a.pk
    update(firm.admin, "task", pk, principal_id=firm.principal_b.pk)
    assert value("task", pk, "principal_id") == firm.principal_a.pk


def test_a_task_at_a_principal_is_that_principals(firm: Firm) -> None:
    pk = insert(firm.admin, "task", organization_id=firm.principal_a.pk)
    assert value("task", pk, "principal_id") == firm.principal_a.pk
    refused(
        lambda: insert(
            firm.admin, "task", organization_id=firm.principal_a.pk, principal_id=firm.principal_b.pk
        ),
        CHECK,
        column="principal_id",
    )


def test_the_principal_must_be_a_principal(firm: Firm) -> None:
    refused(lambda: insert(firm.admin, "task", principal_id=firm.customer.pk), CHECK, column="principal_id")


def test_a_contact_gives_its_organization_and_must_work_there(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    pk = insert(firm.manager, "task", contact_id=contact.pk)
    assert value("task", pk, "organization_id") == firm.customer.pk
    refused(
        lambda: update(firm.manager, "task", pk, organization_id=firm.distributor.pk),
        CHECK,
        column="contact_id",
    )


def test_references_must_be_live_rows_of_the_firm(firm: Firm, other_firm: Firm) -> None:
    refused(
        lambda: insert(firm.admin, "task", organization_id=other_firm.customer.pk),
        FOREIGN_KEY,
        column="organization_id",
    )
    gone = f.CustomerFactory(tenant=firm.tenant, deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    refused(
        lambda: insert(firm.admin, "task", organization_id=gone.pk), FOREIGN_KEY, column="organization_id"
    )


def test_tasks_are_soft_deleted_and_every_change_kept_in_history(firm: Firm) -> None:
    pk = insert(firm.manager, "task")
    update(firm.manager, "task", pk, status="done")
    refused(
        lambda: run(firm.admin, "DELETE FROM task WHERE id = %s RETURNING id", [pk]),
        psycopg.errors.RestrictViolation,
    )
    operations = run(
        None, "SELECT operation FROM history WHERE table_name = 'task' AND row_id = %s ORDER BY id", [pk]
    )
    assert [op for (op,) in operations] == ["insert", "update"]
