"""Which handler serves a request, and that both answer as the full middleware chain would."""

import pytest
import requests
from django.test import Client

from access.models import Role
from formats.models import Asset
from registry_project.wsgi import is_client_request
from storage.services import blob_ingest_bytes
from tests.factories import RepositoryFactory


@pytest.mark.parametrize(
    ("_case", "path", "cookie", "expected"),
    [
        ("package client on a repository", "/repository/npm/left-pad", "", True),
        ("OCI client", "/v2/oci/app/manifests/1", "", True),
        ("other cookies do not matter", "/repository/pypi/simple/", "theme=dark", True),
        ("browser with a session", "/repository/raw/a.txt", "csrftoken=x; sessionid=abc", False),
        ("web UI", "/ui/repositories/npm/", "", False),
        ("management API", "/api/v1/repositories/", "", False),
        ("admin console", "/admin/", "", False),
    ],
)
def test_client_requests_are_protocol_urls_without_a_session(_case, path, cookie, expected):
    assert is_client_request({"PATH_INFO": path, "HTTP_COOKIE": cookie}) is expected


@pytest.fixture
def private_file(transactional_db):
    repository = RepositoryFactory(name="private-files", format="raw")
    Asset.objects.create(
        repository=repository,
        path="notes.txt",
        blob=blob_ingest_bytes(content=b"hello\n"),
        media_type="text/plain",
    )
    return repository


@pytest.mark.e2e
def test_client_answers_keep_security_headers_and_content_length(live_registry, private_file):
    response = requests.get(f"{live_registry.url}/repository/private-files/notes.txt", timeout=30)

    assert response.status_code == 401
    assert response.headers["Content-Length"] == str(len(response.content))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Transfer-Encoding" not in response.headers


@pytest.mark.e2e
def test_a_browser_session_still_reads_protocol_urls(live_registry, private_file, make_user):
    reader = make_user(private_file, Role.READ)
    browser = Client()
    browser.force_login(reader)
    cookies = {"sessionid": browser.cookies["sessionid"].value}

    response = requests.get(
        f"{live_registry.url}/repository/private-files/notes.txt", cookies=cookies, timeout=30
    )

    assert response.status_code == 200
    assert response.content == b"hello\n"
