"""Proxy and group npm repositories over HTTP: merges, reads through members, refused writes."""

import json

import pytest

from access.models import Role
from access.services import role_grant
from formats.services import repository_members_set
from tests.factories import RepositoryFactory
from tests.formats.npm.helpers import publish_body
from tests.live import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


@pytest.fixture
def members():
    return RepositoryFactory(name="one", format="npm"), RepositoryFactory(name="two", format="npm")


@pytest.fixture
def down():
    """A proxy whose upstream refuses connections."""
    return RepositoryFactory(
        name="down", format="npm", kind="proxy", upstream_url=f"http://127.0.0.1:{free_port()}/"
    )


@pytest.fixture
def group(members, down):
    group = RepositoryFactory(name="all", format="npm", kind="group")
    repository_members_set(repository=group, members=[*members, down])
    group.deploy_to = members[0]
    group.save()
    return group


@pytest.fixture
def auth(members, group, down, make_user, make_token):
    user = make_user(group, Role.READ)
    for repository in (*members, down):
        role_grant(repository=repository, role=Role.DELETE, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {make_token(user)}"}


def _publish(client, auth, repository, name, version, tag="latest"):
    response = client.put(
        f"/repository/{repository}/{name}",
        publish_body(name, version, tag=tag),
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content


def test_group_packument_merges_members_first_wins(client, auth):
    _publish(client, auth, "one", "lib", "1.0.0")
    _publish(client, auth, "two", "lib", "1.0.0")
    _publish(client, auth, "two", "lib", "2.0.0")
    mine = client.get("/repository/one/lib", **auth).json()
    merged = client.get("/repository/all/lib", **auth)
    assert merged.status_code == 200
    document = merged.json()
    assert sorted(document["versions"]) == ["1.0.0", "2.0.0"]
    assert (
        document["versions"]["1.0.0"]["dist"]["integrity"]
        == (mine["versions"]["1.0.0"]["dist"]["integrity"])
    )
    assert document["dist-tags"] == {"latest": "1.0.0"}  # the first member's
    assert document["versions"]["2.0.0"]["dist"]["tarball"] == (
        "http://testserver/repository/all/lib/-/lib-2.0.0.tgz"
    )
    again = client.get("/repository/all/lib", HTTP_IF_NONE_MATCH=merged["ETag"], **auth)
    assert again.status_code == 304

    corgi = client.get("/repository/all/lib", HTTP_ACCEPT=ABBREVIATED, **auth)
    assert corgi["Content-Type"] == "application/vnd.npm.install-v1+json"
    assert sorted(corgi.json()["versions"]) == ["1.0.0", "2.0.0"]
    assert corgi["ETag"] != merged["ETag"]

    tarball = client.get("/repository/all/lib/-/lib-2.0.0.tgz", **auth)
    assert tarball.status_code == 200
    assert b"".join(tarball.streaming_content)
    assert client.get("/repository/all/lib/2.0.0", **auth).json()["version"] == "2.0.0"
    assert client.get("/repository/all/lib/latest", **auth).json()["version"] == "1.0.0"
    assert client.get("/repository/all/-/package/lib/dist-tags", **auth).json() == {
        "latest": "1.0.0"
    }
    search = client.get("/repository/all/-/v1/search?text=lib", **auth).json()
    assert [hit["package"]["name"] for hit in search["objects"]] == ["lib", "lib"]


def test_writes_through_a_group_land_in_its_deploy_target(client, auth, members):
    _publish(client, auth, "all", "@acme/widget", "1.0.0")
    assert members[0].packages.get().name == "@acme/widget"
    tag = client.put(
        "/repository/all/-/package/@acme%2fwidget/dist-tags/beta",
        json.dumps("1.0.0"),
        content_type="application/json",
        **auth,
    )
    assert tag.status_code == 201
    copy = client.get("/repository/all/@acme%2fwidget?write=true", **auth).json()
    assert copy["_rev"] == members[0].packages.get().metadata["rev"]
    assert copy["dist-tags"] == {"latest": "1.0.0", "beta": "1.0.0"}


def test_proxies_and_groups_without_target_refuse_writes_in_npm_terms(client, auth, group):
    group.deploy_to = None
    group.save()
    for name in ("down", "all"):
        refused = client.put(
            f"/repository/{name}/lib",
            publish_body("lib", "1.0.0"),
            content_type="application/json",
            **auth,
        )
        assert refused.status_code == 405
        assert name in refused.json()["error"]
        deleted = client.delete(f"/repository/{name}/lib/-rev/1-abc", **auth)
        assert deleted.status_code == 405


def test_an_unreachable_upstream_is_a_502_naming_it(client, auth, down):
    answer = client.get("/repository/down/express", **auth)
    assert answer.status_code == 502
    assert down.upstream_url.split("//")[1].rstrip("/") in answer.json()["error"]
    tarball = client.get("/repository/down/express/-/express-4.0.0.tgz", **auth)
    assert tarball.status_code == 502
    through_group = client.get("/repository/all/express", **auth)
    assert through_group.status_code == 502


def test_a_hosted_package_is_served_while_a_proxy_member_is_down(client, auth):
    _publish(client, auth, "two", "only-here", "1.0.0")
    with_guard = client.get("/repository/all/only-here", **auth)
    assert with_guard.status_code == 200
    assert client.get("/repository/all/nowhere-hosted", **auth).status_code == 502
