"""Every firm's stage probabilities: the default figures for each existing firm, and a trigger that gives
each new firm its own (ADR 0032). Opportunities are not touched: this prints how many open ones differ
from their firm's figure, which `manage.py reset_probabilities --firm <id>` aligns on request."""

from typing import Any

from django.db import migrations

OPEN_STAGES = (
    "ARRAY['new_lead', 'initial_outreach', 'sample_visit_offered', 'feedback_logged', 'demo_scheduled']"
)


def say_what_is_left(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM opportunity o JOIN stage_probability s"
            " ON s.tenant_id = o.tenant_id AND s.stage = o.stage"
            " WHERE o.deleted_at IS NULL AND o.probability <> s.probability"
        )
        (differing,) = cursor.fetchone()
    if differing:
        print(
            f"\n    {differing} open opportunities keep a probability other than their firm's figure for their"
            " stage; they follow it from their next stage change, or now with"
            " `manage.py reset_probabilities --firm <id>` (--dry-run first)."
        )


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0019_stage_probability_policies")]

    operations = [
        migrations.RunSQL(
            f"""
            INSERT INTO stage_probability (tenant_id, stage, probability)
            SELECT tenant.id, stage, opportunity_default_probability(stage)
              FROM tenant CROSS JOIN unnest({OPEN_STAGES}) AS stage
             ORDER BY tenant.id, array_position({OPEN_STAGES}, stage);
            """,
            "DELETE FROM stage_probability;",
        ),
        migrations.RunSQL(
            f"""
            CREATE FUNCTION stage_probability_seed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO stage_probability (tenant_id, stage, probability)
                SELECT NEW.id, stage, opportunity_default_probability(stage)
                  FROM unnest({OPEN_STAGES}) WITH ORDINALITY AS s (stage, position)
                 ORDER BY position;
                RETURN NULL;
            END;
            $$;
            CREATE TRIGGER stage_probability_seed AFTER INSERT ON tenant
                FOR EACH ROW EXECUTE FUNCTION stage_probability_seed();
            """,
            """
            DROP TRIGGER IF EXISTS stage_probability_seed ON tenant;
            -- squawk-ignore ban-drop-function
            DROP FUNCTION IF EXISTS stage_probability_seed();
            """,
        ),
        migrations.RunPython(say_what_is_left, migrations.RunPython.noop),
    ]
