"""Every unique key of a tenant table holds tenant_id, so it can be enforced on a shard when the firms are
distributed by tenant (docs/scaling.md): checked in the migrated catalog, and the keys still refuse
duplicates within a firm."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from tests import factories as f

pytestmark = pytest.mark.django_db

# membership.user_id: a user belongs to one firm, across firms (sign-in finds the firm from the user).
# Under sharding it is the tenant directory's own key, not a sharded table's.
# api_key.key_id: a key is found by its public id before its firm is known; api_key.user_id: a user is one
# key's. Both, like membership's, are the directory's keys under sharding.
NOT_PER_FIRM = {"membership_user_id_key", "api_key_key_id_key", "api_key_user_id_key"}


def test_every_unique_index_of_a_tenant_table_holds_tenant_id():
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT t.relname, i.relname
                 FROM pg_index x
                 JOIN pg_class i ON i.oid = x.indexrelid
                 JOIN pg_class t ON t.oid = x.indrelid
                 JOIN pg_attribute tenant ON tenant.attrelid = t.oid AND tenant.attname = 'tenant_id'
                WHERE x.indisunique AND t.relnamespace = 'public'::regnamespace
                  AND NOT tenant.attnum = ANY(x.indkey)
                  AND NOT (x.indisprimary AND t.relname <> 'tenant')"""
        )
        lacking = {(table, index) for table, index in cursor.fetchall() if index not in NOT_PER_FIRM}
    # Primary keys stay the id alone (Citus would need (tenant_id, id): docs/scaling.md says so).
    assert lacking == set()


def test_a_key_with_the_tenant_still_refuses_a_duplicate_in_the_firm(firm):
    f.DistributorAuthorizationFactory(
        tenant=firm.tenant, distributor=firm.distributor, principal=firm.principal_a
    )
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        f.DistributorAuthorizationFactory(
            tenant=firm.tenant, distributor=firm.distributor, principal=firm.principal_a
        )
    assert refused.value.__cause__.diag.constraint_name == "distributor_authorization_unique_in_firm"
