"""Foreign keys between a firm's tables hold the tenant: `(x_id, tenant_id) REFERENCES t (id, tenant_id)`.

Why: a row can then never point into another firm, whatever writes it (the reference-check triggers held
this until now, and only for writes that fire them), and the keys stay enforceable when firms are spread
across shards by tenant (docs/scaling.md, ADR 0014). Each referenced table gains a unique index on
(id, tenant_id), built CONCURRENTLY; each key is added NOT VALID here (new writes only, a brief lock) and,
in each app's next migration, validated (a scan that blocks no writes) before Django's single-column key
is dropped. The keys are deferred to commit like Django's. No answer changes: the triggers already refused
a reference into another firm, and now look the row up by (id, tenant_id) themselves.
"""

from django.db import migrations

from crm.migration_operations import add_foreign_key_in_firm, firm_key


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("organizations", "0017_unique_keys_hold_the_tenant"),
    ]

    operations = [
        firm_key("organization"),
        add_foreign_key_in_firm("organization", "parent", "organization"),
        add_foreign_key_in_firm("distributor_authorization", "distributor", "organization"),
        add_foreign_key_in_firm("distributor_authorization", "principal", "organization"),
        add_foreign_key_in_firm("customer_distributor", "customer", "organization"),
        add_foreign_key_in_firm("customer_distributor", "distributor", "organization"),
    ]
