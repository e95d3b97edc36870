import django.contrib.postgres.fields
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0022_organization_merged_into_index"),
        ("crm", "0031_match_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="match_city",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="organization",
            name="match_phone",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="organization",
            name="match_words",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(), editable=False, null=True, size=None
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="organization",
            trigger=pgtrigger.compiler.Trigger(
                name="match_keys",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\n        NEW.match_words := crm_name_words(NEW.name);\n        NEW.match_city := crm_name_key(NEW.city);\n        NEW.match_phone := crm_phone_key(NEW.phone);\n        RETURN NEW;\n",
                    hash="ddbcd42f905f96efbc333a725bdae06a5cb78949",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_match_keys_d63b4",
                    table="organization",
                    when="BEFORE",
                ),
            ),
        ),
    ]
