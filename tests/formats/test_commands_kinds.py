"""createrepo for proxies and groups, setmembers and proxy_invalidate, as scripts call them."""

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from formats.base import format_config
from formats.models import Repository
from tests.factories import RepositoryFactory
from tests.helpers import body_of
from tests.live import free_port
from tests.static_upstream import static_upstream

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _members(name: str) -> list[str]:
    group = Repository.objects.get(name=name)
    return [link.member.name for link in group.member_links.order_by("position")]


@pytest.fixture
def upstream(tmp_path) -> Iterator[tuple[str, Path]]:
    """A static upstream for raw proxies: its URL and the directory it serves."""
    with static_upstream(tmp_path) as url:
        yield url, tmp_path


def test_createrepo_proxy_with_credentials_and_ttls_reports_a_reachable_upstream(upstream):
    url, _ = upstream

    output = _run(
        "createrepo",
        "files-proxy",
        "--format",
        "raw",
        "--kind",
        "proxy",
        "--upstream",
        url,
        "--upstream-username",
        "bot",
        "--upstream-password",
        "s3cret",
        "--metadata-ttl",
        "60",
        "--negative-ttl",
        "0",
        "--public",
    )

    proxy = Repository.objects.get(name="files-proxy")
    assert (proxy.kind, proxy.upstream_url, proxy.anonymous_read) == ("proxy", url, True)
    assert (proxy.upstream_username, proxy.upstream_password) == ("bot", "s3cret")
    assert (proxy.metadata_ttl, proxy.negative_ttl) == (60, 0)
    assert proxy.upstream_status == f"reachable: HTTP 200 from {url}"
    assert output.splitlines() == [
        "created raw proxy repository files-proxy",
        f"upstream {url}: reachable: HTTP 200 from {url}",
    ]


def test_createrepo_accepts_an_unreachable_upstream_and_says_so():
    port = free_port()
    url = f"http://127.0.0.1:{port}/"

    output = _run("createrepo", "dead", "--format", "raw", "--kind", "proxy", "--upstream", url)

    proxy = Repository.objects.get(name="dead")
    assert proxy.upstream_status.startswith(f"unreachable: upstream 127.0.0.1:{port} is ")
    assert (proxy.metadata_ttl, proxy.negative_ttl) == (1800, 300)
    assert output.splitlines()[1] == f"upstream {url}: {proxy.upstream_status}"


def test_createrepo_group_with_ordered_members_deploy_target_and_no_guard():
    for name in ("team", "mirror", "extra"):
        RepositoryFactory(name=name, format="raw")

    output = _run(
        "createrepo",
        "everything",
        "--format",
        "raw",
        "--kind",
        "group",
        *("--member", "mirror", "--member", "team", "--member", "extra"),
        *("--deploy-to", "team", "--no-hosted-guard"),
    )

    group = Repository.objects.get(name="everything")
    assert _members("everything") == ["mirror", "team", "extra"]
    assert (group.kind, group.deploy_to.name, group.hosted_guard) == ("group", "team", False)
    assert output == "created raw group repository everything\n"
    assert Repository.objects.get(name="everything").hosted_guard is False


def test_a_group_keeps_the_dependency_confusion_guard_by_default():
    RepositoryFactory(name="team", format="raw")

    _run("createrepo", "all", "--format", "raw", "--kind", "group", "--member", "team")

    assert Repository.objects.get(name="all").hosted_guard is True


@pytest.mark.parametrize(
    ("_case", "args", "message"),
    [
        ("unknown member", ["--kind", "group", "--member", "nope"], "no raw repository 'nope'"),
        (
            "member of another format",
            ["--kind", "group", "--member", "py"],
            "'py' is a pypi repository, not raw",
        ),
        (
            "member listed twice",
            ["--kind", "group", "--member", "team", "--member", "team"],
            "a member is listed twice",
        ),
        (
            "deploy target not a member",
            ["--kind", "group", "--member", "team", "--deploy-to", "other"],
            "the deploy target 'other' must be a member",
        ),
        (
            "deploy target not hosted",
            ["--kind", "group", "--member", "inner", "--deploy-to", "inner"],
            "the deploy target must be a hosted repository",
        ),
        ("non-http upstream", ["--kind", "proxy", "--upstream", "ftp://host/"], "--upstream"),
        ("upstream no URL", ["--kind", "proxy", "--upstream", "host"], "Enter a valid URL"),
        ("proxy without upstream", ["--kind", "proxy"], "a proxy repository needs an upstream"),
        (
            "negative ttl",
            ["--kind", "proxy", "--upstream", "http://127.0.0.1:9/", "--metadata-ttl", "-1"],
            "--metadata-ttl: Ensure this value is greater than or equal to 0",
        ),
        (
            "upstream on a hosted repository",
            ["--upstream", "http://127.0.0.1:9/", "--negative-ttl", "5"],
            "--upstream, --negative-ttl: for --kind proxy only",
        ),
        (
            "group options on a proxy",
            ["--kind", "proxy", "--upstream", "http://127.0.0.1:9/", "--member", "team"],
            "--member: for --kind group only",
        ),
        ("guard off on a hosted", ["--no-hosted-guard"], "--no-hosted-guard: for --kind group"),
    ],
)
def test_createrepo_refuses_what_does_not_fit_and_creates_nothing(_case, args, message):
    RepositoryFactory(name="team", format="raw")
    RepositoryFactory(name="other", format="raw")
    RepositoryFactory(name="py", format="pypi")
    RepositoryFactory(name="inner", format="raw", kind="group")

    with pytest.raises(CommandError, match=message):
        _run("createrepo", "new", "--format", "raw", *args)

    assert Repository.objects.filter(name="new").exists() is False


