"""Idempotency keys: the first response to a POST or PATCH sent with an `Idempotency-Key`, kept 24 hours.

A client that lost the answer to a write (a timeout, a dropped connection, a 503 after the commit) cannot
tell whether it was made; with a key it sends the request again and gets the first answer, not a second
record (ADR 0016, crm/idempotency.py). The stored answers are a firm's data as one caller saw it, so:

- `idempotency_key` is reachable by the runtime role through two SECURITY DEFINER functions only, like
  `signin_failure` (crm 0011, 0015): no table privilege. Both take the firm and the caller from the
  verified request context (crm_context_ok(), crm 0012), never from an argument, so SQL running as the
  runtime role reaches its own keys and nobody else's.
- RLS is enabled and forced with no policy for PUBLIC but `false` (nothing for the runtime role even if
  it were ever granted the table) and owner policies that admit only the verified caller's own rows: the
  definer functions, which run as the owner, are held to the request's firm and caller by the database
  too, not only by their own WHERE clauses. The cross-firm purge (`manage.py purge_idempotency_keys`)
  therefore needs an owner with BYPASSRLS or superuser, like create_tenant.
- No foreign key to `tenant`: a table no model owns would stop Django's flush (TRUNCATE without CASCADE) of
  the tables it references, and a key outliving its firm expires within its window anyway.
- The caller is `user:<id>` today, written out in the policies and the functions: an API key's caller
  will be another prefix, added there.

crm_idempotency_claim() takes a transaction-level advisory lock on (firm, caller, key) with
pg_try_advisory_xact_lock, in the request's own transaction before anything of the request runs: a
concurrent request with the same key fails to take it and is answered 409 at once, and the lock is released
only when the first request's transaction ends, after its commit is visible, so the next one finds the
stored answer. It then reads the key in a new statement (a VOLATILE function's statements each take a
snapshot under READ COMMITTED), so an answer committed while it waited for nothing is seen.
crm_idempotency_store() writes the answer in the request's transaction: committed with the request's
effects or not at all. It also sweeps up to 100 of the caller's expired keys.
"""

from django.db import migrations

from crm.migration_operations import RunPolicySQL

OWN_KEY = (
    "(SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint)"
    " AND caller = (SELECT 'user:' || nullif(current_setting('crm.user_id', true), '')))"
)
NOTHING = "(SELECT crm_context_ok()) AND (false)"

