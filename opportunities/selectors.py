"""Reads of the opportunities app beyond a viewset's list."""

from __future__ import annotations

from opportunities.models import DEFAULT_STAGE_PROBABILITIES, OPEN_STAGES, Stage, StageProbability


def stage_probabilities(*, tenant_id: int) -> dict[str, int]:
    """A firm's probability for every stage, in pipeline order: its own figures for the open stages (the
    defaults for any row it lacks), then the fixed ones of closed won and closed lost."""
    rows = dict(
        StageProbability.objects.filter(tenant_id=tenant_id, stage__in=OPEN_STAGES).values_list(
            "stage", "probability"
        )
    )
    return {stage: int(rows.get(stage, DEFAULT_STAGE_PROBABILITIES[stage])) for stage in Stage.values}
