"""An administrator sets up proxy and group repositories in the admin console, in Chromium."""

import pytest

from formats.models import Repository
from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.static_upstream import static_upstream

pytestmark = pytest.mark.e2e


@pytest.fixture
def admin_page(live_registry, browser_page, monkeypatch):
    """A page signed in to the admin console as a superuser, with hosted ``team`` and ``extra``
    (raw) and ``py`` (pypi) to link."""
    # Playwright's sync API keeps an event loop in this thread, which Django takes for async
    # code; the test's queries run between page actions, never inside the loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    UserFactory(username="ada", is_superuser=True, is_staff=True)
    for name, format in (("team", "raw"), ("extra", "raw"), ("py", "pypi")):
        RepositoryFactory(name=name, format=format)
    page = browser_page
    page.goto(f"{live_registry.url}/admin/login/")
    page.locator("#id_username").fill("ada")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{live_registry.url}/admin/")
    return page


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


def _members(name: str) -> list[str]:
    return [link.member.name for link in Repository.objects.get(name=name).member_links.all()]


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
    proxy = Repository.objects.get(name="mirror")
    assert (proxy.kind, proxy.upstream_url, proxy.metadata_ttl) == ("proxy", upstream, 120)
    assert (proxy.upstream_username, proxy.upstream_password) == ("bot", "s3cret")
    assert "was added successfully" in group_messages
    assert _members("everything") == ["team", "mirror", "extra"]
    assert shown_positions == ["team", "mirror", "extra"]
    group = Repository.objects.get(name="everything")
    assert (group.kind, group.deploy_to.name, group.hosted_guard) == ("group", "team", True)
    assert page.locator("#id_upstream_password").input_value() == ""  # never shown back
    assert page.csp_violations == []


def test_a_member_of_another_format_is_refused_with_a_message(live_registry, admin_page):
    page = admin_page
    _add(page, live_registry.url, "mixed", "group")
    _member_rows(page, [(0, "team"), (1, "py")])
    page.locator("input[name=_save]").click()

    assert page.locator(".errornote").count() == 1
    assert page.locator(".errorlist.nonform").inner_text() == "'py' is a pypi repository, not raw"
    assert Repository.objects.filter(name="mixed").exists() is False


def test_a_loop_of_groups_is_refused_with_a_message(live_registry, admin_page):
    inner = RepositoryFactory(name="inner", format="raw", kind="group")
    inner.members.add(Repository.objects.get(name="team"))
    RepositoryFactory(name="outer", format="raw", kind="group").members.add(inner)
    page = admin_page
    page.goto(f"{live_registry.url}/admin/formats/repository/{inner.pk}/change/")
    page.locator("#id_member_links-1-position").fill("1")
    page.locator("#id_member_links-1-member").select_option(label="outer")
    page.locator("input[name=_save]").click()

    assert page.locator(".errorlist.nonform").inner_text() == "'outer' contains 'inner': a loop"
    assert _members("inner") == ["team"]
