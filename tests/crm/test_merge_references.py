"""A merge moves every reference (ADR 0029): the foreign keys it finds in the model graph are exactly the
ones PostgreSQL holds to the merged table, so a table added later is moved without a change to the merge."""

from __future__ import annotations

import pytest
from django.db import connection

from contacts.models import Contact
from crm.merges import references_to
from organizations.models import Organization

pytestmark = pytest.mark.django_db

# Every foreign key to `table`'s id, by referencing table and column (a composite `…_in_firm` key pairs
# the reference with tenant_id; the column paired with the referenced id is the reference).
FOREIGN_KEYS_SQL = """
SELECT DISTINCT c.conrelid::regclass::text, a.attname
  FROM pg_constraint c
 CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(referencing_column, referenced_column)
  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.referencing_column
  JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = k.referenced_column
 WHERE c.contype = 'f' AND c.confrelid = %s::regclass AND r.attname = 'id'
"""


@pytest.mark.parametrize("model", [Organization, Contact])
def test_every_foreign_key_to_a_mergeable_table_is_moved_by_a_merge(model: type) -> None:
    with connection.cursor() as cursor:
        cursor.execute(FOREIGN_KEYS_SQL, [model._meta.db_table])
        in_database = set(cursor.fetchall())
    moved = {(r.model._meta.db_table, r.field.column) for r in references_to(model)}
    assert in_database, "no foreign keys found: the query is wrong"
    assert moved == in_database


def test_organization_references_include_the_known_ones_in_a_safe_order() -> None:
    order = [(r.model._meta.db_table, r.field.column) for r in references_to(Organization)]
    for expected in [
        ("contact", "organization_id"),
        ("opportunity", "customer_id"),
        ("opportunity", "distributor_id"),
        ("interaction", "organization_id"),
        ("distributor_authorization", "distributor_id"),
        ("customer_distributor", "customer_id"),
        ("customer_distributor", "distributor_id"),
        ("product_distributor", "distributor_id"),
        ("organization", "parent_id"),
        ("organization", "merged_into_id"),
    ]:
        assert expected in order
    tables = [table for table, _ in order]
    # An interaction names a contact and an opportunity of the organization: they move before it.
    assert tables.index("contact") < tables.index("interaction")
    assert tables.index("opportunity") < tables.index("interaction")
