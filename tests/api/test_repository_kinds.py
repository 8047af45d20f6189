"""Proxy and group repositories through ``/api/v1/repositories/``: fields, order, refusals."""

import base64

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from access.models import Role
from access.services import role_grant, token_create
from formats.base import format_config
from formats.models import Repository
from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.helpers import body_of
from tests.live import free_port
from tests.static_upstream import static_upstream

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=root).secret}")
    return client


@pytest.fixture
def hosted():
    return [RepositoryFactory(name=name, format="raw") for name in ("team", "extra", "more")]


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/"


def _group(api: APIClient, **fields: object) -> dict:
    response = api.post(
        "/api/v1/repositories/",
        {"name": "all", "format": "raw", "kind": "group", **fields},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_proxy_is_created_with_its_upstream_settings_and_the_secret_never_comes_back(
    api, tmp_path
):
    with static_upstream(tmp_path) as url:
        created = api.post(
            "/api/v1/repositories/",
            {
                "name": "mirror",
                "format": "raw",
                "kind": "proxy",
                "upstream_url": url,
                "upstream_username": "bot",
                "upstream_password": "s3cret pass",
                "metadata_ttl": 60,
                "negative_ttl": 0,
            },
            format="json",
        )
    listed = api.get("/api/v1/repositories/")
    shown = api.get("/api/v1/repositories/mirror/")

    assert created.status_code == 201
    body = created.json()
    assert {key: body[key] for key in ("kind", "upstream_url", "upstream_username")} == {
        "kind": "proxy",
        "upstream_url": url,
        "upstream_username": "bot",
    }
    assert (body["metadata_ttl"], body["negative_ttl"]) == (60, 0)
    assert body["upstream_status"] == f"reachable: HTTP 200 from {url}"
    assert body["upstream_checked"] is not None
    assert (body["members"], body["deploy_to"]) == ([], None)
    for answer in (created.content, listed.content, shown.content):
        assert b"s3cret" not in answer
        assert b"upstream_password" not in answer
    assert Repository.objects.get(name="mirror").upstream_password == "s3cret pass"


def test_an_unreachable_upstream_is_accepted_and_reported(api):
    url = _dead_url()

    created = api.post(
        "/api/v1/repositories/",
        {"name": "mirror", "format": "raw", "kind": "proxy", "upstream_url": url},
        format="json",
    )

    assert created.status_code == 201
    assert created.json()["upstream_status"].startswith("unreachable: upstream 127.0.0.1:")
    assert (created.json()["metadata_ttl"], created.json()["negative_ttl"]) == (1800, 300)


def test_patching_a_proxy_keeps_the_secret_unless_one_is_sent(api):
    RepositoryFactory(
        name="mirror",
        format="raw",
        kind="proxy",
        upstream_url=_dead_url(),
        upstream_password="old token",
    )

    kept = api.patch("/api/v1/repositories/mirror/", {"metadata_ttl": 5}, format="json")
    kept_secret = Repository.objects.get(name="mirror").upstream_password
    changed = api.patch(
        "/api/v1/repositories/mirror/", {"upstream_password": "new token"}, format="json"
    )

    assert (kept.status_code, changed.status_code) == (200, 200)
    assert kept.json()["metadata_ttl"] == 5
    assert kept_secret == "old token"
    assert Repository.objects.get(name="mirror").upstream_password == "new token"


def test_changing_the_upstream_checks_it_again(api):
    RepositoryFactory(name="mirror", format="raw", kind="proxy", upstream_url=_dead_url())
    url = _dead_url()

    changed = api.patch("/api/v1/repositories/mirror/", {"upstream_url": url}, format="json")

    assert changed.status_code == 200
    port = url.rsplit(":", 1)[1].rstrip("/")
    assert changed.json()["upstream_status"].startswith(f"unreachable: upstream 127.0.0.1:{port} ")


def test_a_group_keeps_its_members_in_the_order_given_and_patch_replaces_them(api, hosted):
    created = _group(api, members=["more", "team", "extra"], deploy_to="team", hosted_guard=False)
    reordered = api.patch(
        "/api/v1/repositories/all/", {"members": ["extra", "more", "team"]}, format="json"
    )
    shown = api.get("/api/v1/repositories/all/").json()
    listed = api.get("/api/v1/repositories/").json()["results"]

    assert (created["members"], created["deploy_to"], created["hosted_guard"]) == (
        ["more", "team", "extra"],
        "team",
        False,
    )
    assert reordered.status_code == 200
    assert reordered.json()["members"] == ["extra", "more", "team"]
    assert shown["members"] == ["extra", "more", "team"]
    assert [r["members"] for r in listed if r["name"] == "all"] == [["extra", "more", "team"]]
    assert shown["hosted_guard"] is False


def test_one_patch_adds_a_member_and_makes_it_the_deploy_target(api, hosted):
    _group(api, members=["team"], deploy_to="team")

    response = api.patch(
        "/api/v1/repositories/all/",
        {"members": ["extra", "more"], "deploy_to": "more"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["members"], response.json()["deploy_to"]) == (
        ["extra", "more"],
        "more",
    )


def test_dropping_the_deploy_target_from_the_members_drops_it_as_target(api, hosted):
    _group(api, members=["team", "extra"], deploy_to="team")

    response = api.patch("/api/v1/repositories/all/", {"members": ["extra"]}, format="json")

    assert (response.json()["members"], response.json()["deploy_to"]) == (["extra"], None)


def test_deploy_to_null_clears_it(api, hosted):
    _group(api, members=["team"], deploy_to="team")

    response = api.patch("/api/v1/repositories/all/", {"deploy_to": None}, format="json")

    assert (response.status_code, response.json()["deploy_to"]) == (200, None)


def _refusal(response) -> str:
    """The clear message of a 400, wherever the API put it (one field or the envelope)."""
    assert response.status_code == 400, response.content
    body = response.json()
    if body["code"] != "invalid":
        return body["message"]
    return "; ".join(_messages(body["detail"]))


def _messages(detail: object) -> list[str]:
    """Per-field messages, list items' too (``{"members": {"0": [...]}}``)."""
    if isinstance(detail, str):
        return [detail]
    values = detail.values() if isinstance(detail, dict) else detail
    return [message for value in values for message in _messages(value)]


@pytest.mark.parametrize(
    ("_case", "fields", "message"),
    [
        ("unknown member", {"kind": "group", "members": ["nope"]}, "no repository 'nope'"),
        (
            "member of another format",
            {"kind": "group", "members": ["py"]},
            "'py' is a pypi repository, not raw",
        ),
        (
            "member twice",
            {"kind": "group", "members": ["team", "team"]},
            "a member is listed twice",
        ),
        (
            "deploy target not a member",
            {"kind": "group", "members": ["team"], "deploy_to": "extra"},
            "the deploy target 'extra' must be a member",
        ),
        (
            "deploy target not hosted",
            {"kind": "group", "members": ["inner"], "deploy_to": "inner"},
            "the deploy target must be a hosted repository",
        ),
        (
            "deploy target on a hosted",
            {"deploy_to": "team"},
            "only group repositories have a deploy target",
        ),
        ("members of a hosted", {"members": ["team"]}, "'new' is not a group"),
        (
            "non-http upstream",
            {"kind": "proxy", "upstream_url": "ftp://127.0.0.1/"},
            "Enter a valid URL",
        ),
        ("proxy without upstream", {"kind": "proxy"}, "a proxy repository needs an upstream URL"),
        (
            "upstream of a hosted",
            {"upstream_url": "http://127.0.0.1:9/"},
            "only proxy repositories have an upstream URL",
        ),
        (
            "negative ttl",
            {"kind": "proxy", "upstream_url": "http://127.0.0.1:9/", "negative_ttl": -1},
            "greater than or equal to 0",
        ),
    ],
)
def test_creation_refuses_what_does_not_fit_with_a_clear_message(
    api, hosted, _case, fields, message
):
    RepositoryFactory(name="py", format="pypi")
    RepositoryFactory(name="inner", format="raw", kind="group")

    response = api.post(
        "/api/v1/repositories/", {"name": "new", "format": "raw", **fields}, format="json"
    )

    assert message in _refusal(response)
    assert Repository.objects.filter(name="new").exists() is False


def test_a_kind_the_format_cannot_serve_is_refused_naming_what_it_serves(api, monkeypatch):
    monkeypatch.setattr(format_config("raw"), "kinds", ("hosted", "group"))

    response = api.post(
        "/api/v1/repositories/",
        {"name": "new", "format": "raw", "kind": "proxy", "upstream_url": "http://127.0.0.1:9/"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "REPOSITORY_INVALID",
        "message": "raw repositories cannot be of kind 'proxy' (this format serves: hosted, group)",
        "detail": {},
    }


@pytest.mark.parametrize(
    ("_case", "members", "message"),
    [
        ("itself", ["all"], "'all' contains 'all': a loop"),
        ("through another group", ["outer"], "'outer' contains 'all': a loop"),
    ],
)
def test_a_loop_of_groups_is_refused_and_the_members_stay(api, hosted, _case, members, message):
    _group(api, members=["team"])
    RepositoryFactory(name="outer", format="raw", kind="group").members.add(
        Repository.objects.get(name="all")
    )

    response = api.patch(
        "/api/v1/repositories/all/",
        {"members": members, "anonymous_read": True},
        format="json",
    )

    assert _refusal(response) == message
    shown = api.get("/api/v1/repositories/all/").json()
    assert (shown["members"], shown["anonymous_read"]) == (["team"], False)


def _password_api(username: str) -> APIClient:
    client = APIClient()
    encoded = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {encoded}")
    return client


@pytest.fixture
def builder():
    """A user who may create repositories, reader of ``team`` and ``mirror``, admin of none."""
    user = UserFactory(username="builder")
    user.user_permissions.add(Permission.objects.get(codename="add_repository"))
    return user


def test_linking_a_proxy_needs_its_admin_role(builder):
    team = RepositoryFactory(name="team", format="raw")
    mirror = RepositoryFactory(name="mirror", format="raw", kind="proxy", upstream_url=_dead_url())
    for repository in (team, mirror):
        role_grant(repository=repository, role=Role.READ, user=builder)
    client = _password_api("builder")
    group = {"name": "all", "format": "raw", "kind": "group", "anonymous_read": True}

    refused = client.post(
        "/api/v1/repositories/", {**group, "members": ["team", "mirror"]}, format="json"
    )
    role_grant(repository=mirror, role=Role.ADMIN, user=builder)
    allowed = client.post(
        "/api/v1/repositories/", {**group, "members": ["team", "mirror"]}, format="json"
    )

    assert _refusal(refused) == "linking the proxy 'mirror' needs the admin role on it"
    assert allowed.status_code == 201
    assert allowed.json()["members"] == ["team", "mirror"]


def test_a_member_the_caller_cannot_read_is_unknown_to_it(builder):
    RepositoryFactory(name="secret", format="raw")

    response = _password_api("builder").post(
        "/api/v1/repositories/",
        {"name": "all", "format": "raw", "kind": "group", "members": ["secret"]},
        format="json",
    )

    assert _refusal(response) == "no repository 'secret'"
    assert Repository.objects.filter(name="all").exists() is False


def test_the_files_a_proxy_cached_are_listed_with_their_provenance(api, client, tmp_path):
    (tmp_path / "notes.txt").write_text("from upstream")
    with static_upstream(tmp_path) as url:
        RepositoryFactory(
            name="mirror", format="raw", kind="proxy", upstream_url=url, anonymous_read=True
        )
        fetched = body_of(client.get("/repository/mirror/notes.txt"))

    listed = api.get("/api/v1/assets/", {"repository": "mirror"}).json()["results"]

    assert fetched == b"from upstream"
    assert [(asset["path"], asset["size"]) for asset in listed] == [("notes.txt", 13)]
    provenance = listed[0]["metadata"]["proxy"]
    assert provenance["upstream_url"] == url + "notes.txt"
    assert provenance["last_modified"]
    assert provenance["fetched"]


@pytest.fixture
def shared_group():
    """Group ``all`` of hosted ``secret`` (its deploy target) and ``open``, and proxy ``mirror``."""
    secret = RepositoryFactory(name="secret", format="raw")
    opened = RepositoryFactory(name="open", format="raw", anonymous_read=True)
    mirror = RepositoryFactory(
        name="mirror", format="raw", kind="proxy", upstream_url="http://127.0.0.1:9/"
    )
    group = RepositoryFactory(name="all", format="raw", kind="group")
    group.members.add(secret, through_defaults={"position": 0})
    group.members.add(opened, through_defaults={"position": 1})
    group.members.add(mirror, through_defaults={"position": 2})
    Repository.objects.filter(pk=group.pk).update(deploy_to=secret)
    return group


def test_a_reader_of_a_group_sees_only_the_members_it_may_read(shared_group):
    role_grant(repository=shared_group, role=Role.READ, user=UserFactory(username="reader"))

    shown = _password_api("reader").get("/api/v1/repositories/all/").json()
    listed = _password_api("reader").get("/api/v1/repositories/").json()["results"]

    assert (shown["members"], shown["deploy_to"]) == (["open"], None)
    assert [r["members"] for r in listed if r["name"] == "all"] == [["open"]]


def test_the_admin_of_a_group_sees_and_keeps_members_it_cannot_read(shared_group):
    role_grant(repository=shared_group, role=Role.ADMIN, user=UserFactory(username="owner"))
    client = _password_api("owner")

    shown = client.get("/api/v1/repositories/all/").json()
    reordered = client.patch(
        "/api/v1/repositories/all/", {"members": ["mirror", "secret", "open"]}, format="json"
    )

    assert (shown["members"], shown["deploy_to"]) == (["secret", "open", "mirror"], "secret")
    assert reordered.status_code == 200, reordered.json()
    assert reordered.json()["members"] == ["mirror", "secret", "open"]
