"""Sign-in keyed, locked and looked up in one place, the database, and only where a sign-in is under way.

Three holes this closes. (1) The lockout counted under a key Python computed (str.lower()) while the user
was found by crm_name_key() (PostgreSQL's lower()): 'İ' folds to 'i' + U+0307 in one and 'i' in the
other, so `whİtfield@…` reached the locked account under a fresh count. The key is now computed in the
database, from crm_name_key(), in the statement that checks the lockout and finds the user.
(2) crm_auth_user(), crm_member_ids() and crm_signin_succeeded(key) ran for any caller of the runtime
role: raw SQL read any user's email and password hash by id, another firm's member ids under a forged
crm.tenant_id, and cleared any account's lockout. (3) Only the account was locked, so one client's
parallel guesses at many accounts all passed the per-client check (66 failures against a limit of 50).

A sign-in is now a small state machine kept in two transaction-local variables, `crm.signin` (JSON) and
`crm.signin_mac` (a MAC over it, the backend and the transaction, keyed like crm.context_mac, so the
runtime role cannot write a state of its own). It is opened only by crm_request_context(user, credentials,
signin => policy), which the middleware calls, as the connection's own role, for the sign-in and refresh
endpoints (and, `own`, for me/password/); the runtime role cannot call it. The policy (client, window,
limits) is the owner's: an injected statement cannot count under another client, sweep failures with a
window of its own or lift the limits. crm_signin_attempt() locks the client, then the account (the
same order for every sign-in: no deadlock), computes the retry-after and finds the user by the same key,
once per transaction; crm_signin_user() returns that user (with the hash Django checks) unless locked;
crm_signin_failed() and crm_signin_succeeded() record or clear only that attempt's account and client;
crm_token_user() reads the active flag and credentials epoch of the user just signed in, of the request's
own verified user, or (the refresh endpoint) of one user per request.

crm_auth_user() and the key-taking crm_signin_* functions stay for the owner (sessions are read before the
switch) and are revoked from the runtime role: the previous app version's sign-ins fail until it is
replaced (a security fix that cannot wait for a contract step). crm_member_ids() requires the verified
context; crm_is_member() requires it too, and the request's own firm, unless the caller never switched role
(the owner's writes).
"""

from django.db import migrations

from crm.migration_operations import RunPolicySQL

