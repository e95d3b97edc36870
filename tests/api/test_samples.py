"""/samples/: a sample interaction's lines and status written and read, open ones listed by default,
status changes with If-Match, the database's step times, friendly refusals, query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, count_queries, ok, result_ids

URL = f"{API}/samples/"


def sample_interaction(firm, principal=None, **kwargs):
    return f.SampleInteractionFactory(
        tenant=firm.tenant, principal=principal or firm.principal_a, organization=firm.customer, **kwargs
    )


def product(firm, principal=None, **kwargs):
    return f.ProductFactory(tenant=firm.tenant, principal=principal or firm.principal_a, **kwargs)


def test_create_with_lines_dates_the_request_and_shows_the_lines(firm, manager):
    interaction = sample_interaction(firm)
    chips, salsa = product(firm, name="Chips"), product(firm, name="Salsa")
    body = ok(
        manager.post(
            URL,
            {
                "interaction": interaction.pk,
                "lines": [
                    {"product": chips.pk, "quantity": "2", "unit": "case"},
                    {"product": salsa.pk, "quantity": 1.5, "unit": "lb"},
                ],
            },
        ),
        201,
    )
    assert body["status"] == "requested" and body["requested_at"] and body["sent_at"] is None
    assert body["principal"] == firm.principal_a.pk and body["organization"] == firm.customer.pk
    assert [(line["product"], line["quantity"], line["unit"]) for line in body["lines"]] == [
        (chips.pk, "2.00", "case"),
        (salsa.pk, "1.50", "lb"),
    ]
    assert body["created_by"] == firm.manager.pk


def test_status_moves_forward_with_if_match_and_each_step_is_dated(firm, manager):
    sample = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm))
    url = f"{URL}{sample.pk}/"
    etag = manager.get(url)["ETag"]
    sent = manager.patch(url, {"status": "sent"}, HTTP_IF_MATCH=etag)
    assert ok(sent)["sent_at"] is not None
    assert_problem(manager.patch(url, {"status": "delivered"}, HTTP_IF_MATCH=etag), 412)
    delivered = ok(manager.patch(url, {"status": "delivered"}, HTTP_IF_MATCH=sent["ETag"]))
    assert delivered["delivered_at"] >= delivered["sent_at"] >= delivered["requested_at"]
    done = ok(
        manager.patch(
            url, {"status": "feedback_received", "feedback": "Chef loved it", "sentiment": "positive"}
        )
    )
    assert done["feedback_received_at"] and done["sentiment"] == "positive"
    assert (done["sent_at"], done["delivered_at"]) == (delivered["sent_at"], delivered["delivered_at"])


def test_status_cannot_go_back_nor_leave_a_final_one(firm, manager):
    sample = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm), status="delivered")
    url = f"{URL}{sample.pk}/"
    assert_problem(manager.patch(url, {"status": "sent"}), 400, field="status")
    ok(manager.patch(url, {"status": "cancelled", "feedback": "Account closed for renovation"}))
    assert_problem(manager.patch(url, {"status": "delivered"}), 400, field="status")


def test_a_step_may_be_skipped_forward_and_the_skipped_ones_share_its_time(firm, manager):
    sample = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm))
    body = ok(manager.patch(f"{URL}{sample.pk}/", {"status": "delivered"}))
    assert body["sent_at"] == body["delivered_at"]


def test_feedback_needs_the_feedback_status_and_the_status_needs_feedback(firm, manager):
    sample = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm), status="delivered")
    url = f"{URL}{sample.pk}/"
    assert_problem(manager.patch(url, {"sentiment": "negative"}), 400, field="sentiment")
    assert_problem(manager.patch(url, {"feedback": "Too salty"}), 400, field="feedback")
    assert_problem(manager.patch(url, {"status": "feedback_received"}), 400, field="feedback")


def test_lines_are_replaced_by_product_and_removed_ones_are_soft_deleted(firm, manager):
    line = f.SampleLineFactory(
        tenant=firm.tenant,
        interaction=f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm)).interaction,
        product=product(firm),
    )
    sample = line.interaction.samples.get()
    other = product(firm)
    body = ok(
        manager.patch(
            f"{URL}{sample.pk}/",
            {"lines": [{"product": other.pk, "quantity": "3", "unit": "each"}]},
            format="json",
        )
    )
    assert [(row["product"], row["quantity"], row["unit"]) for row in body["lines"]] == [
        (other.pk, "3.00", "each")
    ]
    line.refresh_from_db()
    assert line.deleted_at is not None


def test_a_product_of_another_principal_is_refused_on_its_line(firm, admin):
    interaction = sample_interaction(firm)
    foreign = product(firm, principal=firm.principal_b)
    body = {
        "interaction": interaction.pk,
        "lines": [{"product": foreign.pk, "quantity": "1", "unit": "case"}],
    }
    assert_problem(admin.post(URL, body, format="json"), 400, field="lines.0.product")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": "0", "unit": "case"}, "lines.0.quantity"),
        ({"quantity": "-1", "unit": "case"}, "lines.0.quantity"),
        ({"quantity": "1", "unit": "barrel"}, "lines.0.unit"),
    ],
)
def test_quantity_must_be_more_than_zero_and_the_unit_known(firm, manager, line, field):
    interaction = sample_interaction(firm)
    body = {"interaction": interaction.pk, "lines": [{"product": product(firm).pk, **line}]}
    assert_problem(manager.post(URL, body, format="json"), 400, field=field)


def test_only_a_sample_interaction_of_a_principal_has_a_sample(firm, manager):
    call = f.InteractionFactory(tenant=firm.tenant, organization=firm.customer, principal=firm.principal_a)
    assert_problem(manager.post(URL, {"interaction": call.pk}), 400, field="interaction")
    shared = f.SampleInteractionFactory(tenant=firm.tenant, organization=firm.customer, principal=None)
    assert_problem(manager.post(URL, {"interaction": shared.pk}), 400, field="interaction")


def test_one_live_sample_per_interaction(firm, manager):
    sample = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm))
    assert_problem(manager.post(URL, {"interaction": sample.interaction_id}), 400)


def test_list_shows_open_samples_unless_asked_otherwise(firm, manager):
    interaction = lambda: sample_interaction(firm)  # noqa: E731
    requested = f.SampleFactory(tenant=firm.tenant, interaction=interaction())
    sent = f.SampleFactory(tenant=firm.tenant, interaction=interaction(), status="sent")
    delivered = f.SampleFactory(tenant=firm.tenant, interaction=interaction(), status="delivered")
    done = f.SampleFactory(
        tenant=firm.tenant, interaction=interaction(), status="feedback_received", feedback="Ordered"
    )
    cancelled = f.SampleFactory(tenant=firm.tenant, interaction=interaction(), status="cancelled")
    assert result_ids(manager, URL) == [delivered.pk, sent.pk, requested.pk]
    assert result_ids(manager, f"{URL}?awaiting_feedback=true") == [delivered.pk, sent.pk]
    assert result_ids(manager, f"{URL}?is_open=false") == [cancelled.pk, done.pk]
    assert result_ids(manager, f"{URL}?status=feedback_received") == [done.pk]
    assert result_ids(manager, f"{URL}?status=sent,cancelled") == [cancelled.pk, sent.pk]


def test_list_filters_by_principal_and_organization(firm, admin):
    a = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm))
    b = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm, principal=firm.principal_b))
    elsewhere = f.CustomerFactory(tenant=firm.tenant)
    c = f.SampleFactory(
        tenant=firm.tenant,
        interaction=f.SampleInteractionFactory(
            tenant=firm.tenant, principal=firm.principal_a, organization=elsewhere
        ),
    )
    assert result_ids(admin, f"{URL}?principal={firm.principal_b.pk}") == [b.pk]
    assert result_ids(admin, f"{URL}?organization={elsewhere.pk}") == [c.pk]
    assert result_ids(admin, f"{URL}?organization={firm.customer.pk}&principal={firm.principal_a.pk}") == [
        a.pk
    ]


def test_list_refuses_unknown_parameters_and_bad_values(firm, manager):
    assert_problem(manager.get(f"{URL}?colour=red"), 400)
    assert_problem(manager.get(f"{URL}?status=lost"), 400, field="status")
    assert_problem(manager.get(f"{URL}?awaiting_feedback=maybe"), 400, field="awaiting_feedback")


def test_a_manager_sees_the_samples_of_their_book_only(firm, manager, viewer):
    mine = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm))
    f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm, principal=firm.principal_b))
    assert result_ids(manager, URL) == [mine.pk]
    assert result_ids(viewer, URL) == [mine.pk]
    hidden = sample_interaction(firm, principal=firm.principal_b)
    assert_problem(manager.post(URL, {"interaction": hidden.pk}), 400, field="interaction")
    assert_problem(viewer.patch(f"{URL}{mine.pk}/", {"status": "sent"}), 403)


def test_deleting_the_interaction_takes_its_sample_and_lines_along(firm, manager):
    line = f.SampleLineFactory(
        tenant=firm.tenant,
        interaction=f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm)).interaction,
        product=product(firm),
    )
    interaction = line.interaction
    response = manager.delete(f"{API}/interactions/{interaction.pk}/")
    assert response.status_code == 204, response.content
    assert result_ids(manager, f"{URL}?interaction={interaction.pk}") == []
    ok(manager.post(f"{API}/interactions/{interaction.pk}/restore/"))
    assert [
        row["lines"][0]["product"]
        for row in ok(manager.get(f"{URL}?interaction={interaction.pk}"))["results"]
    ] == [line.product_id]


def test_the_interaction_keeps_its_type_while_it_has_a_sample(firm, manager):
    sample = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm))
    url = f"{API}/interactions/{sample.interaction_id}/"
    assert_problem(manager.patch(url, {"type": "call"}), 400, field="type")


def test_list_query_count_does_not_grow_with_samples_or_lines(firm, manager):
    def add(n: int) -> None:
        for _ in range(n):
            interaction = sample_interaction(firm)
            f.SampleFactory(tenant=firm.tenant, interaction=interaction)
            for _ in range(2):
                f.SampleLineFactory(tenant=firm.tenant, interaction=interaction, product=product(firm))

    add(2)
    few = count_queries(manager, URL)
    add(10)
    assert count_queries(manager, URL) == few
    assert Decimal(ok(manager.get(URL))["results"][0]["lines"][0]["quantity"]) == Decimal("2")


def test_deleting_the_interaction_soft_deletes_its_sample_and_lines_and_restoring_brings_them_back(
    firm, manager
):
    sample = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm))
    line = f.SampleLineFactory(tenant=firm.tenant, interaction=sample.interaction, product=product(firm))
    assert manager.delete(f"{API}/interactions/{line.interaction_id}/").status_code == 204
    line.refresh_from_db()
    sample.refresh_from_db()
    assert line.deleted_at is not None and sample.deleted_at == line.deleted_at
    ok(manager.post(f"{API}/interactions/{line.interaction_id}/restore/"))
    line.refresh_from_db()
    sample.refresh_from_db()
    assert line.deleted_at is None and sample.deleted_at is None


def test_changing_the_lines_moves_the_samples_version_on(firm, manager):
    sample = f.SampleFactory(tenant=firm.tenant, interaction=sample_interaction(firm))
    url = f"{URL}{sample.pk}/"
    before = ok(manager.get(url))["version"]
    body = {"lines": [{"product": product(firm).pk, "quantity": "1", "unit": "case"}]}
    after = ok(manager.patch(url, body, format="json"))["version"]
    assert after > before
    assert ok(manager.patch(url, body, format="json"))["version"] == after + 1  # the PATCH's own save only
