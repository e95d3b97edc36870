"""A sample's and its lines' references hold the tenant (added NOT VALID, validated in 0003: why, in
organizations.0018_foreign_keys_hold_the_tenant); an interaction with a sample keeps its type and principal
(what the sample's scope and its products' check rest on)."""

from django.db import migrations

from crm.migration_operations import add_foreign_key_in_firm

# The interaction's side of the samples' rules, on the interactions app's table (its own triggers are
# pgtrigger's; this one is the samples app's, so it lives and goes with this app).
SAMPLE_KEEPS_INTERACTION = """
CREATE FUNCTION sample_keeps_interaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.type IS DISTINCT FROM OLD.type OR NEW.principal_id IS DISTINCT FROM OLD.principal_id THEN
        PERFORM 1 FROM sample
         WHERE interaction_id = NEW.id AND tenant_id = NEW.tenant_id AND deleted_at IS NULL
        UNION ALL
        SELECT 1 FROM sample_line
         WHERE interaction_id = NEW.id AND tenant_id = NEW.tenant_id AND deleted_at IS NULL;
        IF FOUND THEN
            RAISE EXCEPTION 'an interaction with a sample keeps its type and principal'
                USING ERRCODE = 'check_violation',
                      COLUMN = CASE WHEN NEW.type IS DISTINCT FROM OLD.type THEN 'type' ELSE 'principal_id' END,
                      TABLE = TG_TABLE_NAME;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER sample_keeps_interaction BEFORE UPDATE OF type, principal_id ON interaction
    FOR EACH ROW EXECUTE FUNCTION sample_keeps_interaction();
"""


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("samples", "0001_initial"),
        ("interactions", "0019_interaction_firm_key"),
        ("products", "0016_foreign_keys_hold_the_tenant"),
    ]

    operations = [
        add_foreign_key_in_firm("sample", "interaction", "interaction"),
        add_foreign_key_in_firm("sample_line", "interaction", "interaction"),
        add_foreign_key_in_firm("sample_line", "product", "product"),
        migrations.RunSQL(
            SAMPLE_KEEPS_INTERACTION,
            "DROP TRIGGER IF EXISTS sample_keeps_interaction ON interaction;"
            " DROP FUNCTION IF EXISTS sample_keeps_interaction();  -- squawk-ignore ban-drop-function",
        ),
    ]
