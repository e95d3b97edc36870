"""What the duplicates lists compare, as functions the match keys are kept by (ADR 0029), and history
leaving those keys out.

`crm_name_words(name)`: a name's words as duplicates are compared: its crm_name_key() split at whitespace,
punctuation, dashes and quotes, without corporate words, distinct and sorted (crm.text.name_tokens mirrors
it; tests/organizations/test_duplicates.py compares them). `crm_phone_key(phone)`: its last ten digits,
NULL when it has none. Both IMMUTABLE (crm_name_key is): organizations and contacts keep their match keys
with them in a BEFORE trigger (organizations 0023, contacts 0024).

The keys are bookkeeping the database derives from a row's own fields, like search_vector: history's writer
skips them, so a rename is recorded as a rename and not also as its folded words.
"""

import importlib

from django.db import migrations

PREVIOUS = importlib.import_module("crm.migrations.0030_history_records_merges").CURRENT

SKIPPED = "'version', 'search_vector', 'deleted_by_id', 'scope_principal_id');"
CURRENT = PREVIOUS.replace(
    SKIPPED,
    "'version', 'search_vector', 'deleted_by_id', 'scope_principal_id',\n"
    "                                'match_words', 'match_city', 'match_name', 'match_email', 'match_phone');",
    1,
)
assert CURRENT.count("'match_phone'") == 1, CURRENT

# The separators are crm.text.TOKEN_SEPARATOR_PATTERN and the words crm.text.CORPORATE_WORDS, as they were.
NAME_WORDS = r"""
CREATE FUNCTION crm_name_words(value text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(
        SELECT DISTINCT word
          FROM regexp_split_to_table(
                   crm_name_key(value),
                   '[\u0009-\u000d\u0020-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007e\u0085\u00a0-\u00a9\u00ab-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u00d7\u00f7\u2010-\u2027\u2030-\u205e\u2212\u3000-\u3003]+'
               ) AS word
         WHERE word <> ''
           AND word <> ALL ('{and,co,company,corp,corporation,gmbh,inc,incorporated,limited,llc,llp,lp,ltd,plc,the}'::text[])
         ORDER BY word
    );
"""

PHONE_KEY = r"""
CREATE FUNCTION crm_phone_key(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN nullif(right(regexp_replace(value, '[^0-9]', '', 'g'), 10), '');
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0030_history_records_merges")]

    operations = [
        migrations.RunSQL(CURRENT, PREVIOUS),
        migrations.RunSQL(
            [NAME_WORDS, PHONE_KEY],
            """
            -- squawk-ignore ban-drop-function
            DROP FUNCTION IF EXISTS crm_phone_key(text);
            -- squawk-ignore ban-drop-function
            DROP FUNCTION IF EXISTS crm_name_words(text);
            """,
        ),
    ]
