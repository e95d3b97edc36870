"""Reads of samples: one queryset per use, its joins and prefetches done once."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from samples.models import Sample, SampleLine


def samples_with_lines(queryset: QuerySet[Sample]) -> QuerySet[Sample]:
    """`queryset` with each sample's interaction (joined) and its live lines (one more query a page),
    as SampleSerializer represents them."""
    # Of the interaction, only what the representation reads (its id and organization): its text and
    # search vector would be read and built into every row for nothing.
    return (
        queryset.select_related("interaction")
        .defer(*(f"interaction__{name}" for name in INTERACTION_UNREAD))
        .prefetch_related(
            Prefetch(
                "interaction__sample_lines",
                queryset=SampleLine.objects.filter(deleted_at__isnull=True)
                .only("id", "interaction_id", "product_id", "quantity", "unit")
                .order_by("id"),
                to_attr="live_sample_lines",
            )
        )
    )


INTERACTION_UNREAD = (
    "type",
    "occurred_at",
    "duration_minutes",
    "subject",
    "notes",
    "contact",
    "opportunity",
    "principal",
    "user",
    "outcome",
    "sentiment",
    "follow_up_on",
    "follow_up_done",
    "search_vector",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
    "deleted_by",
    "version",
)
