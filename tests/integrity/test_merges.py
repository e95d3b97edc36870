"""A merged row's rules (ADR 0029), in raw SQL: `merged_into` names a live row of the same firm and kind
that the writer sees, never the row itself; a merged row is deleted and stays merged; principals are not
merged; a contact follows its organization's merge and nothing else; history records both sides."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import DatabaseError, connection, transaction

from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, FOREIGN_KEY, insert, refused, run, select, update, value

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def test_a_merged_organization_is_deleted(firm: Firm) -> None:
    other = f.CustomerFactory(tenant=firm.tenant, name="Bistro Two")
    refused(
        lambda: update(firm.admin, "organization", other.pk, merged_into_id=firm.customer.pk),
        CHECK,
        constraint="organization_merged_is_deleted",
    )
    update(firm.admin, "organization", other.pk, merged_into_id=firm.customer.pk, deleted_at=NOW)
    assert value("organization", other.pk, "merged_into_id") == firm.customer.pk


def test_an_organization_is_not_merged_into_itself(firm: Firm) -> None:
    refused(
        lambda: update(
            firm.admin, "organization", firm.customer.pk, merged_into_id=firm.customer.pk, deleted_at=NOW
        ),
        CHECK,
        constraint="organization_merged_into_not_self",
    )


def test_an_organization_merges_only_into_a_live_one_of_its_type_and_firm(
    firm: Firm, other_firm: Firm
) -> None:
    other = f.CustomerFactory(tenant=firm.tenant, name="Bistro Two")
    refused(
        lambda: update(
            firm.admin, "organization", other.pk, merged_into_id=firm.distributor.pk, deleted_at=NOW
        ),
        CHECK,
        message="one of its type",
    )
    refused(
        lambda: update(
            firm.admin, "organization", other.pk, merged_into_id=other_firm.customer.pk, deleted_at=NOW
        ),
        FOREIGN_KEY,
        column="merged_into_id",
    )
    gone = f.CustomerFactory(tenant=firm.tenant, name="Gone Bistro", deleted_at=NOW)
    refused(
        lambda: update(firm.admin, "organization", other.pk, merged_into_id=gone.pk, deleted_at=NOW),
        FOREIGN_KEY,
        column="merged_into_id",
    )


def test_the_key_to_the_survivor_holds_the_firm_whatever_writes_it(firm: Firm, other_firm: Firm) -> None:
    def owner_without_triggers() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE organization DISABLE TRIGGER USER")
            cursor.execute(
                "UPDATE organization SET merged_into_id = %s, deleted_at = now() WHERE id = %s",
                [other_firm.customer.pk, firm.customer.pk],
            )

    refused(owner_without_triggers, FOREIGN_KEY, constraint="organization_merged_into_in_firm")


def test_principals_are_not_merged(firm: Firm) -> None:
    refused(
        lambda: update(
            firm.admin,
            "organization",
            firm.principal_b.pk,
            merged_into_id=firm.principal_a.pk,
            deleted_at=NOW,
        ),
        CHECK,
        message="principals are not merged",
    )


def test_a_merged_organization_stays_merged(firm: Firm) -> None:
    other = f.CustomerFactory(tenant=firm.tenant, name="Bistro Two")
    update(firm.admin, "organization", other.pk, merged_into_id=firm.customer.pk, deleted_at=NOW)
    refused(
        lambda: update(firm.admin, "organization", other.pk, merged_into_id=None, deleted_at=None),
        CHECK,
        message="stays merged",
    )
    refused(
        lambda: update(firm.admin, "organization", other.pk, deleted_at=None),
        CHECK,
        constraint="organization_merged_is_deleted",
    )


def test_a_manager_cannot_merge_into_what_they_do_not_see(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.principal_a)
    hidden = f.ContactFactory(tenant=firm.tenant, organization=firm.principal_a)
    # principal_b's contacts are outside the manager's book: the survivor "does not exist" for them.
    theirs = f.ContactFactory(tenant=firm.tenant, organization=firm.principal_b)
    refused(
        lambda: update(firm.manager, "contact", contact.pk, merged_into_id=theirs.pk, deleted_at=NOW),
        FOREIGN_KEY,
        column="merged_into_id",
    )
    update(firm.manager, "contact", contact.pk, merged_into_id=hidden.pk, deleted_at=NOW)


def test_a_contact_merges_only_into_a_contact_of_its_organization(firm: Firm) -> None:
    here = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    there = f.ContactFactory(tenant=firm.tenant, organization=firm.distributor)
    refused(
        lambda: update(firm.admin, "contact", here.pk, merged_into_id=there.pk, deleted_at=NOW),
        CHECK,
        message="of its organization",
    )
    twin = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    update(firm.admin, "contact", here.pk, merged_into_id=twin.pk, deleted_at=NOW)
    refused(lambda: update(firm.admin, "contact", here.pk, deleted_at=None), CHECK)


def test_a_contact_follows_its_organizations_merge_and_nowhere_else(firm: Firm) -> None:
    merged = f.CustomerFactory(tenant=firm.tenant, name="Bistro Two")
    contact = f.ContactFactory(tenant=firm.tenant, organization=merged)
    refused(
        lambda: update(firm.admin, "contact", contact.pk, organization_id=firm.customer.pk),
        CHECK,
        column="organization_id",
        message="cannot change",
    )
    update(firm.admin, "organization", merged.pk, merged_into_id=firm.customer.pk, deleted_at=NOW)
    refused(
        lambda: update(firm.admin, "contact", contact.pk, organization_id=firm.distributor.pk),
        CHECK,
        column="organization_id",
    )
    update(firm.admin, "contact", contact.pk, organization_id=firm.customer.pk)


def test_a_contact_of_a_merged_organization_merges_into_its_twin_at_the_survivor(firm: Firm) -> None:
    merged = f.CustomerFactory(tenant=firm.tenant, name="Bistro Two")
    twin = f.ContactFactory(tenant=firm.tenant, organization=merged)
    keeper = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    refused(
        lambda: update(firm.admin, "contact", twin.pk, merged_into_id=keeper.pk, deleted_at=NOW),
        CHECK,
        message="of its organization",
    )
    update(firm.admin, "organization", merged.pk, merged_into_id=firm.customer.pk, deleted_at=NOW)
    update(firm.admin, "contact", twin.pk, merged_into_id=keeper.pk, deleted_at=NOW)


def test_an_interaction_moves_with_its_deleted_contact_only_to_that_contacts_organization(firm: Firm) -> None:
    merged = f.CustomerFactory(tenant=firm.tenant, name="Bistro Two")
    contact = f.ContactFactory(tenant=firm.tenant, organization=merged)
    call = f.InteractionFactory(tenant=firm.tenant, organization=merged, contact=contact)
    update(firm.admin, "contact", contact.pk, deleted_at=NOW)
    refused(
        lambda: update(firm.admin, "interaction", call.pk, organization_id=firm.customer.pk),
        CHECK,
        column="contact_id",
    )
    update(firm.admin, "organization", merged.pk, merged_into_id=firm.customer.pk, deleted_at=NOW)
    update(firm.admin, "contact", contact.pk, organization_id=firm.customer.pk)
    update(firm.admin, "interaction", call.pk, organization_id=firm.customer.pk)


def test_history_records_a_merge_on_both_sides(firm: Firm) -> None:
    other = f.CustomerFactory(tenant=firm.tenant, name="Bistro Two")
    update(firm.admin, "organization", other.pk, merged_into_id=firm.customer.pk, deleted_at=NOW)
    rows = run(
        None,
        "SELECT row_id, operation, changes, actor_id FROM history WHERE table_name = 'organization'"
        " AND row_id IN (%s, %s) AND operation = 'merge' ORDER BY id",
        [other.pk, firm.customer.pk],
    )
    assert [(row[0], row[1], row[3]) for row in rows] == [
        (other.pk, "merge", firm.admin.pk),
        (firm.customer.pk, "merge", firm.admin.pk),
    ]
    assert json.loads(rows[1][2]) == {"merged_from": [None, other.pk]}


def test_the_left_behind_check_answers_only_for_merged_rows_of_the_callers_firm(firm: Firm) -> None:
    with pytest.raises(DatabaseError) as caught:
        run(
            firm.admin,
            "SELECT crm_merge_left_behind('organization'::regclass, ARRAY[%s]::bigint[])",
            [firm.customer.pk],
        )
    assert getattr(caught.value.__cause__, "sqlstate", None) == "42501"  # a live row: nothing to ask about
    other = f.CustomerFactory(tenant=firm.tenant, name="Bistro Two")
    f.ContactFactory(tenant=firm.tenant, organization=other)
    update(firm.admin, "organization", other.pk, merged_into_id=firm.customer.pk, deleted_at=NOW)
    found = run(
        firm.admin,
        "SELECT crm_merge_left_behind('organization'::regclass, ARRAY[%s]::bigint[])",
        [other.pk],
    )
    assert found == [(True,)]  # its contact still refers to it


def test_an_organizations_match_keys_are_kept_by_the_database(firm: Firm) -> None:
    """The duplicates lists read stored keys (ADR 0029): the trigger sets them on insert and update from
    the name, city and phone, whatever the writer sent, and history leaves them out."""
    pk = insert(
        firm.admin,
        "organization",
        name="SYSCO – Boston, Inc.",
        type="customer",
        city="BOSTON",
        phone="+1 (617) 555-0100",
        match_words=["forged"],
        match_city="x",
        match_phone="1",
    )
    keys = ("match_words", "match_city", "match_phone")
    assert select("organization", pk, *keys) == (["boston", "sysco"], "boston", "6175550100")
    update(firm.admin, "organization", pk, name="Sysco Cambridge", city="", phone="n/a", match_words=["x"])
    assert select("organization", pk, *keys) == (["cambridge", "sysco"], "", None)
    changes = [
        json.loads(c) if isinstance(c, str) else c
        for (c,) in run(
            None, "SELECT changes FROM history WHERE table_name = 'organization' AND row_id = %s", [pk]
        )
    ]
    assert changes and not any(key.startswith("match_") for change in changes for key in change)


def test_a_contacts_match_keys_are_kept_by_the_database(firm: Firm) -> None:
    pk = insert(
        firm.admin,
        "contact",
        organization_id=firm.customer.pk,
        first_name="Jo",
        last_name="SMITH",
        email="Jo@Example.TEST",
        phone="",
        mobile="617.555.0101",
        match_name="forged",
    )
    keys = ("match_name", "match_email", "match_phone")
    assert select("contact", pk, *keys) == ("jo smith", "jo@example.test", "6175550101")
    update(firm.admin, "contact", pk, email="", phone="555-0102", match_email="x")
    assert select("contact", pk, *keys) == ("jo smith", None, "5550102")
