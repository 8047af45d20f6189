"""Management commands whose interface scripts rely on."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from access.auth import principal_for_token
from access.models import ApiToken, RepositoryRole, Role
from formats.models import Repository
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_bootstrap_is_idempotent_and_prints_the_admin_password_once():
    first = _run("bootstrap")
    second = _run("bootstrap")
    names = set(Repository.objects.values_list("name", "format"))
    assert {
        ("raw", "raw"),
        ("pypi", "pypi"),
        ("npm", "npm"),
        ("maven-releases", "maven"),
        ("maven-snapshots", "maven"),
        ("oci", "oci"),
    } <= names
    assert "created superuser admin with password: " in first
    assert "password" not in second
    password = first.split("password: ")[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_createrepo_with_format_kind_and_public():
    _run("createrepo", "team-npm", "--format", "npm", "--public")
    _run("createrepo", "libs", "--format", "maven", "--policy", "snapshot")
    team = Repository.objects.get(name="team-npm")
    assert (team.format, team.kind, team.anonymous_read) == ("npm", "hosted", True)
    assert Repository.objects.get(name="libs").config == {"version_policy": "snapshot"}


@pytest.mark.parametrize(
    ("_case", "args", "message"),
    [
        ("bad name", ["Bad/Name", "--format", "raw"], "lowercase letters"),
        ("policy on npm", ["x", "--format", "npm", "--policy", "release"], "maven"),
    ],
)
def test_createrepo_refuses_bad_input(_case, args, message):
    with pytest.raises(CommandError, match=message):
        _run("createrepo", *args)
    assert Repository.objects.filter(name=args[0]).exists() is False


def test_createtoken_prints_a_working_token_on_its_last_line():
    user = UserFactory(username="ci-bot")
    Repository.objects.create(name="pypi", format="pypi")
    output = _run("createtoken", "ci-bot", "--repo", "pypi", "--expires-days", "30")
    secret = output.strip().splitlines()[-1]
    principal = principal_for_token(secret)
    assert principal is not None
    assert principal.user == user
    token = ApiToken.objects.get(user=user)
    assert list(token.repositories.values_list("name", flat=True)) == ["pypi"]
    assert token.expires_at is not None


@pytest.mark.parametrize("days", ["0", "-1", "36501", "9" * 40])
def test_createtoken_refuses_lifetimes_out_of_range(days):
    UserFactory(username="ci-bot")
    with pytest.raises(CommandError, match="--expires-days must be between 1 and 36500"):
        _run("createtoken", "ci-bot", "--expires-days", days)
    assert ApiToken.objects.exists() is False


def test_grant_binds_users_and_groups():
    UserFactory(username="frank")
    Repository.objects.create(name="npm", format="npm")
    _run("grant", "user", "frank", "npm", "write")
    _run("grant", "group", "devs", "npm", "read")
    _run("grant", "user", "frank", "npm", "admin")
    roles = set(RepositoryRole.objects.values_list("user__username", "group__name", "role"))
    assert roles == {("frank", None, Role.ADMIN), (None, "devs", Role.READ)}


def test_createuser_creates_a_plain_user():
    _run("createuser", "gina", "--password", "s3cret-pass", "--group", "devs")
    gina = get_user_model().objects.get(username="gina")
    assert gina.check_password("s3cret-pass")
    assert gina.is_superuser is False
    assert list(gina.groups.values_list("name", flat=True)) == ["devs"]
