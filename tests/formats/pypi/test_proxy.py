"""PyPI proxy and group repositories over the protocol, with a real HTTP upstream.

The upstream is a StaticIndex server on a loopback port; the Django test client plays pip.
"""

import hashlib
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.models import Role
from formats.models import Asset, Package, ProxyEntry, Repository, Version
from formats.proxy.invalidation import proxy_invalidate
from formats.pypi import sources
from formats.services import repository_members_set
from tests.factories import RepositoryFactory
from tests.formats.pypi.conftest import basic
from tests.formats.pypi.dists import core_metadata, make_sdist, make_wheel
from tests.formats.pypi.static_index import RunningIndex

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

JSON = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = f"{JSON}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"


@pytest.fixture
def upstream():
    running = RunningIndex()
    yield running.state
    running.close()


def _html_page(index, project: str, files: dict[str, str], **attributes: str) -> None:
    """Put a PEP 503 page listing ``files`` ({filename: sha256}) on the upstream."""
    links = "".join(
        f'<a href="/files/{name}#sha256={digest}" {attributes.get(name, "")}>{name}</a><br>'
        for name, digest in files.items()
    )
    index.pages[f"/simple/{project}/"] = (
        f"<html><body>{links}</body></html>".encode(),
        "text/html",
    )


@pytest.fixture
def demo(upstream):
    """demo-pkg 1.0 (wheel with PEP 658 metadata, sdist) and 2.0 on the upstream, HTML page."""
    files = {}
    attributes = {}
    for filename, content in (
        make_wheel("demo_pkg", "1.0"),
        make_sdist("demo_pkg", "1.0"),
        make_wheel("demo_pkg", "2.0", requires_python=">=3.9"),
    ):
        files[filename] = upstream.add_file(filename, content)
    metadata = core_metadata("demo_pkg", "1.0")
    upstream.files["/files/demo_pkg-1.0-py3-none-any.whl.metadata"] = metadata
    attributes["demo_pkg-1.0-py3-none-any.whl"] = (
        f'data-core-metadata="sha256={hashlib.sha256(metadata).hexdigest()}"'
    )
    attributes["demo_pkg-2.0-py3-none-any.whl"] = 'data-requires-python="&gt;=3.9"'
    attributes["demo_pkg-1.0.tar.gz"] = 'data-yanked="use the wheel"'
    _html_page(upstream, "demo-pkg", files, **attributes)
    return files


@pytest.fixture
def proxy(upstream):
    return RepositoryFactory(
        name="pypi-proxy",
        format="pypi",
        kind=Repository.Kind.PROXY,
        upstream_url=upstream.url,
        anonymous_read=True,
    )


def _file(client, path: str, **headers: str):
    """GET a file; its body, read to the end (which closes a streaming one), is ``.body``."""
    response = client.get(path, headers=headers)
    response.body = response.getvalue()
    return response


def _page(client, repository: str, project: str, accept: str = JSON):
    return client.get(f"/repository/{repository}/simple/{project}/", headers={"Accept": accept})


def test_a_proxied_html_page_is_served_as_json_and_html_with_local_urls(client, proxy, demo):
    response = _page(client, "pypi-proxy", "demo-pkg")
    html = _page(client, "pypi-proxy", "demo-pkg", accept="text/html")

    assert response.status_code == 200
    document = response.json()
    assert document["versions"] == ["1.0", "2.0"]
    by_name = {file["filename"]: file for file in document["files"]}
    wheel = by_name["demo_pkg-1.0-py3-none-any.whl"]
    assert wheel["url"] == "../../packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl"
    assert wheel["hashes"] == {"sha256": demo["demo_pkg-1.0-py3-none-any.whl"]}
    assert wheel["core-metadata"]["sha256"]
    assert by_name["demo_pkg-2.0-py3-none-any.whl"]["requires-python"] == ">=3.9"
    assert [file["yanked"] for file in document["files"]] == [False, "use the wheel", False]
    assert document["meta"]["api-version"] == "1.0"  # an HTML upstream tells no sizes
    assert html.status_code == 200
    assert b'href="../../packages/demo-pkg/2.0/demo_pkg-2.0-py3-none-any.whl#sha256=' in (
        html.content
    )
    assert b'data-requires-python="&gt;=3.9"' in html.content
    assert b'data-yanked="use the wheel"' in html.content


