"""Samples and their lines: the database refuses bad raw SQL writes and keeps the status's steps and times."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest

from interactions.models import Interaction
from products.models import Product
from tests import factories as f
from tests.conftest import Firm
from tests.integrity.sql import CHECK, FOREIGN_KEY, UNIQUE, insert, refused, run, select, update, value

pytestmark = pytest.mark.django_db

STEP_TIMES = ("requested_at", "sent_at", "delivered_at", "feedback_received_at", "cancelled_at")


@pytest.fixture
def sampled(firm: Firm) -> Interaction:
    return f.SampleInteractionFactory(
        tenant=firm.tenant, organization=firm.customer, principal=firm.principal_a
    )


@pytest.fixture
def product_a(firm: Firm) -> Product:
    return f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)


def times(pk: int) -> dict[str, Any]:
    return dict(zip(STEP_TIMES, select("sample", pk, *STEP_TIMES), strict=True))


def statement_time() -> dt.datetime:
    return run(None, "SELECT statement_timestamp()")[0][0]


# -- which interactions have samples ----------------------------------------------------------------


def test_only_a_sample_interaction_has_a_sample(firm: Firm) -> None:
    call = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, principal=firm.principal_a)
    refused(lambda: insert(firm.admin, "sample", interaction_id=call.pk), CHECK, column="interaction_id")


def test_a_sample_interaction_needs_a_principal(firm: Firm) -> None:
    shared = f.SampleInteractionFactory(tenant=firm.tenant, organization=firm.customer, principal=None)
    refused(
        lambda: insert(firm.admin, "sample", interaction_id=shared.pk),
        CHECK,
        column="interaction_id",
        message="principal",
    )


def test_one_live_sample_per_interaction_and_it_stays_with_it(firm: Firm, sampled: Interaction) -> None:
    sample = insert(firm.admin, "sample", interaction_id=sampled.pk)
    refused(lambda: insert(firm.admin, "sample", interaction_id=sampled.pk), UNIQUE)
    other = f.SampleInteractionFactory(
        tenant=firm.tenant, organization=firm.customer, principal=firm.principal_a
    )
    refused(
        lambda: update(firm.admin, "sample", sample, interaction_id=other.pk), CHECK, column="interaction_id"
    )


def test_a_sample_takes_its_interactions_principal_whatever_is_written(
    firm: Firm, sampled: Interaction
) -> None:
    sample = insert(firm.admin, "sample", interaction_id=sampled.pk, scope_principal_id=firm.principal_b.pk)
    assert value("sample", sample, "scope_principal_id") == firm.principal_a.pk
    update(firm.admin, "sample", sample, scope_principal_id=firm.principal_b.pk)
    assert value("sample", sample, "scope_principal_id") == firm.principal_a.pk


def test_an_interaction_with_a_sample_keeps_its_type_and_principal(firm: Firm, sampled: Interaction) -> None:
    insert(firm.admin, "sample", interaction_id=sampled.pk)
    refused(lambda: update(firm.admin, "interaction", sampled.pk, type="call"), CHECK, column="type")
    refused(
        lambda: update(firm.admin, "interaction", sampled.pk, principal_id=firm.principal_b.pk),
        CHECK,
        column="principal_id",
    )
    update(
        firm.admin, "interaction", sampled.pk, subject="Samples left with the chef"
    )  # anything else may change


def test_an_interaction_whose_sample_is_deleted_may_change_type(firm: Firm, sampled: Interaction) -> None:
    sample = insert(firm.admin, "sample", interaction_id=sampled.pk)
    update(firm.admin, "sample", sample, deleted_at=dt.datetime.now(dt.UTC))
    update(firm.admin, "interaction", sampled.pk, type="call")


def test_sample_refers_to_an_interaction_of_its_firm(firm: Firm, other_firm: Firm) -> None:
    theirs = f.SampleInteractionFactory(
        tenant=other_firm.tenant, organization=other_firm.customer, principal=other_firm.principal_a
    )
    refused(
        lambda: insert(firm.admin, "sample", interaction_id=theirs.pk), FOREIGN_KEY, column="interaction_id"
    )


# -- status and its times ---------------------------------------------------------------------------


def test_a_new_sample_is_requested_now(firm: Firm, sampled: Interaction) -> None:
    before = statement_time()
    sample = insert(firm.admin, "sample", interaction_id=sampled.pk)
    stamps = times(sample)
    assert stamps["requested_at"] is not None and stamps["requested_at"] >= before
    assert [stamps[c] for c in STEP_TIMES[1:]] == [None] * 4


def test_each_step_is_dated_once_and_kept(firm: Firm, sampled: Interaction) -> None:
    sample = insert(firm.admin, "sample", interaction_id=sampled.pk)
    update(firm.admin, "sample", sample, status="sent")
    sent = times(sample)
    assert sent["sent_at"] is not None and sent["sent_at"] >= sent["requested_at"]
    # A later write cannot rewrite a step's time, nor date a step not reached.
    update(
        firm.admin,
        "sample",
        sample,
        sent_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        delivered_at=dt.datetime(2020, 1, 2, tzinfo=dt.UTC),
    )
    assert times(sample) == sent
    update(firm.admin, "sample", sample, status="delivered")
    update(
        firm.admin,
        "sample",
        sample,
        status="feedback_received",
        feedback="Ordered two cases",
        sentiment="positive",
    )
    done = times(sample)
    assert done["sent_at"] == sent["sent_at"]
    assert done["requested_at"] <= done["sent_at"] <= done["delivered_at"] <= done["feedback_received_at"]
    assert done["cancelled_at"] is None


def test_a_step_logged_after_the_fact_keeps_the_earlier_time_given(firm: Firm, sampled: Interaction) -> None:
    monday, tuesday = dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC), dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)
    sample = insert(
        firm.admin,
        "sample",
        interaction_id=sampled.pk,
        status="delivered",
        requested_at=monday,
        sent_at=monday,
        delivered_at=tuesday,
    )
    stamps = times(sample)
    assert (stamps["requested_at"], stamps["sent_at"], stamps["delivered_at"]) == (monday, monday, tuesday)


def test_a_step_cannot_be_dated_in_the_future_nor_out_of_order(firm: Firm, sampled: Interaction) -> None:
    refused(
        lambda: insert(
            firm.admin,
            "sample",
            interaction_id=sampled.pk,
            requested_at=dt.datetime(2999, 1, 1, tzinfo=dt.UTC),
        ),
        CHECK,
        column="status",
        message="future",
    )
    refused(
        lambda: insert(
            firm.admin,
            "sample",
            interaction_id=sampled.pk,
            status="sent",
            requested_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
            sent_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        ),
        CHECK,
        constraint="sample_steps_in_order",
    )


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("sent", "requested"),
        ("delivered", "sent"),
        ("feedback_received", "delivered"),
        ("cancelled", "sent"),
        ("feedback_received", "cancelled"),
    ],
)
def test_status_never_goes_back_nor_leaves_a_final_one(
    firm: Firm, sampled: Interaction, start: str, to: str
) -> None:
    feedback = "Too salty" if start in ("feedback_received", "cancelled") else ""
    sample = insert(firm.admin, "sample", interaction_id=sampled.pk, status=start, feedback=feedback)
    refused(lambda: update(firm.admin, "sample", sample, status=to), CHECK, column="status")


@pytest.mark.parametrize("start", ["requested", "sent", "delivered"])
def test_an_open_sample_may_be_cancelled_and_keeps_the_times_it_had(
    firm: Firm, sampled: Interaction, start: str
) -> None:
    sample = insert(firm.admin, "sample", interaction_id=sampled.pk, status=start)
    before = times(sample)
    update(firm.admin, "sample", sample, status="cancelled")
    after = times(sample)
    assert after["cancelled_at"] is not None
    assert {c: after[c] for c in STEP_TIMES[:4]} == {c: before[c] for c in STEP_TIMES[:4]}


def test_a_sample_logged_already_cancelled_keeps_the_steps_it_gives(firm: Firm, sampled: Interaction) -> None:
    monday, tuesday = dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC), dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)
    sample = insert(
        firm.admin,
        "sample",
        interaction_id=sampled.pk,
        status="cancelled",
        requested_at=monday,
        sent_at=monday,
        cancelled_at=tuesday,
    )
    stamps = times(sample)
    assert (stamps["sent_at"], stamps["delivered_at"], stamps["cancelled_at"]) == (monday, None, tuesday)


def test_steps_may_be_skipped_forward(firm: Firm, sampled: Interaction) -> None:
    sample = insert(firm.admin, "sample", interaction_id=sampled.pk)
    update(firm.admin, "sample", sample, status="delivered")
    stamps = times(sample)
    assert stamps["sent_at"] == stamps["delivered_at"] is not None


def test_status_and_sentiment_are_known_values(firm: Firm, sampled: Interaction) -> None:
    refused(
        lambda: insert(firm.admin, "sample", interaction_id=sampled.pk, status="lost"),
        CHECK,
        constraint="sample_status_valid",
    )
    refused(
        lambda: insert(
            firm.admin,
            "sample",
            interaction_id=sampled.pk,
            status="feedback_received",
            feedback="ok",
            sentiment="ecstatic",
        ),
        CHECK,
        constraint="sample_sentiment_valid",
    )


def test_feedback_comes_with_its_status(firm: Firm, sampled: Interaction) -> None:
    refused(
        lambda: insert(firm.admin, "sample", interaction_id=sampled.pk, status="feedback_received"),
        CHECK,
        constraint="sample_feedback_when_received",
    )
    refused(
        lambda: insert(firm.admin, "sample", interaction_id=sampled.pk, status="delivered", feedback="Nice"),
        CHECK,
        constraint="sample_feedback_only_when_received",
    )
    refused(
        lambda: insert(
            firm.admin, "sample", interaction_id=sampled.pk, status="cancelled", sentiment="negative"
        ),
        CHECK,
        constraint="sample_sentiment_only_when_received",
    )
    insert(firm.admin, "sample", interaction_id=sampled.pk, status="cancelled", feedback="Chef left")


# -- lines ------------------------------------------------------------------------------------------


def test_a_line_needs_the_interactions_sample(firm: Firm, sampled: Interaction, product_a: Product) -> None:
    refused(
        lambda: insert(firm.admin, "sample_line", interaction_id=sampled.pk, product_id=product_a.pk),
        CHECK,
        column="interaction_id",
    )
    insert(firm.admin, "sample", interaction_id=sampled.pk)
    line = insert(firm.admin, "sample_line", interaction_id=sampled.pk, product_id=product_a.pk)
    assert value("sample_line", line, "scope_principal_id") == firm.principal_a.pk


def test_a_line_is_a_product_of_the_samples_principal(
    firm: Firm, sampled: Interaction, product_a: Product
) -> None:
    insert(firm.admin, "sample", interaction_id=sampled.pk)
    theirs = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b)
    refused(
        lambda: insert(firm.admin, "sample_line", interaction_id=sampled.pk, product_id=theirs.pk),
        CHECK,
        column="product_id",
        message="principal",
    )
    line = insert(firm.admin, "sample_line", interaction_id=sampled.pk, product_id=product_a.pk)
    refused(lambda: update(firm.admin, "sample_line", line, product_id=theirs.pk), CHECK, column="product_id")


def test_a_line_refers_to_a_product_of_its_firm(firm: Firm, other_firm: Firm, sampled: Interaction) -> None:
    insert(firm.admin, "sample", interaction_id=sampled.pk)
    theirs = f.ProductFactory(tenant=other_firm.tenant, principal=other_firm.principal_a)
    refused(
        lambda: insert(firm.admin, "sample_line", interaction_id=sampled.pk, product_id=theirs.pk),
        FOREIGN_KEY,
        column="product_id",
    )


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_lines_quantity_is_more_than_zero(
    firm: Firm, sampled: Interaction, product_a: Product, quantity: int
) -> None:
    insert(firm.admin, "sample", interaction_id=sampled.pk)
    refused(
        lambda: insert(
            firm.admin, "sample_line", interaction_id=sampled.pk, product_id=product_a.pk, quantity=quantity
        ),
        CHECK,
        constraint="sample_line_quantity_positive",
    )


def test_a_lines_unit_is_a_known_one_and_a_product_appears_once(
    firm: Firm, sampled: Interaction, product_a: Product
) -> None:
    insert(firm.admin, "sample", interaction_id=sampled.pk)
    refused(
        lambda: insert(
            firm.admin, "sample_line", interaction_id=sampled.pk, product_id=product_a.pk, unit="barrel"
        ),
        CHECK,
        constraint="sample_line_unit_valid",
    )
    insert(firm.admin, "sample_line", interaction_id=sampled.pk, product_id=product_a.pk, unit="lb")
    refused(
        lambda: insert(firm.admin, "sample_line", interaction_id=sampled.pk, product_id=product_a.pk), UNIQUE
    )


def test_samples_and_lines_are_soft_deleted_only(
    firm: Firm, sampled: Interaction, product_a: Product
) -> None:
    sample = insert(firm.admin, "sample", interaction_id=sampled.pk)
    line = insert(firm.admin, "sample_line", interaction_id=sampled.pk, product_id=product_a.pk)
    for table, pk in (("sample_line", line), ("sample", sample)):
        statement = f"DELETE FROM {table} WHERE id = %s"
        refused(
            lambda statement=statement, pk=pk: run(firm.admin, statement, [pk]),
            psycopg.errors.RestrictViolation,
        )
