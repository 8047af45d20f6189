"""A person signs in to the web UI in a real browser (headless Chromium through Playwright)."""

import pytest

from access.models import Role
from access.services import role_grant
from tests.factories import PASSWORD, RepositoryFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def carol(live_registry):
    """A user who is not staff, reader of the private ``team-secret``."""
    secret = RepositoryFactory(name="team-secret")
    RepositoryFactory(name="open-source", anonymous_read=True)
    user = UserFactory(username="carol")
    role_grant(repository=secret, role=Role.READ, user=user)
    return user


def test_a_user_signs_in_sees_private_repositories_and_signs_out(
    live_registry, carol, browser_page
):
    page = browser_page
    page.goto(f"{live_registry.url}/")
    assert page.locator("main").inner_text().count("team-secret") == 0

    page.get_by_role("link", name="Sign in").click()
    assert page.url == f"{live_registry.url}/ui/login/?next=/"
    page.get_by_label("User name").fill("carol")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{live_registry.url}/")
    assert page.locator("#signed-in-user").inner_text() == "carol"
    repositories = page.locator("main table td:first-child a").all_inner_texts()
    assert repositories == ["open-source", "team-secret"]
    page.get_by_role("link", name="team-secret").click()
    assert page.locator("h1").inner_text() == "team-secret raw · hosted"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_registry.url}/")
    assert page.locator("main table td:first-child a").all_inner_texts() == ["open-source"]
    assert page.get_by_role("link", name="Sign in").count() == 1
    assert page.csp_violations == []


def test_a_wrong_password_keeps_the_visitor_signed_out(live_registry, carol, browser_page):
    page = browser_page
    page.goto(f"{live_registry.url}/ui/login/")
    page.get_by_label("User name").fill("carol")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    assert "Please enter a correct username and password" in page.locator(".errors").inner_text()
    assert page.locator("#signed-in-user").count() == 0
