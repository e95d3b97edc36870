"""Two live-row indexes in the interaction list's order (-occurred_at, -id): the shared rows, and a user's
open follow-ups, so a manager's merged list and "my follow-ups due" stop at a page instead of sorting.

Built concurrently (docs/migrations.md); dropped concurrently on the way back.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("interactions", "0009_search_function"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="interaction",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("principal__isnull", True)),
                fields=["tenant", "-occurred_at", "-id"],
                name="interaction_live_shared",
            ),
        ),
        AddIndexConcurrently(
            model_name="interaction",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True), ("follow_up_done", False), ("follow_up_on__isnull", False)
                ),
                fields=["user", "-occurred_at", "-id"],
                name="interaction_follow_up_recent",
            ),
        ),
    ]
