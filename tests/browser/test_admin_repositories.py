"""An administrator sets up proxy and group repositories in the admin console, in Chromium."""

import pytest

from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.static_upstream import static_upstream

pytestmark = pytest.mark.e2e


@pytest.fixture
def repositories(live_registry):
    """A superuser ``ada``; hosted ``team`` and ``extra`` (raw), ``py`` (pypi); group ``inner``
    (of ``team``) inside group ``outer``. Made before the browser starts: while Playwright's
    event loop runs, the test reads what the server stored through the API, as a user would."""
    UserFactory(username="ada", is_superuser=True, is_staff=True)
    made = {
        name: RepositoryFactory(name=name, format=format)
        for name, format in (("team", "raw"), ("extra", "raw"), ("py", "pypi"))
    }
    inner = RepositoryFactory(name="inner", format="raw", kind="group")
    inner.members.add(made["team"])
    RepositoryFactory(name="outer", format="raw", kind="group").members.add(inner)
    return {**made, "inner": inner}


@pytest.fixture
def admin_page(live_registry, repositories, browser_page):
    """A page signed in to the admin console as ``ada``."""
    page = browser_page
    page.goto(f"{live_registry.url}/admin/login/")
    page.locator("#id_username").fill("ada")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{live_registry.url}/admin/")
    return page


def _stored(page, url: str, name: str) -> dict:
    """The repository as the API shows it to the signed-in administrator."""
    response = page.request.get(f"{url}/api/v1/repositories/{name}/")
    return response.json() if response.ok else {"status": response.status}


def _add(page, url: str, name: str, kind: str) -> None:
    page.goto(f"{url}/admin/formats/repository/add/")
    page.locator("#id_name").fill(name)
    page.locator("#id_format").select_option("raw")
    page.locator("#id_kind").select_option(kind)


def _member_rows(page, rows: list[tuple[int, str]]) -> None:
    """Fill one inline row per (position, member name), adding rows as a person would."""
    for index, (position, member) in enumerate(rows):
        if index > 0:
            page.get_by_text("Add another Member").click()
        page.locator(f"#id_member_links-{index}-position").fill(str(position))
        page.locator(f"#id_member_links-{index}-member").select_option(label=member)


def test_an_admin_creates_a_proxy_then_a_group_with_ordered_members_and_a_deploy_target(
    live_registry, admin_page, tmp_path
):
    page = admin_page
    with static_upstream(tmp_path) as upstream:
        _add(page, live_registry.url, "mirror", "proxy")
        page.locator("#id_upstream_url").fill(upstream)
        page.locator("#id_upstream_username").fill("bot")
        page.locator("#id_upstream_password").fill("s3cret")
        page.locator("#id_metadata_ttl").fill("120")
        page.locator("input[name=_save]").click()
        proxy_messages = page.locator(".messagelist").inner_text()

    _add(page, live_registry.url, "everything", "group")
    _member_rows(page, [(2, "extra"), (0, "team"), (1, "mirror")])
    page.locator("#id_deploy_to").select_option(label="team")
    page.locator("input[name=_continue]").click()
    group_messages = page.locator(".messagelist").inner_text()
    shown_positions = [
        page.locator(f"#id_member_links-{index}-member option:checked").inner_text()
        for index in range(3)
    ]

    assert f"Upstream {upstream}: reachable: HTTP 200 from {upstream}" in proxy_messages
    proxy = _stored(page, live_registry.url, "mirror")
    assert (proxy["kind"], proxy["upstream_url"], proxy["metadata_ttl"]) == ("proxy", upstream, 120)
    assert (proxy["upstream_username"], "upstream_password" in proxy) == ("bot", False)
    assert "was added successfully" in group_messages
    assert shown_positions == ["team", "mirror", "extra"]
    group = _stored(page, live_registry.url, "everything")
    assert (group["kind"], group["members"]) == ("group", ["team", "mirror", "extra"])
    assert (group["deploy_to"], group["hosted_guard"]) == ("team", True)
    assert page.locator("#id_upstream_password").input_value() == ""  # never shown back
    assert page.csp_violations == []


def test_a_member_of_another_format_is_refused_with_a_message(live_registry, admin_page):
    page = admin_page
    _add(page, live_registry.url, "mixed", "group")
    _member_rows(page, [(0, "team"), (1, "py")])
    page.locator("input[name=_save]").click()

    page.locator(".errornote").wait_for()  # the form again, once it has loaded
    assert page.locator(".errorlist.nonform").inner_text() == "'py' is a pypi repository, not raw"
    assert _stored(page, live_registry.url, "mixed") == {"status": 404}


def test_a_loop_of_groups_is_refused_with_a_message(live_registry, repositories, admin_page):
    page = admin_page
    page.goto(f"{live_registry.url}/admin/formats/repository/{repositories['inner'].pk}/change/")
    page.locator("#id_member_links-1-position").fill("1")
    page.locator("#id_member_links-1-member").select_option(label="outer")
    page.locator("input[name=_save]").click()

    assert page.locator(".errorlist.nonform").inner_text() == "'outer' contains 'inner': a loop"
    assert _stored(page, live_registry.url, "inner")["members"] == ["team"]