def test_the_page_is_fetched_once_within_the_ttl_and_revalidated_after(
    client, proxy, demo, upstream
):
    for _ in range(3):
        assert _page(client, "pypi-proxy", "demo-pkg").status_code == 200
    ProxyEntry.objects.update(checked=ProxyEntry.objects.get().checked - timedelta(hours=1))

    assert _page(client, "pypi-proxy", "demo-pkg").status_code == 200

    assert upstream.hits["/simple/demo-pkg/"] == 2
    assert upstream.not_modified["/simple/demo-pkg/"] == 1


def test_a_file_is_fetched_verified_and_recorded_once(client, proxy, demo, upstream):
    path = "/repository/pypi-proxy/packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl"

    first = _file(client, path)
    second = _file(client, path)

    body = first.body
    assert first.status_code == second.status_code == 200
    assert hashlib.sha256(body).hexdigest() == demo["demo_pkg-1.0-py3-none-any.whl"]
    assert upstream.hits["/files/demo_pkg-1.0-py3-none-any.whl"] == 1
    asset = Asset.objects.get(repository=proxy, path=path.split("pypi-proxy/")[1])
    assert asset.metadata["proxy"]["upstream_url"].endswith("/files/demo_pkg-1.0-py3-none-any.whl")
    assert asset.metadata["kind"] == "distribution"
    assert (asset.version.package.normalized_name, asset.version.version) == ("demo-pkg", "1.0")


def test_core_metadata_is_proxied_when_the_upstream_offers_it(client, proxy, demo, upstream):
    _page(client, "pypi-proxy", "demo-pkg")

    response = _file(
        client,
        "/repository/pypi-proxy/packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl.metadata",
    )
    missing = _file(
        client,
        "/repository/pypi-proxy/packages/demo-pkg/2.0/demo_pkg-2.0-py3-none-any.whl.metadata",
    )

    assert response.status_code == 200
    assert b"Name: demo_pkg" in response.body
    assert missing.status_code == 404
    assert "/files/demo_pkg-2.0-py3-none-any.whl.metadata" not in upstream.hits


def test_a_file_the_page_does_not_list_is_not_fetched(client, proxy, demo, upstream):
    upstream.add_file("demo_pkg-9.0.tar.gz", b"secret")

    response = _file(client, "/repository/pypi-proxy/packages/demo-pkg/9.0/demo_pkg-9.0.tar.gz")

    assert response.status_code == 404
    assert "/files/demo_pkg-9.0.tar.gz" not in upstream.hits


def test_a_file_path_with_an_unnormalized_project_asks_the_upstream_nothing(
    client, proxy, demo, upstream
):
    response = _file(client, "/repository/pypi-proxy/packages/Demo_Pkg/1.0/demo_pkg-1.0.tar.gz")

    assert response.status_code == 404
    assert not upstream.hits


def test_a_tampered_file_is_refused_and_nothing_is_stored(client, proxy, upstream):
    filename, content = make_wheel("demo_pkg", "1.0")
    upstream.add_file(filename, content + b"tampered")
    _html_page(upstream, "demo-pkg", {filename: hashlib.sha256(content).hexdigest()})

    response = _file(client, f"/repository/pypi-proxy/packages/demo-pkg/1.0/{filename}")

    assert response.status_code == 502
    assert "does not match the digest" in response.content.decode()
    assert not Asset.objects.filter(repository=proxy).exists()
    assert not Version.objects.filter(package__repository=proxy).exists()


def test_upstream_down_serves_what_is_cached_and_502s_the_rest(client, proxy, demo, upstream):
    path = "/repository/pypi-proxy/packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl"
    assert _page(client, "pypi-proxy", "demo-pkg").status_code == 200
    assert _file(client, path).status_code == 200
    ProxyEntry.objects.update(checked=ProxyEntry.objects.get().checked - timedelta(hours=1))
    upstream.failing = True

    stale_page = _page(client, "pypi-proxy", "demo-pkg")
    cached_file = _file(client, path)
    cold_file = _file(client, "/repository/pypi-proxy/packages/demo-pkg/1.0/demo_pkg-1.0.tar.gz")
    cold_page = _page(client, "pypi-proxy", "other")

    assert stale_page.status_code == cached_file.status_code == 200
    assert cold_file.status_code == cold_page.status_code == 502
    assert f"127.0.0.1:{upstream.port}" in cold_page.content.decode()


