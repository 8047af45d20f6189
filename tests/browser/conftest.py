"""What the browser tests share: a headless Chromium page driven through Playwright."""

from collections.abc import Iterator

import pytest

from tests.live import require_client

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser_page(live_registry) -> Iterator:
    """A Chromium page; CSP violations it reports are collected in ``page.csp_violations``."""
    chromium = require_client("chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.csp_violations = []
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text
                and page.csp_violations.append(message.text)
            ),
        )
        yield page
        browser.close()
