"""What the browser tests share: a headless Chromium page driven through Playwright.

A failing test leaves a screenshot of its page in ``$REGISTRY_VAR_DIR/screenshots/``.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import PASSWORD, UserFactory
from tests.live import require_client

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, for the screenshot on failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def screenshot_dir() -> Path:
    return Path(settings.VAR_DIR) / "screenshots"


@pytest.fixture
def browser_page(request, live_registry) -> Iterator:
    """A Chromium page; CSP violations it reports are collected in ``page.csp_violations``."""
    chromium = require_client("chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_registry.url)
        page = context.new_page()
        page.csp_violations = []
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text
                and page.csp_violations.append(message.text)
            ),
        )
        yield page
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            screenshot_dir().mkdir(parents=True, exist_ok=True)
            page.screenshot(path=screenshot_dir() / f"{request.node.name}.png", full_page=True)
        browser.close()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def console_admin(live_registry):
    """The registry administrator ``ada`` (made before the browser starts: see conftest)."""
    return UserFactory(username="ada", is_superuser=True)


@pytest.fixture
def console_page(request, live_registry, console_admin, browser_page) -> Iterator:
    """A page signed in at /ui/login/ as the registry administrator ``ada``, on /ui/admin/.

    When the test fails, the page it ended on is saved under var/screenshots/.
    """
    page = browser_page
    page.goto(f"{live_registry.url}/ui/login/?next=/ui/admin/")
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_registry.url}/ui/admin/")
    failed = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed:  # the call's report is logged before teardown
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failing page: {shot}")