def test_an_upstream_404_is_a_404_and_remembered(client, proxy, upstream):
    first = _page(client, "pypi-proxy", "nothing-here")
    second = _page(client, "pypi-proxy", "nothing-here")

    assert first.status_code == second.status_code == 404
    assert upstream.hits["/simple/nothing-here/"] == 1


def test_json_upstream_keeps_upload_time_and_size(client, proxy, upstream):
    filename, content = make_wheel("demo_pkg", "1.0")
    digest = upstream.add_file(filename, content)
    page = {
        "meta": {"api-version": "1.1"},
        "name": "demo-pkg",
        "files": [
            {
                "filename": filename,
                # another host than the index: the proxy fetches it through the same path
                "url": f"http://localhost:{upstream.port}/files/{filename}",
                "hashes": {"sha256": digest},
                "size": len(content),
                "upload-time": "2024-05-06T07:08:09.123456Z",
                "yanked": False,
                "core-metadata": False,
            }
        ],
    }
    upstream.pages["/simple/demo-pkg/"] = (json.dumps(page).encode(), JSON)

    document = _page(client, "pypi-proxy", "demo-pkg").json()
    fetched = _file(client, f"/repository/pypi-proxy/packages/demo-pkg/1.0/{filename}")

    [file] = document["files"]
    assert (file["size"], file["upload-time"]) == (len(content), "2024-05-06T07:08:09.123456Z")
    assert document["meta"]["api-version"] == "1.1"
    assert fetched.status_code == 200
    asset = Asset.objects.get(repository=proxy)
    assert asset.metadata["proxy"]["upstream_url"].startswith("http://localhost:")


def test_uploads_to_a_proxy_are_refused_with_a_reason(upload, proxy, make_user, make_token):
    headers = basic("__token__", make_token(make_user(proxy, Role.ADMIN)))

    response = upload(*make_wheel("demo_pkg", "1.0"), repository=proxy, headers=headers)

    assert response.status_code == 405
    assert "proxy" in response.reason_phrase


def test_the_root_index_of_a_proxy_lists_projects_with_cached_files(client, proxy, demo):
    _file(client, "/repository/pypi-proxy/packages/demo-pkg/1.0/demo_pkg-1.0.tar.gz")

    index = client.get("/repository/pypi-proxy/simple/", headers={"Accept": JSON})

    assert [project["name"] for project in index.json()["projects"]] == ["demo-pkg"]


# --- groups -----------------------------------------------------------------------------------


@pytest.fixture
def group(proxy, pypi_repository):
    """pypi-group: the hosted pypi-local first, then the proxy; uploads land in pypi-local.

    Everything is readable anonymously.
    """
    pypi_repository.anonymous_read = True
    pypi_repository.save()
    group = RepositoryFactory(
        name="pypi-group", format="pypi", kind=Repository.Kind.GROUP, anonymous_read=True
    )
    repository_members_set(repository=group, members=[pypi_repository, proxy])
    group.deploy_to = pypi_repository
    group.save()
    return group


def test_a_group_merges_members_first_member_winning_per_filename(
    client, group, demo, upstream, upload
):
    upload(*make_wheel("other_lib", "1.0"))
    filename, content = make_wheel("other_lib", "1.0")
    sdist_name, sdist = make_sdist("other_lib", "1.0")
    _html_page(
        upstream,
        "other-lib",
        {filename: "00" * 32, sdist_name: upstream.add_file(sdist_name, sdist)},
    )
    group.hosted_guard = False
    group.save()

    document = _page(client, "pypi-group", "other-lib").json()
    wheel = _file(client, f"/repository/pypi-group/packages/other-lib/1.0/{filename}")

    hashes = {file["filename"]: file["hashes"]["sha256"] for file in document["files"]}
    assert hashes == {
        filename: hashlib.sha256(content).hexdigest(),
        sdist_name: hashlib.sha256(sdist).hexdigest(),
    }
    assert wheel.status_code == 200
    assert upstream.hits[f"/files/{filename}"] == 0


