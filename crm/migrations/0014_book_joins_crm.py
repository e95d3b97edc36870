"""The book (PrincipalAssignment) moves from organizations into crm, which reads it for every request's
context (crm_request_context()). The table stays where it is: only Django's state moves (no rewrite,
no lock beyond the triggers' own DDL). pgtrigger names its triggers by app label, so this step creates
the triggers under their crm names first and organizations 0015 then drops the old ones: the table is
never without its audit, hard-delete and reference checks. The admin's content type (and with it its
permissions and log entries) is renamed to crm's."""

from typing import Any

import django.db.models.deletion
import django.db.models.functions.datetime
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


def content_type_to(app_label: str) -> Any:
    def move(apps: Any, schema_editor: Any) -> None:
        content_types = apps.get_model("contenttypes", "ContentType").objects.using(
            schema_editor.connection.alias
        )
        other = "organizations" if app_label == "crm" else "crm"
        # A fresh database has none yet (post_migrate creates them); one that has both keeps both.
        if not content_types.filter(app_label=app_label, model="principalassignment").exists():
            content_types.filter(app_label=other, model="principalassignment").update(app_label=app_label)

    return move


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("crm", "0013_context_check_in_plpgsql"),
        ("organizations", "0014_policies_require_verified_context"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PrincipalAssignment",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now(), editable=False
                            ),
                        ),
                        (
                            "updated_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now(), editable=False
                            ),
                        ),
                        ("deleted_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        ("version", models.PositiveIntegerField(default=1, editable=False)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "deleted_by",
                            models.ForeignKey(
                                blank=True,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "principal",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="assignments",
                                to="organizations.organization",
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                db_index=False,
                                editable=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="crm.tenant",
                            ),
                        ),
                        (
                            "updated_by",
                            models.ForeignKey(
                                blank=True,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="book",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "principal_assignment",
                        "ordering": ["id"],
                        "indexes": [
                            models.Index(fields=["principal"], name="principal_assignment_principal"),
                            models.Index(fields=["tenant", "user"], name="principal_assignment_tenant"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("deleted_at__isnull", True)),
                                fields=("user", "principal"),
                                name="principal_assignment_unique",
                                violation_error_message="This principal is already in this user's book.",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        # Backwards, pgtrigger drops each trigger below but not its function: this drops them after.
        migrations.RunSQL(
            sql=migrations.RunSQL.noop,
            reverse_sql=(
                "DROP FUNCTION pgtrigger_audit_columns_a002b();"
                " DROP FUNCTION pgtrigger_refuse_hard_delete_9c8e0();"
                " DROP FUNCTION pgtrigger_check_references_284a2();"
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="principalassignment",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_columns",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE actor bigint;",
                    func="\n        actor := nullif(current_setting('crm.user_id', true), '')::bigint;\n        IF TG_OP = 'INSERT' THEN\n            NEW.tenant_id := coalesce(NEW.tenant_id, nullif(current_setting('crm.tenant_id', true), '')::bigint);\n            NEW.created_at := now();\n            NEW.created_by_id := coalesce(actor, NEW.created_by_id);\n            NEW.version := 1;\n            NEW.deleted_by_id := CASE WHEN NEW.deleted_at IS NOT NULL THEN coalesce(actor, NEW.deleted_by_id) END;\n        ELSE\n            IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN\n                RAISE EXCEPTION 'a row cannot move to another tenant'\n                    USING ERRCODE = 'check_violation', COLUMN = 'tenant_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.created_at := OLD.created_at;\n            NEW.created_by_id := OLD.created_by_id;\n            -- Optimistic concurrency: every update bumps the version the API hands out as an ETag.\n            NEW.version := OLD.version + 1;\n            IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN\n                NEW.deleted_by_id := coalesce(actor, NEW.deleted_by_id);\n            ELSIF NEW.deleted_at IS NULL THEN\n                NEW.deleted_by_id := NULL;\n            ELSE\n                NEW.deleted_by_id := OLD.deleted_by_id;  -- who deleted it is history, not an input\n            END IF;\n        END IF;\n        NEW.updated_at := now();\n        NEW.updated_by_id := coalesce(actor, NEW.updated_by_id);\n        RETURN NEW;\n",
                    hash="7175d9d4e226ca1988c001ab6f23cc4c98322fec",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_audit_columns_a002b",
                    table="principal_assignment",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="principalassignment",
            trigger=pgtrigger.compiler.Trigger(
                name="refuse_hard_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n        IF coalesce(current_setting('crm.purge', true), '') <> 'on' THEN\n            RAISE EXCEPTION 'rows are soft-deleted: set deleted_at, or purge with manage.py purge'\n                USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN OLD;\n",
                    hash="cea1ea9421cf393ed46de2a7022afcfb6dd4018f",
                    operation="DELETE",
                    pgid="pgtrigger_refuse_hard_delete_9c8e0",
                    table="principal_assignment",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="principalassignment",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.principal_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.principal_id IS DISTINCT FROM OLD.principal_id) THEN\n            SELECT tenant_id, type INTO ref FROM organization\n             WHERE id = NEW.principal_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.principal_id = OLD.principal_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND OR ref.tenant_id <> NEW.tenant_id THEN\n                RAISE EXCEPTION 'principal % does not exist', NEW.principal_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('principal') THEN\n                RAISE EXCEPTION 'principal must be a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.user_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id)\n           AND NOT crm_is_member(NEW.user_id, NEW.tenant_id) THEN\n            RAISE EXCEPTION 'user % does not exist', NEW.user_id\n                USING ERRCODE = 'foreign_key_violation', COLUMN = 'user_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN NEW;",
                    hash="ed4ff8859dd951d4bc2bf1c49a94e9ad058fbf17",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_284a2",
                    table="principal_assignment",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.RunPython(content_type_to("crm"), content_type_to("organizations"), elidable=False),
    ]
