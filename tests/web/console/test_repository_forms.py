"""The console's repository and cleanup forms validate as the API does, with its messages."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from formats.models import CleanupPolicy, Repository
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


def _api_errors(client, body: dict, name: str | None = None) -> list[str]:
    """Every message the management API answers ``body`` with."""
    if name is None:
        response = client.post("/api/v1/repositories/", body, content_type="application/json")
    else:
        response = client.patch(
            f"/api/v1/repositories/{name}/", body, content_type="application/json"
        )
    assert response.status_code in (400, 409), response.content
    body = response.json()
    if body["detail"]:  # per field
        return [message for messages in body["detail"].values() for message in messages]
    return [body["message"]]


@pytest.mark.parametrize(
    ("_case", "kind", "posted", "body"),
    [
        (
            "a bad name",
            "hosted",
            {"name": "Bad Name", "format": "raw"},
            {"name": "Bad Name", "format": "raw", "kind": "hosted"},
        ),
        (
            "a proxy without an upstream",
            "proxy",
            {"name": "mirror", "format": "raw"},
            {"name": "mirror", "format": "raw", "kind": "proxy"},
        ),
        (
            "an upstream that is no URL",
            "proxy",
            {"name": "mirror", "format": "raw", "upstream_url": "ftp:/nowhere"},
            {"name": "mirror", "format": "raw", "kind": "proxy", "upstream_url": "ftp:/nowhere"},
        ),
        (
            "a group member of another format",
            "group",
            {"name": "all", "format": "raw", "members": ["py"]},
            {"name": "all", "format": "raw", "kind": "group", "members": ["py"]},
        ),
        (
            "a deploy target that is no member",
            "group",
            {"name": "all", "format": "raw", "members": ["team"], "deploy_to": "extra"},
            {
                "name": "all",
                "format": "raw",
                "kind": "group",
                "members": ["team"],
                "deploy_to": "extra",
            },
        ),
        (
            "a negative TTL",
            "proxy",
            {"name": "m", "format": "raw", "upstream_url": "http://x/", "metadata_ttl": "-1"},
            {
                "name": "m",
                "format": "raw",
                "kind": "proxy",
                "upstream_url": "http://x/",
                "metadata_ttl": -1,
            },
        ),
    ],
)
def test_a_refused_repository_shows_the_messages_the_api_answers(
    client, admin, _case, kind, posted, body
):
    RepositoryFactory(name="team", format="raw")
    RepositoryFactory(name="extra", format="raw")
    RepositoryFactory(name="py", format="pypi")
    expected = _api_errors(client, body)
    response = client.post(reverse("web:console:repository_new", kwargs={"kind": kind}), posted)
    assert response.status_code == 200
    page = response.content.decode()
    from django.utils.html import escape

    assert expected
    assert [message for message in expected if escape(message) not in page] == []
    assert not Repository.objects.filter(name=posted["name"]).exists()


def test_a_hosted_repository_is_created_with_its_policies_and_audited(client, admin):
    response = client.post(
        reverse("web:console:repository_new", kwargs={"kind": "hosted"}),
        {
            "name": "images",
            "format": "oci",
            "immutable_tags": "on",
            "immutable_tag_exceptions": "latest,dev-*",
            "quota_bytes": "1048576",
            "config": "{}",
        },
    )
    assert response.status_code == 302
    repository = Repository.objects.get(name="images")
    assert (repository.kind, repository.immutable_tags, repository.quota_bytes) == (
        "hosted",
        True,
        1048576,
    )
    assert repository.immutable_tag_exceptions == "latest,dev-*"
    event = AuditEvent.objects.get(action="repository.create", repository="images")
    assert event.username == "root"


def test_config_that_is_not_json_is_refused_in_the_form(client, admin):
    response = client.post(
        reverse("web:console:repository_new", kwargs={"kind": "hosted"}),
        {"name": "m", "format": "maven", "config": "{not json"},
    )
    assert "not JSON" in response.content.decode()
    assert not Repository.objects.filter(name="m").exists()


def test_editing_keeps_the_upstream_password_unless_a_new_one_is_given(client, admin):
    proxy = RepositoryFactory(
        name="mirror",
        format="raw",
        kind="proxy",
        upstream_url="http://127.0.0.1:9/",
        upstream_password="s3cret",
    )
    url = reverse("web:console:repository", kwargs={"name": "mirror"})
    page = client.get(url).content.decode()
    assert "s3cret" not in page
    response = client.post(
        url, {"upstream_url": "http://127.0.0.1:9/", "metadata_ttl": "60", "negative_ttl": "5"}
    )
    assert response.status_code == 302
    proxy.refresh_from_db()
    assert (proxy.upstream_password, proxy.metadata_ttl, proxy.negative_ttl) == ("s3cret", 60, 5)
    client.post(url, {"upstream_url": "http://127.0.0.1:9/", "clear_upstream_password": "on"})
    proxy.refresh_from_db()
    assert proxy.upstream_password == ""


def test_members_are_reordered_through_the_core_and_audited(client, admin):
    first = RepositoryFactory(name="first", format="raw")
    second = RepositoryFactory(name="second", format="raw")
    group = RepositoryFactory(name="all", format="raw", kind="group")
    from formats.services import repository_members_set

    repository_members_set(repository=group, members=[first, second])
    url = reverse("web:console:member_move", kwargs={"name": "all"})
    assert client.post(url, {"member": "second", "direction": "up"}).status_code == 302
    assert [link.member.name for link in group.member_links.all()] == ["second", "first"]
    assert AuditEvent.objects.filter(action="repository.members", repository="all").count() == 2
    response = client.get(reverse("web:console:repository", kwargs={"name": "all"}))
    assert response.content.decode().index("second") < response.content.decode().index(
        'member-name">first'
    )


def test_a_refused_cleanup_policy_shows_the_api_message(client, admin):
    RepositoryFactory(name="team", format="raw")
    api = client.put(
        "/api/v1/cleanup-policies/team/",
        {"match": "1.*"},
        content_type="application/json",
    )
    assert api.status_code == 400
    response = client.post(
        reverse("web:console:cleanup", kwargs={"name": "team"}),
        {"action": "set", "match": "1.*", "keep_tagged": "on"},
    )
    assert response.status_code == 400
    from django.utils.html import escape

    assert escape(api.json()["message"]) in response.content.decode()
    assert not CleanupPolicy.objects.exists()


def test_a_repository_is_deleted_after_confirmation(client, admin):
    RepositoryFactory(name="old", format="raw")
    url = reverse("web:console:repository_delete", kwargs={"name": "old"})
    assert b"Delete old?" in client.get(url).content
    assert client.post(url).status_code == 302
    assert not Repository.objects.filter(name="old").exists()
    assert AuditEvent.objects.filter(action="repository.delete", repository="old").exists()


def test_a_group_takes_its_members_in_the_order_of_the_rows(client, admin):
    for name in ("first", "second", "third"):
        RepositoryFactory(name=name, format="npm")
    url = reverse("web:console:repository_new", kwargs={"kind": "group"})
    posted = {"name": "all", "format": "npm", "members": ["third", "", "first"]}
    assert client.post(url, posted).status_code == 302
    group = Repository.objects.get(name="all")
    assert [link.member.name for link in group.member_links.all()] == ["third", "first"]
    page = client.get(reverse("web:console:repository", kwargs={"name": "all"})).content.decode()
    rows = page[page.index('id="member-rows"') :]
    assert rows.index('value="third" selected') < rows.index('value="first" selected')


def test_editing_a_group_leaves_the_settings_its_form_does_not_show(client, admin):
    team = RepositoryFactory(name="team", format="oci")
    group = RepositoryFactory(name="all", format="oci", kind="group", immutable_tags=True)
    from formats.services import repository_members_set

    repository_members_set(repository=group, members=[team])
    url = reverse("web:console:repository", kwargs={"name": "all"})
    assert client.post(url, {"members": ["team"], "config": ""}).status_code == 302
    group.refresh_from_db()
    assert (group.immutable_tags, group.hosted_guard) == (True, False)