def test_the_hosted_guard_keeps_upstream_versions_of_a_hosted_name_out(
    client, group, upstream, upload
):
    upload(*make_wheel("demo_pkg", "1.0"))
    _html_page(
        upstream,
        "demo-pkg",
        {"demo_pkg-9.0.tar.gz": upstream.add_file("demo_pkg-9.0.tar.gz", b"evil")},
    )

    document = _page(client, "pypi-group", "demo-pkg").json()
    evil = _file(client, "/repository/pypi-group/packages/demo-pkg/9.0/demo_pkg-9.0.tar.gz")

    assert document["versions"] == ["1.0"]
    assert evil.status_code == 404
    assert not upstream.hits


def test_a_group_serves_proxied_projects_and_lists_every_member_in_its_index(
    client, group, demo, upload
):
    upload(*make_wheel("other_lib", "1.0"))

    page = _page(client, "pypi-group", "demo-pkg").json()
    wheel = _file(
        client, "/repository/pypi-group/packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl"
    )
    index = client.get("/repository/pypi-group/simple/", headers={"Accept": JSON}).json()

    assert page["versions"] == ["1.0", "2.0"]
    assert wheel.status_code == 200
    assert [project["name"] for project in index["projects"]] == ["demo-pkg", "other-lib"]


def test_an_upload_to_a_group_lands_in_its_deploy_target(
    upload, group, pypi_repository, make_user, make_token
):
    response = upload(*make_wheel("demo_pkg", "1.0"), repository=group)

    assert response.status_code == 200
    assert Package.objects.get(normalized_name="demo-pkg").repository == pypi_repository


def test_a_group_without_deploy_target_refuses_uploads(upload, group, make_user, make_token):
    group.deploy_to = None
    group.save()
    headers = basic("__token__", make_token(make_user(group, Role.ADMIN)))

    response = upload(*make_wheel("demo_pkg", "1.0"), repository=group, headers=headers)

    assert response.status_code == 405
    assert "deploy target" in response.reason_phrase


def test_a_reader_of_the_group_sees_only_hosted_members_it_may_read(
    client, group, pypi_repository, demo, upload, make_user, make_token
):
    upload(*make_wheel("other_lib", "1.0"))
    for private in (group, pypi_repository):
        private.anonymous_read = False
        private.save()
    reader = basic("__token__", make_token(make_user(group, Role.READ)))

    hidden = client.get(
        "/repository/pypi-group/simple/other-lib/", headers={"Accept": JSON, **reader}
    )
    proxied = client.get(
        "/repository/pypi-group/simple/demo-pkg/", headers={"Accept": JSON, **reader}
    )

    assert hidden.status_code == 404
    assert proxied.status_code == 200


def test_a_proxy_failing_in_a_group_does_not_hide_other_members(client, group, upstream, upload):
    upload(*make_wheel("other_lib", "1.0"))
    upstream.failing = True
    group.hosted_guard = False
    group.save()

    served = _page(client, "pypi-group", "other-lib")
    cold = _page(client, "pypi-group", "demo-pkg")

    assert served.status_code == 200
    assert cold.status_code == 502


def test_the_json_api_of_a_proxy_and_a_group_describes_cached_releases(client, group, demo):
    _file(client, "/repository/pypi-proxy/packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl")

    proxied = client.get("/repository/pypi-proxy/pypi/demo-pkg/json")
    grouped = client.get("/repository/pypi-group/pypi/demo-pkg/json")

    assert proxied.status_code == grouped.status_code == 200
    assert proxied.json()["info"]["version"] == "1.0"
    [url] = grouped.json()["urls"]
    assert url["url"] == (
        "http://testserver/repository/pypi-group/packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl"
    )


def test_proxy_invalidate_of_a_project_makes_the_next_read_revalidate(
    client, proxy, demo, upstream
):
    assert _page(client, "pypi-proxy", "demo-pkg").status_code == 200

    assert proxy_invalidate(repository=proxy, package="demo-pkg") == 1
    assert _page(client, "pypi-proxy", "demo-pkg").status_code == 200

    assert upstream.not_modified["/simple/demo-pkg/"] == 1


