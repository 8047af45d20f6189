"""The simple repository API (PEP 503/691/592/658/700/714) as pip and uv read it."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.models import Role
from formats.models import Asset, Package
from formats.pypi.services import pypi_index_documents_rebuild, pypi_project_documents_rebuild
from tests.factories import RepositoryFactory
from tests.formats.pypi.conftest import basic
from tests.formats.pypi.dists import make_sdist, make_wheel

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "pypi"
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
UPLOAD_TIME = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


@pytest.fixture
def published(upload, pypi_repository):
    """Two releases of Demo_Pkg (1.0 yanked with a reason) and a second project."""
    for built in (
        make_sdist("Demo_Pkg", "1.0"),
        make_wheel("Demo_Pkg", "1.0"),
        make_wheel("Demo_Pkg", "2.0", requires_python=">=3.9,<4", requires_dist=("other-lib>=1",)),
        make_wheel("other-lib", "1.5"),
    ):
        assert upload(*built).status_code == 200
    Asset.objects.update(created=UPLOAD_TIME)
    package = Package.objects.get(normalized_name="demo-pkg")
    package.versions.filter(version="1.0").update(yanked=True, yanked_reason="broken <build>")
    for each in Package.objects.all():
        pypi_project_documents_rebuild(package=each)
    pypi_index_documents_rebuild(repository=pypi_repository)
    pypi_repository.anonymous_read = True
    pypi_repository.save()
    return pypi_repository


@pytest.fixture
def private(published):
    published.anonymous_read = False
    published.save()
    return published


def _get(client, path: str, accept: str | None = None, **headers):
    if accept is not None:
        headers["Accept"] = accept
    return client.get(path, headers=headers)


@pytest.mark.parametrize(
    ("_case", "accept", "expected"),
    [
        ("no Accept header gets HTML", None, "text/html; charset=utf-8"),
        ("pip's header gets JSON", PIP_ACCEPT, "application/vnd.pypi.simple.v1+json"),
        (
            "explicit v1 HTML",
            "application/vnd.pypi.simple.v1+html",
            "application/vnd.pypi.simple.v1+html; charset=utf-8",
        ),
        (
            "a browser gets HTML",
            "text/html,application/xhtml+xml,*/*;q=0.8",
            "text/html; charset=utf-8",
        ),
        ("anything gets HTML", "*/*", "text/html; charset=utf-8"),
    ],
)
def test_project_page_negotiates_content_type(client, published, _case, accept, expected):
    response = _get(client, "/repository/pypi-local/simple/demo-pkg/", accept)

    assert response.status_code == 200
    assert response["Content-Type"] == expected
    assert response["Vary"] == "Accept"


HTML = "text/html; charset=utf-8"
V1_HTML = "application/vnd.pypi.simple.v1+html; charset=utf-8"
V1_JSON = "application/vnd.pypi.simple.v1+json"


@pytest.mark.parametrize(
    ("_case", "accept", "expected"),
    [
        ("blank Accept header", "  ", HTML),
        ("pip", PIP_ACCEPT, V1_JSON),
        (
            "uv",
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
            "text/html;q=0.01",
            V1_JSON,
        ),
        ("curl", "*/*", HTML),
        ("higher q wins over client order", f"text/html;q=0.5, {V1_JSON}", V1_JSON),
        ("exact match beats wildcard at equal q", f"*/*, {V1_JSON}", V1_JSON),
        ("client order breaks exact ties", f"{V1_JSON}, text/html", V1_JSON),
        ("type wildcard prefers the versioned HTML", "application/*", V1_HTML),
        ("specific q=0 refuses despite a wildcard", "text/html;q=0, */*;q=0.1", V1_HTML),
        (
            "q=0 on JSON leaves HTML to */*",
            "application/vnd.pypi.simple.v1+json;q=0, */*",
            HTML,
        ),
        ("q=0 on a wildcard, a specific type still wins", f"*/*;q=0, {V1_JSON};q=0.5", V1_JSON),
        ("q=0.001 still acceptable", f"{V1_JSON};q=0.001", V1_JSON),
    ],
)
def test_index_negotiates_q_values(client, pypi_repository, _case, accept, expected):
    pypi_repository.anonymous_read = True
    pypi_repository.save()

    response = _get(client, "/repository/pypi-local/simple/", accept)

    assert response.status_code == 200
    assert response["Content-Type"] == expected
    assert response["Vary"] == "Accept"


@pytest.mark.parametrize(
    ("_case", "accept"),
    [
        ("another type", "application/json"),
        ("everything refused", "*/*;q=0"),
        ("every offer refused by q=0", f"text/html;q=0, {V1_JSON};q=0, application/*;q=0"),
        ("garbage", "garbage"),
    ],
)
def test_index_answers_406_when_accept_admits_nothing(client, pypi_repository, _case, accept):
    pypi_repository.anonymous_read = True
    pypi_repository.save()

    response = _get(client, "/repository/pypi-local/simple/", accept)

    assert response.status_code == 406
    assert response["Vary"] == "Accept"


@pytest.mark.parametrize(
    ("_case", "path"),
    [
        ("project page", "/repository/pypi-local/simple/demo-pkg/"),
        ("index", "/repository/pypi-local/simple/"),
    ],
)
def test_nothing_acceptable_is_406(client, published, _case, path):
    response = _get(client, path, "application/xml")

    assert response.status_code == 406
    assert response.content == (
        b"None of the requested types is available; offered: text/html, "
        b"application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json.\n"
    )


def test_project_page_html_golden(client, published):
    response = _get(client, "/repository/pypi-local/simple/demo-pkg/")

    assert response.content.decode() == (GOLDEN / "simple_project.html").read_text()


def test_project_page_json_golden(client, published):
    response = _get(client, "/repository/pypi-local/simple/demo-pkg/", PIP_ACCEPT)

    assert response.json() == json.loads((GOLDEN / "simple_project.json").read_text())


def test_index_golden_html_and_json(client, published):
    html = _get(client, "/repository/pypi-local/simple/")
    document = _get(client, "/repository/pypi-local/simple/", "application/vnd.pypi.simple.v1+json")

    assert html.content.decode() == (GOLDEN / "simple_index.html").read_text()
    assert document.json() == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "Demo_Pkg"}, {"name": "other-lib"}],
    }


def test_empty_repository_has_an_empty_index(client):
    RepositoryFactory(name="empty-pypi", format="pypi", anonymous_read=True)

    response = _get(client, "/repository/empty-pypi/simple/", "application/vnd.pypi.simple.v1+json")

    assert response.status_code == 200
    assert response.json() == {"meta": {"api-version": "1.1"}, "projects": []}


@pytest.mark.parametrize(
    ("_case", "path", "location"),
    [
        (
            "upper case and underscore",
            "/repository/pypi-local/simple/Demo_Pkg/",
            "/repository/pypi-local/simple/demo-pkg/",
        ),
        (
            "dots",
            "/repository/pypi-local/simple/demo.pkg/",
            "/repository/pypi-local/simple/demo-pkg/",
        ),
        (
            "missing trailing slash",
            "/repository/pypi-local/simple/demo-pkg",
            "/repository/pypi-local/simple/demo-pkg/",
        ),
        ("index without slash", "/repository/pypi-local/simple", "/repository/pypi-local/simple/"),
        (
            "JSON API",
            "/repository/pypi-local/pypi/Demo_Pkg/json",
            "/repository/pypi-local/pypi/demo-pkg/json",
        ),
    ],
)
def test_other_spellings_redirect_permanently(client, published, _case, path, location):
    response = _get(client, path)

    assert (response.status_code, response["Location"]) == (301, location)


@pytest.mark.parametrize(
    ("_case", "project"), [("unknown project", "nope"), ("invalid name", "-bad-")]
)
def test_unknown_project_is_404(client, published, _case, project):
    response = _get(client, f"/repository/pypi-local/simple/{project}/")

    assert response.status_code == 404


def test_unchanged_page_answers_304(client, published):
    first = _get(client, "/repository/pypi-local/simple/demo-pkg/", PIP_ACCEPT)

    again = _get(
        client, "/repository/pypi-local/simple/demo-pkg/", PIP_ACCEPT, If_None_Match=first["ETag"]
    )

    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]


def test_page_read_costs_constant_queries(client, published, upload):
    with CaptureQueriesContext(connection) as before:
        _get(client, "/repository/pypi-local/simple/demo-pkg/", PIP_ACCEPT)
    for version in ("3.0", "4.0", "5.0"):
        upload(*make_wheel("Demo_Pkg", version))
    with CaptureQueriesContext(connection) as after:
        response = _get(client, "/repository/pypi-local/simple/demo-pkg/", PIP_ACCEPT)

    assert len(response.json()["files"]) == 6
    assert len(before.captured_queries) == len(after.captured_queries) == 2


def test_upload_regenerates_the_pages(client, published, upload):
    upload(*make_wheel("Demo_Pkg", "3.0"))
    upload(*make_wheel("new-project", "0.1"))

    page = _get(client, "/repository/pypi-local/simple/demo-pkg/", PIP_ACCEPT).json()
    index = _get(client, "/repository/pypi-local/simple/", PIP_ACCEPT).json()

    assert page["versions"] == ["1.0", "2.0", "3.0"]
    assert [p["name"] for p in index["projects"]] == ["Demo_Pkg", "new-project", "other-lib"]


def test_private_repository_challenges_anonymous_readers(client, private):
    response = _get(client, "/repository/pypi-local/simple/demo-pkg/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="registry"'


def test_reader_with_credentials_reads_a_private_repository(client, private, make_user, make_token):
    auth = basic("__token__", make_token(make_user(private, Role.READ)))

    response = client.get("/repository/pypi-local/simple/demo-pkg/", headers=auth)

    assert response.status_code == 200


def test_user_without_role_is_told_the_repository_does_not_exist(
    client, private, make_user, password
):
    outsider = make_user()

    response = client.get(
        "/repository/pypi-local/simple/", headers=basic(outsider.username, password)
    )

    assert response.status_code == 404
    assert response.reason_phrase == "repository 'pypi-local' not found"
