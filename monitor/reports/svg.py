"""Inline SVG bar charts for the report page (no script, no style attribute: the page's CSP
allows neither inline)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart"]

_COLOURS = ("#9aa5b1", "#2f855a", "#2b6cb0", "#c05621")


def bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    width: int = 760,
    height: int = 220,
) -> str:
    """Grouped bars, one group per label; a legend with the series names."""
    pad_l, pad_b, pad_t = 40, 40, 24
    plot_w, plot_h = width - pad_l - 10, height - pad_b - pad_t
    top = max([v for _, values in series for v in values] + [1.0])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - 10}" y2="{pad_t + plot_h}" '
        'stroke="#333"/>',
        f'<text x="4" y="{pad_t + 8}" font-size="10">{top:.0f}</text>',
    ]
    for i, (name, _) in enumerate(series):
        x = pad_l + i * 140
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{_COLOURS[i % 4]}"/>')
        parts.append(f'<text x="{x + 14}" y="13" font-size="11">{escape(name)}</text>')
    if labels:
        slot = plot_w / len(labels)
        bar = max(1.0, min(24.0, slot * 0.8 / max(1, len(series))))
        every = max(1, len(labels) // 12)
        for j, label in enumerate(labels):
            x0 = pad_l + j * slot + slot * 0.1
            for i, (name, values) in enumerate(series):
                h = plot_h * (values[j] / top)
                parts.append(
                    f'<rect class="bar" x="{x0 + i * bar:.1f}" y="{pad_t + plot_h - h:.1f}" '
                    f'width="{bar:.1f}" height="{h:.1f}" fill="{_COLOURS[i % 4]}">'
                    f"<title>{escape(label)} {escape(name)}: {values[j]:.0f}</title></rect>"
                )
            if j % every == 0:
                text = escape(label[-11:])
                parts.append(f'<text x="{x0:.1f}" y="{height - 24}" font-size="9">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)
