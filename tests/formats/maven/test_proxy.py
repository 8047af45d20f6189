"""Maven proxy repositories and groups with proxy members, against nginx serving a plain tree.

The registry runs in the test process (Django's test client); its upstream is a real nginx
whose access log tells what the proxy fetched.
"""

import hashlib
import io
import os

import pytest
from django.core.management import call_command

from access.models import Role
from access.services import role_grant
from formats.maven.metadata import parse_metadata
from formats.models import Asset, Package, ProxyEntry, Repository, RepositoryMember, Version
from storage.models import Blob
from tests.factories import RepositoryFactory
from tests.formats.maven.conftest import basic, pom
from tests.formats.maven.static_tree import folder, write_file, write_metadata, write_release
from tests.live import free_port
from tests.nginx import StaticNginx

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

G, A = "org.upstream", "tool"
TOOL = "org/upstream/tool"


def _body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def upstream(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    with StaticNginx(tmp_path / "nginx", serve=served) as nginx:
        nginx.files = served
        yield nginx


def _log(nginx) -> list[str]:
    return nginx.access_lines()


def _requests(nginx, path: str) -> list[str]:
    """The statuses nginx answered GETs of ``path`` with, in order."""
    return [line.split('" ')[1].split()[0] for line in _log(nginx) if f"GET /{path} HTTP" in line]


@pytest.fixture
def proxy(upstream):
    return RepositoryFactory(
        name="central", format="maven", kind="proxy", upstream_url=f"{upstream.url}/"
    )


@pytest.fixture
def reader(make_user, proxy):
    return make_user(proxy, Role.READ)


def _get(client, user, repository: str, path: str, **headers: str):
    return client.get(f"/repository/{repository}/{path}", headers={**basic(user), **headers})


def test_a_release_is_fetched_once_verified_and_listed_under_its_version(
    client, upstream, proxy, reader
):
    content = write_release(upstream.files, G, A, "1.0")
    path = f"{TOOL}/1.0/tool-1.0.jar"

    first = _get(client, reader, "central", path)
    again = _get(client, reader, "central", path)
    sums = {
        algorithm: _get(client, reader, "central", f"{path}.{algorithm}").content
        for algorithm in ("md5", "sha1", "sha256", "sha512")
    }

    assert (first.status_code, _body(first)) == (200, content)
    assert (again.status_code, _body(again)) == (200, content)
    assert first["Content-Type"] == "application/java-archive"
    assert sums == {
        algorithm: hashlib.new(algorithm, content).hexdigest().encode() for algorithm in sums
    }
    assert _requests(upstream, path) == ["200"]  # the checksums are computed here
    assert _requests(upstream, f"{path}.sha1") == ["200"]  # verified with it, once
    asset = Asset.objects.get(repository=proxy, path=path)
    assert asset.blob_id == hashlib.sha256(content).hexdigest()
    assert asset.metadata["proxy"]["upstream_url"] == f"{upstream.url}/{path}"
    assert (asset.version.package.name, asset.version.version) == (f"{G}:{A}", "1.0")
    assert asset.metadata["extension"] == "jar"


def test_a_jar_the_upstream_checksum_disagrees_with_is_refused_and_nothing_stored(
    client, upstream, proxy, reader
):
    write_release(upstream.files, G, A, "1.0")
    jar = folder(upstream.files, G, A) / "1.0" / "tool-1.0.jar"
    jar.write_bytes(b"PK tampered on the way")  # the .sha1 still names the original

    response = _get(client, reader, "central", f"{TOOL}/1.0/tool-1.0.jar")

    assert response.status_code == 502
    assert "does not match the digest it declared" in response.reason_phrase
    assert Asset.objects.count() == Version.objects.count() == Package.objects.count() == 0
    assert not Blob.objects.filter(sha256=hashlib.sha256(jar.read_bytes()).hexdigest()).exists()


def test_the_upstream_sha256_is_preferred_and_a_file_without_checksums_is_stored_as_is(
    client, upstream, proxy, reader
):
    write_release(upstream.files, G, A, "1.0", checksums=("sha256",))
    write_release(upstream.files, G, A, "2.0", checksums=())
    jar = folder(upstream.files, G, A) / "1.0" / "tool-1.0.jar"
    (jar.parent / "tool-1.0.jar.sha1").write_text("0" * 40)  # wrong, but not looked at

    verified = _get(client, reader, "central", f"{TOOL}/1.0/tool-1.0.jar")
    unverified = _get(client, reader, "central", f"{TOOL}/2.0/tool-2.0.jar")

    assert (verified.status_code, unverified.status_code) == (200, 200)
    assert _body(verified)
    assert _body(unverified)
    assert _requests(upstream, f"{TOOL}/1.0/tool-1.0.jar.sha1") == []
    assert _requests(upstream, f"{TOOL}/2.0/tool-2.0.jar.sha1") == ["404"]


def test_metadata_is_cached_for_the_ttl_then_revalidated(client, upstream, proxy, reader):
    metadata = write_metadata(upstream.files, G, A, ["1.0"], stamp="20261101000000")
    path = f"{TOOL}/maven-metadata.xml"

    first = _get(client, reader, "central", path)
    cached = _get(client, reader, "central", path)
    Repository.objects.filter(pk=proxy.pk).update(metadata_ttl=0)
    revalidated = _get(client, reader, "central", path)
    write_metadata(upstream.files, G, A, ["1.0", "1.1"], stamp="20261102000000")
    os.utime(metadata, (metadata.stat().st_atime, metadata.stat().st_mtime + 5))
    changed = _get(client, reader, "central", path)
    checksum = _get(client, reader, "central", f"{path}.sha1")

    assert [r.status_code for r in (first, cached, revalidated, changed)] == [200] * 4
    assert first.content == cached.content == revalidated.content
    assert parse_metadata(raw=changed.content).versions == ("1.0", "1.1")
    assert checksum.content == hashlib.sha1(changed.content).hexdigest().encode()
    # TTL 0: the checksum's read revalidates the document it sums too.
    assert _requests(upstream, path) == ["200", "304", "200", "304"]
    again = _get(client, reader, "central", path, if_none_match=changed["ETag"])
    assert again.status_code == 304


def test_invalid_upstream_metadata_is_not_kept(client, upstream, proxy, reader):
    write_file(folder(upstream.files, G, A) / "maven-metadata.xml", b"<html>sign in</html>")

    response = _get(client, reader, "central", f"{TOOL}/maven-metadata.xml")

    assert response.status_code == 502
    assert "invalid metadata" in response.reason_phrase
    assert not ProxyEntry.objects.filter(repository=proxy, status=200).exists()


def test_upstream_404s_are_remembered(client, upstream, proxy, reader):
    path = f"{TOOL}/9.9/tool-9.9.jar"

    answers = [_get(client, reader, "central", path).status_code for _ in range(2)]

    assert answers == [404, 404]
    # Neither the file nor the checksums it would be verified with are asked for again.
    for asked in (path, f"{path}.sha256", f"{path}.sha1"):
        assert _requests(upstream, asked) == ["404"], asked


def test_snapshot_files_are_revalidated_after_the_ttl(client, upstream, proxy, reader):
    jar = folder(upstream.files, G, A) / "1.0-SNAPSHOT" / "tool-1.0-SNAPSHOT.jar"
    write_file(jar, b"PK build 1")
    Repository.objects.filter(pk=proxy.pk).update(metadata_ttl=0)
    path = f"{TOOL}/1.0-SNAPSHOT/tool-1.0-SNAPSHOT.jar"

    first = _body(_get(client, reader, "central", path))
    write_file(jar, b"PK build 2, longer")
    os.utime(jar, (jar.stat().st_atime, jar.stat().st_mtime + 5))
    second = _body(_get(client, reader, "central", path))

    assert (first, second) == (b"PK build 1", b"PK build 2, longer")
    assert _requests(upstream, path) == ["200", "200"]


def test_an_unreachable_upstream_answers_502_naming_it(client, make_user):
    port = free_port()
    RepositoryFactory(
        name="down", format="maven", kind="proxy", upstream_url=f"http://127.0.0.1:{port}/"
    )
    user = make_user(Repository.objects.get(name="down"), Role.READ)

    jar = _get(client, user, "down", f"{TOOL}/1.0/tool-1.0.jar")
    metadata = _get(client, user, "down", f"{TOOL}/maven-metadata.xml")

    assert (jar.status_code, metadata.status_code) == (502, 502)
    assert f"127.0.0.1:{port}" in jar.reason_phrase
    assert "unreachable" in metadata.reason_phrase


def test_a_proxy_refuses_deploys_with_the_reason(client, proxy, make_user):
    writer = make_user(proxy, Role.WRITE)

    response = client.put(
        f"/repository/central/{TOOL}/1.0/tool-1.0.jar",
        data=b"PK",
        content_type="application/octet-stream",
        headers=basic(writer),
    )

    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD")
    assert response.reason_phrase == "'central' is a proxy: it is read-only"
    assert Asset.objects.count() == 0


def test_the_folder_listing_of_a_proxy_shows_what_is_cached(client, upstream, proxy, reader):
    write_release(upstream.files, G, A, "1.0")
    write_release(upstream.files, G, A, "2.0")
    _body(_get(client, reader, "central", f"{TOOL}/1.0/tool-1.0.jar"))

    listing = _get(client, reader, "central", f"{TOOL}/")
    cold = _get(client, reader, "central", "org/other/")

    assert listing.status_code == 200
    assert b'href="1.0/"' in listing.content
    assert b"2.0/" not in listing.content
    assert cold.status_code == 404


# Groups with a proxy member.


@pytest.fixture
def hosted(db):
    return RepositoryFactory(name="private", format="maven", config={"version_policy": "mixed"})


@pytest.fixture
def public(hosted, proxy):
    group = RepositoryFactory(name="public", format="maven", kind="group", deploy_to=hosted)
    for position, member in enumerate((hosted, proxy)):
        RepositoryMember.objects.create(group=group, member=member, position=position)
    return group


@pytest.fixture
def developer(make_user, public, hosted):
    user = make_user(public, Role.READ)
    role_grant(repository=hosted, role=Role.WRITE, user=user)
    return user


def _put(client, user, repository: str, path: str, body: bytes):
    return client.put(
        f"/repository/{repository}/{path}",
        data=body,
        content_type="application/octet-stream",
        headers=basic(user),
    )


def _deployed(client, user, repository: str, path: str, body: bytes) -> None:
    response = _put(client, user, repository, path, body)
    assert response.status_code == 201, response.reason_phrase


def test_a_deploy_to_the_group_lands_in_its_deploy_target(client, public, hosted, developer):
    path = "com/example/app/1.0/app-1.0.pom"

    response = _put(client, developer, "public", path, pom("com.example", "app", "1.0"))

    assert response.status_code == 201
    assert Asset.objects.get(path=path).repository == hosted
    assert _body(_get(client, developer, "public", path)) == pom("com.example", "app", "1.0")


def test_a_deploy_to_the_group_needs_write_on_the_target(client, public, make_user):
    reader = make_user(public, Role.READ)
    role_grant(repository=public, role=Role.WRITE, user=reader)  # on the group is not enough

    response = _put(client, reader, "public", "com/example/app/1.0/app-1.0.jar", b"PK")

    assert response.status_code == 403
    assert Asset.objects.count() == 0


def test_a_group_without_deploy_target_refuses_deploys(client, public, developer):
    Repository.objects.filter(pk=public.pk).update(deploy_to=None)

    response = _put(client, developer, "public", "com/example/app/1.0/app-1.0.jar", b"PK")

    assert response.status_code == 405
    assert "without a deploy target" in response.reason_phrase


def test_the_group_merges_hosted_and_proxied_metadata(client, upstream, public, developer):
    write_release(upstream.files, G, A, "1.0")
    write_metadata(upstream.files, G, A, ["1.0", "2.0"], stamp="20261101000000")
    mixed_name = "org.upstream:tool"
    # Another coordinate the hosted member has does not hide this one.
    _deployed(client, developer, "public", "com/example/app/1.0/app-1.0.jar", b"PK")

    metadata = _get(client, developer, "public", f"{TOOL}/maven-metadata.xml")
    jar = _get(client, developer, "public", f"{TOOL}/1.0/tool-1.0.jar")

    assert parse_metadata(raw=metadata.content).versions == ("1.0", "2.0")
    assert jar.status_code == 200
    assert _body(jar)
    assert Asset.objects.get(path=f"{TOOL}/1.0/tool-1.0.jar").version.package.name == mixed_name


def test_a_hosted_name_never_gets_the_upstreams_versions(client, upstream, public, developer):
    """Dependency confusion: the upstream publishes a higher version of our private artifact."""
    ours = "com/example/secret"
    _deployed(client, developer, "public", f"{ours}/1.0/secret-1.0.jar", b"PK ours")
    write_release(upstream.files, "com.example", "secret", "99.0")
    write_metadata(upstream.files, "com.example", "secret", ["99.0"], stamp="20261101000000")

    metadata = _get(client, developer, "public", f"{ours}/maven-metadata.xml")
    theirs = _get(client, developer, "public", f"{ours}/99.0/secret-99.0.jar")

    assert parse_metadata(raw=metadata.content).versions == ("1.0",)
    assert theirs.status_code == 404
    assert not [line for line in _log(upstream) if "secret" in line]  # not even asked


def test_a_guard_off_group_merges_the_upstreams_versions(client, upstream, public, developer):
    Repository.objects.filter(pk=public.pk).update(hosted_guard=False)
    ours = "com/example/secret"
    _deployed(client, developer, "public", f"{ours}/1.0/secret-1.0.jar", b"PK ours")
    write_metadata(upstream.files, "com.example", "secret", ["99.0"], stamp="20261101000000")

    metadata = _get(client, developer, "public", f"{ours}/maven-metadata.xml")

    assert parse_metadata(raw=metadata.content).versions == ("1.0", "99.0")


def test_a_group_reader_gets_proxied_files_but_not_hosted_members_it_may_not_read(
    client, upstream, public, hosted, make_user
):
    write_release(upstream.files, G, A, "1.0")
    outsider = make_user(public, Role.READ)  # no role on the hosted member
    admin = make_user(is_superuser=True)
    _deployed(client, admin, "private", "com/example/app/1.0/app-1.0.jar", b"PK")

    proxied = _get(client, outsider, "public", f"{TOOL}/1.0/tool-1.0.jar")
    hidden = _get(client, outsider, "public", "com/example/app/1.0/app-1.0.jar")

    assert (proxied.status_code, hidden.status_code) == (200, 404)
    assert _body(proxied)


def test_the_first_member_holding_a_file_serves_it(client, upstream, public, developer):
    write_release(upstream.files, G, A, "1.0")
    _deployed(client, developer, "public", f"{TOOL}/1.0/tool-1.0.jar", b"PK ours")

    response = _get(client, developer, "public", f"{TOOL}/1.0/tool-1.0.jar")

    assert _body(response) == b"PK ours"
    assert _requests(upstream, f"{TOOL}/1.0/tool-1.0.jar") == []


def test_a_group_answers_502_only_when_no_member_has_the_file(client, hosted, developer):
    down = RepositoryFactory(
        name="down",
        format="maven",
        kind="proxy",
        upstream_url=f"http://127.0.0.1:{free_port()}/",
    )
    group = Repository.objects.get(name="public")
    RepositoryMember.objects.filter(group=group).delete()
    for position, member in enumerate((down, hosted)):
        RepositoryMember.objects.create(group=group, member=member, position=position)
    _deployed(client, developer, "private", "com/example/app/1.0/app-1.0.jar", b"PK")

    here = _get(client, developer, "public", "com/example/app/1.0/app-1.0.jar")
    nowhere = _get(client, developer, "public", f"{TOOL}/1.0/tool-1.0.jar")

    assert (here.status_code, nowhere.status_code) == (200, 502)
    assert _body(here) == b"PK"


def test_proxy_invalidate_of_a_coordinate_makes_its_metadata_revalidate(
    client, upstream, proxy, reader
):
    write_metadata(upstream.files, G, A, ["1.0"], stamp="20261101000000")
    write_metadata(upstream.files, "org.other", "lib", ["1.0"], stamp="20261101000000")
    tool, other = f"{TOOL}/maven-metadata.xml", "org/other/lib/maven-metadata.xml"
    for path in (tool, other):
        assert _get(client, reader, "central", path).status_code == 200

    out = io.StringIO()
    call_command("proxy_invalidate", "central", f"{G}:{A}", stdout=out)
    assert out.getvalue() == "central: 1 cached entries due for revalidation\n"
    for path in (tool, other):
        assert _get(client, reader, "central", path).status_code == 200

    assert (_requests(upstream, tool), _requests(upstream, other)) == (["200", "304"], ["200"])
