"""Inline SVG bar charts rendered on the server: no script, no CDN, readable by screen readers
(role="img" with a title; every chart sits beside a table of the same figures)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 640
BAR = 22  # px per horizontal bar
PALETTE = ("#0b4f8a", "#146c2e", "#8a4b00", "#6b2c91", "#a4161a", "#2f5d62")


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def hbar(title: str, items: Sequence[tuple[str, int]], *, label_width: int = 220) -> Markup:
    """One horizontal bar per (label, đồng), longest first as given."""
    top = max((v for _, v in items), default=0) or 1
    height = BAR * max(len(items), 1) + 8
    room = WIDTH - label_width - 120
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * BAR
        w = max(int(room * value / top), 1 if value else 0)
        colour = PALETTE[i % len(PALETTE)]
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(short)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{w}" height="{BAR - 6}" fill="{colour}">'
            f"<title>{escape(label)}: {_money(value)} ₫</title></rect>"
            f'<text x="{label_width + w + 6}" y="{y + 15}" font-size="12">{_money(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def columns(title: str, items: Sequence[tuple[str, int]]) -> Markup:
    """One vertical bar per day (label ``dd/mm``), with the maximum marked on the axis."""
    top = max((v for _, v in items), default=0) or 1
    height, base, left = 220, 190, 70
    step = (WIDTH - left - 10) / max(len(items), 1)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="#767676"/>',
        f'<text x="{left - 6}" y="24" text-anchor="end" font-size="11">{_money(top)}</text>',
        f'<text x="{left - 6}" y="{base}" text-anchor="end" font-size="11">0</text>',
    ]
    every = max(1, len(items) // 10)
    for i, (label, value) in enumerate(items):
        h = int((base - 20) * value / top)
        x = left + i * step
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{base - h}" width="{max(step - 2, 1):.1f}" height="{h}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {_money(value)} ₫</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{base + 16}" text-anchor="middle" '
                f'font-size="11">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
