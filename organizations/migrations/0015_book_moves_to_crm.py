"""The book (PrincipalAssignment) now belongs to crm (crm 0014, which created its triggers under their
crm names): drop the triggers pgtrigger named after this app, and forget the model without touching the
table. The old triggers' functions go with them."""

import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0014_policies_require_verified_context"),
        ("crm", "0014_book_joins_crm"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name="principalassignment", name="audit_columns"),
        pgtrigger.migrations.RemoveTrigger(model_name="principalassignment", name="refuse_hard_delete"),
        pgtrigger.migrations.RemoveTrigger(model_name="principalassignment", name="check_references"),
        # pgtrigger drops a trigger but not its function; these three have no other user. Backwards,
        # RemoveTrigger re-creates each function with its trigger.
        migrations.RunSQL(
            # squawk's ban-drop-function guards functions clients call; a trigger function cannot be.
            sql="""
-- squawk-ignore ban-drop-function
DROP FUNCTION pgtrigger_audit_columns_a3a77();
-- squawk-ignore ban-drop-function
DROP FUNCTION pgtrigger_refuse_hard_delete_f4df4();
-- squawk-ignore ban-drop-function
DROP FUNCTION pgtrigger_check_references_8e988();
""",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PrincipalAssignment")],
            database_operations=[],
        ),
    ]
