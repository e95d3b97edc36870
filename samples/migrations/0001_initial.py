"""Samples and their lines: what became of a sample interaction's products (status, step times, feedback)."""

import django.db.models.deletion
import django.db.models.functions.comparison
import django.db.models.functions.datetime
import django.db.models.functions.text
import django.db.models.lookups
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        # The other apps' initial migrations only (their tables): an app's initial migration must not pull
        # their later ones forward (tests/migrations steps every app back to its initial migrations).
        ("crm", "0001_initial"),
        ("interactions", "0001_initial"),
        ("products", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SampleLine",
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
                ("quantity", models.DecimalField(decimal_places=2, max_digits=12)),
                (
                    "unit",
                    models.CharField(
                        choices=[
                            ("case", "Case"),
                            ("each", "Each"),
                            ("pack", "Pack"),
                            ("box", "Box"),
                            ("bag", "Bag"),
                            ("lb", "lb"),
                            ("oz", "oz"),
                            ("kg", "kg"),
                            ("g", "g"),
                            ("gal", "gal"),
                            ("l", "l"),
                        ],
                        default="case",
                        max_length=8,
                    ),
                ),
                ("scope_principal_id", models.BigIntegerField(editable=False, null=True)),
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
                    "interaction",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sample_lines",
                        to="interactions.interaction",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="products.product",
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
            ],
            options={
                "db_table": "sample_line",
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="Sample",
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
                    "status",
                    models.CharField(
                        choices=[
                            ("requested", "Requested"),
                            ("sent", "Sent"),
                            ("delivered", "Delivered"),
                            ("feedback_received", "Feedback received"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="requested",
                        max_length=20,
                    ),
                ),
                (
                    "requested_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(), editable=False
                    ),
                ),
                ("sent_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("delivered_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("feedback_received_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("cancelled_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("feedback", models.TextField(blank=True, max_length=10000)),
                (
                    "sentiment",
                    models.CharField(
                        blank=True,
                        choices=[("positive", "Positive"), ("neutral", "Neutral"), ("negative", "Negative")],
                        max_length=16,
                    ),
                ),
                ("scope_principal_id", models.BigIntegerField(editable=False, null=True)),
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
                    "interaction",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="samples",
                        to="interactions.interaction",
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
            ],
            options={
                "db_table": "sample",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("deleted_at__isnull", True)),
                        fields=["tenant", "scope_principal_id", "status", "-id"],
                        name="sample_live_principal_status",
                    ),
                    models.Index(
                        condition=models.Q(
                            ("deleted_at__isnull", True), ("status__in", ("requested", "sent", "delivered"))
                        ),
                        fields=["tenant", "-id"],
                        name="sample_live_open",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("deleted_at__isnull", True)),
                        fields=("interaction", "tenant"),
                        name="sample_interaction_unique_in_firm",
                        violation_error_message="This interaction already has a sample.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "status__in",
                                ["requested", "sent", "delivered", "feedback_received", "cancelled"],
                            )
                        ),
                        name="sample_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("sentiment__in", ["positive", "neutral", "negative", ""])),
                        name="sample_sentiment_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("feedback", ""), _negated=True),
                            models.Q(("status", "feedback_received"), _negated=True),
                            _connector="OR",
                        ),
                        name="sample_feedback_when_received",
                        violation_error_message="feedback is required once the feedback is received.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("feedback", ""),
                            ("status__in", ("feedback_received", "cancelled")),
                            _connector="OR",
                        ),
                        name="sample_feedback_only_when_received",
                        violation_error_message="feedback comes with the status feedback_received (or says why a sample was cancelled).",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("sentiment", ""), ("status", "feedback_received"), _connector="OR"
                        ),
                        name="sample_sentiment_only_when_received",
                        violation_error_message="sentiment comes with the status feedback_received.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("sent_at__isnull", True),
                                ("sent_at__gte", models.F("requested_at")),
                                _connector="OR",
                            ),
                            models.Q(
                                ("delivered_at__isnull", True),
                                (
                                    "delivered_at__gte",
                                    django.db.models.functions.comparison.Coalesce("sent_at", "requested_at"),
                                ),
                                _connector="OR",
                            ),
                            models.Q(
                                ("feedback_received_at__isnull", True),
                                (
                                    "feedback_received_at__gte",
                                    django.db.models.functions.comparison.Coalesce(
                                        "delivered_at", "sent_at", "requested_at"
                                    ),
                                ),
                                _connector="OR",
                            ),
                            models.Q(
                                ("cancelled_at__isnull", True),
                                (
                                    "cancelled_at__gte",
                                    django.db.models.functions.comparison.Coalesce(
                                        "delivered_at", "sent_at", "requested_at"
                                    ),
                                ),
                                _connector="OR",
                            ),
                        ),
                        name="sample_steps_in_order",
                        violation_error_message="A sample's steps are dated in their order.",
                    ),
                    models.CheckConstraint(
                        condition=django.db.models.lookups.LessThanOrEqual(
                            django.db.models.functions.text.Length("feedback"), 10000
                        ),
                        name="sample_feedback_max_length",
                        violation_error_message="Ensure feedback has no more than 10000 characters.",
                    ),
                ],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sample",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_columns",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE actor bigint;",
                    func="\n        actor := nullif(current_setting('crm.user_id', true), '')::bigint;\n        IF TG_OP = 'INSERT' THEN\n            NEW.tenant_id := coalesce(NEW.tenant_id, nullif(current_setting('crm.tenant_id', true), '')::bigint);\n            NEW.created_at := now();\n            NEW.created_by_id := coalesce(actor, NEW.created_by_id);\n            NEW.version := 1;\n            NEW.deleted_by_id := CASE WHEN NEW.deleted_at IS NOT NULL THEN coalesce(actor, NEW.deleted_by_id) END;\n        ELSE\n            IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN\n                RAISE EXCEPTION 'a row cannot move to another tenant'\n                    USING ERRCODE = 'check_violation', COLUMN = 'tenant_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.created_at := OLD.created_at;\n            NEW.created_by_id := OLD.created_by_id;\n            -- Optimistic concurrency: every update bumps the version the API hands out as an ETag.\n            NEW.version := OLD.version + 1;\n            IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN\n                NEW.deleted_by_id := coalesce(actor, NEW.deleted_by_id);\n            ELSIF NEW.deleted_at IS NULL THEN\n                NEW.deleted_by_id := NULL;\n            ELSE\n                NEW.deleted_by_id := OLD.deleted_by_id;  -- who deleted it is history, not an input\n            END IF;\n        END IF;\n        NEW.updated_at := now();\n        NEW.updated_by_id := coalesce(actor, NEW.updated_by_id);\n        RETURN NEW;\n",
                    hash="b01b394ceef288d982b6596e6f70cb59be2761ca",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_audit_columns_8ddbc",
                    table="sample",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sample",
            trigger=pgtrigger.compiler.Trigger(
                name="refuse_hard_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n        IF coalesce(current_setting('crm.purge', true), '') <> 'on' THEN\n            RAISE EXCEPTION 'rows are soft-deleted: set deleted_at, or purge with manage.py purge'\n                USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN OLD;\n",
                    hash="ce6ee63f3b052964d10c285f9a1db7b2b1a06fad",
                    operation="DELETE",
                    pgid="pgtrigger_refuse_hard_delete_23c8a",
                    table="sample",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sample",
            trigger=pgtrigger.compiler.Trigger(
                name="record_history",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n        PERFORM crm_history_write(\n            TG_OP, TG_TABLE_NAME,\n            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,\n            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END,\n            'scope_principal_id', false\n        );\n        RETURN NULL;",
                    hash="db7c41571cd91efa49600ecb7f5ab6a81cb06eb0",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_record_history_b375a",
                    table="sample",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sample",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record; new_rank integer; old_rank integer; reached integer;",
                    func="\n        IF NEW.interaction_id IS NOT NULL THEN\n            SELECT NULL::text AS type, principal_id AS copy_scope_principal_id INTO ref FROM interaction\n             WHERE id = NEW.interaction_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.interaction_id = OLD.interaction_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'interaction % does not exist', NEW.interaction_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.scope_principal_id := ref.copy_scope_principal_id;\n        END IF;\n        IF TG_OP = 'UPDATE' AND NEW.interaction_id IS DISTINCT FROM OLD.interaction_id THEN\n            RAISE EXCEPTION 'interaction cannot change once set'\n                USING ERRCODE = 'check_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        IF NEW.deleted_at IS NULL THEN\n            PERFORM 1 FROM interaction\n             WHERE id = NEW.interaction_id AND tenant_id = NEW.tenant_id AND type = 'sample';\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'only a sample interaction has a sample'\n                    USING ERRCODE = 'check_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF NEW.scope_principal_id IS NULL THEN\n                RAISE EXCEPTION 'a sample is of a principal''s products: its interaction needs a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        new_rank := array_position(ARRAY['requested', 'sent', 'delivered', 'feedback_received'], NEW.status::text);\n        IF TG_OP = 'UPDATE' THEN\n            old_rank := array_position(ARRAY['requested', 'sent', 'delivered', 'feedback_received'], OLD.status::text);\n            IF NEW.status IS DISTINCT FROM OLD.status THEN\n                IF OLD.status IN ('feedback_received', 'cancelled') THEN\n                    RAISE EXCEPTION 'a sample whose status is % keeps it', OLD.status\n                        USING ERRCODE = 'check_violation', COLUMN = 'status', TABLE = TG_TABLE_NAME;\n                END IF;\n                IF new_rank IS NOT NULL AND new_rank < old_rank THEN\n                    RAISE EXCEPTION 'a sample moves forward: it cannot go back from % to %', OLD.status, NEW.status\n                        USING ERRCODE = 'check_violation', COLUMN = 'status', TABLE = TG_TABLE_NAME;\n                END IF;\n            END IF;\n        END IF;\n        -- How far the sample got: its status, or, cancelled, the steps it had passed (as they were, or as\n        -- the insert of a sample logged already cancelled gives them).\n        reached := coalesce(new_rank, CASE WHEN TG_OP = 'UPDATE' THEN old_rank END,\n            CASE WHEN TG_OP = 'UPDATE' THEN\n                CASE WHEN OLD.delivered_at IS NOT NULL THEN 3 WHEN OLD.sent_at IS NOT NULL THEN 2 ELSE 1 END\n            ELSE\n                CASE WHEN NEW.delivered_at IS NOT NULL THEN 3 WHEN NEW.sent_at IS NOT NULL THEN 2 ELSE 1 END\n            END);\n        NEW.requested_at := CASE WHEN reached >= 1\n            THEN coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD.requested_at END, NEW.requested_at, statement_timestamp()) END;\n        NEW.sent_at := CASE WHEN reached >= 2\n            THEN coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD.sent_at END, NEW.sent_at, statement_timestamp()) END;\n        NEW.delivered_at := CASE WHEN reached >= 3\n            THEN coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD.delivered_at END, NEW.delivered_at, statement_timestamp()) END;\n        NEW.feedback_received_at := CASE WHEN reached >= 4\n            THEN coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD.feedback_received_at END, NEW.feedback_received_at, statement_timestamp()) END;\n        NEW.cancelled_at := CASE WHEN NEW.status = 'cancelled'\n            THEN coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD.cancelled_at END, NEW.cancelled_at, statement_timestamp()) END;\n        IF greatest(NEW.requested_at, NEW.sent_at, NEW.delivered_at, NEW.feedback_received_at, NEW.cancelled_at)\n           > statement_timestamp() THEN\n            RAISE EXCEPTION 'a sample''s step cannot be dated in the future'\n                USING ERRCODE = 'check_violation', COLUMN = 'status', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN NEW;",
                    hash="1737bfa6dcbe2c61cc433f3976432c9e0c46efd4",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_d9566",
                    table="sample",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddIndex(
            model_name="sampleline",
            index=models.Index(fields=["product"], name="sample_line_product"),
        ),
        migrations.AddConstraint(
            model_name="sampleline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=("interaction", "product", "tenant"),
                name="sample_line_unique_in_firm",
                violation_error_message="This product is already on this sample.",
            ),
        ),
        migrations.AddConstraint(
            model_name="sampleline",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity__gt", 0)),
                name="sample_line_quantity_positive",
                violation_error_message="quantity must be more than zero.",
            ),
        ),
        migrations.AddConstraint(
            model_name="sampleline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("unit__in", ["case", "each", "pack", "box", "bag", "lb", "oz", "kg", "g", "gal", "l"])
                ),
                name="sample_line_unit_valid",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sampleline",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_columns",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE actor bigint;",
                    func="\n        actor := nullif(current_setting('crm.user_id', true), '')::bigint;\n        IF TG_OP = 'INSERT' THEN\n            NEW.tenant_id := coalesce(NEW.tenant_id, nullif(current_setting('crm.tenant_id', true), '')::bigint);\n            NEW.created_at := now();\n            NEW.created_by_id := coalesce(actor, NEW.created_by_id);\n            NEW.version := 1;\n            NEW.deleted_by_id := CASE WHEN NEW.deleted_at IS NOT NULL THEN coalesce(actor, NEW.deleted_by_id) END;\n        ELSE\n            IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN\n                RAISE EXCEPTION 'a row cannot move to another tenant'\n                    USING ERRCODE = 'check_violation', COLUMN = 'tenant_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.created_at := OLD.created_at;\n            NEW.created_by_id := OLD.created_by_id;\n            -- Optimistic concurrency: every update bumps the version the API hands out as an ETag.\n            NEW.version := OLD.version + 1;\n            IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN\n                NEW.deleted_by_id := coalesce(actor, NEW.deleted_by_id);\n            ELSIF NEW.deleted_at IS NULL THEN\n                NEW.deleted_by_id := NULL;\n            ELSE\n                NEW.deleted_by_id := OLD.deleted_by_id;  -- who deleted it is history, not an input\n            END IF;\n        END IF;\n        NEW.updated_at := now();\n        NEW.updated_by_id := coalesce(actor, NEW.updated_by_id);\n        RETURN NEW;\n",
                    hash="852c5aecb6839b3a6d0838b2141964d224ffb0e6",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_audit_columns_e90b1",
                    table="sample_line",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sampleline",
            trigger=pgtrigger.compiler.Trigger(
                name="refuse_hard_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n        IF coalesce(current_setting('crm.purge', true), '') <> 'on' THEN\n            RAISE EXCEPTION 'rows are soft-deleted: set deleted_at, or purge with manage.py purge'\n                USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN OLD;\n",
                    hash="63377e1af2d8501755b4cb36f87928cea456349a",
                    operation="DELETE",
                    pgid="pgtrigger_refuse_hard_delete_160c2",
                    table="sample_line",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sampleline",
            trigger=pgtrigger.compiler.Trigger(
                name="record_history",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n        PERFORM crm_history_write(\n            TG_OP, TG_TABLE_NAME,\n            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,\n            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END,\n            'scope_principal_id', false\n        );\n        RETURN NULL;",
                    hash="66ea616d1321a946136034801e695938c19dbaf6",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_record_history_172e7",
                    table="sample_line",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="sampleline",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.interaction_id IS NOT NULL THEN\n            SELECT NULL::text AS type, principal_id AS copy_scope_principal_id INTO ref FROM interaction\n             WHERE id = NEW.interaction_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.interaction_id = OLD.interaction_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'interaction % does not exist', NEW.interaction_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.scope_principal_id := ref.copy_scope_principal_id;\n        END IF;\n        IF NEW.product_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.product_id IS DISTINCT FROM OLD.product_id) THEN\n            SELECT NULL::text AS type INTO ref FROM product\n             WHERE id = NEW.product_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.product_id = OLD.product_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'product % does not exist', NEW.product_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'product_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF TG_OP = 'UPDATE' AND NEW.interaction_id IS DISTINCT FROM OLD.interaction_id THEN\n            RAISE EXCEPTION 'interaction cannot change once set'\n                USING ERRCODE = 'check_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        IF NEW.deleted_at IS NULL THEN\n            PERFORM 1 FROM sample\n             WHERE interaction_id = NEW.interaction_id AND tenant_id = NEW.tenant_id AND deleted_at IS NULL;\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'only a sample interaction with its sample has sample lines'\n                    USING ERRCODE = 'check_violation', COLUMN = 'interaction_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            PERFORM 1 FROM product\n             WHERE id = NEW.product_id AND tenant_id = NEW.tenant_id AND principal_id = NEW.scope_principal_id;\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'product must be one of the sample''s principal''s products'\n                    USING ERRCODE = 'check_violation', COLUMN = 'product_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        RETURN NEW;",
                    hash="afa6ba79b61b31ec35666cb4d23313b5fc001134",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_7d494",
                    table="sample_line",
                    when="BEFORE",
                ),
            ),
        ),
    ]
