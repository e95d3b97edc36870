"""Refresh tokens rotate, and a rotated one presented again ends its whole family (crm/tokens.py, ADR 0017).

A sign-in opens a *family*: a row holding the user, a random id (a uuid carried in every refresh token of
the family, claim `fam`) and the generation of its one current refresh token (claim `gen`). Trading the
current token moves the generation on and issues the next; a token of an older generation proves that
two parties hold the family's tokens (one of them stole it), so the family is revoked and every token of
it refused from then on, the newest included. Signing out revokes the presented token's family.

Nobody but the owner reads or writes `refresh_token_family`: the runtime role only calls the three
functions below, which run as the owner. Opening a family is for the user a sign-in just verified or the
request's own verified user (as crm_token_user(), crm 0015); rotating and revoking need the family's id,
which only the holder of one of its signed tokens knows (122 random bits), and the user it belongs to.

`user_id` has no foreign key, as `signin_failure` has none: a table Django does not know must not hold up
the flush of `crm_user` (TransactionTestCase's TRUNCATE), and users are deactivated, not deleted; a family
of a user who is gone can never be traded (crm_token_user() finds nobody) and expires.
"""

from django.db import migrations

SQL = [
    # One line: django-migration-linter reads the SQL line by line, and a NOT NULL column is fine only on
    # the line that creates its table.
    "CREATE TABLE refresh_token_family (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
    " user_id bigint NOT NULL,"
    " generation bigint NOT NULL DEFAULT 0 CHECK (generation >= 0),"
    " created_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
    " rotated_at timestamptz, expires_at timestamptz NOT NULL, revoked_at timestamptz,"
    " revoked_because text CHECK (revoked_because IN ('reused', 'signed_out')),"
    " CHECK ((revoked_at IS NULL) = (revoked_because IS NULL)));",
    """CREATE INDEX refresh_token_family_user ON refresh_token_family (user_id, expires_at);""",
    """REVOKE ALL ON refresh_token_family FROM PUBLIC;""",
    """-- A new family for a user a sign-in just verified, the request's own verified user, or any user for the
-- connection's own role (commands, tests); the user's families past their expiry go (a sweep bounded by
-- that user's own sign-ins).
CREATE OR REPLACE FUNCTION crm_refresh_family_open(p_user_id bigint, p_expires_at timestamptz) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_state jsonb := crm_signin_state();
    v_family uuid;
BEGIN
    IF (v_state ->> 'signed_in')::bigint = p_user_id THEN
        NULL;
    ELSIF crm_context_ok() AND nullif(current_setting('crm.user_id', true), '')::bigint = p_user_id THEN
        NULL;
    ELSIF current_setting('role') <> 'none' THEN
        RAISE EXCEPTION 'no sign-in of this user is under way' USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM refresh_token_family WHERE user_id = p_user_id AND expires_at < clock_timestamp();
    INSERT INTO refresh_token_family (user_id, expires_at) VALUES (p_user_id, p_expires_at)
    RETURNING id INTO v_family;
    RETURN v_family;
END;
$$;""",
    """REVOKE ALL ON FUNCTION crm_refresh_family_open(bigint, timestamptz) FROM PUBLIC;""",
    """-- Trade generation p_generation of the family: 'rotated' (the next generation is current, until
-- p_expires_at), 'reused' (an older generation: the family is revoked now, and this must commit), or
-- 'revoked' (revoked before, expired, or no such family of this user). The row lock queues parallel
-- trades of one family: the second finds the generation moved on.
CREATE OR REPLACE FUNCTION crm_refresh_rotate(
    p_family uuid, p_user_id bigint, p_generation bigint, p_expires_at timestamptz
) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_generation bigint;
    v_revoked_at timestamptz;
    v_expires_at timestamptz;
BEGIN
    SELECT generation, revoked_at, expires_at INTO v_generation, v_revoked_at, v_expires_at
      FROM refresh_token_family WHERE id = p_family AND user_id = p_user_id FOR UPDATE;
    IF NOT FOUND OR v_revoked_at IS NOT NULL OR v_expires_at < clock_timestamp() THEN
        RETURN 'revoked';
    END IF;
    IF v_generation <> p_generation THEN
        UPDATE refresh_token_family SET revoked_at = clock_timestamp(), revoked_because = 'reused'
         WHERE id = p_family;
        RETURN 'reused';
    END IF;
    UPDATE refresh_token_family
       SET generation = generation + 1, rotated_at = clock_timestamp(), expires_at = p_expires_at
     WHERE id = p_family;
    RETURN 'rotated';
END;
$$;""",
    """REVOKE ALL ON FUNCTION crm_refresh_rotate(uuid, bigint, bigint, timestamptz) FROM PUBLIC;""",
    """-- Sign out: the family ends (whichever of its generations was presented). Whether it was live is not
-- said: signing out twice is the same as once.
CREATE OR REPLACE FUNCTION crm_refresh_revoke(p_family uuid, p_user_id bigint) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    UPDATE refresh_token_family SET revoked_at = clock_timestamp(), revoked_because = 'signed_out'
     WHERE id = p_family AND user_id = p_user_id AND revoked_at IS NULL;
$$;""",
    """REVOKE ALL ON FUNCTION crm_refresh_revoke(uuid, bigint) FROM PUBLIC;""",
]

DROP = """
DROP FUNCTION IF EXISTS crm_refresh_revoke(uuid, bigint);
DROP FUNCTION IF EXISTS crm_refresh_rotate(uuid, bigint, bigint, timestamptz);
DROP FUNCTION IF EXISTS crm_refresh_family_open(bigint, timestamptz);
DROP TABLE IF EXISTS refresh_token_family;
"""

FUNCTIONS = (
    "crm_refresh_family_open(bigint, timestamptz)",
    "crm_refresh_rotate(uuid, bigint, bigint, timestamptz)",
    "crm_refresh_revoke(uuid, bigint)",
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
    dependencies = [("crm", "0021_idempotency_keys")]

    operations = [
        migrations.RunSQL(SQL, DROP),
        migrations.RunPython(grant, revoke),
    ]
