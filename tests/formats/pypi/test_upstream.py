"""Reading upstream project pages (PEP 691 JSON, PEP 503 HTML) into the stored form."""

import json

import pytest

from formats.pypi.upstream import stored_page_files, upstream_page_normalize

PAGE = "https://index.example/simple/demo-pkg/"
SHA = "ab" * 32


def _files(content: bytes, content_type: str = "text/html"):
    return stored_page_files(
        upstream_page_normalize(content, content_type, page_url=PAGE, project="demo-pkg")
    )


def test_html_links_are_resolved_against_the_page_and_keep_their_attributes():
    page = (
        "<html><body>"
        f'<a href="../../packages/demo_pkg-1.0.tar.gz#sha256={SHA}" '
        'data-requires-python="&gt;=3.8">demo_pkg-1.0.tar.gz</a>'
        f'<a href="https://files.example/x/demo_pkg-2.0-py3-none-any.whl#sha256={SHA}" '
        f'data-yanked="" data-dist-info-metadata="sha256={"cd" * 32}">'
        "demo_pkg-2.0-py3-none-any.whl</a>"
        '<a href="/demo_pkg-3.0.tar.gz#md5=0123456789abcdef0123456789abcdef" '
        'data-yanked="bad &lt;build&gt;">demo_pkg-3.0.tar.gz</a>'
        "</body></html>"
    ).encode()

    first, second, third = _files(page)

    assert (first.url, first.hashes, first.requires_python, first.version) == (
        "https://index.example/packages/demo_pkg-1.0.tar.gz",
        {"sha256": SHA},
        ">=3.8",
        "1.0",
    )
    assert (second.url, second.yanked, second.core_metadata_sha256) == (
        "https://files.example/x/demo_pkg-2.0-py3-none-any.whl",
        True,
        "cd" * 32,
    )
    assert (third.url, third.hashes, third.yanked) == (
        "https://index.example/demo_pkg-3.0.tar.gz",
        {"md5": "0123456789abcdef0123456789abcdef"},
        "bad <build>",
    )
    assert first.size is first.upload_time is None


def test_json_pages_keep_size_upload_time_and_core_metadata():
    page = {
        "meta": {"api-version": "1.1"},
        "name": "demo-pkg",
        "files": [
            {
                "filename": "demo_pkg-1.0-py3-none-any.whl",
                "url": "/files/demo_pkg-1.0-py3-none-any.whl",
                "hashes": {"sha256": SHA.upper(), "blake2b": "zz"},
                "requires-python": ">=3.9",
                "size": 123,
                "upload-time": "2024-05-06T07:08:09.123456Z",
                "yanked": "reason",
                "core-metadata": {"sha256": "cd" * 32},
            }
        ],
    }

    [file] = _files(json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json")

    assert file.url == "https://index.example/files/demo_pkg-1.0-py3-none-any.whl"
    assert file.hashes == {"sha256": SHA}
    assert (file.size, file.upload_time.isoformat(), file.yanked) == (
        123,
        "2024-05-06T07:08:09.123456+00:00",
        "reason",
    )
    assert file.core_metadata_sha256 == "cd" * 32


def test_files_of_other_projects_unknown_kinds_and_other_schemes_are_dropped():
    page = (
        f'<a href="/other-1.0.tar.gz#sha256={SHA}">other-1.0.tar.gz</a>'
        f'<a href="/demo_pkg-1.0.exe#sha256={SHA}">demo_pkg-1.0.exe</a>'
        f'<a href="file:///etc/demo_pkg-1.0.tar.gz#sha256={SHA}">demo_pkg-1.0.tar.gz</a>'
        f'<a href="javascript:alert(1)">demo_pkg-1.1.tar.gz</a>'
        '<a href="/demo_pkg-1.2.tar.gz#sha256=not-hex">demo_pkg-1.2.tar.gz</a>'
        "<a>no href</a>"
    ).encode()

    [kept] = _files(page)

    assert (kept.filename, kept.hashes) == ("demo_pkg-1.2.tar.gz", {})


def test_the_first_link_of_a_filename_wins_and_the_name_falls_back_to_the_url():
    page = (
        f'<a href="/a/demo_pkg-1.0.tar.gz#sha256={SHA}"></a>'
        f'<a href="/b/demo_pkg-1.0.tar.gz#sha256={"ef" * 32}">demo_pkg-1.0.tar.gz</a>'
    ).encode()

    [file] = _files(page)

    assert (file.filename, file.url) == (
        "demo_pkg-1.0.tar.gz",
        "https://index.example/a/demo_pkg-1.0.tar.gz",
    )


def test_a_json_page_without_files_is_refused():
    with pytest.raises(ValueError, match="no files list"):
        upstream_page_normalize(b"[]", "application/json", page_url=PAGE, project="demo-pkg")
