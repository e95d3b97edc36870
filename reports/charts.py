"""Server-rendered SVG bar charts for the dashboard: geometry computed here, no JavaScript, no CDN."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

Number = int | Decimal
# The admin's own palette (its header blue, then a warm and a muted accent) so charts sit in the page.
COLORS = ("#417690", "#c4715b", "#79aec8", "#999999")
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    color: str
    label: str


def _scale(values: Sequence[Number]) -> Decimal:
    top = max((Decimal(v) for v in values), default=Decimal(0))
    return top if top > 0 else Decimal(1)


def _n(coordinate: float) -> str:
    # format_html escapes its arguments to strings first, so numbers are formatted before they go in.
    return f"{coordinate:.1f}"


def _fmt(value: Number) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")


def bar_chart(
    rows: Sequence[tuple[str, Sequence[Number]]],
    *,
    title: str,
    series: Sequence[str] = (),
    width: int = 560,
    label_width: int = 170,
    bar_height: int = 14,
) -> SafeString:
    """Horizontal bars, one group per row (one bar per series), each bar labelled with its value."""
    groups = len(series) or 1
    row_height = bar_height * groups + 8
    legend_height = 18 if len(series) > 1 else 0
    height = legend_height + row_height * max(len(rows), 1)
    plot = width - label_width - 60
    scale = _scale([v for _, values in rows for v in values])
    rects: list[Rect] = []
    labels = []
    for index, (label, values) in enumerate(rows):
        top = legend_height + index * row_height + 4
        labels.append((label_width - 6, top + bar_height * groups / 2 + 4, label))
        for position, value in enumerate(values):
            length = float(plot * Decimal(value) / scale)
            rects.append(
                Rect(
                    x=label_width,
                    y=top + position * bar_height,
                    width=max(length, 0.0),
                    height=bar_height - 2,
                    color=COLORS[position % len(COLORS)],
                    label=_fmt(value),
                )
            )
    # Legend entries side by side, each as wide as its label (about 6.5 px a character at 11 px).
    entries, x = [], float(label_width)
    for index, name in enumerate(series if len(series) > 1 else ()):
        entries.append((_n(x), COLORS[index % len(COLORS)], _n(x + 14), SafeString(FONT), name))
        x += 14 + 6.5 * len(name) + 18
    legend = format_html_join(
        "", '<rect x="{}" y="3" width="10" height="10" fill="{}"/><text x="{}" y="12" {}>{}</text>', entries
    )
    row_labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="end" {}>{}</text>',
        ((x, _n(y), SafeString(FONT), text) for x, y, text in labels),
    )
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>'
        '<text x="{}" y="{}" {}>{}</text>',
        (
            (
                r.x,
                _n(r.y),
                _n(r.width),
                r.height,
                r.color,
                r.label,
                _n(r.x + r.width + 4),
                _n(r.y + r.height - 2),
                SafeString(FONT),
                r.label,
            )
            for r in rects
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" width="{}" height="{}" viewBox="0 0 {} {}"'
        ' role="img" aria-label="{}"><title>{}</title>{}{}{}</svg>',
        width,
        height,
        width,
        height,
        title,
        title,
        legend,
        row_labels,
        bars,
    )


def column_chart(
    points: Sequence[tuple[str, Number]], *, title: str, width: int = 560, height: int = 160
) -> SafeString:
    """Vertical columns over labelled x positions (weeks), each with its value on top."""
    bottom, top_margin = height - 18, 14
    step = width / max(len(points), 1)
    scale = _scale([v for _, v in points])
    cells = []
    for index, (label, value) in enumerate(points):
        column = float((bottom - top_margin) * Decimal(value) / scale)
        x = index * step + step * 0.15
        cells.append((x, bottom - column, step * 0.7, column, _fmt(value), x + step * 0.35, label))
    body = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>'
        '<text x="{}" y="{}" text-anchor="middle" {}>{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" {}>{}</text>',
        (
            (
                _n(x),
                _n(y),
                _n(w),
                _n(h),
                COLORS[0],
                text,
                _n(middle),
                _n(y - 3),
                SafeString(FONT),
                text,
                _n(middle),
                height - 4,
                SafeString(FONT),
                label,
            )
            for x, y, w, h, text, middle, label in cells
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" width="{}" height="{}" viewBox="0 0 {} {}"'
        ' role="img" aria-label="{}"><title>{}</title>{}</svg>',
        width,
        height,
        width,
        height,
        title,
        title,
        body,
    )
