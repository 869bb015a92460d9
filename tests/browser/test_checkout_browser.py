"""What a citizen sees on a phone: the checkout page driven in headless Chromium (390×844)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer
from factories import pay, post_payment_request
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}
STUDENT = {"name": "Trần Thị Bình", "category": "student"}

# contrast of each text against the first opaque background behind it (WCAG 2 formula)
CONTRAST = """(selectors) => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.99) return c;
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      out.push([sel, el.textContent.trim().slice(0, 40), Math.round(ratio * 100) / 100]);
    }
  }
  return out;
}"""
TEXT_SELECTORS = [
    "body", ".brand", ".agency", "h1", "h2", "h3", ".status__label", ".status__detail",
    ".facts dt", ".facts dd", ".fees th", ".fee__basis", ".fee__reduction", ".fee__normal",
    ".fee__due", ".transfer dt", ".transfer .value", ".muted", ".copy", ".note", "a",
]  # fmt: skip
LAYOUT_SHIFT = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
}).observe({type: "layout-shift", buffered: true});
"""


def test_citizen_sees_what_to_pay_copies_the_account_and_sees_the_payment_arrive(
    browser: Any, api: Any, live_server: Any, output_dir: Path, backend: str
) -> None:
    req = post_payment_request(api(), payer=STUDENT)
    context = browser.new_context(**PHONE, locale="vi-VN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.add_init_script(LAYOUT_SHIFT)
    page.goto(req["checkout_url"], wait_until="load")

    expect(page.locator("#status-label")).to_have_text("Chờ thanh toán")
    expect(page.locator("#total")).to_have_text("100.000 đ")
    reduced = page.locator(".fee--reduced")
    expect(reduced.locator(".fee__normal")).to_contain_text("200.000 đ")
    expect(reduced.locator(".fee__reduction")).to_be_visible()
    expect(reduced).to_contain_text("Thông tư 16/2025/TT-BTC, Điều 4")
    expect(page.locator("#account-number")).to_have_text("376101234567")
    expect(page.locator("#account-name")).to_have_text("SO TU PHAP HA TINH")
    expect(page.locator("#memo")).to_have_text(req["reference"])
    qr = page.locator(".qr img")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 200")
    box = qr.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll

    low = [c for c in page.evaluate(CONTRAST, TEXT_SELECTORS) if c[2] < 4.5]
    assert low == [], low
    for name in ("số tài khoản", "tên chủ tài khoản", "số tiền", "nội dung chuyển khoản"):
        expect(page.get_by_role("button", name=f"Sao chép {name}")).to_be_visible()

    shot = output_dir / f"checkout-phone-{backend}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    copy = page.locator('button.copy[data-copy="376101234567"]')
    copy.click()
    expect(copy).to_have_attribute("data-state", "ok")
    expect(copy).to_contain_text("Đã chép")
    assert page.evaluate("navigator.clipboard.readText()") == "376101234567"
    assert page.evaluate("window.__cls") < 0.01  # nothing moved while loading or copying

    pay(live_server.container, req)
    expect(page.locator("#status-label")).to_have_text("Đã thanh toán", timeout=20_000)
    # the page then reloads to show the paid state in full
    expect(page.locator("#main")).to_have_attribute("data-status", "paid", timeout=10_000)
    expect(page.locator(".qr img")).to_have_count(0)
    assert problems == []
    context.close()


@pytest.fixture
def demo_server(serve: Callable[..., LiveServer]) -> str:
    """The app in demo mode (its "simulate" buttons work) on an ephemeral port."""
    return serve(demo=True).url


def test_demo_transfer_button_pays_and_the_page_says_so(
    browser: Any, api: Any, demo_server: str
) -> None:
    req = post_payment_request(api())
    token = req["checkout_url"].rsplit("/", 1)[1]
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{demo_server}/pay/{token}")
    page.get_by_role("button", name="Giả lập chuyển khoản VietQR").click()
    expect(page.locator("#status-label")).to_have_text("Đã thanh toán")
    expect(page.locator(".status__detail")).to_contain_text("200.000 đ")
    context.close()


def test_copy_without_clipboard_access_still_answers_the_tap(
    browser: Any, api: Any, live_server: Any
) -> None:
    req = post_payment_request(api())
    context = browser.new_context(**PHONE)  # no clipboard permission granted
    page = context.new_page()
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.goto(req["checkout_url"])
    copy = page.locator("button.copy").last
    copy.click()
    # no clipboard API: the fallback may or may not copy, but the tap is always answered
    expect(copy).to_have_attribute("data-state", re.compile("^(ok|fail)$"))
    expect(copy.locator(".copy__text")).to_have_text(re.compile("^(Đã chép|Hãy chép tay)$"))
    context.close()


def test_page_reads_without_javascript(browser: Any, api: Any) -> None:
    req = post_payment_request(api(), payer=STUDENT)
    context = browser.new_context(**PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(req["checkout_url"])
    expect(page.locator("#total")).to_have_text("100.000 đ")
    expect(page.locator("#memo")).to_have_text(req["reference"])
    assert page.locator(".qr img").evaluate("img => img.naturalWidth > 200")
    expect(page.get_by_role("link", name="Cập nhật trạng thái")).to_be_visible()
    expect(page.locator("button.copy").first).to_be_hidden()  # useless without JS, room kept
    context.close()
