"""The browse pages: home, repository, package and version (Django test client)."""

import hashlib

import pytest

from access.models import Role
from formats.services import tag_set
from tests.factories import PackageFactory, RepositoryFactory, UserFactory, VersionFactory
from tests.web.content import page_text, version_with_file

pytestmark = pytest.mark.django_db


def test_health_says_the_process_answers(client):
    response = client.get("/-/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_index_lists_readable_repositories_with_format_kind_count_and_size(client, make_user):
    public = RepositoryFactory(name="open-source", format="raw", anonymous_read=True)
    secret = RepositoryFactory(name="secret-stuff", format="npm")
    version_with_file(public, "docs", "1", "docs/a.txt", b"x" * 2048)
    version_with_file(public, "tools", "1", "tools/b.txt", b"y" * 1024)
    anonymous = page_text(client.get("/"))
    assert (
        '<td><a href="/ui/repositories/open-source/">open-source</a></td> <td>raw</td>'
        '<td>hosted</td> <td class="num">2</td><td class="num">3.0 KiB</td>'
    ) in anonymous
    assert "secret-stuff" not in anonymous

    client.force_login(make_user(secret, Role.READ))
    assert '<td>npm</td><td>hosted</td> <td class="num">0</td>' in page_text(client.get("/"))


def test_every_page_has_a_search_box(client):
    RepositoryFactory(name="pub", anonymous_read=True)
    for url in ("/", "/ui/repositories/pub/", "/ui/search?q=x", "/ui/login/"):
        page = client.get(url).content.decode()
        assert '<form class="search" role="search" method="get" action="/ui/search">' in page


@pytest.mark.parametrize(
    "url",
    [
        "/ui/repositories/secret-stuff/",
        "/ui/repositories/secret-stuff/packages/hidden/",
        "/ui/repositories/secret-stuff/packages/hidden/versions/1.0/",
    ],
)
def test_private_repository_pages_are_hidden(client, url):
    secret = RepositoryFactory(name="secret-stuff")
    version_with_file(secret, "hidden", "1.0", "hidden/1.0/file", b"private")
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("_case", "format", "name", "url_name"),
    [
        ("npm scope, escaped as npm does", "npm", "@scope/pkg", "@scope%2Fpkg"),
        ("npm scope, as written", "npm", "@scope/pkg", "@scope/pkg"),
        ("nested OCI name", "oci", "team/app/api", "team/app/api"),
        ("Maven group:artifact", "maven", "com.example:lib", "com.example%3Alib"),
        ("PyPI, by its normalized name", "pypi", "Tiny_Lib", "tiny-lib"),
    ],
)
def test_packages_are_addressed_by_name_as_the_format_spells_it(
    client, _case, format, name, url_name
):
    repository = RepositoryFactory(name="pub", format=format, anonymous_read=True)
    package = PackageFactory(repository=repository, name=name, normalized_name=name.lower())
    if format == "pypi":
        package.normalized_name = "tiny-lib"
        package.save()
    VersionFactory(package=package, version="1.0")

    page = client.get(f"/ui/repositories/pub/packages/{url_name}/")
    version = client.get(f"/ui/repositories/pub/packages/{url_name}/versions/1.0/")

    assert page.status_code == version.status_code == 200
    assert f"<h1>{name}</h1>" in page.content.decode().replace("&#x27;", "'")
    assert f"<h1>{name} <span" in version.content.decode()


def test_an_unknown_package_or_version_is_a_404(client):
    repository = RepositoryFactory(name="pub", anonymous_read=True)
    VersionFactory(package=PackageFactory(repository=repository, name="there"), version="1")
    assert client.get("/ui/repositories/pub/packages/nothere/").status_code == 404
    assert client.get("/ui/repositories/pub/packages/there/versions/2/").status_code == 404


