"""Group traversal of the core (formats.selectors): what every format's group reads through."""

import pytest

from formats.models import Repository
from formats.selectors import repository_containing_groups, repository_read_order
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


def _group(name: str, *members: Repository, format: str = "maven") -> Repository:
    group = RepositoryFactory(name=name, format=format, kind=Repository.Kind.GROUP)
    for member in members:  # linked one by one: the link order is the lookup order
        group.members.add(member)
    return group


@pytest.fixture
def hosted():
    return {name: RepositoryFactory(name=name, format="maven") for name in ("a", "b", "c", "d")}


def _names(repositories: list[Repository]) -> list[str]:
    return [repository.name for repository in repositories]


def test_a_hosted_repository_reads_only_itself(hosted):
    assert repository_read_order(repository=hosted["a"]) == [hosted["a"]]


def test_a_group_reads_its_members_in_link_order_with_nested_groups_in_their_place(hosted):
    inner = _group("inner", hosted["c"], hosted["a"])
    outer = _group("outer", hosted["b"], inner, hosted["d"], hosted["a"])

    assert _names(repository_read_order(repository=outer)) == ["b", "c", "a", "d"]


def test_a_cycle_of_groups_ends_the_walk(hosted):
    first = _group("first", hosted["a"])
    second = _group("second", first, hosted["b"])
    first.members.add(second)
    first.members.add(hosted["c"])

    assert _names(repository_read_order(repository=first)) == ["a", "b", "c"]
    assert _names(repository_read_order(repository=second)) == ["a", "c", "b"]


def test_members_of_another_format_are_skipped(hosted):
    files = RepositoryFactory(name="files", format="raw")

    assert _names(repository_read_order(repository=_group("g", files, hosted["a"]))) == ["a"]


def test_containing_groups_are_found_through_nesting_nearest_first(hosted):
    inner = _group("inner", hosted["a"])
    outer = _group("outer", inner)
    _group("other", hosted["b"])
    _group("raw-group", format="raw").members.add(hosted["a"])
    outer.members.add(outer)  # a group containing itself is listed once

    assert _names(repository_containing_groups(repository=hosted["a"])) == ["inner", "outer"]
    assert repository_containing_groups(repository=hosted["c"]) == []
