"""Headless Chromium for browser tests: Debian's ``chromium`` package, never a downloaded browser.

Outside CI a missing /usr/bin/chromium skips the tests with the reason; with CI=true it fails
them, so CI cannot pass without having run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("THUPHI_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").lower() == "true"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if IN_CI:
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(f"{reason}; set CI=true to require it")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the session, launched by Playwright from the system package."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def output_dir() -> Path:
    """``test-output/`` at the repository root, where screenshots are written."""
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
