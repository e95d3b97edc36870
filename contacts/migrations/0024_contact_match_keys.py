import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0023_contact_merged_into_index"),
        ("crm", "0031_match_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="match_email",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="contact",
            name="match_name",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="contact",
            name="match_phone",
            field=models.TextField(editable=False, null=True),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="contact",
            trigger=pgtrigger.compiler.Trigger(
                name="match_keys",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n        NEW.match_name := crm_name_key(NEW.first_name || ' ' || NEW.last_name);\n        NEW.match_email := nullif(crm_name_key(NEW.email), '');\n        NEW.match_phone := crm_phone_key(coalesce(nullif(NEW.phone, ''), NEW.mobile));\n        RETURN NEW;\n",
                    hash="ce9e2c6bffcd0fd328c7deb78a32c79f4d2ff993",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_match_keys_3be6f",
                    table="contact",
                    when="BEFORE",
                ),
            ),
        ),
    ]
