"""Bar charts rendered on the server: no script, no CDN, no inline style (CSP), readable by
screen readers (a labelled list or a titled figure; every chart sits beside a table of the same
figures).

Labels and amounts are HTML text, so they wrap and keep the page's font size on a phone and a
laptop alike; only the bars are SVG, stretched to the room they get.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from payments.money import vnd

PALETTE = ("#0b4f8a", "#146c2e", "#8a4b00", "#6b2c91", "#a4161a", "#2f5d62")


def _bar(share: float, colour: str) -> str:
    width = f"{max(share, 0.0) * 100:.1f}"
    return (
        '<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
        f'<rect width="{width}" height="10" fill="{colour}"/></svg>'
    )


def hbar(title: str, items: Sequence[tuple[str, int]]) -> Markup:
    """One horizontal bar per (label, đồng), in the order given."""
    top = max((v for _, v in items), default=0) or 1
    rows = [
        f'<li><span class="k">{escape(label)}</span>'
        f"{_bar(value / top, PALETTE[i % len(PALETTE)])}"
        f'<span class="v">{escape(vnd(value))}</span></li>'
        for i, (label, value) in enumerate(items)
    ]
    return Markup(  # noqa: S704 - every text above is escaped
        f'<ol class="hbars" aria-label="{escape(title)}">{"".join(rows)}</ol>'
    )


def columns(title: str, items: Sequence[tuple[str, int]], peak: str = "max") -> Markup:
    """One vertical bar per day; the first, middle and last day and the maximum as text."""
    top = max((v for _, v in items), default=0) or 1
    count = max(len(items), 1)
    step = 1000 / count
    bars = "".join(
        f'<rect x="{i * step + step * 0.1:.1f}" y="{400 - 400 * value / top:.1f}" '
        f'width="{step * 0.8:.1f}" height="{400 * value / top:.1f}" fill="{PALETTE[0]}">'
        f"<title>{escape(label)}: {escape(vnd(value))}</title></rect>"
        for i, (label, value) in enumerate(items)
    )
    marks = [items[0][0], items[len(items) // 2][0], items[-1][0]] if items else []
    axis = "".join(f"<span>{escape(mark)}</span>" for mark in marks)
    return Markup(  # noqa: S704 - every text above is escaped
        f'<figure class="chart"><figcaption class="muted">{escape(title)} · {escape(peak)} '
        f"{escape(vnd(top))}</figcaption>"
        f'<svg class="columns" viewBox="0 0 1000 400" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(title)}">{bars}</svg><p class="axis">{axis}</p></figure>'
    )
