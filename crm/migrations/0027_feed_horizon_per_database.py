"""The change feed's horizon counts only this database's transactions (ADR 0026).

Transaction ids are the cluster's: the snapshot's xmin, which the feed served entries below, was held back
by a long transaction in *any* database of the cluster (another application's, a test run's), delaying
the feed and webhooks for nothing, since only this database's transactions write its history.

`crm_feed_horizon(snapshot)` is the lowest transaction of the snapshot still running that is not known to
be another database's, else the snapshot's xmax. "Known" is read from pg_stat_activity after the snapshot
was taken: a transaction of this database that ends in between is not seen anywhere and so still counts
(never a skipped entry); one of another database that ends in between counts too (a moment's delay at
worst). It runs as the owner (SECURITY DEFINER) to see other roles' sessions: an owner that is neither
superuser nor a member of pg_read_all_stats sees only its own, and for the others the function falls
back to what the snapshot's xmin gave (nothing is ever skipped; the feed waits as before).
"""

from django.db import migrations

from crm.migration_operations import RunPolicySQL

FORWARD = [
    """
CREATE FUNCTION crm_feed_horizon(p_snapshot pg_snapshot) RETURNS xid8
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(min(x), pg_snapshot_xmax(p_snapshot))
      FROM pg_snapshot_xip(p_snapshot) AS x
     WHERE NOT EXISTS (
           SELECT 1 FROM pg_stat_activity a
            WHERE a.datname <> current_database()
              AND a.backend_xid IS NOT NULL
              AND a.backend_xid::text::bigint = x::text::bigint % 4294967296)
$$;
""",
    "REVOKE ALL ON FUNCTION crm_feed_horizon(pg_snapshot) FROM PUBLIC;",
    'GRANT EXECUTE ON FUNCTION crm_feed_horizon(pg_snapshot) TO "{runtime_role}";',
]

REVERSE = ["DROP FUNCTION crm_feed_horizon(pg_snapshot);"]


class Migration(migrations.Migration):
    dependencies = [("crm", "0026_history_feed_position")]

    operations = [RunPolicySQL(sql=FORWARD, reverse_sql=REVERSE)]
