"""A firm's probability per stage, and the opportunity's probability following its stage (ADR 0032).

The opportunity's check_references trigger now fills the probability in from the firm's figures on an
insert that gives none and on a stage change that does not set it, keeps closed won at 100 and closed
lost at 0, and makes the owner default to the creator. Existing opportunities are left as they are: an
open deal keeps the probability it has until its stage changes (`manage.py reset_probabilities` aligns a
firm's on request), and a closed one keeps its figure until it is next written. The figures are created
for every firm by 0020.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0027_feed_horizon_per_database"),
        ("opportunities", "0017_foreign_keys_in_firm_validated"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The figures a firm starts with, and the fixed ones of the closed stages (models.DEFAULT_STAGE_
        # PROBABILITIES says the same): the seed of a new firm, and the fallback for a firm's missing row.
        migrations.RunSQL(
            """
            CREATE FUNCTION opportunity_default_probability(stage text) RETURNS integer
                LANGUAGE sql IMMUTABLE PARALLEL SAFE
                RETURN CASE stage
                    WHEN 'new_lead' THEN 10
                    WHEN 'initial_outreach' THEN 20
                    WHEN 'sample_visit_offered' THEN 40
                    WHEN 'feedback_logged' THEN 50
                    WHEN 'demo_scheduled' THEN 70
                    WHEN 'closed_won' THEN 100
                    WHEN 'closed_lost' THEN 0
                END;
            """,
            "DROP FUNCTION IF EXISTS opportunity_default_probability(text);",
        ),
        migrations.CreateModel(
            name="StageProbability",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "stage",
                    models.CharField(
                        choices=[
                            ("new_lead", "New lead"),
                            ("initial_outreach", "Initial outreach"),
                            ("sample_visit_offered", "Sample / visit offered"),
                            ("feedback_logged", "Feedback logged"),
                            ("demo_scheduled", "Demo scheduled"),
                        ],
                        max_length=24,
                    ),
                ),
                ("probability", models.PositiveBigIntegerField(help_text="0–100 (percent).")),
                (
                    "updated_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(), editable=False
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
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
            ],
            options={
                "verbose_name": "stage probability",
                "verbose_name_plural": "stage probabilities",
                "db_table": "stage_probability",
                "ordering": ["tenant", "id"],
            },
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="opportunity",
            name="check_references",
        ),
        migrations.AlterField(
            model_name="opportunity",
            name="probability",
            field=models.PositiveSmallIntegerField(
                blank=True, help_text="0–100 (percent); follows the stage unless set (ADR 0032)."
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="opportunity",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.principal_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.principal_id IS DISTINCT FROM OLD.principal_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.principal_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.principal_id = OLD.principal_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'principal % does not exist', NEW.principal_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('principal') THEN\n                RAISE EXCEPTION 'principal must be a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.customer_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.customer_id IS DISTINCT FROM OLD.customer_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.customer_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.customer_id = OLD.customer_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'customer % does not exist', NEW.customer_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'customer_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('customer', 'prospect') THEN\n                RAISE EXCEPTION 'customer must be a customer or prospect'\n                    USING ERRCODE = 'check_violation', COLUMN = 'customer_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.distributor_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.distributor_id IS DISTINCT FROM OLD.distributor_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.distributor_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.distributor_id = OLD.distributor_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'distributor % does not exist', NEW.distributor_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('distributor') THEN\n                RAISE EXCEPTION 'distributor must be a distributor'\n                    USING ERRCODE = 'check_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF TG_OP = 'UPDATE' AND NEW.principal_id IS DISTINCT FROM OLD.principal_id THEN\n            RAISE EXCEPTION 'principal cannot change once set'\n                USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        IF TG_OP = 'INSERT' AND NEW.owner_id IS NULL THEN\n            NEW.owner_id := nullif(current_setting('crm.user_id', true), '')::bigint;\n        END IF;\n        IF NEW.owner_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.owner_id IS DISTINCT FROM OLD.owner_id)\n           AND NOT crm_is_member(NEW.owner_id, NEW.tenant_id) THEN\n            RAISE EXCEPTION 'owner % does not exist', NEW.owner_id\n                USING ERRCODE = 'foreign_key_violation', COLUMN = 'owner_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        IF TG_OP = 'INSERT' OR NEW.stage IS DISTINCT FROM OLD.stage THEN\n            NEW.stage_changed_at := now();\n        ELSE\n            NEW.stage_changed_at := OLD.stage_changed_at;\n        END IF;\n        IF NEW.stage IN ('closed_won', 'closed_lost') THEN\n            NEW.closed_on := coalesce(NEW.closed_on, current_date);\n        ELSE\n            NEW.closed_on := NULL;\n        END IF;\n        IF NEW.stage IN ('closed_won', 'closed_lost') THEN\n            IF NEW.probability IS NULL\n               OR (TG_OP = 'UPDATE' AND NEW.probability IS NOT DISTINCT FROM OLD.probability) THEN\n                NEW.probability := opportunity_default_probability(NEW.stage);\n            ELSIF NEW.probability <> opportunity_default_probability(NEW.stage) THEN\n                RAISE EXCEPTION 'probability must be % when the opportunity is %',\n                    opportunity_default_probability(NEW.stage), replace(NEW.stage, '_', ' ')\n                    USING ERRCODE = 'check_violation', COLUMN = 'probability', TABLE = TG_TABLE_NAME;\n            END IF;\n        ELSIF NEW.probability IS NULL\n              OR (TG_OP = 'UPDATE' AND NEW.stage IS DISTINCT FROM OLD.stage\n                  AND NEW.probability IS NOT DISTINCT FROM OLD.probability) THEN\n            -- 0 only for a stage that is none (opportunity_stage_valid then refuses the row, by name).\n            NEW.probability := coalesce(\n                (SELECT probability FROM stage_probability\n                  WHERE tenant_id = NEW.tenant_id AND stage = NEW.stage),\n                opportunity_default_probability(NEW.stage),\n                0\n            );\n        END IF;\n        RETURN NEW;",
                    hash="a3b1565fac2e5b50e753305429b880e466c496c2",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_d4b53",
                    table="opportunity",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="stageprobability",
            constraint=models.UniqueConstraint(
                fields=("tenant", "stage"), name="stage_probability_once_per_firm"
            ),
        ),
        migrations.AddConstraint(
            model_name="stageprobability",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "stage__in",
                        (
                            "new_lead",
                            "initial_outreach",
                            "sample_visit_offered",
                            "feedback_logged",
                            "demo_scheduled",
                        ),
                    )
                ),
                name="stage_probability_open_stage",
                violation_error_message="Only an open stage has a firm's probability.",
            ),
        ),
        migrations.AddConstraint(
            model_name="stageprobability",
            constraint=models.CheckConstraint(
                condition=models.Q(("probability__gte", 0), ("probability__lte", 100)),
                name="stage_probability_range",
                violation_error_message="probability must be between 0 and 100.",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="stageprobability",
            trigger=pgtrigger.compiler.Trigger(
                name="stamp_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n        IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id OR NEW.stage IS DISTINCT FROM OLD.stage THEN\n            RAISE EXCEPTION 'a firm''s stage probability keeps its firm and stage'\n                USING ERRCODE = 'check_violation', COLUMN = 'stage', TABLE = TG_TABLE_NAME;\n        END IF;\n        NEW.updated_at := now();\n        NEW.updated_by_id := nullif(current_setting('crm.user_id', true), '')::bigint;\n        RETURN NEW;",
                    hash="1a480ca8bfb8ef6c5bdbbe8c01e923b3c949cf61",
                    operation="UPDATE",
                    pgid="pgtrigger_stamp_update_2f8d3",
                    table="stage_probability",
                    when="BEFORE",
                ),
            ),
        ),
    ]
