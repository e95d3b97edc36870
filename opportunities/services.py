"""Writes on opportunities that are more than a save."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import connection, transaction

from opportunities.models import Opportunity, StageProbability


def opportunity_change_stage(
    *,
    opportunity: Opportunity,
    stage: str,
    win_reason: str | None = None,
    loss_reason: str | None = None,
    closed_on: dt.date | None = None,
    next_action: str | None = None,
    next_action_date: dt.date | None = None,
) -> Opportunity:
    """Move an opportunity to `stage`. The database dates the change and the close, and refuses a close
    without its reason; this only gathers the fields that go with a stage change into one update."""
    changes: dict[str, object] = {"stage": stage}
    for name, value in (
        ("win_reason", win_reason),
        ("loss_reason", loss_reason),
        ("closed_on", closed_on),
        ("next_action", next_action),
        ("next_action_date", next_action_date),
    ):
        if value is not None:
            changes[name] = value
    with transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(**changes)
    return opportunity


def stage_probabilities_set(*, tenant_id: int, probabilities: Mapping[str, int]) -> None:
    """Change a firm's probability of the open stages given (the others keep theirs). Row level security
    lets only the firm's admins write; opportunities take the new figures at their next stage change."""
    with transaction.atomic():
        for stage, probability in probabilities.items():
            StageProbability.objects.filter(tenant_id=tenant_id, stage=stage).update(probability=probability)


@dataclass(frozen=True)
class ProbabilityReset:
    """What `opportunity_reset_probabilities` changed (or, dry, would change): opportunities by stage."""

    by_stage: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_stage.values())


# Live opportunities of the firm whose probability is not their stage's: the firm's figure for an open
# stage (the default when the firm lacks a row), the fixed one for a closed stage. Counted, or aligned.
_COUNT_MISALIGNED = """
WITH misaligned AS (
    SELECT o.id, o.stage,
           CASE WHEN o.stage IN ('closed_won', 'closed_lost') THEN opportunity_default_probability(o.stage)
                ELSE coalesce(s.probability, opportunity_default_probability(o.stage)) END AS expected
      FROM opportunity o
      LEFT JOIN stage_probability s ON s.tenant_id = o.tenant_id AND s.stage = o.stage
     WHERE o.tenant_id = %s AND o.deleted_at IS NULL
)
SELECT m.stage, count(*) FROM misaligned m JOIN opportunity o USING (id)
 WHERE o.probability <> m.expected GROUP BY m.stage
"""
_ALIGN = """
WITH misaligned AS (
    SELECT o.id, o.stage,
           CASE WHEN o.stage IN ('closed_won', 'closed_lost') THEN opportunity_default_probability(o.stage)
                ELSE coalesce(s.probability, opportunity_default_probability(o.stage)) END AS expected
      FROM opportunity o
      LEFT JOIN stage_probability s ON s.tenant_id = o.tenant_id AND s.stage = o.stage
     WHERE o.tenant_id = %s AND o.deleted_at IS NULL
), changed AS (
    UPDATE opportunity o SET probability = m.expected FROM misaligned m
     WHERE o.id = m.id AND o.probability <> m.expected
    RETURNING o.stage
)
SELECT stage, count(*) FROM changed GROUP BY stage
"""


def opportunity_reset_probabilities(*, tenant_id: int, dry_run: bool = False) -> ProbabilityReset:
    """Align a firm's live opportunities with its stage probabilities, on request (the migration that
    made probability follow the stage left existing rows alone, ADR 0032). One UPDATE, in history like
    any other change."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_COUNT_MISALIGNED if dry_run else _ALIGN, [tenant_id])
        return ProbabilityReset(by_stage={stage: count for stage, count in cursor.fetchall()})
