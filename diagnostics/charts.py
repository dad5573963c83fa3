"""Charts drawn as inline SVG on the server: readable without JavaScript, sized by CSS."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext

# Colours shared with static/diagnostics/health.css.
SERIES_COLOURS = {
    "synced": "#1a7f37",
    "live": "#1a7f37",
    "not_visible": "#bc4c00",
    "in_review": "#0969da",
    "pending": "#9a6700",
    "failed": "#cf222e",
    "excluded": "#8c959f",
    "high": "#cf222e",
    "medium": "#9a6700",
    "low": "#57606a",
}


def status_bar(segments: Sequence[tuple[str, str, int]], *, label: str = "") -> SafeString:
    """One horizontal bar split into shares: ``segments`` are (series name, label, count)."""
    label = label or gettext("Variants by state")
    total = sum(value for _, _, value in segments)
    parts = []
    x = 0.0
    for name, text, value in segments:
        if not total or not value:
            continue
        width = 100.0 * value / total
        parts.append(
            f'<rect x="{x:.3f}" y="0" width="{width:.3f}" height="10" fill="{SERIES_COLOURS.get(name, "#0969da")}">'
            f"<title>{escape(_count_label(text, value))}</title></rect>"
        )
        x += width
    if not parts:
        empty = escape(gettext("No variants yet"))
        parts.append(f'<rect x="0" y="0" width="100" height="10" fill="#d0d7de"><title>{empty}</title></rect>')
    return mark_safe(
        f'<svg class="status-bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(label)}">{"".join(parts)}</svg>'
    )


def _grouped(n: int) -> str:
    """1234 -> '1,234', grouped the active language's way."""
    return formats.number_format(n, force_grouping=True)


def _count_label(label: str, count: int) -> str:
    """'Failed: 1,234' in the active language (its punctuation and digit grouping)."""
    return gettext("%(label)s: %(count)s") % {
        "label": label,
        "count": _grouped(count),
    }


def line_chart(
    points: Sequence[dict],
    series: Sequence[str],
    *,
    title: str,
    x_key: str = "taken_at",
    width: int = 480,
    height: int = 200,
    labels: dict[str, str] | None = None,
    chart: str = "",
) -> SafeString:
    """A line chart of ``series`` over ``points`` (dicts with ``x_key`` datetimes), with axis labels.

    The legend gives each series' last value (``data-series`` / ``data-count``), which is
    the page's own current count when the caller ends ``points`` with it.
    """
    labels = labels or {}
    if not points:
        text = gettext("No history yet for “%(title)s”: a snapshot is recorded every hour and after each sync.")
        return mark_safe(f'<p class="muted">{escape(text % {"title": title})}</p>')
    left, right, top, bottom = 48, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = max((int(p.get(s) or 0) for p in points for s in series), default=0) or 1
    times = [p[x_key] for p in points]
    t0, t1 = times[0].timestamp(), times[-1].timestamp()
    span = (t1 - t0) or 1.0

    def xy(p: dict, name: str) -> tuple[float, float]:
        x = left + (p[x_key].timestamp() - t0) / span * plot_w if len(points) > 1 else left + plot_w / 2
        y = top + plot_h - (int(p.get(name) or 0) / y_max) * plot_h
        return x, y

    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="tick">{_short(y_max)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="tick">0</text>',
        f'<line x1="{left}" y1="{top}" x2="{left + plot_w}" y2="{top}" class="grid"/>',
        f'<text x="{left}" y="{height - 8}" class="tick">{escape(_when(times[0]))}</text>',
        f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="tick">{escape(_when(times[-1]))}</text>',
    ]
    for name in series:
        colour = SERIES_COLOURS.get(name, "#0969da")
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(p, name) for p in points))
        out.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-linejoin="round"><title>{escape(name)}</title></polyline>'
        )
        if len(points) == 1:
            x, y = xy(points[0], name)
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
    out.append("</svg>")
    legend = "".join(
        f'<span class="legend-item" data-series="{escape(n)}" data-count="{int(points[-1].get(n) or 0)}">'
        f'<span class="swatch" style="background:{SERIES_COLOURS.get(n, "#0969da")}"></span>'
        f"{escape(labels.get(n) or n.replace('_', ' ').capitalize())} {_grouped(int(points[-1].get(n) or 0))}</span>"
        for n in series
    )
    return mark_safe(
        f'<figure class="chart-figure" data-chart="{escape(chart)}">{"".join(out)}'
        f"<figcaption>{legend}</figcaption></figure>"
    )


def _short(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return _grouped(n)


def _when(value: datetime) -> str:
    return localtime(value).strftime("%d %b %H:%M")


def bar_chart(
    points: Sequence[dict], value_key: str, *, title: str, x_key: str = "hour", width: int = 480, height: int = 180
) -> SafeString:
    """Vertical bars of ``value_key`` per point (e.g. items synced per hour)."""
    if not points:
        return mark_safe(f'<p class="muted">No data yet for “{escape(title)}”.</p>')
    left, right, top, bottom = 48, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = max(int(p.get(value_key) or 0) for p in points) or 1
    slot = plot_w / len(points)
    bar_w = max(slot * 0.7, 1.0)
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 8}" text-anchor="end" class="tick">{_short(y_max)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="tick">0</text>',
        f'<text x="{left}" y="{height - 8}" class="tick">{escape(_when(points[0][x_key]))}</text>',
        f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="tick">'
        f"{escape(_when(points[-1][x_key]))}</text>",
    ]
    for i, p in enumerate(points):
        value = int(p.get(value_key) or 0)
        h = value / y_max * plot_h
        x = left + i * slot + (slot - bar_w) / 2
        out.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="#0969da"><title>{escape(_count_label(_when(p[x_key]), value))}</title></rect>'
        )
    out.append("</svg>")
    return mark_safe("".join(out))