SQL = [
    # One line: django-migration-linter reads the SQL line by line, and a NOT NULL column is fine only on
    # the line that creates its table.
    "CREATE TABLE idempotency_key (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id bigint NOT NULL, caller text NOT NULL CHECK (char_length(caller) BETWEEN 1 AND 100), key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255), fingerprint text NOT NULL CHECK (char_length(fingerprint) = 64), status bigint NOT NULL CHECK (status BETWEEN 100 AND 599), headers jsonb NOT NULL CHECK (jsonb_typeof(headers) = 'object'), body bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL, CONSTRAINT idempotency_key_window CHECK (expires_at > created_at AND expires_at <= created_at + interval '7 days'), CONSTRAINT idempotency_key_unique UNIQUE (tenant_id, caller, key));",
    # The sweep on write (a caller's expired keys) and the purge command (everyone's).
    "CREATE INDEX idempotency_key_caller_expires_at ON idempotency_key (tenant_id, caller, expires_at);",
    "CREATE INDEX idempotency_key_expires_at ON idempotency_key (expires_at);",
    "REVOKE ALL ON idempotency_key FROM PUBLIC;",
    "ALTER TABLE idempotency_key ENABLE ROW LEVEL SECURITY;",
    "ALTER TABLE idempotency_key FORCE ROW LEVEL SECURITY;",
    f"CREATE POLICY idempotency_key_select ON idempotency_key FOR SELECT USING ({NOTHING});",
    f"CREATE POLICY idempotency_key_insert ON idempotency_key FOR INSERT WITH CHECK ({NOTHING});",
    f"CREATE POLICY idempotency_key_update ON idempotency_key FOR UPDATE USING ({NOTHING}) WITH CHECK ({NOTHING});",
    f"CREATE POLICY idempotency_key_delete ON idempotency_key FOR DELETE USING ({NOTHING});",
    f"CREATE POLICY idempotency_key_definer_select ON idempotency_key FOR SELECT TO CURRENT_USER USING ({OWN_KEY});",
    f"CREATE POLICY idempotency_key_definer_insert ON idempotency_key FOR INSERT TO CURRENT_USER WITH CHECK ({OWN_KEY});",
    f"CREATE POLICY idempotency_key_definer_delete ON idempotency_key FOR DELETE TO CURRENT_USER USING ({OWN_KEY});",
    """-- The key's state for the request's verified caller: 'in_flight' (another transaction holds it), 'new'
-- (this transaction now holds it: run the request, then crm_idempotency_store), 'mismatch' (stored for
-- another request) or 'replay' (with the stored answer). An expired key counts as new.
CREATE OR REPLACE FUNCTION crm_idempotency_claim(p_key text, p_fingerprint text)
RETURNS TABLE (outcome text, status bigint, headers jsonb, body bytea)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_tenant bigint := nullif(current_setting('crm.tenant_id', true), '')::bigint;
    v_caller text := 'user:' || nullif(current_setting('crm.user_id', true), '');
    v_found idempotency_key;
BEGIN
    IF NOT crm_context_ok() OR v_tenant IS NULL OR v_caller IS NULL THEN
        RAISE EXCEPTION 'idempotency keys need a verified caller' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Held until this transaction ends: a concurrent request with the key is told at once, never queued.
    IF NOT pg_try_advisory_xact_lock(hashtextextended(json_build_array('crm_idempotency', v_tenant, v_caller, p_key)::text, 0)) THEN
        RETURN QUERY SELECT 'in_flight'::text, NULL::bigint, NULL::jsonb, NULL::bytea;
        RETURN;
    END IF;
    DELETE FROM idempotency_key k
     WHERE k.tenant_id = v_tenant AND k.caller = v_caller AND k.key = p_key AND k.expires_at <= clock_timestamp();
    SELECT * INTO v_found FROM idempotency_key k
     WHERE k.tenant_id = v_tenant AND k.caller = v_caller AND k.key = p_key;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'new'::text, NULL::bigint, NULL::jsonb, NULL::bytea;
    ELSIF v_found.fingerprint <> p_fingerprint THEN
        RETURN QUERY SELECT 'mismatch'::text, NULL::bigint, NULL::jsonb, NULL::bytea;
    ELSE
        RETURN QUERY SELECT 'replay'::text, v_found.status, v_found.headers, v_found.body;
    END IF;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_idempotency_claim(text, text) FROM PUBLIC;",
    """-- The answer to the request the key was claimed for, kept p_window seconds (at most 7 days: a CHECK),
-- in the request's transaction. Up to 100 of the caller's expired keys go with each new one.
CREATE OR REPLACE FUNCTION crm_idempotency_store(
    p_key text, p_fingerprint text, p_status integer, p_headers jsonb, p_body bytea, p_window integer
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_tenant bigint := nullif(current_setting('crm.tenant_id', true), '')::bigint;
    v_caller text := 'user:' || nullif(current_setting('crm.user_id', true), '');
BEGIN
    IF NOT crm_context_ok() OR v_tenant IS NULL OR v_caller IS NULL THEN
        RAISE EXCEPTION 'idempotency keys need a verified caller' USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM idempotency_key WHERE id IN (
        SELECT k.id FROM idempotency_key k
         WHERE k.tenant_id = v_tenant AND k.caller = v_caller AND k.expires_at <= clock_timestamp()
         ORDER BY k.expires_at LIMIT 100
    );
    INSERT INTO idempotency_key (tenant_id, caller, key, fingerprint, status, headers, body, expires_at)
    VALUES (v_tenant, v_caller, p_key, p_fingerprint, p_status, p_headers, p_body,
            now() + make_interval(secs => p_window));
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_idempotency_store(text, text, integer, jsonb, bytea, integer) FROM PUBLIC;",
    'GRANT EXECUTE ON FUNCTION crm_idempotency_claim(text, text) TO "{runtime_role}";',
    'GRANT EXECUTE ON FUNCTION crm_idempotency_store(text, text, integer, jsonb, bytea, integer) TO "{runtime_role}";',
]

# One string, as crm 0011's: the table goes with the functions that read it.
REVERSE = """
DROP FUNCTION IF EXISTS crm_idempotency_store(text, text, integer, jsonb, bytea, integer);
DROP FUNCTION IF EXISTS crm_idempotency_claim(text, text);
DROP TABLE IF EXISTS idempotency_key;
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0020_foreign_keys_in_firm_validated")]

    operations = [RunPolicySQL(sql=SQL, reverse_sql=[REVERSE])]
