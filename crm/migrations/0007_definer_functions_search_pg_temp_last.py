"""SECURITY DEFINER functions name pg_temp last in their search_path.

Without it the caller's temporary schema is searched first for tables: the runtime role (which may
create temporary tables) could shadow `membership` or `crm_user` inside a function running as the
owner, e.g. make crm_member_ids() return ids of its choosing. Found by `manage.py dbhealth`
(security_definer_functions); PostgreSQL's "Writing SECURITY DEFINER Functions Safely" advice.
"""

from django.db import migrations

FUNCTIONS = (
    "crm_request_context(bigint)",
    "crm_is_member(bigint, bigint)",
    "crm_member_ids()",
    "crm_auth_user(text, bigint)",
    "crm_create_member(text, text, text, text, text)",
    "crm_history_write(text, text, jsonb, jsonb, text, boolean)",
)


def search_path(path: str) -> str:
    return "".join(f"ALTER FUNCTION {function} SET search_path = {path};\n" for function in FUNCTIONS)


class Migration(migrations.Migration):
    dependencies = [("crm", "0006_history_actor_falls_back_to_updated_by")]

    operations = [
        migrations.RunSQL(
            search_path("pg_catalog, public, pg_temp"), reverse_sql=search_path("pg_catalog, public")
        ),
    ]
