"""Align a firm's opportunities with its stage probabilities, on request (ADR 0032)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import Tenant
from opportunities.models import Stage
from opportunities.services import opportunity_reset_probabilities


class Command(BaseCommand):
    help = (
        "Set the probability of a firm's live opportunities to the firm's figure for their stage (closed won "
        "100, closed lost 0). Probability follows the stage from each stage change on; opportunities that "
        "were at their stage before that, or were set by hand since, keep theirs until this is run. Each "
        "change is in history like any other."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--firm", type=int, required=True, help="The firm's (tenant's) id.")
        parser.add_argument("--dry-run", action="store_true", help="Count by stage, change nothing.")

    def handle(self, *args: Any, firm: int, dry_run: bool, **options: Any) -> None:
        tenant = Tenant.objects.filter(pk=firm).first()
        if tenant is None:
            raise CommandError(f"No firm with id {firm}.")
        reset = opportunity_reset_probabilities(tenant_id=firm, dry_run=dry_run)
        verb = "would change" if dry_run else "changed"
        for stage in Stage.values:
            if count := reset.by_stage.get(stage):
                self.stdout.write(f"  {Stage(stage).label}: {count}")
        self.stdout.write(f"{tenant.name}: {verb} the probability of {reset.total} opportunities.")
