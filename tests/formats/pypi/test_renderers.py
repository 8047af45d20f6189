"""Simple pages and the JSON API as rendered (formats.pypi.renderers)."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from formats.pypi.metadata import parse_core_metadata
from formats.pypi.renderers import (
    SimpleFile,
    render_project_json,
    render_simple_index_html,
    render_simple_index_json,
    render_simple_project_html,
    render_simple_project_json,
)
from tests.formats.pypi.archive_files import (
    FULL_METADATA,
    metadata_bytes,
)

# --- simple API rendering ------------------------------------------------------------------

UPLOADED = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)

SIMPLE_FILES: list[SimpleFile] = [
    {
        "filename": "foo_bar-1.10.tar.gz",
        "url": "../../files/foo_bar-1.10.tar.gz",
        "hashes": {"sha256": "c" * 64},
        "version": "1.10",
        "size": 300,
        "upload_time": datetime(2024, 5, 7, tzinfo=timezone(timedelta(hours=2))),
    },
    {
        "filename": "foo_bar-1.9-py3-none-any.whl",
        "url": "https://files.example.invalid/foo_bar-1.9-py3-none-any.whl",
        "hashes": {"sha256": "b" * 64, "md5": "d" * 32},
        "version": "1.9",
        "size": 200,
        "upload_time": UPLOADED,
        "requires_python": ">=3.8,<4",
        "yanked": 'broken "build" <oops>',
        "core_metadata_sha256": "e" * 64,
    },
    {
        "filename": "foo_bar-1.9.tar.gz",
        "url": "https://files.example.invalid/foo_bar-1.9.tar.gz",
        "hashes": {"sha256": "a" * 64},
        "version": "1.9",
        "size": 100,
        "upload_time": UPLOADED,
        "requires_python": ">=3.8,<4",
        "yanked": "",
    },
]


def test_render_simple_project_html():
    body = render_simple_project_html(name="Foo_Bar", files=SIMPLE_FILES)

    assert body.decode() == (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "  <head>\n"
        '    <meta charset="utf-8">\n'
        '    <meta name="pypi:repository-version" content="1.1">\n'
        "    <title>Links for foo-bar</title>\n"
        "  </head>\n"
        "  <body>\n"
        "    <h1>Links for foo-bar</h1>\n"
        '    <a href="https://files.example.invalid/foo_bar-1.9-py3-none-any.whl#sha256='
        + "b"
        * 64
        + '" data-requires-python="&gt;=3.8,&lt;4" '
        'data-yanked="broken &quot;build&quot; &lt;oops&gt;" '
        'data-core-metadata="sha256=' + "e" * 64 + '" '
        'data-dist-info-metadata="sha256=' + "e" * 64 + '">'
        "foo_bar-1.9-py3-none-any.whl</a><br>\n"
        '    <a href="https://files.example.invalid/foo_bar-1.9.tar.gz#sha256='
        + "a"
        * 64
        + '" data-requires-python="&gt;=3.8,&lt;4" data-yanked="">foo_bar-1.9.tar.gz</a><br>\n'
        '    <a href="../../files/foo_bar-1.10.tar.gz#sha256='
        + "c"
        * 64
        + '">foo_bar-1.10.tar.gz</a><br>\n'
        "  </body>\n"
        "</html>\n"
    )


def test_render_simple_project_json():
    body = render_simple_project_json(name="Foo_Bar", files=SIMPLE_FILES)

    assert json.loads(body) == {
        "meta": {"api-version": "1.1"},
        "name": "foo-bar",
        "versions": ["1.9", "1.10"],
        "files": [
            {
                "filename": "foo_bar-1.9-py3-none-any.whl",
                "url": "https://files.example.invalid/foo_bar-1.9-py3-none-any.whl",
                "hashes": {"sha256": "b" * 64, "md5": "d" * 32},
                "requires-python": ">=3.8,<4",
                "size": 200,
                "upload-time": "2024-05-06T07:08:09.123456Z",
                "yanked": 'broken "build" <oops>',
                "core-metadata": {"sha256": "e" * 64},
                "data-dist-info-metadata": {"sha256": "e" * 64},
            },
            {
                "filename": "foo_bar-1.9.tar.gz",
                "url": "https://files.example.invalid/foo_bar-1.9.tar.gz",
                "hashes": {"sha256": "a" * 64},
                "requires-python": ">=3.8,<4",
                "size": 100,
                "upload-time": "2024-05-06T07:08:09.123456Z",
                "yanked": True,
                "core-metadata": False,
                "data-dist-info-metadata": False,
            },
            {
                "filename": "foo_bar-1.10.tar.gz",
                "url": "../../files/foo_bar-1.10.tar.gz",
                "hashes": {"sha256": "c" * 64},
                "requires-python": None,
                "size": 300,
                "upload-time": "2024-05-06T22:00:00Z",
                "yanked": False,
                "core-metadata": False,
                "data-dist-info-metadata": False,
            },
        ],
    }
    assert b"dist-info-metadata" not in body.replace(b"data-dist-info-metadata", b"")


def test_render_simple_project_json_refuses_naive_upload_time():
    naive: SimpleFile = {**SIMPLE_FILES[0], "upload_time": datetime(2024, 1, 1)}  # noqa: DTZ001

    with pytest.raises(ValueError, match="^upload_time must be timezone-aware$"):
        render_simple_project_json(name="foo", files=[naive])


def test_render_simple_project_pages_without_files():
    assert json.loads(render_simple_project_json(name="Foo", files=[])) == {
        "meta": {"api-version": "1.1"},
        "name": "foo",
        "versions": [],
        "files": [],
    }
    assert b"<h1>Links for foo</h1>\n  </body>" in render_simple_project_html(name="Foo", files=[])


def test_render_simple_index_html():
    body = render_simple_index_html(projects=["Zope.Interface", "a_b", "<script>"])

    assert body.decode() == (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "  <head>\n"
        '    <meta charset="utf-8">\n'
        '    <meta name="pypi:repository-version" content="1.1">\n'
        "    <title>Simple index</title>\n"
        "  </head>\n"
        "  <body>\n"
        "    <h1>Simple index</h1>\n"
        '    <a href="&lt;script&gt;/">&lt;script&gt;</a><br>\n'
        '    <a href="a-b/">a_b</a><br>\n'
        '    <a href="zope-interface/">Zope.Interface</a><br>\n'
        "  </body>\n"
        "</html>\n"
    )


def test_render_simple_index_json():
    body = render_simple_index_json(projects=["Zope.Interface", "a_b"])

    assert json.loads(body) == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "a_b"}, {"name": "Zope.Interface"}],
    }


# --- JSON API rendering --------------------------------------------------------------------


def expected_json_api_files():
    return {
        "wheel": {
            "comment_text": "",
            "digests": {"sha256": "b" * 64, "md5": "d" * 32},
            "downloads": -1,
            "filename": "foo_bar-1.9-py3-none-any.whl",
            "has_sig": False,
            "md5_digest": "d" * 32,
            "packagetype": "bdist_wheel",
            "python_version": "py3",
            "requires_python": ">=3.8,<4",
            "size": 200,
            "upload_time": "2024-05-06T07:08:09",
            "upload_time_iso_8601": "2024-05-06T07:08:09.123456Z",
            "url": "https://files.example.invalid/foo_bar-1.9-py3-none-any.whl",
            "yanked": True,
            "yanked_reason": 'broken "build" <oops>',
        },
        "sdist_19": {
            "comment_text": "",
            "digests": {"sha256": "a" * 64},
            "downloads": -1,
            "filename": "foo_bar-1.9.tar.gz",
            "has_sig": False,
            "md5_digest": None,
            "packagetype": "sdist",
            "python_version": "source",
            "requires_python": ">=3.8,<4",
            "size": 100,
            "upload_time": "2024-05-06T07:08:09",
            "upload_time_iso_8601": "2024-05-06T07:08:09.123456Z",
            "url": "https://files.example.invalid/foo_bar-1.9.tar.gz",
            "yanked": True,
            "yanked_reason": None,
        },
        "sdist_110": {
            "comment_text": "",
            "digests": {"sha256": "c" * 64},
            "downloads": -1,
            "filename": "foo_bar-1.10.tar.gz",
            "has_sig": False,
            "md5_digest": None,
            "packagetype": "sdist",
            "python_version": "source",
            "requires_python": None,
            "size": 300,
            "upload_time": "2024-05-06T22:00:00",
            "upload_time_iso_8601": "2024-05-06T22:00:00.000000Z",
            "url": "../../files/foo_bar-1.10.tar.gz",
            "yanked": False,
            "yanked_reason": None,
        },
    }


def files_by_version():
    return {
        "1.10": [SIMPLE_FILES[0]],
        "1.9": [SIMPLE_FILES[2], SIMPLE_FILES[1]],
        "2.0.dev1": [],
    }


def test_render_project_json_for_project():
    metadata = parse_core_metadata(FULL_METADATA.replace(b"1.0-alpha1", b"1.9"))
    files = expected_json_api_files()

    document = json.loads(
        render_project_json(
            metadata=metadata,
            files_by_version=files_by_version(),
            project_url="https://r.invalid/project/foo-bar/",
            release_url="https://r.invalid/project/foo-bar/1.9/",
            last_serial=42,
            yanked="broken build",
        )
    )

    assert document == {
        "info": {
            "author": "Ada",
            "author_email": "Ada <ada@example.invalid>",
            "bugtrack_url": None,
            "classifiers": ["Programming Language :: Python :: 3", "Typing :: Typed"],
            "description": "# Foo Bar\n\nHello.\n",
            "description_content_type": "text/markdown",
            "docs_url": None,
            "download_url": "https://example.invalid/download",
            "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
            "dynamic": ["license-file"],
            "home_page": "https://example.invalid/home",
            "keywords": "alpha,beta,gamma",
            "license": None,
            "license_expression": "MIT",
            "license_files": ["LICENSE"],
            "maintainer": "Bob",
            "maintainer_email": "bob@example.invalid",
            "name": "Foo_Bar",
            "package_url": "https://r.invalid/project/foo-bar/",
            "platform": "any",
            "project_url": "https://r.invalid/project/foo-bar/",
            "project_urls": {
                "Source": "https://example.invalid/src",
                "Issues": "https://example.invalid/issues",
            },
            "provides_extra": ["cli"],
            "release_url": "https://r.invalid/project/foo-bar/1.9/",
            "requires_dist": ["requests>=2", 'rich; extra == "cli"'],
            "requires_python": ">=3.8,<4",
            "summary": "A tiny test project",
            "version": "1.9",
            "yanked": True,
            "yanked_reason": "broken build",
        },
        "last_serial": 42,
        "releases": {
            "1.9": [files["wheel"], files["sdist_19"]],
            "1.10": [files["sdist_110"]],
            "2.0.dev1": [],
        },
        "urls": [files["wheel"], files["sdist_19"]],
        "vulnerabilities": [],
    }
    assert list(document["releases"]) == ["1.9", "1.10", "2.0.dev1"]


def test_render_project_json_for_release_has_no_releases():
    metadata = parse_core_metadata(metadata_bytes(name="foo_bar", version="1.10"))

    document = json.loads(
        render_project_json(
            metadata=metadata,
            files_by_version=files_by_version(),
            project_url="https://r.invalid/project/foo-bar/",
            release_url="https://r.invalid/project/foo-bar/1.10/",
            last_serial=7,
            include_releases=False,
        )
    )

    assert sorted(document) == ["info", "last_serial", "urls", "vulnerabilities"]
    assert document["urls"] == [expected_json_api_files()["sdist_110"]]
    assert (document["info"]["yanked"], document["info"]["yanked_reason"]) == (False, None)
    assert (document["info"]["keywords"], document["info"]["requires_dist"]) == (None, None)
