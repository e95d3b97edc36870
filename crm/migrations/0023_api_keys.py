"""API keys: an integration's credential, acting as a member of the firm made for the key alone.

Each key is backed by a user of its own (an unusable password and an address no mail reaches, so it can
never sign in), whose membership holds the key's role (manager or viewer, never admin) and whose principal
assignments are the key's book: crm_request_context(), the policies, the book and history then apply to a
key exactly as to a member with that role and book, and history names the key (its user is called after
it). crm_api_key_context() is the only way in: the owner calls it in the middleware's first statement,
before the switch to the runtime role, with the key's public id and the SHA-256 of its secret; it finds the
key by the id, compares the digests, and sets the context of its user, or of nobody, alike for an unknown
key, another firm's, a revoked or expired one, or a wrong secret. The hashes are in api_key_secret, which
the runtime role cannot read; keys are created by crm_create_api_key() (a verified admin only) and revoked
by an UPDATE of revoked_at (the runtime role's only column to write), whose trigger deactivates the user in the same statement (its credentials
epoch moves on). Triggers keep a key's user from getting a usable password, staff or superuser, an admin's
role, or its activity back once revoked.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
import django.db.models.functions.text
import django.db.models.lookups
from django.conf import settings
from django.db import migrations, models

import crm.text
from crm.migration_operations import RunPolicySQL

FUNCTIONS = [
    """-- A new API key of the request's firm, by a verified admin: its backing user (an unusable password,
