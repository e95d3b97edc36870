"""The runtime role creates no temporary tables and nothing in the public schema.

With TEMPORARY (which PostgreSQL grants PUBLIC on every database) code running as the runtime role could
create a temporary table, put a trigger of its own on it and, from inside that trigger, call
crm_history_write(), whose only guard is that it runs inside a trigger: forged history for any firm, under
any actor. Temporary tables (and functions in a schema the role may create in) can also shadow what a
function without a pinned search_path reads. Nothing the service does needs either.

Only the database's owner (or a superuser) may change its privileges: when `migrate` runs as another role,
the migration warns instead, and `manage.py dbhealth` fails its runtime_role check until the owner runs the
statements it names. Every role but the owner loses TEMPORARY on this database with PUBLIC: give it back
by name to any other role that needs it. The privilege is the database's own: a database created from this
one as a template, or restored from a dump made without --create, has PostgreSQL's default again, which
dbhealth reports.
"""

from django.db import migrations

from crm.migration_operations import RunPolicySQL

FORWARD = """
DO $$
DECLARE
    v_db text := current_database();
    v_may boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
        OR pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE');
BEGIN
    IF has_database_privilege('{runtime_role}', v_db, 'TEMPORARY') THEN
        IF v_may THEN
            EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', v_db);
            EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM %I', v_db, '{runtime_role}');
            EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', v_db, current_user);
        ELSE
            RAISE WARNING 'the runtime role {runtime_role} may create temporary tables; as the owner of database %, run: REVOKE TEMPORARY ON DATABASE % FROM PUBLIC', v_db, v_db;
        END IF;
    END IF;
    IF has_schema_privilege('{runtime_role}', 'public', 'CREATE') THEN
        IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           OR pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE nspname = 'public'), 'USAGE') THEN
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %I', '{runtime_role}');
        ELSE
            RAISE WARNING 'the runtime role {runtime_role} may create objects in schema public; as its owner, run: REVOKE CREATE ON SCHEMA public FROM PUBLIC';
        END IF;
    END IF;
END
$$;
"""

# Back to PostgreSQL's default for the database (PUBLIC may create temporary tables); CREATE on public is
# left as it is (PostgreSQL 15's default, and what a careful operator chose before).
REVERSE = """
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       OR pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE') THEN
        EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
    END IF;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0016_names_fold_case_and_refuse_invisible_characters")]

    operations = [RunPolicySQL(sql=[FORWARD], reverse_sql=[REVERSE])]
