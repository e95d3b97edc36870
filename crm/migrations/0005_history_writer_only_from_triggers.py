"""crm_history_write() answers only to the record_history triggers.

The runtime role needs EXECUTE on it (triggers run as the invoking role, and it is SECURITY DEFINER),
so it must refuse a direct call: otherwise any request could append forged history, to any firm.
"""

import importlib

from django.db import migrations

HISTORY_WRITE = importlib.import_module("crm.migrations.0004_history").HISTORY_WRITE
GUARD = """BEGIN
    IF pg_trigger_depth() = 0 THEN
        RAISE EXCEPTION 'history is written by triggers only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR v_key IN"""
GUARDED = HISTORY_WRITE.replace("BEGIN\n    FOR v_key IN", GUARD, 1)
assert GUARDED != HISTORY_WRITE


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_history")]

    operations = [migrations.RunSQL(GUARDED, HISTORY_WRITE)]
