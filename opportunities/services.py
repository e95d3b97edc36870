"""Writes on opportunities that are more than a save."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from opportunities.models import Opportunity


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