def test_createrepo_names_the_kinds_a_format_serves(monkeypatch):
    # A format that serves hosted and group repositories only (every format grows a proxy).
    monkeypatch.setattr(format_config("raw"), "kinds", ("hosted", "group"))

    with pytest.raises(CommandError) as refused:
        _run(
            "createrepo",
            "m",
            "--format",
            "raw",
            "--kind",
            "proxy",
            "--upstream",
            "http://h.example/",
        )

    assert str(refused.value) == (
        "raw repositories cannot be of kind 'proxy' (this format serves: hosted, group)"
    )
    assert Repository.objects.filter(name="m").exists() is False


def test_setmembers_replaces_and_reorders_the_members():
    for name in ("a", "b", "c"):
        RepositoryFactory(name=name, format="raw")
    _run("createrepo", "g", "--format", "raw", "--kind", "group", "--member", "a", "--member", "b")

    reordered = _run("setmembers", "g", "c", "b", "a")
    after_reorder = _members("g")
    _run("setmembers", "g", "b")

    assert reordered == "g members: c b a\n"
    assert after_reorder == ["c", "b", "a"]
    assert _members("g") == ["b"]


def test_setmembers_drops_a_deploy_target_that_is_no_longer_a_member():
    RepositoryFactory(name="a", format="raw")
    RepositoryFactory(name="b", format="raw")
    _run(
        "createrepo", "g", "--format", "raw", "--kind", "group", "--member", "a", "--deploy-to", "a"
    )

    kept = _run("setmembers", "g", "a", "b")
    dropped = _run("setmembers", "g", "b")

    assert kept == "g members: a b\ng deploys to a\n"
    assert dropped == "g members: b\n"
    assert Repository.objects.get(name="g").deploy_to is None


@pytest.mark.parametrize(
    ("_case", "args", "message"),
    [
        ("unknown group", ["nope", "a"], "no repository 'nope'"),
        ("unknown member", ["g", "a", "nope"], "no raw repository 'nope'"),
        ("not a group", ["a", "b"], "'a' is not a group"),
        ("itself", ["g", "g"], "'g' contains 'g': a loop"),
        ("a loop through another group", ["g", "outer"], "'outer' contains 'g': a loop"),
        ("another format", ["g", "py"], "'py' is a pypi repository, not raw"),
    ],
)
def test_setmembers_refuses_and_keeps_the_members(_case, args, message):
    RepositoryFactory(name="a", format="raw")
    RepositoryFactory(name="b", format="raw")
    RepositoryFactory(name="py", format="pypi")
    _run("createrepo", "g", "--format", "raw", "--kind", "group", "--member", "a")
    _run("createrepo", "outer", "--format", "raw", "--kind", "group", "--member", "g")

    with pytest.raises(CommandError, match=message):
        _run("setmembers", *args)

    assert _members("g") == ["a"]


def test_proxy_invalidate_makes_the_next_read_revalidate(client, upstream):
    url, directory = upstream
    (directory / "notes.txt").write_text("first")
    _run("createrepo", "p", "--format", "raw", "--kind", "proxy", "--upstream", url, "--public")

    first = body_of(client.get("/repository/p/notes.txt"))
    (directory / "notes.txt").write_text("second")
    later = time.time() + 60  # Last-Modified has whole seconds: the change is visibly later
    os.utime(directory / "notes.txt", (later, later))
    cached = body_of(client.get("/repository/p/notes.txt"))
    output = _run("proxy_invalidate", "p", "notes.txt")
    revalidated = body_of(client.get("/repository/p/notes.txt"))

    assert (first, cached, revalidated) == (b"first", b"first", b"second")
    assert output == "p: 1 cached entries due for revalidation\n"


def test_proxy_invalidate_of_everything_and_of_an_unknown_package(client, upstream):
    url, directory = upstream
    (directory / "a.txt").write_text("a")
    _run("createrepo", "p", "--format", "raw", "--kind", "proxy", "--upstream", url, "--public")
    body_of(client.get("/repository/p/a.txt"))
    body_of(client.get("/repository/p/missing.txt"))

    nothing = _run("proxy_invalidate", "p", "other.txt")
    everything = _run("proxy_invalidate", "p")

    assert nothing == "p: 0 cached entries due for revalidation\n"
    assert everything == "p: 2 cached entries due for revalidation\n"


@pytest.mark.parametrize(
    ("_case", "name", "message"),
    [("unknown", "nope", "no repository 'nope'"), ("hosted", "team", "'team' is a hosted")],
)
def test_proxy_invalidate_refuses_what_is_not_a_proxy(_case, name, message):
    RepositoryFactory(name="team", format="raw")

    with pytest.raises(CommandError, match=message):
        _run("proxy_invalidate", name)
