"""Warm reads of a PyPI group: a project page costs a fixed number of queries."""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from access.models import Role
from access.services import role_grant
from formats.protocol import repository_dispatch
from formats.services import repository_members_set
from tests.factories import RepositoryFactory
from tests.formats.pypi.conftest import basic
from tests.formats.pypi.dists import make_wheel

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html; q=0.01"


def _page(group, auth):
    request = RequestFactory().get(
        f"/repository/{group.name}/simple/demo/", HTTP_ACCEPT=PIP_ACCEPT, **auth
    )
    return repository_dispatch(request, group.name, "simple/demo/")


def _queries(count, upload, make_user, password):
    members = [RepositoryFactory(name=f"p{count}-{n}", format="pypi") for n in range(count)]
    group = RepositoryFactory(name=f"pg{count}", format="pypi", kind="group")
    repository_members_set(repository=group, members=members)
    user = make_user(group, Role.READ)
    for number, member in enumerate(members):
        role_grant(repository=member, role=Role.WRITE, user=user)
        sent = upload(
            *make_wheel("demo", f"1.{number}"),
            repository=member,
            headers=basic(user.username, password),
        )
        assert sent.status_code == 200, sent.content
    auth = {"HTTP_AUTHORIZATION": basic(user.username, password)["Authorization"]}
    assert _page(group, auth).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = _page(group, auth)
    assert response.status_code == 200
    assert response.content.count(b'"filename"') == count
    return len(queries)


def test_a_warm_group_page_costs_as_many_queries_for_two_members_as_for_five(
    upload, make_user, password
):
    two = _queries(2, upload, make_user, password)
    five = _queries(5, upload, make_user, password)
    assert five == two
