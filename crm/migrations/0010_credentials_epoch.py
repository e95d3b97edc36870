"""Tokens die with the credentials they were issued under.

A JWT cannot be recalled, so every user carries `credentials_epoch`, kept by the database alone: it goes
up when the password or `is_active` changes (crm_user trigger) and when the membership's role changes or
the membership ends (membership trigger). Sign-in puts the epoch in the tokens (claim `cred`), and
crm_request_context() compares it in the statement that already starts every request, so a token issued
before a deactivation, a password change or a role change stays dead after a reactivation, at no extra
query. Sessions (the admin) pass no epoch: Django ends them through the password hash, and read
`is_active` and the role afresh on every request.

Nothing in Python writes the column: the runtime role has no privilege on it (its UPDATE grant on
crm_user names columns), and a write of a stale value by the owner (a full save()) is ignored: only the
membership trigger below, running inside a trigger, may move it by itself.

The old one-argument crm_request_context(bigint) stays for the app version still running during the deploy
(it is not granted to the runtime role); a later release drops it.
"""

from django.db import migrations, models

TRIGGERS = """
CREATE OR REPLACE FUNCTION crm_user_credentials_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.password IS DISTINCT FROM OLD.password OR NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        NEW.credentials_epoch := OLD.credentials_epoch + 1;
    ELSIF pg_trigger_depth() < 2 THEN
        NEW.credentials_epoch := OLD.credentials_epoch;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER credentials_epoch BEFORE UPDATE ON crm_user
    FOR EACH ROW EXECUTE FUNCTION crm_user_credentials_changed();

-- Runs as the owner: the admin who changes a role may not write crm_user.credentials_epoch themselves.
CREATE OR REPLACE FUNCTION crm_membership_credentials_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    UPDATE crm_user SET credentials_epoch = credentials_epoch + 1 WHERE id = OLD.user_id;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION crm_membership_credentials_changed() FROM PUBLIC;
CREATE TRIGGER credentials_epoch_role AFTER UPDATE OF role, user_id ON membership
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION crm_membership_credentials_changed();
CREATE TRIGGER credentials_epoch_gone AFTER DELETE ON membership
    FOR EACH ROW EXECUTE FUNCTION crm_membership_credentials_changed();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS credentials_epoch_gone ON membership;
DROP TRIGGER IF EXISTS credentials_epoch_role ON membership;
DROP FUNCTION IF EXISTS crm_membership_credentials_changed();
DROP TRIGGER IF EXISTS credentials_epoch ON crm_user;
DROP FUNCTION IF EXISTS crm_user_credentials_changed();
"""

# As 0002's, plus p_credentials: the epoch the token was issued under (NULL for a session, which is not
# checked). A stale token gets no identity and `revoked`, so the API can say why.
REQUEST_CONTEXT = """
CREATE OR REPLACE FUNCTION crm_request_context(p_user_id bigint, p_credentials bigint)
RETURNS TABLE (tenant_id bigint, role text, book bigint[], revoked boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    m record;
    v_book bigint[];
BEGIN
    -- Transaction-local, so nothing outlives the request's transaction. Cleared first: fail closed.
    PERFORM set_config('crm.tenant_id', '', true), set_config('crm.role', '', true),
            set_config('crm.book', '', true), set_config('crm.user_id', coalesce(p_user_id::text, ''), true);
    IF p_user_id IS NOT NULL THEN
        SELECT ms.tenant_id, ms.role, u.credentials_epoch INTO m
          FROM membership ms JOIN crm_user u ON u.id = ms.user_id
         WHERE ms.user_id = p_user_id AND u.is_active;
        IF FOUND AND p_credentials IS NOT NULL AND p_credentials IS DISTINCT FROM m.credentials_epoch THEN
            PERFORM set_config('crm.user_id', '', true);
            RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::bigint[], true;
            RETURN;
        END IF;
        IF FOUND THEN
            PERFORM set_config('crm.tenant_id', m.tenant_id::text, true), set_config('crm.role', m.role, true);
            IF m.role <> 'admin' THEN
                -- An admin's book is every principal: policies test the role, not the book.
                SELECT coalesce(array_agg(pa.principal_id ORDER BY pa.principal_id), '{}') INTO v_book
                  FROM principal_assignment pa
                 WHERE pa.user_id = p_user_id AND pa.tenant_id = m.tenant_id AND pa.deleted_at IS NULL;
                PERFORM set_config('crm.book', v_book::text, true);
            END IF;
            RETURN QUERY SELECT m.tenant_id, m.role::text, v_book, false;
            RETURN;
        END IF;
        PERFORM set_config('crm.user_id', '', true);
    END IF;
    RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::bigint[], false;
END;
$$;
REVOKE ALL ON FUNCTION crm_request_context(bigint, bigint) FROM PUBLIC;
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0009_name_key")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="credentials_epoch",
            field=models.BigIntegerField(db_default=0, editable=False),
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
        migrations.RunSQL(REQUEST_CONTEXT, "DROP FUNCTION IF EXISTS crm_request_context(bigint, bigint);"),
    ]
