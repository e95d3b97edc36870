"""Reads of samples: one queryset per use, its joins and prefetches done once."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from samples.models import Sample, SampleLine


def samples_with_lines(queryset: QuerySet[Sample]) -> QuerySet[Sample]:
    """`queryset` with each sample's interaction (joined) and its live lines (one more query a page),
    as SampleSerializer represents them."""
    return queryset.select_related("interaction").prefetch_related(
        Prefetch(
            "interaction__sample_lines",
            queryset=SampleLine.objects.filter(deleted_at__isnull=True).order_by("id"),
            to_attr="live_sample_lines",
        )
    )
