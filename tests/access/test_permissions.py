import pytest

from access.auth import ANONYMOUS, Principal
from access.models import ApiToken, Role
from access.permissions import has_permission, role_of
from access.services import role_grant, token_create
from formats.services import repository_delete, repository_members_set
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


def test_a_token_scoped_to_a_group_reads_its_members_and_writes_its_deploy_target():
    user = UserFactory()
    target, other, inner, outside = (RepositoryFactory(format="npm") for _ in range(4))
    nested = RepositoryFactory(format="npm", kind="group")
    repository_members_set(repository=nested, members=[inner])
    group = RepositoryFactory(format="npm", kind="group")
    repository_members_set(repository=group, members=[target, other, nested])
    group.deploy_to = target
    group.save()
    for repository in (group, target, other, inner, outside):
        role_grant(repository=repository, role=Role.DELETE, user=user)
    token = token_create(user=user, name="npm login", repositories=[group]).token
    principal = Principal(user=user, token=token)

    roles = {
        name: role_of(principal=principal, repository=repository)
        for name, repository in [
            ("group", group),
            ("target", target),
            ("other", other),
            ("inner", inner),
            ("outside", outside),
        ]
    }
    assert roles == {
        "group": Role.DELETE,
        "target": Role.DELETE,
        "other": Role.READ,
        "inner": Role.READ,
        "outside": None,
    }


def test_a_token_whose_repositories_were_all_deleted_reaches_none_of_its_users():
    kept, doomed = RepositoryFactory(name="kept"), RepositoryFactory(name="doomed")
    user = UserFactory()
    for repository in (kept, doomed):
        role_grant(repository=repository, role=Role.ADMIN, user=user)
    issued = token_create(user=user, repositories=[doomed])
    repository_delete(repository=doomed)
    principal = Principal(user=user, token=ApiToken.objects.get(pk=issued.token.pk))
    assert role_of(principal=principal, repository=kept) is None
    assert not has_permission(principal=principal, repository=kept, action=Role.READ)
