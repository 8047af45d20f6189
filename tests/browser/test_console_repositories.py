"""An administrator creates a proxy and a group and previews a cleanup in the console."""

import pytest

from tests.factories import PackageFactory, RepositoryFactory, VersionFactory
from tests.static_upstream import static_upstream

pytestmark = pytest.mark.e2e


@pytest.fixture
def hosted(live_registry):
    """Hosted raw ``team`` and ``extra``, and pypi ``py``; made before the browser starts."""
    return {
        name: RepositoryFactory(name=name, format=format)
        for name, format in (("team", "raw"), ("extra", "raw"), ("py", "pypi"))
    }


def stored(page, url: str, name: str) -> dict:
    """The repository as the API shows it to the signed-in administrator."""
    response = page.request.get(f"{url}/api/v1/repositories/{name}/")
    return response.json() if response.ok else {"status": response.status}


def _new(page, url: str, kind: str, name: str, repository_format: str = "raw") -> None:
    page.goto(f"{url}/ui/admin/")
    page.get_by_role("link", name=kind, exact=True).click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Format", exact=True).select_option(repository_format)


def test_an_admin_creates_a_proxy_and_a_group_and_orders_its_members(
    live_registry, hosted, console_page, tmp_path
):
    page, url = console_page, live_registry.url
    with static_upstream(tmp_path) as upstream:
        _new(page, url, "proxy", "mirror")
        page.get_by_label("Upstream URL").fill(upstream)
        page.get_by_label("Upstream username").fill("bot")
        page.get_by_label("Upstream password or token").fill("s3cret")
        page.get_by_label("Metadata TTL (seconds)").fill("120")
        page.get_by_role("button", name="Create").click()
        page.wait_for_url(f"{url}/ui/admin/repositories/mirror/")
        created = page.locator(".messages").inner_text()
        status = page.locator("#upstream-status").inner_text()

    _new(page, url, "group", "everything")
    for row, member in enumerate(["mirror", "extra", "team"], start=1):
        page.get_by_label(f"Member {row}", exact=True).select_option(member)
    page.get_by_label("Deploy target (a hosted member)").select_option("team")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(f"{url}/ui/admin/repositories/everything/")
    before = page.locator("#members .member-name").all_inner_texts()
    page.get_by_role("button", name="Move team up").click()
    page.get_by_role("button", name="Move team up").click()
    after = page.locator("#members .member-name").all_inner_texts()
    reordered = stored(page, url, "everything")["members"]
    listed = page.goto(f"{url}/ui/admin/") and page.locator("main table").inner_text()

    assert created == "Created proxy repository mirror."
    assert status == f"reachable: HTTP 200 from {upstream}"
    proxy = stored(page, url, "mirror")
    assert (proxy["kind"], proxy["upstream_url"], proxy["metadata_ttl"]) == ("proxy", upstream, 120)
    assert (proxy["upstream_username"], "upstream_password" in proxy) == ("bot", False)
    assert before == ["mirror", "extra", "team"]  # as the rows chose them
    assert after == ["team", "mirror", "extra"]
    assert reordered == after
    group = stored(page, url, "everything")
    assert (group["kind"], group["members"], group["deploy_to"]) == (
        "group",
        ["team", "mirror", "extra"],
        "team",
    )
    assert "mirror\traw\tproxy" in listed
    assert "everything\traw\tgroup" in listed
    assert page.csp_violations == []


def test_a_member_of_another_format_is_refused_with_the_api_message(
    live_registry, hosted, console_page
):
    page, url = console_page, live_registry.url
    _new(page, url, "group", "mixed")
    page.get_by_label("Member 1", exact=True).select_option("team")
    page.get_by_label("Member 2", exact=True).select_option("py")
    page.get_by_role("button", name="Create").click()

    page.locator("#form-errors").wait_for()
    assert page.locator("#form-errors").inner_text() == "'py' is a pypi repository, not raw"
    assert stored(page, url, "mixed") == {"status": 404}


@pytest.fixture
def releases(live_registry):
    """``team`` holds ``tool`` 1.0, 1.1 and 1.2 (in this order)."""
    team = RepositoryFactory(name="builds", format="raw")
    package = PackageFactory(repository=team, name="tool")
    for version in ("1.0", "1.1", "1.2"):
        VersionFactory(package=package, version=version)
    return team


def test_an_admin_sets_a_cleanup_policy_and_previews_it_without_removing(
    live_registry, releases, console_page
):
    page, url = console_page, live_registry.url
    page.goto(f"{url}/ui/admin/repositories/builds/")
    page.get_by_label("Keep the last N versions per package").fill("1")
    page.get_by_role("button", name="Save policy").click()
    saved = page.locator(".messages").inner_text()
    page.get_by_role("button", name="Preview (dry run)").click()

    assert saved == "Cleanup policy saved."
    assert (
        page.locator("#preview-summary")
        .inner_text()
        .startswith("A cleanup now would remove 2 versions.")
    )
    rows = page.locator("#preview tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(rows) == ["1.0", "1.1"]
    package = page.request.get(f"{url}/api/v1/packages/?repository=builds").json()["results"][0]
    versions = page.request.get(f"{url}/api/v1/versions/?package={package['id']}").json()
    assert versions["count"] == 3  # a preview removes nothing
    page.goto(f"{url}/ui/admin/audit/?action=policy.set")
    assert "policy.set\tbuilds" in page.locator("#events").inner_text()
