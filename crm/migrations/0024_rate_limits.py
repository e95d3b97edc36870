"""Rate limits: one GCRA bucket per (policy, caller) in an UNLOGGED table, taken by one function call.

Why it is built this way: ADR 0019 (crm/rate_limits.py). In short:

- `rate_limit_bucket` holds each bucket's theoretical arrival time (`tat_us`, microseconds since the epoch
  by the database's clock, so every app node counts by the same clock). A bucket whose time has passed is
  full, exactly as a missing row: the table holds state only while a caller is being limited, and
  `manage.py purge_rate_limits` deletes the rest. UNLOGGED: it writes no WAL (the limiter's write is on
  every request) and is emptied by a crash or a failover, which only forgets who was being limited for a
  minute. fillfactor 70 leaves room on each page for HOT updates (no index on `tat_us`).
- No tenant and no RLS: buckets belong to callers (a member, an API key, a client address), never to a
  firm's data. The runtime role has no privilege on the table or the function: the middleware takes the
  limit before the request's transaction, as the connection's own role (the owner), so SQL running as
  the runtime role can neither read who is being limited nor drain or reset anyone's bucket.
- crm_rate_limit_take() takes every bucket a request counts against at once, in one statement, in its
  own short transaction: rows locked in bucket order (no deadlock between two requests sharing buckets)
  and released at once, never held for the request's duration. All or nothing: a request refused by one
  policy takes nothing from the others, and a refused request leaves no row it made.
"""

from django.db import migrations

# One line: django-migration-linter reads the SQL line by line, and a NOT NULL column is fine only on the
# line that creates its table (which it recognises as `CREATE TABLE`: UNLOGGED is set by the next statement,
# on a table with no rows).
TABLE = "CREATE TABLE rate_limit_bucket (bucket text PRIMARY KEY CHECK (char_length(bucket) BETWEEN 1 AND 200), tat_us bigint NOT NULL) WITH (fillfactor = 70);"

TAKE = """-- Takes one request from each bucket (GCRA: each has its emission interval in microseconds and its
-- quota, the requests it lets through at once), all or none: `allowed`, and for each bucket, in the order
-- given, how far its theoretical arrival time is ahead of now (microseconds, 0 when the bucket is full).
CREATE OR REPLACE FUNCTION crm_rate_limit_take(p_buckets text[], p_intervals_us bigint[], p_quotas integer[])
RETURNS TABLE (allowed boolean, ahead_us bigint[])
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_now bigint;
    v_count integer := coalesce(cardinality(p_buckets), 0);
    v_tat bigint[];
    v_new bigint[];
    v_ahead bigint[];
    v_made text[];
    v_allowed boolean := true;
    v_found bigint;
    i integer;
BEGIN
    -- Simple expressions (no query): checked without a statement of their own.
    IF v_count NOT BETWEEN 1 AND 16 OR cardinality(p_intervals_us) IS DISTINCT FROM v_count
       OR cardinality(p_quotas) IS DISTINCT FROM v_count
       OR NOT coalesce(1 <= ALL (p_intervals_us), false) OR NOT coalesce(1 <= ALL (p_quotas), false) THEN
        RAISE EXCEPTION 'crm_rate_limit_take: 1 to 16 buckets, each with a positive interval and quota'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Locked in bucket order (the sort runs before the locking), whatever order they were given in: two
    -- requests sharing buckets never wait for each other in a cycle. Released when this statement's
    -- transaction ends, straight after. Buckets seen for the first time are made first, then all locked
    -- again (the usual case, every bucket there, is this one statement and the update).
    FOR attempt IN 1 .. 2 LOOP
        SELECT array_agg(locked.tat_us ORDER BY locked.ord), count(*) INTO v_tat, v_found
          FROM (SELECT x.ord, r.tat_us
                  FROM unnest(p_buckets) WITH ORDINALITY AS x(bucket, ord)
                  JOIN rate_limit_bucket r ON r.bucket = x.bucket
                 ORDER BY r.bucket
                   FOR UPDATE OF r) AS locked;
        EXIT WHEN v_found = v_count OR attempt = 2;
        WITH made AS (
            INSERT INTO rate_limit_bucket (bucket, tat_us)
            SELECT b, 0 FROM unnest(p_buckets) AS b ORDER BY b
            ON CONFLICT (bucket) DO NOTHING
            RETURNING bucket
        )
        SELECT array_agg(bucket) INTO v_made FROM made;
    END LOOP;
    IF v_found IS DISTINCT FROM v_count THEN  -- a bucket named twice
        RAISE EXCEPTION 'crm_rate_limit_take: each bucket once' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Read once the rows are ours: a take that waited for another one's lock counts from when it got it.
    v_now := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    v_new := v_tat;
    v_ahead := v_tat;
    FOR i IN 1 .. v_count LOOP
        v_new[i] := greatest(v_tat[i], v_now) + p_intervals_us[i];
        IF v_new[i] - v_now > p_intervals_us[i] * p_quotas[i] THEN
            v_allowed := false;
        END IF;
    END LOOP;
    IF v_allowed THEN
        UPDATE rate_limit_bucket r SET tat_us = x.tat
          FROM unnest(p_buckets, v_new) AS x(bucket, tat)
         WHERE r.bucket = x.bucket;
        FOR i IN 1 .. v_count LOOP
            v_ahead[i] := v_new[i] - v_now;
        END LOOP;
    ELSE
        FOR i IN 1 .. v_count LOOP
            v_ahead[i] := greatest(v_tat[i] - v_now, 0);
        END LOOP;
        -- A refused request leaves nothing behind: no row for a caller that was never let through.
        IF cardinality(v_made) > 0 THEN
            DELETE FROM rate_limit_bucket WHERE bucket = ANY (v_made);
        END IF;
    END IF;
    RETURN QUERY SELECT v_allowed, v_ahead;
END;
$$;"""

SQL = [
    TABLE,
    "ALTER TABLE rate_limit_bucket SET UNLOGGED;",
    "REVOKE ALL ON rate_limit_bucket FROM PUBLIC;",
    TAKE,
    "REVOKE ALL ON FUNCTION crm_rate_limit_take(text[], bigint[], integer[]) FROM PUBLIC;",
]

REVERSE = """
DROP FUNCTION IF EXISTS crm_rate_limit_take(text[], bigint[], integer[]);
DROP TABLE IF EXISTS rate_limit_bucket;
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0023_api_keys")]

    operations = [migrations.RunSQL(sql=SQL, reverse_sql=[REVERSE])]