def test_package_page_shows_versions_first_then_tags_their_timeline_and_the_readme(client):
    repository = RepositoryFactory(name="npm-pub", format="npm", anonymous_read=True)
    package = PackageFactory(repository=repository, name="shiny")
    mover = UserFactory(username="mover")
    old = VersionFactory(package=package, version="1.0.0", metadata={"readme": "# Old"})
    new = VersionFactory(
        package=package,
        version="2.0.0",
        deprecated="use 3",
        metadata={"manifest": {"description": "Shiny things"}, "readme": "# Shiny"},
    )
    tag_set(package=package, name="latest", version=old, user=mover)
    tag_set(package=package, name="latest", version=new, user=mover)

    page = page_text(client.get("/ui/repositories/npm-pub/packages/shiny/"))

    assert page.index("<h2>Versions</h2>") < page.index("<h2>Tags</h2>")
    assert page.index("<h3>Tag timeline</h3>") < page.index('id="readme-heading"')
    assert '<p class="summary">Shiny things</p>' in page
    assert 'id="latest-version">2.0.0</a>' in page
    assert "<td>deprecated: use 3</td>" in page
    assert "<td>latest</td><td>1.0.0</td><td>2.0.0</td><td>mover</td>" in page
    assert "<td>latest</td><td>-</td><td>1.0.0</td><td>mover</td>" in page
    assert "<h1>Shiny</h1>" in page


def test_readme_is_rendered_and_sanitized(client):
    repository = RepositoryFactory(name="npm-pub", format="npm", anonymous_read=True)
    package = PackageFactory(repository=repository, name="shiny")
    VersionFactory(
        package=package,
        version="2.0.0",
        metadata={
            "manifest": {"description": "Shiny things", "license": "MIT"},
            "readme": "# Shiny\n\n**bold** <script>alert(1)</script>"
            '<a href="javascript:alert(2)" onclick="x()">link</a>',
            "readme_filename": "README.md",
        },
    )
    page = client.get("/ui/repositories/npm-pub/packages/shiny/").content.decode()
    assert "<h1>Shiny</h1>" in page
    assert "<strong>bold</strong>" in page
    assert "<script>alert(1)" not in page
    assert "javascript:alert" not in page
    assert "onclick" not in page


def test_restructured_text_is_rendered_without_raw_html_or_file_inclusion(client):
    repository = RepositoryFactory(name="py-pub", format="pypi", anonymous_read=True)
    package = PackageFactory(repository=repository, name="tiny-lib")
    readme = (
        "Tiny\n====\n\nUse *it*.\n\n.. raw:: html\n\n   <script>alert(1)</script>\n\n"
        ".. include:: /etc/passwd\n\n`click <javascript:alert(2)>`_\n"
    )
    VersionFactory(
        package=package,
        version="0.1.0",
        metadata={"description": readme, "description_content_type": "text/x-rst"},
    )
    page = client.get("/ui/repositories/py-pub/packages/tiny-lib/").content.decode()
    assert "<h2>Tiny</h2>" in page
    assert "<p>Use <em>it</em>.</p>" in page
    assert "alert(1)" not in page
    assert "root:" not in page
    assert "javascript:" not in page


def test_plain_text_descriptions_are_escaped(client):
    repository = RepositoryFactory(name="py-pub", format="pypi", anonymous_read=True)
    package = PackageFactory(repository=repository, name="tiny-lib")
    VersionFactory(
        package=package,
        version="0.1.0",
        metadata={"summary": "Tiny", "description": "Use <b>it</b>\n===="},
    )
    page = client.get("/ui/repositories/py-pub/packages/tiny-lib/").content.decode()
    assert "<pre>Use &lt;b&gt;it&lt;/b&gt;\n====</pre>" in page