def test_a_rendered_group_page_answers_304_to_its_etag(client, group, demo):
    first = _page(client, "pypi-group", "demo-pkg")

    again = client.get(
        "/repository/pypi-group/simple/demo-pkg/",
        headers={"Accept": JSON, "If-None-Match": first["ETag"]},
    )

    assert again.status_code == 304
    assert "Content-Type" not in again.headers


# --- warm group reads: what a hosted read costs, plus the walk of the group -------------------

WHEEL = "packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl"


def _queries(read):
    """Run ``read`` twice (the first warms every cache); return the second's query count."""
    assert read().status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = read()
    assert response.status_code == 200
    return len(queries)


def _hosted_members(group, proxy, count):
    """Put ``count`` empty hosted members ahead of the proxy in ``group``."""
    empty = [RepositoryFactory(format="pypi", anonymous_read=True) for _ in range(count)]
    repository_members_set(repository=group, members=[*empty, proxy])


@pytest.mark.parametrize("accept", [JSON, "text/html"])
def test_a_warm_group_page_is_not_merged_again_and_costs_the_same_for_more_members(
    client, group, proxy, demo, accept, monkeypatch
):
    # The repository, the group's members, the hosted guard, the hosted members' page ETags
    # and the proxy's cached page: a hosted read's two queries, plus three for the group.
    assert _queries(lambda: _page(client, "pypi-group", "demo-pkg", accept)) == 5
    renders = []
    for name in ("render_simple_project_json", "render_simple_project_html"):
        original = getattr(sources, name)
        monkeypatch.setattr(
            sources, name, lambda original=original, **kw: renders.append(1) or original(**kw)
        )
    _hosted_members(group, proxy, 4)

    assert _queries(lambda: _page(client, "pypi-group", "demo-pkg", accept)) == 5
    assert renders == [1]  # once for the new member list, not again while nothing changes


def test_an_upload_to_a_hosted_member_shows_in_the_group_page_at_once(client, group, demo, upload):
    group.hosted_guard = False
    group.save()
    before = _page(client, "pypi-group", "demo-pkg")
    upload(*make_wheel("demo_pkg", "3.0"))

    after = _page(client, "pypi-group", "demo-pkg")

    assert before.json()["versions"] == ["1.0", "2.0"]
    assert after.json()["versions"] == ["1.0", "2.0", "3.0"]
    assert after["ETag"] != before["ETag"]


def test_a_new_upstream_page_shows_in_the_group_page_once_revalidated(
    client, group, proxy, demo, upstream
):
    before = _page(client, "pypi-group", "demo-pkg")
    filename, content = make_wheel("demo_pkg", "4.0")
    _html_page(upstream, "demo-pkg", {**demo, filename: upstream.add_file(filename, content)})
    proxy_invalidate(repository=proxy, package="demo-pkg")

    after = _page(client, "pypi-group", "demo-pkg")

    assert before.json()["versions"] == ["1.0", "2.0"]
    assert after.json()["versions"] == ["1.0", "2.0", "4.0"]


@pytest.mark.parametrize("path", [WHEEL, WHEEL + ".metadata"])
def test_a_warm_file_through_a_group_is_found_in_one_query_whatever_its_member(
    client, group, proxy, demo, path
):
    # The repository, the group's members, the hosted guard and the file with its blob: one
    # query more than a hosted read, however many members come before the one holding it.
    assert _queries(lambda: _file(client, f"/repository/pypi-group/{path}")) == 4
    _hosted_members(group, proxy, 4)

    assert _queries(lambda: _file(client, f"/repository/pypi-group/{path}")) == 4


def test_a_proxy_ahead_of_a_hosted_member_serves_the_file_its_page_lists(
    client, group, pypi_repository, proxy, upstream, upload
):
    filename, ours = make_wheel("shared_lib", "1.0")
    upload(filename, ours)
    theirs = filename.encode() + b" from the upstream"
    _html_page(upstream, "shared-lib", {filename: upstream.add_file(filename, theirs)})
    repository_members_set(repository=group, members=[proxy, pypi_repository])
    group.hosted_guard = False
    group.save()

    served = _file(client, f"/repository/pypi-group/packages/shared-lib/1.0/{filename}")

    assert served.body == theirs
