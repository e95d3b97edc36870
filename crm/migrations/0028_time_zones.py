"""Time zones: the firm's (an IANA name its admins set) and, optionally, each member's (ADR 0028).

- `tenant.time_zone` (default 'UTC': existing firms go on counting as before) and `membership.time_zone`
  (NULL: the firm's). Reports count days and weeks in the firm's zone; a member's "today" (follow-ups,
  tasks, the daily digest) is in theirs.
- `crm_time_zone_valid(name)`, the CHECK on both: a name PostgreSQL knows as a zone (`AT TIME ZONE` does
  not raise) and shaped like an IANA name, so no POSIX offsets ('UTC+5', '+05:00'), whose signs read
  backwards and which Python's zoneinfo refuses. The API also checks names against Python's zone database.
- Who sets them: the runtime role has no privilege on either column, and neither table's policies change.
  Two SECURITY DEFINER functions check a verified context instead: the firm's zone is its admins' to set;
  a member's is their own, or an admin's of their firm.
"""

from django.db import migrations, models

from crm.migration_operations import RunPolicySQL, add_check_not_valid

VALID = """
CREATE FUNCTION crm_time_zone_valid(p_zone text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF char_length(p_zone) > 64 OR p_zone !~ '^[A-Za-z][A-Za-z0-9_]*(/[A-Za-z0-9_+-]+){0,2}$' THEN
        RETURN false;
    END IF;
    PERFORM now() AT TIME ZONE p_zone;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END;
$$;
"""

SETTERS = [
    """
-- The firm's time zone: its admins only (a verified context).
CREATE FUNCTION crm_set_firm_time_zone(p_zone text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_tenant bigint := (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint);
BEGIN
    IF NOT crm_context_ok() OR v_tenant IS NULL OR (SELECT current_setting('crm.role', true)) IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only an admin of the firm can set its time zone' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE tenant SET time_zone = p_zone WHERE id = v_tenant;
END;
$$;
""",
    "REVOKE ALL ON FUNCTION crm_set_firm_time_zone(text) FROM PUBLIC;",
    'GRANT EXECUTE ON FUNCTION crm_set_firm_time_zone(text) TO "{runtime_role}";',
    """
-- A member's own time zone (NULL: the firm's): set by themselves or an admin of their firm (a verified
-- context). False when the caller's firm has no such member: nothing is said about other firms.
CREATE FUNCTION crm_set_member_time_zone(p_user bigint, p_zone text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_tenant bigint := (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint);
    v_me bigint := (SELECT nullif(current_setting('crm.user_id', true), '')::bigint);
BEGIN
    IF NOT crm_context_ok() OR v_tenant IS NULL OR v_me IS NULL THEN
        RAISE EXCEPTION 'nobody is signed in' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_user IS DISTINCT FROM v_me AND (SELECT current_setting('crm.role', true)) IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only an admin sets another member''s time zone' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE membership SET time_zone = p_zone, updated_at = now() WHERE user_id = p_user AND tenant_id = v_tenant;
    RETURN FOUND;
END;
$$;
""",
    "REVOKE ALL ON FUNCTION crm_set_member_time_zone(bigint, text) FROM PUBLIC;",
    'GRANT EXECUTE ON FUNCTION crm_set_member_time_zone(bigint, text) TO "{runtime_role}";',
]


def time_zone_valid(column: str) -> models.Func:
    return models.Func(models.F(column), function="crm_time_zone_valid", output_field=models.BooleanField())


class Migration(migrations.Migration):
    dependencies = [("crm", "0027_feed_horizon_per_database")]

    operations = [
        migrations.RunSQL(VALID, "DROP FUNCTION crm_time_zone_valid(text);"),
        migrations.AddField(
            model_name="membership",
            name="time_zone",
            field=models.CharField(
                blank=True,
                help_text="IANA time zone of the member's day (empty: the firm's).",
                max_length=64,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="tenant",
            name="time_zone",
            field=models.CharField(
                db_default="UTC",
                default="UTC",
                help_text="IANA time zone the firm's reports count days and weeks in.",
                max_length=64,
            ),
        ),
        add_check_not_valid(
            "membership",
            models.CheckConstraint(
                condition=models.Q(time_zone__isnull=True) | time_zone_valid("time_zone"),
                name="membership_time_zone_valid",
            ),
            table="membership",
            check="time_zone IS NULL OR crm_time_zone_valid(time_zone)",
        ),
        add_check_not_valid(
            "tenant",
            models.CheckConstraint(condition=time_zone_valid("time_zone"), name="tenant_time_zone_valid"),
            table="tenant",
            check="crm_time_zone_valid(time_zone)",
        ),
        RunPolicySQL(
            SETTERS,
            [
                "DROP FUNCTION crm_set_member_time_zone(bigint, text);",
                "DROP FUNCTION crm_set_firm_time_zone(text);",
            ],
        ),
    ]
