"""The Maven parts of bootstrap and createrepo: policies and the consumer group."""

import io

import pytest
from django.core.management import CommandError, call_command

from formats.models import Repository, RepositoryMember

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _members(name: str) -> list[str]:
    links = RepositoryMember.objects.filter(group__name=name).order_by("position", "pk")
    return list(links.values_list("member__name", flat=True))


def test_bootstrap_creates_policies_and_the_maven_public_group_once():
    first = _run("bootstrap")
    second = _run("bootstrap")

    maven = Repository.objects.filter(format="maven")
    assert sorted(maven.values_list("name", "kind", "config")) == [
        ("maven-public", "group", {}),
        ("maven-releases", "hosted", {"version_policy": "release"}),
        ("maven-snapshots", "hosted", {"version_policy": "snapshot"}),
    ]
    assert _members("maven-public") == ["maven-releases", "maven-snapshots"]
    assert "created maven group maven-public" in first
    assert "maven-public" not in second


def test_createrepo_group_with_members_in_order():
    _run("createrepo", "snaps", "--format", "maven", "--policy", "snapshot")
    _run("createrepo", "rels", "--format", "maven", "--policy", "release")

    _run(
        "createrepo",
        "all",
        "--format",
        "maven",
        "--kind",
        "group",
        "--member",
        "snaps",
        "--member",
        "rels",
    )

    assert _members("all") == ["snaps", "rels"]


def test_createrepo_refuses_an_unknown_member_and_creates_nothing():
    with pytest.raises(CommandError, match="no maven repository 'nope'"):
        _run("createrepo", "all", "--format", "maven", "--kind", "group", "--member", "nope")

    assert Repository.objects.filter(name="all").exists() is False


def test_createrepo_maven_proxy_and_a_group_deploying_to_its_hosted_member():
    _run("createrepo", "team", "--format", "maven", "--policy", "mixed")
    _run(
        "createrepo",
        "central",
        "--format",
        "maven",
        "--kind",
        "proxy",
        "--upstream",
        "http://127.0.0.1:9/maven2/",
        "--metadata-ttl",
        "60",
    )
    _run(
        "createrepo",
        "all",
        "--format",
        "maven",
        "--kind",
        "group",
        "--member",
        "team",
        "--member",
        "central",
        "--deploy-to",
        "team",
    )

    central = Repository.objects.get(name="central")
    assert (central.kind, central.upstream_url, central.metadata_ttl) == (
        "proxy",
        "http://127.0.0.1:9/maven2/",
        60,
    )
    assert central.upstream_status.startswith("unreachable")
    assert _members("all") == ["team", "central"]
    assert Repository.objects.get(name="all").deploy_to.name == "team"
