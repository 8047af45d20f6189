"""Warm reads of an npm group: a fixed number of queries, and a merge built once per change."""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from access.models import Role
from access.services import role_grant
from formats.npm import reads
from formats.protocol import repository_dispatch
from formats.services import repository_members_set
from tests.factories import RepositoryFactory
from tests.formats.npm.helpers import publish_body

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def _request(method, path, auth, **extra):
    """One request through the dispatcher (RequestFactory: rows stay readable afterwards)."""
    factory = RequestFactory()
    request = getattr(factory, method)(f"/repository/{path}", **auth, **extra)
    repository, _, rest = path.partition("/")
    return repository_dispatch(request, repository, rest)


def _group(count, make_user, make_token):
    members = [RepositoryFactory(name=f"m{count}-{n}", format="npm") for n in range(count)]
    group = RepositoryFactory(name=f"g{count}", format="npm", kind="group")
    repository_members_set(repository=group, members=members)
    user = make_user(group, Role.READ)
    for member in members:
        role_grant(repository=member, role=Role.WRITE, user=user)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(user)}"}
    for number, member in enumerate(members):
        body = publish_body("lib", f"1.0.{number}")
        published = _request(
            "put", f"{member.name}/lib", auth, data=body, content_type="application/json"
        )
        assert published.status_code == 201, published.content
    return group, auth


def _warm_queries(group, auth):
    assert _request("get", f"{group.name}/lib", auth, HTTP_ACCEPT=ABBREVIATED).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = _request("get", f"{group.name}/lib", auth, HTTP_ACCEPT=ABBREVIATED)
    assert response.status_code == 200
    return len(queries)


def test_a_warm_group_packument_costs_as_many_queries_for_two_members_as_for_six(
    make_user, make_token
):
    two = _warm_queries(*_group(2, make_user, make_token))
    six = _warm_queries(*_group(6, make_user, make_token))
    assert (two, six) == (two, two)


def test_a_publish_to_a_member_shows_through_the_group_at_once(make_user, make_token):
    group, auth = _group(2, make_user, make_token)
    before = _request("get", f"{group.name}/lib", auth)
    assert b'"1.0.1"' in before.content
    assert b'"2.0.0"' not in before.content
    body = publish_body("lib", "2.0.0")
    published = _request("put", "m2-1/lib", auth, data=body, content_type="application/json")
    assert published.status_code == 201
    after = _request("get", f"{group.name}/lib", auth)
    assert after.status_code == 200
    assert b'"2.0.0"' in after.content
    assert after["ETag"] != before["ETag"]


def test_a_warm_merged_packument_is_not_merged_again(make_user, make_token, monkeypatch):
    group, auth = _group(3, make_user, make_token)
    first = _request("get", f"{group.name}/lib", auth).content
    merges = []
    original = reads.proxied.merged_body
    monkeypatch.setattr(
        reads.proxied, "merged_body", lambda docs: merges.append(1) or original(docs)
    )
    again = _request("get", f"{group.name}/lib", auth).content
    assert (again, merges) == (first, [])


def _warm_tarball_queries(client, group, auth, number):
    path = f"/repository/{group.name}/lib/-/lib-1.0.{number}.tgz"
    first = client.get(path, **auth)
    assert first.status_code == 200
    assert first.getvalue()  # read to the end, which closes the file
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **auth)
    assert response.status_code == 200
    assert response.getvalue()
    return len(queries)


def test_a_tarball_of_the_last_member_costs_as_many_queries_for_two_members_as_for_six(
    client, make_user, make_token
):
    two = _warm_tarball_queries(client, *_group(2, make_user, make_token), number=1)
    six = _warm_tarball_queries(client, *_group(6, make_user, make_token), number=5)
    assert (two, six) == (two, two)
