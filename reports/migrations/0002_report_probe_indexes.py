"""Covering indexes the reports probe at scale (see README, "Reports" → Speed).

Declared here, not in the entity apps' models: they serve the reports' queries only, and their
predicates match those queries' literal conditions. Each carries, besides its key, the columns the
table's RLS policy reads (tenant_id, principal_id), so a probe is an index-only scan that skips the rows
the caller may not see without visiting the table.

- interaction_account_touch: live interactions of an organization, newest first. Stale accounts looks
  up each account's last visible touch with one LATERAL … LIMIT 1 probe instead of scanning every
  interaction of the firm in and before the window (1.5 s → ~15 ms for a 10-principal book at scale 10).
- customer_distributor_served: live customer links of a distributor. Distributor coverage counts the
  customers of a principal's distributors (thousands each) from the index alone.
- organization_soft_deleted: the few soft-deleted organizations of a firm, so coverage drops deleted
  customers with one small anti-join instead of looking every served customer up.

Built CONCURRENTLY (the tables stay writable), hence a non-atomic migration; IF NOT EXISTS so that
`migrate` run again, or after generate_data rebuilt them, changes nothing.
"""

from django.db import migrations


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("reports", "0001_report_indexes"),
        ("interactions", "0007_references_recheck_only_when_changed"),
        ("organizations", "0007_references_recheck_only_when_changed"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS interaction_account_touch"
            " ON interaction (organization_id, occurred_at DESC) INCLUDE (tenant_id, principal_id)"
            " WHERE deleted_at IS NULL",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS interaction_account_touch",
        ),
        migrations.RunSQL(
            sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS customer_distributor_served"
            " ON customer_distributor (tenant_id, distributor_id, customer_id) INCLUDE (is_primary)"
            " WHERE deleted_at IS NULL",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS customer_distributor_served",
        ),
        migrations.RunSQL(
            sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS organization_soft_deleted"
            " ON organization (tenant_id, id) WHERE deleted_at IS NOT NULL",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS organization_soft_deleted",
        ),
    ]
