"""The core's rules for proxy and group repositories: what may be created, and member order."""

import pytest
from django.core.exceptions import ValidationError

from access.auth import Principal
from formats.errors import RepositoryInvalid
from formats.models import Package, Repository
from formats.selectors import repository_read_order, repository_read_sources
from formats.services import repository_create, repository_members_set, repository_update
from tests.factories import UserFactory
from tests.live import free_port

pytestmark = pytest.mark.django_db


def _hosted(name: str, format: str = "raw") -> Repository:
    return repository_create(name=name, format=format)


def test_a_proxy_needs_an_http_upstream_and_only_proxies_have_one():
    with pytest.raises(RepositoryInvalid, match="needs an upstream"):
        repository_create(name="p", format="raw", kind="proxy")
    with pytest.raises(ValidationError):
        repository_create(name="p", format="raw", kind="proxy", upstream_url="ftp://host/")
    with pytest.raises(ValidationError):
        repository_create(name="p", format="raw", kind="proxy", upstream_url="file:///etc/")
    with pytest.raises(RepositoryInvalid, match="only proxy"):
        repository_create(name="h", format="raw", upstream_url="https://example.invalid/")
    assert not Repository.objects.exists()


def test_an_unreachable_upstream_is_accepted_and_reported():
    url = f"http://127.0.0.1:{free_port()}/"

    proxy = repository_create(name="p", format="raw", kind="proxy", upstream_url=url)

    assert proxy.upstream_status.startswith("unreachable: upstream 127.0.0.1:")
    assert Repository.objects.get(name="p").upstream_checked is not None


def test_members_keep_the_order_given_and_can_be_reordered():
    a, b, c = _hosted("a"), _hosted("b"), _hosted("c")
    group = repository_create(name="g", format="raw", kind="group", members=[a, b, c])
    assert repository_read_order(repository=group) == [a, b, c]

    repository_members_set(repository=group, members=[c, a, b])
    assert repository_read_order(repository=group) == [c, a, b]
    repository_members_set(repository=group, members=[b, c])
    assert repository_read_order(repository=group) == [b, c]


def test_loops_members_of_another_format_and_duplicates_are_refused():
    a = _hosted("a")
    inner = repository_create(name="inner", format="raw", kind="group", members=[a])
    outer = repository_create(name="outer", format="raw", kind="group", members=[inner])

    with pytest.raises(RepositoryInvalid, match="a loop"):
        repository_members_set(repository=inner, members=[a, outer])
    with pytest.raises(RepositoryInvalid, match="a loop"):
        repository_members_set(repository=inner, members=[inner])
    with pytest.raises(RepositoryInvalid, match="npm repository"):
        repository_members_set(repository=inner, members=[_hosted("n", "npm")])
    with pytest.raises(RepositoryInvalid, match="twice"):
        repository_members_set(repository=inner, members=[a, a])
    with pytest.raises(RepositoryInvalid, match="not a group"):
        repository_members_set(repository=a, members=[])
    assert repository_read_order(repository=outer) == [a]


def test_the_deploy_target_is_a_hosted_member_and_goes_with_its_membership():
    a, b = _hosted("a"), _hosted("b")
    inner = repository_create(name="inner", format="raw", kind="group", members=[a])
    group = repository_create(name="g", format="raw", kind="group", members=[a, inner], deploy_to=a)
    assert group.deploy_to == a

    with pytest.raises(RepositoryInvalid, match="must be a member"):
        repository_update(repository=group, changes={"deploy_to": b})
    with pytest.raises(RepositoryInvalid, match="must be a hosted"):
        repository_update(repository=group, changes={"deploy_to": inner})
    with pytest.raises(RepositoryInvalid, match="only group"):
        repository_update(repository=b, changes={"deploy_to": a})
    repository_members_set(repository=group, members=[inner])
    assert Repository.objects.get(name="g").deploy_to is None


def test_the_hosted_guard_serves_a_hosted_name_from_hosted_members_only():
    hosted = _hosted("mine")
    proxy = Repository.objects.create(
        name="up", format="raw", kind="proxy", upstream_url="http://127.0.0.1:9/"
    )
    group = repository_create(name="all", format="raw", kind="group", members=[proxy, hosted])
    Package.objects.create(repository=hosted, name="internal-lib", normalized_name="internal-lib")
    Package.objects.create(repository=proxy, name="internal-lib", normalized_name="internal-lib")
    reader = Principal(user=UserFactory(is_superuser=True))

    guarded = repository_read_sources(repository=group, principal=reader, package="internal-lib")
    other = repository_read_sources(repository=group, principal=reader, package="left-pad")
    Repository.objects.filter(pk=group.pk).update(hosted_guard=False)
    group.refresh_from_db()
    unguarded = repository_read_sources(repository=group, principal=reader, package="internal-lib")

    assert guarded == [hosted]
    assert other == [proxy, hosted]
    assert unguarded == [proxy, hosted]
