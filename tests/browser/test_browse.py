"""A person browses, searches, copies an install snippet and manages tokens, in Chromium."""

import hashlib
import subprocess

import pytest

from access.models import Role
from access.services import role_grant
from formats.services import tag_set
from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.live import require_client, within_token_cache
from tests.web.content import version_with_file

pytestmark = pytest.mark.e2e

TARBALL = b"left-pad tarball bytes"
NOTES = b"release notes of the private team\n"


@pytest.fixture
def catalog(live_registry):
    """Public npm ``left-pad`` (two versions, a readme); private raw ``team-files`` that
    ``gina`` may write. Made before the browser starts: Playwright's loop forbids the ORM."""
    public = RepositoryFactory(name="npm-public", format="npm", anonymous_read=True)
    readme = {"readme": "# left-pad\n\nPads strings.", "manifest": {"description": "Pad left"}}
    version_with_file(public, "left-pad", "1.2.0", "left-pad/-/left-pad-1.2.0.tgz", b"old")
    latest = version_with_file(
        public, "left-pad", "1.3.0", "left-pad/-/left-pad-1.3.0.tgz", TARBALL, metadata=readme
    )
    tag_set(package=latest.package, name="latest", version=latest, user=None)
    private = RepositoryFactory(name="team-files", format="raw")
    version_with_file(private, "notes", "1", "notes/notes.txt", NOTES)
    role_grant(repository=private, role=Role.WRITE, user=UserFactory(username="gina"))


def _search(page, text: str) -> None:
    page.get_by_label("Search packages or a digest").fill(text)
    page.get_by_label("Search packages or a digest").press("Enter")


def test_a_visitor_browses_searches_by_name_and_copies_a_pinned_install_snippet(
    live_registry, catalog, browser_page
):
    page = browser_page
    page.goto(f"{live_registry.url}/")
    assert page.locator("#repositories tbody td:first-child").all_inner_texts() == ["npm-public"]

    _search(page, "left")
    page.wait_for_url(f"{live_registry.url}/ui/search?q=left")
    assert page.locator("#results tbody td:first-child").all_inner_texts() == ["left-pad"]
    page.get_by_role("link", name="left-pad").click()
    assert page.locator("main > h1").inner_text() == "left-pad"
    assert page.locator("#versions tbody td:first-child").all_inner_texts() == ["1.3.0", "1.2.0"]
    assert page.locator(".readme h1").inner_text() == "left-pad"

    page.locator("#latest-version").click()
    snippet = page.locator("#install-1").inner_text()
    page.locator("button[data-copy=install-1]").click()
    page.get_by_role("button", name="Copied").wait_for()

    assert snippet.startswith("npm install left-pad@1.3.0\n# integrity sha512-")
    assert page.evaluate("navigator.clipboard.readText()") == snippet
    assert page.csp_violations == []


def test_a_visitor_finds_a_file_by_its_digest_but_not_a_private_one(
    live_registry, catalog, browser_page
):
    page = browser_page
    page.goto(f"{live_registry.url}/")
    _search(page, f"sha256:{hashlib.sha256(TARBALL).hexdigest()}")
    page.get_by_role("link", name="1.3.0").click()
    assert page.locator("main > h1").inner_text() == "left-pad 1.3.0"

    _search(page, hashlib.sha256(NOTES).hexdigest())
    assert "No file, image or layer you may read" in page.locator("#digest-hits").inner_text()


def test_pages_read_without_javascript(live_registry, catalog, browser_page):
    page = browser_page
    context = page.context.browser.new_context(java_script_enabled=False)
    bare = context.new_page()
    bare.goto(f"{live_registry.url}/ui/repositories/npm-public/packages/left-pad/versions/1.3.0/")
    assert bare.locator("#install-1").inner_text().startswith("npm install left-pad@1.3.0")
    assert bare.locator("button[data-copy]").is_hidden()  # no dead button without its script
    context.close()


def _curl(url: str, secret: str) -> str:
    result = subprocess.run(
        [
            require_client("curl"),
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            f"Authorization: Bearer {secret}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout


def test_a_user_signs_in_creates_a_token_uses_it_with_curl_and_revokes_it(
    live_registry, catalog, browser_page
):
    page = browser_page
    file_url = f"{live_registry.url}/repository/team-files/notes/notes.txt"
    page.goto(f"{live_registry.url}/ui/tokens/")
    page.wait_for_url(f"{live_registry.url}/ui/login/?next=/ui/tokens/")
    page.get_by_label("User name").fill("gina")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_registry.url}/ui/tokens/")

    page.get_by_label("Name").fill("laptop")
    page.get_by_label("team-files").check()
    page.get_by_label("Read-only").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token").inner_text()

    assert _curl(file_url, secret) == "200"
    assert _curl(file_url, "reg_not-a-token") == "401"
    page.goto(f"{live_registry.url}/ui/tokens/")
    assert page.locator("#new-token").count() == 0  # shown once
    row = page.locator("#tokens tbody tr").first
    assert row.locator("td").nth(2).inner_text() == "team-files"
    assert row.locator("td").nth(3).inner_text() == "read-only"
    assert row.locator("td").nth(6).inner_text() != "never"  # curl used it

    page.get_by_role("button", name="Revoke laptop").click()
    assert page.locator(".messages").inner_text() == "Token laptop revoked."
    assert within_token_cache(lambda: _curl(file_url, secret), "401") == "401"
    assert page.locator("#tokens tbody tr td").nth(7).inner_text().startswith("revoked ")
    assert page.csp_violations == []


def test_the_version_filter_narrows_the_table_as_one_types(live_registry, catalog, browser_page):
    page = browser_page
    page.goto(f"{live_registry.url}/ui/repositories/npm-public/packages/left-pad/")
    page.get_by_label("Filter versions").fill("1.2")
    assert page.locator("#versions tbody tr:visible td:first-child").all_inner_texts() == ["1.2.0"]
    page.get_by_label("Filter versions").fill("")
    assert page.locator("#versions tbody tr:visible").count() == 2


def test_pages_fit_a_phone_and_follow_the_dark_setting(live_registry, catalog, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 740})
    page.emulate_media(color_scheme="dark")
    for path in ("/", "/ui/repositories/npm-public/", "/ui/search?q=left"):
        page.goto(f"{live_registry.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(20, 24, 31)", path
    page.emulate_media(color_scheme="light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
