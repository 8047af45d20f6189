"""An administrator grants a role in the console; the user's real client feels it at once."""

import subprocess

import pytest

from tests.factories import RepositoryFactory, UserFactory
from tests.live import require_client, within_token_cache

pytestmark = pytest.mark.e2e


@pytest.fixture
def bob_token(live_registry, make_token):
    """Hosted raw ``team``; user ``bob`` with no role on it, and his API token."""
    RepositoryFactory(name="team", format="raw")
    return make_token(UserFactory(username="bob"))


def _curl_upload(url: str, token: str, path, name: str) -> str:
    """Upload ``path`` with curl as the token's user; return the HTTP status curl saw."""
    done = subprocess.run(
        [require_client("curl"), "-s", "-o", "/dev/null", "-w", "%{http_code}"]
        + ["-u", f"__token__:{token}", "-T", str(path), f"{url}/repository/team/{name}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_a_granted_role_takes_effect_for_curl_and_is_in_the_audit_log(
    live_registry, bob_token, console_page, tmp_path
):
    page, url = console_page, live_registry.url
    artifact = tmp_path / "build.txt"
    artifact.write_text("built\n")
    refused = _curl_upload(url, bob_token, artifact, "build-1.txt")

    page.goto(f"{url}/ui/admin/repositories/team/access/")
    page.get_by_label("User").select_option("bob")
    page.get_by_label("Role").select_option(label="write")
    page.get_by_role("button", name="Grant").click()
    matrix = page.locator("#matrix").inner_text()
    granted = _curl_upload(url, bob_token, artifact, "build-2.txt")

    page.goto(f"{url}/ui/admin/audit/")
    page.get_by_label("Action").fill("role.")
    page.get_by_label("Repository").fill("team")
    page.get_by_role("button", name="Filter").click()
    events = page.locator("#events tbody tr").all_inner_texts()

    page.goto(f"{url}/ui/admin/repositories/team/access/")
    page.get_by_role("button", name="Revoke").click()
    revoked = _curl_upload(url, bob_token, artifact, "build-3.txt")

    assert refused == "404"  # a private repository stays hidden from who may not read it
    assert "user bob\tyes\tyes\tno\tno" in matrix
    assert granted == "201"
    assert len(events) == 1
    assert events[0].split("\t")[1:4] == ["ada 127.0.0.1", "role.grant", "team"]
    assert sorted(events[0].split("\t")[-1].split("; ")) == ["role: write", "user: bob"]
    assert revoked == "404"
    assert page.csp_violations == []


def test_an_admin_revokes_a_users_token_and_curl_is_refused(
    live_registry, bob_token, console_page, tmp_path
):
    page, url = console_page, live_registry.url
    page.goto(f"{url}/ui/admin/users/")
    page.get_by_role("link", name="bob").click()
    page.get_by_role("button", name=f"Revoke token {bob_token[:10]}").click()
    state = page.locator("#tokens tbody td:nth-child(6)").inner_text()
    artifact = tmp_path / "x.txt"
    artifact.write_text("x")

    assert state == "revoked"
    refused = within_token_cache(lambda: _curl_upload(url, bob_token, artifact, "x.txt"), "401")
    assert refused == "401"
