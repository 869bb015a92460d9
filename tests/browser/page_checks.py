"""Checks every browser test runs on a page: no sideways scroll at the viewport's width, no raw
code in the visible text."""

from __future__ import annotations

import re
from typing import Any

from reconciliation.console.labels import every_code

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True}
LAPTOP = {"viewport": {"width": 1366, "height": 768}, "device_scale_factor": 1}
VIEWPORTS = {"390": PHONE, "1366": LAPTOP}
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
CODES = every_code() | {"bank_transfer", "hash"}


def overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when it fits)."""
    wider: int = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )
    return max(wider, 0)


def raw_codes(page: Any) -> list[str]:
    """snake_case codes, and the catalogue's codes, found in the text a person reads."""
    text: str = page.evaluate("document.body.innerText")
    found = set(SNAKE.findall(text))
    found |= {code for code in CODES if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text)}
    return sorted(found)


def check(page: Any, where: str) -> None:
    assert overflow(page) == 0, f"{where}: {overflow(page)} px wider than the screen"
    assert raw_codes(page) == [], f"{where}: raw codes {raw_codes(page)}"