def test_version_page_lists_files_with_sizes_digests_and_downloads(client):
    repository = RepositoryFactory(name="files", format="raw", anonymous_read=True)
    content = b"release notes\n"
    version = version_with_file(repository, "docs", "1.0", "docs/1.0/notes.txt", content)
    version.assets.update(download_count=7)

    response = client.get("/ui/repositories/files/packages/docs/versions/1.0/")
    page = page_text(response)

    sha256 = hashlib.sha256(content).hexdigest()
    sha512 = hashlib.sha512(content).hexdigest()
    assert '<a href="/repository/files/docs/1.0/notes.txt">docs/1.0/notes.txt</a>' in page
    digests = f'<td class="digest">sha256:{sha256}<br>sha512:{sha512}<br>sha1:'
    assert f'<td class="num">14 B</td> {digests}' in page
    assert '<td class="num">7</td>' in page
    assert (
        '<pre id="install-1">curl -fO http://testserver/repository/files/docs/1.0/notes.txt\n'
        f"echo &#x27;{sha256}  notes.txt&#x27; | sha256sum -c</pre>"
    ) in response.content.decode()


def test_pypi_install_snippets_pin_every_file_by_sha256(client):
    repository = RepositoryFactory(name="py", format="pypi", anonymous_read=True)
    wheel = version_with_file(
        repository,
        "tiny-lib",
        "0.1.0",
        "packages/tiny_lib-0.1.0-py3-none-any.whl",
        b"wheel bytes",
        metadata={"requires_dist": ["Attrs>=23", "missing-here; extra == 'x'"]},
    )
    version_with_file(repository, "attrs", "23.1", "packages/attrs-23.1.tar.gz", b"attrs")
    page = client.get("/ui/repositories/py/packages/tiny-lib/versions/0.1.0/").content.decode()

    sha256 = hashlib.sha256(b"wheel bytes").hexdigest()
    assert f"tiny-lib==0.1.0 \\\n    --hash=sha256:{sha256}</pre>" in page
    assert "pip install --index-url http://testserver/repository/py/simple/ tiny-lib==0.1.0" in page
    assert '<a href="/ui/repositories/py/packages/attrs/"><code>Attrs&gt;=23</code></a>' in page
    assert "<li><code>missing-here; extra == &#x27;x&#x27;</code></li>" in page
    assert wheel.package.name == "tiny-lib"


def test_npm_install_snippet_carries_the_tarball_integrity(client):
    import base64

    repository = RepositoryFactory(name="npm-pub", format="npm", anonymous_read=True)
    tarball = b"a tarball"
    version_with_file(
        repository,
        "shiny",
        "2.0.0",
        "shiny/-/shiny-2.0.0.tgz",
        tarball,
        metadata={"manifest": {"dependencies": {"left-pad": "^1.3.0"}}},
    )
    page = client.get("/ui/repositories/npm-pub/packages/shiny/versions/2.0.0/").content.decode()

    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    assert f"npm install shiny@2.0.0\n# integrity {integrity}</pre>" in page
    assert "<li><code>left-pad@^1.3.0</code></li>" in page


def test_maven_pages_show_pom_dependencies_and_the_dependency_element(client):
    repository = RepositoryFactory(name="mvn-pub", format="maven", anonymous_read=True)
    package = PackageFactory(repository=repository, name="com.example:lib")
    dependency = {
        "group_id": "org.slf4j",
        "artifact_id": "slf4j-api",
        "version": "2.0.9",
        "scope": "compile",
        "optional": False,
        "classifier": "",
        "type": "jar",
    }
    VersionFactory(
        package=package,
        version="1.0",
        metadata={
            "name": "Lib",
            "description": "A library",
            "licenses": [{"name": "Apache-2.0", "url": ""}],
            "dependencies": [dependency, {**dependency, "artifact_id": "junit", "scope": "test"}],
        },
    )
    page = client.get("/ui/repositories/mvn-pub/packages/com.example:lib/versions/1.0/")
    text = page.content.decode()
    assert "Lib - A library" in text
    assert "<code>org.slf4j:slf4j-api:2.0.9</code>" in text
    assert "<code>org.slf4j:junit:2.0.9 (test)</code>" in text
    assert "License: Apache-2.0" in text
    assert "  &lt;artifactId&gt;lib&lt;/artifactId&gt;\n  &lt;version&gt;1.0&lt;" in text


