"""Template filters of the dashboard: the labels users know for stored choice values."""

from __future__ import annotations

from django import template

from interactions.models import InteractionType
from opportunities.models import Stage
from products.models import ProductStatus

register = template.Library()

_LABELS = {**dict(InteractionType.choices), **dict(ProductStatus.choices), **dict(Stage.choices)}


@register.filter
def label(value: str | None) -> str:
    """`new_lead` → "New lead"; values without a label are shown as they are."""
    return str(_LABELS.get(value or "", value or ""))


@register.filter
def signed(value: int | None) -> str:
    """A change with its sign: +3, -2, 0."""
    if value is None:
        return ""
    return f"{value:+d}" if value else "0"
