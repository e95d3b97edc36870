"""The samples' references holding the tenant, validated (a scan that blocks no writes)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("samples", "0002_foreign_keys_hold_the_tenant")]

    operations = [
        migrations.RunSQL(
            f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{table}_{field}_in_firm"', migrations.RunSQL.noop
        )
        for table, field in (
            ("sample", "interaction"),
            ("sample_line", "interaction"),
            ("sample_line", "product"),
        )
    ]
