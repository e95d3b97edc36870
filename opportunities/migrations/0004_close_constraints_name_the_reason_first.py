"""The closing rules name the field to fix first (win_reason, loss_reason, closed_on), not stage.

crm.api.constraints reports a CHECK's first field; the rules themselves are unchanged.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0003_opportunity_contact_scope"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="opportunity",
            name="opportunity_win_reason_when_won",
        ),
        migrations.RemoveConstraint(
            model_name="opportunity",
            name="opportunity_loss_reason_when_lost",
        ),
        migrations.RemoveConstraint(
            model_name="opportunity",
            name="opportunity_closed_on_when_closed",
        ),
        migrations.AddConstraint(
            model_name="opportunity",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("win_reason", ""), _negated=True),
                    models.Q(("stage", "closed_won"), _negated=True),
                    _connector="OR",
                ),
                name="opportunity_win_reason_when_won",
                violation_error_message="win_reason is required when the opportunity is closed won.",
            ),
        ),
        migrations.AddConstraint(
            model_name="opportunity",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("loss_reason", ""), _negated=True),
                    models.Q(("stage", "closed_lost"), _negated=True),
                    _connector="OR",
                ),
                name="opportunity_loss_reason_when_lost",
                violation_error_message="loss_reason is required when the opportunity is closed lost.",
            ),
        ),
        migrations.AddConstraint(
            model_name="opportunity",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("closed_on__isnull", False),
                    models.Q(("stage__in", ("closed_won", "closed_lost")), _negated=True),
                    _connector="OR",
                ),
                name="opportunity_closed_on_when_closed",
                violation_error_message="closed_on is required once the opportunity is closed.",
            ),
        ),
    ]