-- an address under .invalid, named after the key so history names it), the user's membership with the
-- key's role (manager or viewer, never admin), the key, and its secret's SHA-256.
CREATE OR REPLACE FUNCTION crm_create_api_key(
    p_name text, p_role text, p_key_id text, p_digest bytea, p_expires_at timestamptz
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_tenant bigint := (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint);
    v_admin bigint := (SELECT nullif(current_setting('crm.user_id', true), '')::bigint);
    v_user bigint;
    v_key bigint;
BEGIN
    IF NOT crm_context_ok() OR v_tenant IS NULL OR (SELECT current_setting('crm.role', true)) IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only an admin of the firm can create API keys' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_role IS NULL OR p_role NOT IN ('manager', 'viewer') THEN
        RAISE EXCEPTION 'an API key is a manager or a viewer' USING ERRCODE = 'check_violation', COLUMN = 'role';
    END IF;
    IF p_key_id IS NULL OR p_key_id !~ '^[0-9a-f]{16}$' THEN
        RAISE EXCEPTION 'not an API key id' USING ERRCODE = 'check_violation', COLUMN = 'key_id';
    END IF;
    INSERT INTO crm_user (password, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined)
    VALUES ('!' || encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex'),
            'api-key-' || p_key_id || '@api-keys.invalid', left(p_name, 150), '(API key)', true, false, false, now())
    RETURNING id INTO v_user;
    INSERT INTO membership (tenant_id, user_id, role, created_at, updated_at)
    VALUES (v_tenant, v_user, p_role, now(), now());
    INSERT INTO api_key (tenant_id, user_id, name, key_id, created_at, created_by_id, expires_at)
    VALUES (v_tenant, v_user, p_name, p_key_id, now(), v_admin, p_expires_at)
    RETURNING id INTO v_key;
    INSERT INTO api_key_secret (api_key_id, digest) VALUES (v_key, p_digest);
    RETURN v_key;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_create_api_key(text, text, text, bytea, timestamptz) FROM PUBLIC;",
    """-- The request context of an API key, for the owner alone (the middleware's first statement, before the
-- switch to the runtime role). The key is found by its public id and its secret compared as SHA-256
-- digests (256 random bits: a fast hash is enough; the caller cannot steer a digest, so comparing two
-- says nothing about the secret). A live key gives its user's context exactly as crm_request_context()
-- makes it; anything else (unknown, another firm's, revoked, expired, a wrong secret) gives nobody, alike.
-- Its last use is written at most once a minute, never waiting for another request's write, never on a
-- standby.
CREATE OR REPLACE FUNCTION crm_api_key_context(p_key_id text, p_digest bytea)
RETURNS TABLE (user_id bigint, tenant_id bigint, role text, book bigint[], revoked boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    k record;
    v_user bigint;
BEGIN
    SELECT ak.id, ak.user_id, s.digest INTO k
      FROM api_key ak JOIN api_key_secret s ON s.api_key_id = ak.id
     WHERE ak.key_id = p_key_id AND ak.revoked_at IS NULL
       AND (ak.expires_at IS NULL OR ak.expires_at > statement_timestamp());
    IF FOUND AND k.digest = p_digest THEN
        v_user := k.user_id;
        IF NOT pg_is_in_recovery() THEN
            UPDATE api_key SET last_used_at = statement_timestamp()
             WHERE id = (SELECT a.id FROM api_key a
                          WHERE a.id = k.id
                            AND (a.last_used_at IS NULL OR a.last_used_at < statement_timestamp() - interval '1 minute')
                            FOR UPDATE SKIP LOCKED);
        END IF;
    END IF;
    RETURN QUERY SELECT v_user, c.tenant_id, c.role, c.book, c.revoked FROM crm_request_context(v_user, NULL, NULL) c;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_api_key_context(text, bytea) FROM PUBLIC;",
    """-- Revoking is for good, and the key's user goes with it in the same statement (is_active off moves its
-- credentials epoch on). Runs as the owner: the admin may not write the user's flag of a key they do not
-- name, nor revoked_by.
CREATE OR REPLACE FUNCTION crm_api_key_revoked() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
        RAISE EXCEPTION 'a revoked API key stays revoked'
            USING ERRCODE = 'check_violation', COLUMN = 'revoked_at', TABLE = TG_TABLE_NAME;
    END IF;
    IF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
        NEW.revoked_at := statement_timestamp();
        NEW.revoked_by_id := nullif(current_setting('crm.user_id', true), '')::bigint;
        UPDATE crm_user SET is_active = false WHERE id = NEW.user_id;
    ELSE
        NEW.revoked_by_id := OLD.revoked_by_id;
    END IF;
    RETURN NEW;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_api_key_revoked() FROM PUBLIC;",
    """CREATE TRIGGER api_key_revoked BEFORE UPDATE ON api_key
    FOR EACH ROW EXECUTE FUNCTION crm_api_key_revoked();""",
    """-- A key's user never signs in: no usable password, no staff or superuser flag, no new address, and
-- once its key is revoked it stays inactive.
CREATE OR REPLACE FUNCTION crm_api_key_user_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    k record;
BEGIN
    SELECT ak.revoked_at INTO k FROM api_key ak WHERE ak.user_id = NEW.id;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    -- Changes only: an epoch bump (a membership trigger) must not trip over the row as it is.
    IF (NEW.password IS DISTINCT FROM OLD.password AND NEW.password NOT LIKE '!%')
       OR (NEW.is_staff AND NOT OLD.is_staff) OR (NEW.is_superuser AND NOT OLD.is_superuser)
       OR NEW.email IS DISTINCT FROM OLD.email THEN
        RAISE EXCEPTION 'an API key''s user cannot sign in'
            USING ERRCODE = 'check_violation', COLUMN = 'password', TABLE = TG_TABLE_NAME;
    END IF;
    IF NEW.is_active AND NOT OLD.is_active AND k.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION 'a revoked API key stays revoked'
            USING ERRCODE = 'check_violation', COLUMN = 'is_active', TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_api_key_user_guard() FROM PUBLIC;",
    """CREATE TRIGGER api_key_user_guard BEFORE UPDATE ON crm_user
    FOR EACH ROW EXECUTE FUNCTION crm_api_key_user_guard();""",
    """-- A key is a manager or a viewer, never an admin: it cannot manage members, books or other keys.
