"""Failed sign-ins, counted in PostgreSQL so every worker and every app node shares one count.

`signin_failure` keeps one row per failed sign-in: a hash of the email as typed (normalised: an unknown
email is counted exactly like a known one, and no password typed into the email box is stored) and the
client's address. Nobody but the owner reads it: the runtime role only calls the three functions below.
crm_signin_retry_after() first takes a transaction lock on the account, so parallel guesses for one
account queue behind each other and each sees the failures committed before it (crm/signin.py).
"""

from django.db import migrations

SQL = [
    # One line: django-migration-linter reads the SQL line by line, and a NOT NULL column is fine only on
    # the line that creates its table.
    "CREATE TABLE signin_failure (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " account_key text NOT NULL CHECK (char_length(account_key) = 64),"
    " client_key text NOT NULL CHECK (char_length(client_key) <= 64),"
    " failed_at timestamptz NOT NULL DEFAULT clock_timestamp());",
    """CREATE INDEX signin_failure_account ON signin_failure (account_key, failed_at);""",
    """CREATE INDEX signin_failure_client ON signin_failure (client_key, failed_at);""",
    """CREATE INDEX signin_failure_failed_at ON signin_failure (failed_at);""",
    """REVOKE ALL ON signin_failure FROM PUBLIC;""",
    """-- Seconds until this account and this client may try again (0: now). The failure that has to leave the
-- window is the max-th most recent one.
CREATE OR REPLACE FUNCTION crm_signin_retry_after(
    p_account text, p_client text, p_window integer, p_max_account integer, p_max_client integer
) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_since timestamptz := clock_timestamp() - make_interval(secs => p_window);
    v_account timestamptz;
    v_client timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('crm_signin:' || p_account, 0));
    SELECT failed_at INTO v_account FROM signin_failure
     WHERE account_key = p_account AND failed_at > v_since
     ORDER BY failed_at DESC OFFSET greatest(p_max_account - 1, 0) LIMIT 1;
    SELECT failed_at INTO v_client FROM signin_failure
     WHERE client_key = p_client AND failed_at > v_since
     ORDER BY failed_at DESC OFFSET greatest(p_max_client - 1, 0) LIMIT 1;
    RETURN coalesce(ceil(extract(epoch FROM greatest(v_account, v_client) - v_since))::integer, 0);
END;
$$;""",
    """REVOKE ALL ON FUNCTION crm_signin_retry_after(text, text, integer, integer, integer) FROM PUBLIC;""",
    """CREATE OR REPLACE FUNCTION crm_signin_failed(p_account text, p_client text, p_window integer) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    -- Failures older than the window count no more: each new one sweeps up to 100 of them, oldest first.
    DELETE FROM signin_failure WHERE id IN (
        SELECT id FROM signin_failure WHERE failed_at < clock_timestamp() - make_interval(secs => p_window)
         ORDER BY failed_at LIMIT 100
    );
    INSERT INTO signin_failure (account_key, client_key) VALUES (p_account, p_client);
$$;""",
    """REVOKE ALL ON FUNCTION crm_signin_failed(text, text, integer) FROM PUBLIC;""",
    """-- The right password clears the account's failures (not the client's: an attacker with an account of
-- their own must not reset the count of their address by signing in between guesses).
CREATE OR REPLACE FUNCTION crm_signin_succeeded(p_account text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    DELETE FROM signin_failure WHERE account_key = p_account;
$$;""",
    """REVOKE ALL ON FUNCTION crm_signin_succeeded(text) FROM PUBLIC;""",
]

DROP = """
DROP FUNCTION IF EXISTS crm_signin_succeeded(text);
DROP FUNCTION IF EXISTS crm_signin_failed(text, text, integer);
DROP FUNCTION IF EXISTS crm_signin_retry_after(text, text, integer, integer, integer);
DROP TABLE IF EXISTS signin_failure;
"""

FUNCTIONS = (
    "crm_signin_retry_after(text, text, integer, integer, integer)",
    "crm_signin_failed(text, text, integer)",
    "crm_signin_succeeded(text)",
)


def grant(apps, schema_editor):
    from crm.rls import runtime_role

    for function in FUNCTIONS:
        schema_editor.execute(f'GRANT EXECUTE ON FUNCTION {function} TO "{runtime_role()}";')


def revoke(apps, schema_editor):
    from crm.rls import runtime_role

    for function in FUNCTIONS:
        schema_editor.execute(f'REVOKE EXECUTE ON FUNCTION {function} FROM "{runtime_role()}";')


class Migration(migrations.Migration):
    dependencies = [("crm", "0010_credentials_epoch")]

    operations = [
        migrations.RunSQL(SQL, DROP),
        migrations.RunPython(grant, revoke),
    ]
