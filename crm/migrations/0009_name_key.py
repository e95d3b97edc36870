"""Names compared as people read them: crm_name_key(), NFC storage, and no control or invisible characters.

crm_name_key(text) is the uniqueness key of names, emails and codes: NFKC (fullwidth letters, ligatures
and no-break spaces become their plain forms), lower case, every run of whitespace one space, trimmed.
The Lower() unique indexes of tenant names and user emails become indexes on it, and both columns get a
CHECK: stored NFC, free of Unicode Cc/Cf characters (the literal ranges of crm.text.FORBIDDEN_RANGES:
PostgreSQL's [[:cntrl:]] and \\s follow LC_CTYPE, under "C" ASCII only). Sign-in looks users up by the
same key. Rows the new rules would refuse (a control or invisible character, two users or firms with
one key) stop the migration with a report naming them; then existing values are NFC-normalised.

Not atomic: the new unique indexes (tenant_name_key_unique, crm_user_email_key_unique, with the old
ones' messages) are built CONCURRENTLY beside the old ones, which are then dropped CONCURRENTLY; the
CHECKs are added NOT VALID, then validated, each in its own transaction.
The entity apps' own migrations do the same for their tables and depend on this one for the function.
"""

from django.db import migrations, models

import crm.text
from crm.migration_operations import (
    RefuseNameConflicts,
    add_check_not_valid,
    replace_unique_index,
    validate_constraint,
)

FORBIDDEN = r"[\u0001-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"

NAME_KEY = r"""
CREATE OR REPLACE FUNCTION crm_name_key(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN btrim(
        regexp_replace(
            lower(normalize(value, NFKC)),
            '[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+',
            ' ',
            'g'
        ),
        ' '
    );
"""

AUTH_USER = """
CREATE OR REPLACE FUNCTION crm_auth_user(p_email text, p_user_id bigint)
RETURNS SETOF crm_user
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT * FROM crm_user
     WHERE (p_email IS NOT NULL AND crm_name_key(email) = crm_name_key(p_email))
        OR (p_user_id IS NOT NULL AND id = p_user_id);
$$;
"""

AUTH_USER_BEFORE = """
CREATE OR REPLACE FUNCTION crm_auth_user(p_email text, p_user_id bigint)
RETURNS SETOF crm_user
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT * FROM crm_user
     WHERE (p_email IS NOT NULL AND lower(email) = lower(p_email)) OR (p_user_id IS NOT NULL AND id = p_user_id);
$$;
"""


def normalized(table: str, model_name: str, column: str) -> migrations.SeparateDatabaseAndState:
    return add_check_not_valid(
        model_name,
        models.CheckConstraint(
            condition=models.Q((column, crm.text.NFC(models.F(column))))
            & ~models.Q((f"{column}__regex", FORBIDDEN)),
            name=f"{table}_{column}_normalized",
            violation_error_message=(
                f"{column} must be NFC-normalised and must not contain control or invisible formatting"
                " characters."
            ),
        ),
        table=table,
        check=f"""{column} = normalize({column}, NFC) AND NOT ({column} ~ '{FORBIDDEN}')""",
    )


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("crm", "0008_foreign_key_indexes_deduplicated"),
    ]

    operations = [
        migrations.RunSQL(NAME_KEY, "DROP FUNCTION IF EXISTS crm_name_key(text);"),
        RefuseNameConflicts(
            "crm_user",
            "email",
            scope=(),
            tenant_column="(SELECT tenant_id FROM membership WHERE membership.user_id = crm_user.id)",
        ),
        RefuseNameConflicts("tenant", "name", scope=(), tenant_column="id"),
        # After the report: an NFC update cannot then collide on the old lower() indexes.
        migrations.RunSQL(
            "UPDATE crm_user SET email = normalize(email, NFC) WHERE email IS NOT NFC NORMALIZED;"
            " UPDATE tenant SET name = normalize(name, NFC) WHERE name IS NOT NFC NORMALIZED;",
            migrations.RunSQL.noop,
        ),
        normalized("tenant", "tenant", "name"),
        normalized("crm_user", "user", "email"),
        validate_constraint("tenant", "tenant_name_normalized"),
        validate_constraint("crm_user", "crm_user_email_normalized"),
        replace_unique_index(
            "tenant",
            "tenant_name_unique",
            models.UniqueConstraint(crm.text.NameKey("name"), name="tenant_name_key_unique"),
            table="tenant",
            new="((crm_name_key(name)))",
            old="((lower(name)))",
        ),
        replace_unique_index(
            "user",
            "crm_user_email_unique",
            models.UniqueConstraint(crm.text.NameKey("email"), name="crm_user_email_key_unique"),
            table="crm_user",
            new="((crm_name_key(email)))",
            old="((lower(email)))",
        ),
        migrations.RunSQL(AUTH_USER, AUTH_USER_BEFORE),
    ]