CREATE OR REPLACE FUNCTION crm_api_key_membership_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.role NOT IN ('manager', 'viewer') AND EXISTS (SELECT 1 FROM api_key ak WHERE ak.user_id = NEW.user_id) THEN
        RAISE EXCEPTION 'an API key is a manager or a viewer'
            USING ERRCODE = 'check_violation', COLUMN = 'role', TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;""",
    "REVOKE ALL ON FUNCTION crm_api_key_membership_guard() FROM PUBLIC;",
    """CREATE TRIGGER api_key_membership_guard BEFORE INSERT OR UPDATE OF role, user_id ON membership
    FOR EACH ROW EXECUTE FUNCTION crm_api_key_membership_guard();""",
    'GRANT EXECUTE ON FUNCTION crm_create_api_key(text, text, text, bytea, timestamptz) TO "{runtime_role}";',
]

FUNCTIONS_REVERSE = [
    "DROP TRIGGER IF EXISTS api_key_membership_guard ON membership;",
    "DROP FUNCTION IF EXISTS crm_api_key_membership_guard();",
    "DROP TRIGGER IF EXISTS api_key_user_guard ON crm_user;",
    "DROP FUNCTION IF EXISTS crm_api_key_user_guard();",
    "DROP TRIGGER IF EXISTS api_key_revoked ON api_key;",
    "DROP FUNCTION IF EXISTS crm_api_key_revoked();",
    "DROP FUNCTION IF EXISTS crm_api_key_context(text, bytea);",
    "DROP FUNCTION IF EXISTS crm_create_api_key(text, text, text, bytea, timestamptz);",
]

# Row level security of api_key as declared in crm/policies.py (makepolicymigration's SQL), and the one
# column grant it leaves to migrations: admins revoke keys, nothing else.
POLICIES = [
    "ALTER TABLE api_key ENABLE ROW LEVEL SECURITY;",
    "ALTER TABLE api_key FORCE ROW LEVEL SECURITY;",
    "DROP POLICY IF EXISTS api_key_select ON api_key;",
    "CREATE POLICY api_key_select ON api_key FOR SELECT USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
    "DROP POLICY IF EXISTS api_key_insert ON api_key;",
    "CREATE POLICY api_key_insert ON api_key FOR INSERT WITH CHECK ((SELECT crm_context_ok()) AND (false));",
    "DROP POLICY IF EXISTS api_key_update ON api_key;",
    "CREATE POLICY api_key_update ON api_key FOR UPDATE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin')) WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
    "DROP POLICY IF EXISTS api_key_delete ON api_key;",
    "CREATE POLICY api_key_delete ON api_key FOR DELETE USING ((SELECT crm_context_ok()) AND (false));",
    'GRANT SELECT ON api_key TO "{runtime_role}";',
    'GRANT UPDATE (revoked_at) ON api_key TO "{runtime_role}";',
    'REVOKE ALL ON api_key_secret FROM "{runtime_role}";',
]

POLICIES_REVERSE = [
    "DROP POLICY IF EXISTS api_key_select ON api_key;",
    "DROP POLICY IF EXISTS api_key_insert ON api_key;",
    "DROP POLICY IF EXISTS api_key_update ON api_key;",
    "DROP POLICY IF EXISTS api_key_delete ON api_key;",
    'REVOKE ALL ON api_key FROM "{runtime_role}";',
    "ALTER TABLE api_key NO FORCE ROW LEVEL SECURITY;",
    "ALTER TABLE api_key DISABLE ROW LEVEL SECURITY;",
]


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0022_refresh_token_families"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("key_id", models.CharField(editable=False, max_length=16, unique=True)),
                (
                    "created_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(), editable=False
                    ),
                ),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("last_used_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "revoked_by",
                    models.ForeignKey(
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="crm.tenant",
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="api_key",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "api_key",
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="ApiKeySecret",
            fields=[
                (
                    "api_key",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="crm.apikey",
                    ),
                ),
                ("digest", models.BinaryField(max_length=32)),
            ],
            options={
                "db_table": "api_key_secret",
                "constraints": [
                    models.CheckConstraint(
                        condition=django.db.models.lookups.Exact(
                            django.db.models.functions.text.Length("digest"), 32
                        ),
                        name="api_key_secret_digest_is_sha256",
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="apikey",
            index=models.Index(fields=["tenant", "id"], name="api_key_tenant"),
        ),
        migrations.AddConstraint(
            model_name="apikey",
            constraint=models.CheckConstraint(
                condition=models.Q(("name", crm.text.StripInvisible(models.F("name")))),
                name="api_key_name_visible",
                violation_error_message="name must not contain invisible characters.",
            ),
        ),
        migrations.AddConstraint(
            model_name="apikey",
            constraint=models.CheckConstraint(
                condition=models.Q(("name", ""), _negated=True), name="api_key_name_not_blank"
            ),
        ),
        RunPolicySQL(sql=POLICIES, reverse_sql=POLICIES_REVERSE),
        RunPolicySQL(sql=FUNCTIONS, reverse_sql=FUNCTIONS_REVERSE),
    ]
