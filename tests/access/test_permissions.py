import pytest

from access.auth import ANONYMOUS, Principal
from access.models import Role
from access.permissions import has_permission
from access.services import role_grant
from tests.factories import GroupFactory, RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTIONS = [Role.READ, Role.WRITE, Role.DELETE, Role.ADMIN]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (None, []),
        (Role.READ, [Role.READ]),
        (Role.WRITE, [Role.READ, Role.WRITE]),
        (Role.DELETE, [Role.READ, Role.WRITE, Role.DELETE]),
        (Role.ADMIN, ACTIONS),
    ],
)
def test_roles_include_the_weaker_ones(role, allowed):
    repository = RepositoryFactory()
    user = UserFactory()
    if role:
        role_grant(repository=repository, role=role, user=user)
    principal = Principal(user=user)
    granted = [
        a for a in ACTIONS if has_permission(principal=principal, repository=repository, action=a)
    ]
    assert granted == allowed


def test_a_group_role_applies_to_its_members():
    repository = RepositoryFactory()
    group = GroupFactory()
    user = UserFactory()
    user.groups.add(group)
    role_grant(repository=repository, role=Role.WRITE, group=group)
    assert has_permission(principal=Principal(user=user), repository=repository, action=Role.WRITE)


@pytest.mark.parametrize(("anonymous_read", "expected"), [(True, True), (False, False)])
def test_anonymous_reads_only_public_repositories(anonymous_read, expected):
    repository = RepositoryFactory(anonymous_read=anonymous_read)
    assert has_permission(principal=ANONYMOUS, repository=repository, action=Role.READ) is expected
    assert has_permission(principal=ANONYMOUS, repository=repository, action=Role.WRITE) is False


def test_inactive_users_have_no_role():
    repository = RepositoryFactory()
    user = UserFactory(is_active=False)
    role_grant(repository=repository, role=Role.ADMIN, user=user)
    assert (
        has_permission(principal=Principal(user=user), repository=repository, action=Role.READ)
        is False
    )
