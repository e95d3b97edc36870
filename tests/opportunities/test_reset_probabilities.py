"""`manage.py reset_probabilities`: a firm's opportunities aligned with its stage probabilities, on request."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from crm.models import HistoryEntry
from opportunities.models import Opportunity
from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import backdate, run

pytestmark = pytest.mark.django_db


def reset(firm: Firm, *extra: str) -> str:
    out = StringIO()
    call_command("reset_probabilities", "--firm", str(firm.tenant.pk), *extra, stdout=out)
    return out.getvalue()


def test_dry_run_counts_by_stage_and_the_run_aligns_what_it_counted(firm: Firm, other_firm: Firm) -> None:
    hand_set = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, stage="demo_scheduled")
    following = f.OpportunityFactory(
        tenant=firm.tenant, principal=firm.principal_a, stage="demo_scheduled", probability=None
    )
    legacy_won = f.OpportunityFactory(
        tenant=firm.tenant, principal=firm.principal_b, stage="closed_won", win_reason="Taste"
    )
    backdate("opportunity", legacy_won.pk, probability=10)  # as before probability followed the stage
    elsewhere = f.OpportunityFactory(tenant=other_firm.tenant, principal=other_firm.principal_a)
    run(None, "UPDATE stage_probability SET probability = 75 WHERE tenant_id = %s AND stage = 'demo_scheduled'",
        [firm.tenant.pk])  # fmt: skip

    out = reset(firm, "--dry-run")
    assert (
        "Demo scheduled: 2" in out and "Closed won: 1" in out and "would change the probability of 3" in out
    )
    assert Opportunity.objects.get(pk=hand_set.pk).probability == 50

    assert "changed the probability of 3" in reset(firm)
    probabilities = dict(Opportunity.objects.values_list("pk", "probability"))
    assert probabilities[hand_set.pk] == probabilities[following.pk] == 75
    assert probabilities[legacy_won.pk] == 100
    assert probabilities[elsewhere.pk] == 50, "another firm's opportunities are not touched"
    entry = HistoryEntry.objects.filter(table_name="opportunity", row_id=hand_set.pk).order_by("-id").first()
    assert entry is not None and entry.changes["probability"] == [50, 75], "the change is in history"
    assert "of 0 opportunities" in reset(firm, "--dry-run")


def test_an_unknown_firm_is_an_error(firm: Firm) -> None:
    with pytest.raises(CommandError, match="No firm"):
        call_command("reset_probabilities", "--firm", "999999")
