"""History names the row's updated_by when no request set crm.user_id (commands, data fixes).

The audit trigger already keeps updated_by that way; history now agrees with it.
"""

import importlib

from django.db import migrations

PREVIOUS = importlib.import_module("crm.migrations.0005_history_writer_only_from_triggers").GUARDED
ACTOR = "nullif(current_setting('crm.user_id', true), '')::bigint,"
CURRENT = PREVIOUS.replace(
    ACTOR,
    "coalesce(nullif(current_setting('crm.user_id', true), '')::bigint, (v_row ->> 'updated_by_id')::bigint),",
    1,
)
assert CURRENT != PREVIOUS


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_history_writer_only_from_triggers")]

    operations = [migrations.RunSQL(CURRENT, PREVIOUS)]