STATE = [
    """-- The lockout's account key: SHA-256 of the email as the unique index compares it (what
-- crm.signin.account_key computed in Python before, for ASCII the same value).
CREATE OR REPLACE FUNCTION crm_signin_account_key(p_email text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, public, pg_temp
    RETURN encode(sha256(convert_to(crm_name_key(p_email), 'UTF8')), 'hex');""",
    "REVOKE ALL ON FUNCTION crm_signin_account_key(text) FROM PUBLIC;",
    """-- The MAC of a sign-in state: a 4-element array, never the encoding of a 6-element request context.
CREATE OR REPLACE FUNCTION crm_signin_mac(p_state text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT encode(sha256(k.outer_key || sha256(k.inner_key || convert_to(json_build_array(
               'signin', p_state, pg_backend_pid(), transaction_timestamp())::text, 'UTF8'))), 'hex')
      FROM crm_context_key k WHERE k.id = 1;
$$;""",
    "REVOKE ALL ON FUNCTION crm_signin_mac(text) FROM PUBLIC;",
    """-- This transaction's sign-in state if crm_signin_set() wrote it, else NULL.
CREATE OR REPLACE FUNCTION crm_signin_state() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_state text := coalesce(current_setting('crm.signin', true), '');
BEGIN
    IF v_state = '' OR current_setting('crm.signin_mac', true) IS DISTINCT FROM crm_signin_mac(v_state) THEN
        RETURN NULL;
    END IF;
    RETURN v_state::jsonb;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_signin_state() FROM PUBLIC;",
    """CREATE OR REPLACE FUNCTION crm_signin_set(p_state jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM set_config('crm.signin', coalesce(p_state::text, ''), true),
            set_config('crm.signin_mac', CASE WHEN p_state IS NULL THEN '' ELSE crm_signin_mac(p_state::text) END,
                       true);
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_signin_set(jsonb) FROM PUBLIC;",
    """-- As the two-argument one; with p_signin a sign-in is opened: one attempt or one token lookup, under
-- the policy the owner gives here ({client, window, max_account, max_client, own}), which the runtime role
-- cannot change: the client counted, the window and the limits are the service's, never the caller's.
-- `own`: only the request's own verified user may be attempted (a password proved again, me/password/).
CREATE OR REPLACE FUNCTION crm_request_context(p_user_id bigint, p_credentials bigint, p_signin jsonb)
RETURNS TABLE (tenant_id bigint, role text, book bigint[], revoked boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM crm_signin_set(CASE WHEN p_signin IS NOT NULL THEN jsonb_build_object('open', p_signin) END);
    RETURN QUERY SELECT c.tenant_id, c.role, c.book, c.revoked FROM crm_request_context(p_user_id, p_credentials) c;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_request_context(bigint, bigint, jsonb) FROM PUBLIC;",
    """-- Seconds until this account and this client may try again (0: now), for the sign-in this transaction
-- opened (the sign-in endpoints), or for the request's own verified user proving their password again
-- (me/password/, opened `own`). Client, window and limits are the opened policy's.
CREATE OR REPLACE FUNCTION crm_signin_attempt(p_email text) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_open jsonb := crm_signin_state() -> 'open';
    v_account text := crm_signin_account_key(p_email);
    v_client text;
    v_window integer;
    v_max_account integer;
    v_max_client integer;
    v_since timestamptz;
    v_account_at timestamptz;
    v_client_at timestamptz;
    v_retry integer;
    v_user bigint;
BEGIN
    IF v_open IS NULL OR ((v_open ->> 'own')::boolean AND NOT (crm_context_ok() AND EXISTS (
        SELECT 1 FROM crm_user u
         WHERE u.id = nullif(current_setting('crm.user_id', true), '')::bigint
           AND crm_signin_account_key(u.email) = v_account
    ))) THEN
        RAISE EXCEPTION 'no sign-in is under way' USING ERRCODE = 'insufficient_privilege';
    END IF;
    v_client := v_open ->> 'client';
    v_window := (v_open ->> 'window')::integer;
    v_max_account := (v_open ->> 'max_account')::integer;
    v_max_client := (v_open ->> 'max_client')::integer;
    -- The client first, then the account, for every sign-in: one client's attempts queue (the per-client
    -- limit holds under parallel guesses at many accounts), one account's too, and no two sign-ins can
    -- wait for each other in a cycle (each takes at most one lock of each kind, in this order).
    PERFORM pg_advisory_xact_lock(hashtextextended('crm_signin_client:' || v_client, 0));
    PERFORM pg_advisory_xact_lock(hashtextextended('crm_signin:' || v_account, 0));
    v_since := clock_timestamp() - make_interval(secs => v_window);
    SELECT failed_at INTO v_account_at FROM signin_failure
     WHERE account_key = v_account AND failed_at > v_since
     ORDER BY failed_at DESC OFFSET greatest(v_max_account - 1, 0) LIMIT 1;
    SELECT failed_at INTO v_client_at FROM signin_failure
     WHERE client_key = v_client AND failed_at > v_since
     ORDER BY failed_at DESC OFFSET greatest(v_max_client - 1, 0) LIMIT 1;
    v_retry := coalesce(ceil(extract(epoch FROM greatest(v_account_at, v_client_at) - v_since))::integer, 0);
    SELECT u.id INTO v_user FROM crm_user u WHERE crm_name_key(u.email) = crm_name_key(p_email);
    PERFORM crm_signin_set(jsonb_build_object(
        'account', v_account, 'client', v_client, 'window', v_window, 'user', v_user, 'locked', v_retry > 0));
    RETURN v_retry;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_signin_attempt(text) FROM PUBLIC;",
    """-- The user the attempt found, with the hash Django checks; nobody while locked.
CREATE OR REPLACE FUNCTION crm_signin_user() RETURNS SETOF crm_user
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_state jsonb := crm_signin_state();
BEGIN
    IF v_state ? 'account' AND NOT (v_state ->> 'locked')::boolean AND v_state ->> 'user' IS NOT NULL THEN
        RETURN QUERY SELECT * FROM crm_user WHERE id = (v_state ->> 'user')::bigint;
    END IF;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_signin_user() FROM PUBLIC;",
    """-- The attempt failed: counted for its account and client; the attempt is over.
CREATE OR REPLACE FUNCTION crm_signin_failed() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_state jsonb := crm_signin_state();
BEGIN
    IF v_state ? 'account' IS NOT TRUE THEN
        RAISE EXCEPTION 'no sign-in is under way' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Failures older than the window count no more: each new one sweeps up to 100 of them, oldest first.
    DELETE FROM signin_failure WHERE id IN (
        SELECT id FROM signin_failure
         WHERE failed_at < clock_timestamp() - make_interval(secs => (v_state ->> 'window')::integer)
         ORDER BY failed_at LIMIT 100
    );
    INSERT INTO signin_failure (account_key, client_key) VALUES (v_state ->> 'account', v_state ->> 'client');
    PERFORM crm_signin_set('{"over": true}'::jsonb);
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_signin_failed() FROM PUBLIC;",
    """-- The right password: the attempt's account's failures go (not its client's: an attacker with an
-- account of their own must not reset their address's count by signing in between guesses).
CREATE OR REPLACE FUNCTION crm_signin_succeeded() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_state jsonb := crm_signin_state();
BEGIN
    IF v_state ? 'account' IS NOT TRUE OR (v_state ->> 'locked')::boolean OR v_state ->> 'user' IS NULL THEN
        RAISE EXCEPTION 'no sign-in is under way' USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM signin_failure WHERE account_key = v_state ->> 'account';
    PERFORM crm_signin_set(jsonb_build_object('signed_in', (v_state ->> 'user')::bigint));
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_signin_succeeded() FROM PUBLIC;",
    """-- What a token is checked against: the user just signed in, the request's own verified user, one user
-- per refresh request, or any user for the connection's own role (commands, before the switch).
CREATE OR REPLACE FUNCTION crm_token_user(p_user_id bigint)
RETURNS TABLE (is_active boolean, credentials_epoch bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_state jsonb := crm_signin_state();
BEGIN
    IF v_state ? 'open' AND NOT (v_state -> 'open' ->> 'own')::boolean THEN
        PERFORM crm_signin_set('{"over": true}'::jsonb);
    ELSIF (v_state ->> 'signed_in')::bigint = p_user_id THEN
        NULL;
    ELSIF crm_context_ok() AND nullif(current_setting('crm.user_id', true), '')::bigint = p_user_id THEN
        NULL;
    ELSIF current_setting('role') <> 'none' THEN
        RAISE EXCEPTION 'no sign-in is under way' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT u.is_active, u.credentials_epoch FROM crm_user u WHERE u.id = p_user_id;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_token_user(bigint) FROM PUBLIC;",
    'GRANT EXECUTE ON FUNCTION crm_signin_attempt(text) TO "{runtime_role}";',
    'GRANT EXECUTE ON FUNCTION crm_signin_user() TO "{runtime_role}";',
    'GRANT EXECUTE ON FUNCTION crm_signin_failed() TO "{runtime_role}";',
    'GRANT EXECUTE ON FUNCTION crm_signin_succeeded() TO "{runtime_role}";',
    'GRANT EXECUTE ON FUNCTION crm_token_user(bigint) TO "{runtime_role}";',
    # The owner keeps them (sessions are read before the switch); the runtime role loses them.
    'REVOKE EXECUTE ON FUNCTION crm_auth_user(text, bigint) FROM "{runtime_role}";',
    'REVOKE EXECUTE ON FUNCTION crm_signin_retry_after(text, text, integer, integer, integer) FROM "{runtime_role}";',
    'REVOKE EXECUTE ON FUNCTION crm_signin_failed(text, text, integer) FROM "{runtime_role}";',
    'REVOKE EXECUTE ON FUNCTION crm_signin_succeeded(text) FROM "{runtime_role}";',
]

STATE_REVERSE = [
    'GRANT EXECUTE ON FUNCTION crm_auth_user(text, bigint) TO "{runtime_role}";',
    'GRANT EXECUTE ON FUNCTION crm_signin_retry_after(text, text, integer, integer, integer) TO "{runtime_role}";',
    'GRANT EXECUTE ON FUNCTION crm_signin_failed(text, text, integer) TO "{runtime_role}";',
    'GRANT EXECUTE ON FUNCTION crm_signin_succeeded(text) TO "{runtime_role}";',
    "DROP FUNCTION IF EXISTS crm_token_user(bigint);",
    "DROP FUNCTION IF EXISTS crm_signin_succeeded();",
    "DROP FUNCTION IF EXISTS crm_signin_failed();",
    "DROP FUNCTION IF EXISTS crm_signin_user();",
    "DROP FUNCTION IF EXISTS crm_signin_attempt(text);",
    "DROP FUNCTION IF EXISTS crm_request_context(bigint, bigint, jsonb);",
    "DROP FUNCTION IF EXISTS crm_signin_set(jsonb);",
    "DROP FUNCTION IF EXISTS crm_signin_state();",
    "DROP FUNCTION IF EXISTS crm_signin_mac(text);",
    "DROP FUNCTION IF EXISTS crm_signin_account_key(text);",
]

MEMBERS = """
-- Only for a verified context: under a forged crm.tenant_id it lists nobody.
CREATE OR REPLACE FUNCTION crm_member_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT coalesce(array_agg(user_id), '{}') FROM membership
     WHERE tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint)
       AND (SELECT crm_context_ok());
$$;

-- Reference checks and the member picker ask about the request's own firm; the runtime role learns
-- nothing about another firm's members. The owner's writes (set-up, commands) never switched role.
CREATE OR REPLACE FUNCTION crm_is_member(p_user_id bigint, p_tenant_id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM membership ms JOIN crm_user u ON u.id = ms.user_id
         WHERE ms.user_id = p_user_id AND ms.tenant_id = p_tenant_id AND u.is_active
    ) AND (current_setting('role') = 'none'
           OR (p_tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint)
               AND (SELECT crm_context_ok())));
$$;
"""

MEMBERS_BEFORE = """
CREATE OR REPLACE FUNCTION crm_member_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT coalesce(array_agg(user_id), '{}') FROM membership WHERE tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint);
$$;

CREATE OR REPLACE FUNCTION crm_is_member(p_user_id bigint, p_tenant_id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM membership ms JOIN crm_user u ON u.id = ms.user_id
         WHERE ms.user_id = p_user_id AND ms.tenant_id = p_tenant_id AND u.is_active
    );
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0014_book_joins_crm")]

    operations = [
        RunPolicySQL(sql=STATE, reverse_sql=STATE_REVERSE),
        migrations.RunSQL(MEMBERS, MEMBERS_BEFORE),
    ]
