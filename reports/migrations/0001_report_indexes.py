"""Indexes the reports need on the opportunity table (see README, "Reports").

Partial indexes declared here, not in opportunities' models: they serve the reports' queries only, and
their predicates match those queries' literal conditions (`stage NOT IN (…closed…)`, `stage IN (…)`,
`deleted_at IS NULL`) so the planner can use them.

- opportunity_open_stage_age: open, live opportunities of a firm by stage_changed_at. Stale deals
  (stage unchanged before a cut-off) become one range scan, and an admin's firm-wide pipeline reads only
  open rows instead of every opportunity ever closed.
- opportunity_closed_on: closed, live opportunities of a firm by closed_on. Win/loss per quarter becomes
  a range scan over the period's closes instead of a scan of the firm's opportunities.
"""

from django.db import migrations


class Migration(migrations.Migration):
    # Built CONCURRENTLY (writes to opportunity go on meanwhile), which cannot run in a transaction.
    atomic = False

    dependencies = [
        ("opportunities", "0005_history_version_soft_delete"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS opportunity_open_stage_age ON opportunity (tenant_id, stage_changed_at)"
            " WHERE deleted_at IS NULL AND stage NOT IN ('closed_won', 'closed_lost')",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS opportunity_open_stage_age",
        ),
        migrations.RunSQL(
            sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS opportunity_closed_on ON opportunity (tenant_id, closed_on)"
            " WHERE deleted_at IS NULL AND stage IN ('closed_won', 'closed_lost')",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS opportunity_closed_on",
        ),
    ]