@pytest.mark.parametrize(
    ("format", "expected"),
    [
        (
            "npm",
            "registry=http://testserver/repository/pub/\n//testserver/repository/pub/:_authToken=",
        ),
        ("pypi", "[global]\nindex-url = http://testserver/repository/pub/simple/"),
        ("pypi", "url = &quot;http://testserver/repository/pub/simple/&quot;"),
        ("maven", "&lt;username&gt;dana&lt;/username&gt;"),
        ("maven", "&lt;url&gt;http://testserver/repository/pub/&lt;/url&gt;"),
        ("oci", "docker login -u dana testserver"),
        ("oci", "docker pull testserver/pub/IMAGE:TAG"),
        ("raw", "curl -fO -u dana:$REGISTRY_TOKEN http://testserver/repository/pub/PATH"),
    ],
)
def test_the_setup_panel_is_made_for_the_repository_and_the_user(
    client, make_user, format, expected
):
    repository = RepositoryFactory(name="pub", format=format)
    client.force_login(make_user(repository, Role.READ, username="dana"))
    page = client.get("/ui/repositories/pub/").content.decode()
    assert expected in page


def test_repository_packages_are_paginated_and_filtered(client):
    repository = RepositoryFactory(name="pub", anonymous_read=True)
    for number in range(60):
        PackageFactory(repository=repository, name=f"lib-{number:02d}")
    PackageFactory(repository=repository, name="special-tool")

    first = client.get("/ui/repositories/pub/").content.decode()
    second = client.get("/ui/repositories/pub/?page=2").content.decode()
    filtered = client.get("/ui/repositories/pub/?q=special").content.decode()

    assert ("lib-00" in first, "lib-49" in first, "lib-50" in first) == (True, True, False)
    assert ("lib-50" in second, "special-tool" in second) == (True, True)
    assert '<a href="?page=2" rel="next">Next</a>' in first
    assert '<a href="?page=1" rel="prev">Previous</a>' in second
    assert 'rel="next"' not in second
    assert ("special-tool" in filtered, "lib-00" in filtered) == (True, False)


def test_raw_repositories_have_a_folder_browser(client):
    repository = RepositoryFactory(name="files", format="raw", anonymous_read=True)
    version_with_file(repository, "docs", "1", "docs/guide/intro.txt", b"intro")
    version_with_file(repository, "top", "1", "top.txt", b"top")

    root = page_text(client.get("/ui/repositories/files/"))
    inside = page_text(client.get("/ui/repositories/files/?path=docs/guide/"))

    assert '<td><a href="?path=docs/">docs/</a></td>' in root
    assert '<a href="/repository/files/top.txt">top.txt</a>' in root
    assert '<a href="/repository/files/docs/guide/intro.txt">intro.txt</a>' in inside
    assert '<a href="?path=docs/">docs</a> / <a href="?path=docs/guide/">guide</a>' in inside


def test_the_admin_link_is_shown_to_registry_admins_only(client, make_user):
    RepositoryFactory(name="pub", anonymous_read=True)
    assert 'href="/ui/admin/"' not in client.get("/").content.decode()
    client.force_login(make_user())
    assert 'href="/ui/admin/"' not in client.get("/").content.decode()
    client.force_login(UserFactory(username="root", is_superuser=True))
    assert '<a href="/ui/admin/">Admin</a>' in client.get("/").content.decode()


def test_a_group_lists_the_packages_of_the_members_the_visitor_may_read(client):
    group = RepositoryFactory(name="all", format="npm", kind="group", anonymous_read=True)
    public = RepositoryFactory(name="public", format="npm", anonymous_read=True)
    private = RepositoryFactory(name="private", format="npm")
    group.members.add(public, private)
    PackageFactory(repository=public, name="open-lib")
    PackageFactory(repository=private, name="closed-lib")

    page = page_text(client.get("/ui/repositories/all/"))

    assert '<a href="/ui/repositories/public/packages/open-lib/">open-lib</a>' in page
    assert '<span class="muted">in public</span>' in page
    assert "closed-lib" not in page
    assert 'Members, in lookup order: <a href="/ui/repositories/public/">public</a></p>' in page
