"""The admin console's repository form: proxies, groups in order, and every refusal shown."""

import pytest

from formats.base import format_config
from formats.models import Repository
from formats.services import asset_put
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory
from tests.live import free_port
from tests.static_upstream import static_upstream

pytestmark = pytest.mark.django_db

ADD = "/admin/formats/repository/add/"


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user(is_superuser=True, is_staff=True))
    return client


def _form(name: str, kind: str, members: list[tuple[int, Repository]] = (), **fields) -> dict:
    """What the add page posts: the repository's fields and one row per (position, member)."""
    form = {
        "name": name,
        "format": "raw",
        "kind": kind,
        "config": "{}",
        "immutable_tag_exceptions": "latest",
        "upstream_url": "",
        "upstream_password": "",  # a browser sends the empty password input too
        "metadata_ttl": "1800",
        "negative_ttl": "300",
        "hosted_guard": "on",
        "member_links-TOTAL_FORMS": str(len(members)),
        "member_links-INITIAL_FORMS": "0",
        "member_links-MIN_NUM_FORMS": "0",
        "member_links-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, (position, member) in enumerate(members):
        form[f"member_links-{index}-position"] = str(position)
        form[f"member_links-{index}-member"] = str(member.pk)
    return form


def _members(name: str) -> list[str]:
    group = Repository.objects.get(name=name)
    return [link.member.name for link in group.member_links.all()]


def test_an_admin_adds_a_proxy_and_reads_what_its_upstream_answered(admin_client, tmp_path):
    with static_upstream(tmp_path) as url:
        response = admin_client.post(
            ADD,
            _form(
                "mirror",
                "proxy",
                upstream_url=url,
                upstream_username="bot",
                upstream_password="s3cret",
                metadata_ttl="60",
            ),
            follow=True,
        )
    proxy = Repository.objects.get(name="mirror")
    page = admin_client.get(f"/admin/formats/repository/{proxy.pk}/change/").content.decode()

    assert f"Upstream {url}: reachable: HTTP 200 from {url}" in response.content.decode()
    assert (proxy.kind, proxy.upstream_url, proxy.metadata_ttl) == ("proxy", url, 60)
    assert proxy.upstream_password == "s3cret"
    assert proxy.upstream_status == f"reachable: HTTP 200 from {url}"
    assert "s3cret" not in page
    assert f"reachable: HTTP 200 from {url}" in page


def test_an_empty_password_keeps_the_secret_and_the_checkbox_clears_it(admin_client):
    proxy = RepositoryFactory(
        name="mirror",
        format="raw",
        kind="proxy",
        upstream_url=f"http://127.0.0.1:{free_port()}/",
        upstream_password="token",
    )
    change = f"/admin/formats/repository/{proxy.pk}/change/"
    fields = {"upstream_url": proxy.upstream_url}

    response = admin_client.post(change, _form("mirror", "proxy", **fields, metadata_ttl="5"))
    kept = Repository.objects.get(pk=proxy.pk)
    kept_secret, kept_checked = kept.upstream_password, kept.upstream_checked
    cleared = admin_client.post(
        change, _form("mirror", "proxy", **fields, clear_upstream_password="on")
    )

    assert (response.status_code, cleared.status_code) == (302, 302)
    assert (kept_secret, kept_checked) == ("token", None)  # unchanged upstream: not probed
    cleared_proxy = Repository.objects.get(pk=proxy.pk)
    assert cleared_proxy.upstream_password == ""
    assert cleared_proxy.upstream_checked is not None


def test_an_admin_adds_a_group_with_ordered_members_and_a_deploy_target(admin_client):
    team = RepositoryFactory(name="team", format="raw")
    mirror = RepositoryFactory(
        name="mirror", format="raw", kind="proxy", upstream_url="http://127.0.0.1:9/"
    )
    extra = RepositoryFactory(name="extra", format="raw")

    response = admin_client.post(
        ADD,
        _form("all", "group", [(2, extra), (0, team), (1, mirror)], deploy_to=str(team.pk)),
    )

    assert response.status_code == 302, response.content.decode()
    group = Repository.objects.get(name="all")
    assert _members("all") == ["team", "mirror", "extra"]
    assert (group.deploy_to, group.hosted_guard) == (team, True)


def test_saving_a_hosted_repository_with_no_member_rows_works(admin_client):
    response = admin_client.post(ADD, _form("files", "hosted"))

    assert response.status_code == 302
    assert Repository.objects.get(name="files").kind == "hosted"


def _refused(response) -> str:
    assert response.status_code == 200  # the form again, with the message
    return response.content.decode()


def test_a_loop_is_refused_with_a_message_and_the_members_stay(admin_client):
    team = RepositoryFactory(name="team", format="raw")
    outer = RepositoryFactory(name="outer", format="raw", kind="group")
    inner = RepositoryFactory(name="inner", format="raw", kind="group")
    outer.members.add(inner)
    inner.members.add(team)

    response = admin_client.post(
        f"/admin/formats/repository/{inner.pk}/change/",
        _form("inner", "group", [(0, team), (1, outer)]),
    )

    assert "&#x27;outer&#x27; contains &#x27;inner&#x27;: a loop" in _refused(response)
    assert _members("inner") == ["team"]


@pytest.mark.parametrize(
    ("_case", "kind", "rows", "fields", "message"),
    [
        ("member of another format", "group", ["py"], {}, "is a pypi repository, not raw"),
        (
            "deploy target not a member",
            "group",
            ["team"],
            {"deploy_to": "extra"},
            "must be a member",
        ),
        ("members of a hosted", "hosted", ["team"], {}, "is not a group: it has no members"),
        ("proxy without upstream", "proxy", [], {}, "a proxy repository needs an upstream URL"),
        ("non-http upstream", "proxy", [], {"upstream_url": "ftp://127.0.0.1/"}, "valid URL"),
    ],
)
def test_creation_refused_by_the_core_shows_its_message(
    admin_client, _case, kind, rows, fields, message
):
    made = {
        name: RepositoryFactory(name=name, format=format)
        for name, format in (("team", "raw"), ("extra", "raw"), ("py", "pypi"))
    }
    links = [(position, made[name]) for position, name in enumerate(rows)]
    if "deploy_to" in fields:
        fields = {"deploy_to": str(made[fields["deploy_to"]].pk)}

    response = admin_client.post(ADD, _form("new", kind, links, **fields))

    assert message in _refused(response).replace("&#x27;", "'")
    assert Repository.objects.filter(name="new").exists() is False


def test_a_kind_the_format_cannot_serve_is_refused_with_a_message(admin_client, monkeypatch):
    monkeypatch.setattr(format_config("raw"), "kinds", ("hosted", "group"))

    response = admin_client.post(ADD, _form("new", "proxy", upstream_url="http://127.0.0.1:9/"))

    page = _refused(response).replace("&#x27;", "'")
    assert "raw repositories cannot be of kind 'proxy' (this format serves: hosted, group)" in page
    assert Repository.objects.filter(name="new").exists() is False


def test_format_and_kind_are_fixed_once_created(admin_client):
    hosted = RepositoryFactory(name="files", format="raw")

    response = admin_client.post(
        f"/admin/formats/repository/{hosted.pk}/change/",
        _form("files", "group", format="npm"),
    )

    assert response.status_code == 302
    hosted.refresh_from_db()
    assert (hosted.format, hosted.kind) == ("raw", "hosted")


def test_an_admin_sets_a_quota_and_reads_the_usage(admin_client, settings, tmp_path):
    settings.BLOB_STORE_DIR = tmp_path / "blobs"
    response = admin_client.post(ADD, _form("capped", "hosted", quota_bytes="2048"))
    assert response.status_code == 302
    repository = Repository.objects.get(name="capped")
    assert repository.quota_bytes == 2048
    blob = blob_ingest_bytes(content=b"x" * 1536)
    for path in ("a", "b"):
        asset_put(repository=repository, path=path, blob=blob, media_type="x/y", user=None)

    page = admin_client.get(f"/admin/formats/repository/{repository.pk}/change/")

    assert "1.5 KiB stored (quota 2.0 KiB); 3.0 KiB of files, 1.5 KiB saved by" in page.text

    refused = admin_client.post(ADD, _form("capped-group", "group", quota_bytes="1"))
    assert refused.status_code == 200
    assert "only hosted repositories have a quota" in refused.text
