"""Template filters of the dashboard: the labels users know for stored choice values."""

from __future__ import annotations

from decimal import Decimal

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
def typed_subject(item: object) -> str:
    """A follow-up's type and subject, "Site visit: menu tasting", without repeating a type the subject
    already starts with (the demo's and many imported subjects do: "Site visit: Acme at Joe's")."""
    kind = label(getattr(item, "type", None))
    subject = str(getattr(item, "subject", "") or "")
    if not kind or subject.casefold().startswith(f"{kind.casefold()}:"):
        return subject
    return f"{kind}: {subject}" if subject else kind


@register.filter
def signed(value: int | Decimal | None) -> str:
    """A change with its sign: +3, -2, +1.500, 0."""
    if value is None:
        return ""
    return f"{value:+}" if value else "0"
