"""A live server whose database goes away: every client gets 503 + Retry-After, never a 500.

A PostgreSQL restart is played by terminating the server's connections (what a restart does to
them); a database that is down by pointing a server at a port where nothing listens.
"""

import io
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.db import connection

from access.models import Role
from formats.raw.services import raw_file_put
from tests.factories import RepositoryFactory
from tests.live import free_port, start_server

pytestmark = pytest.mark.e2e

UNAVAILABLE = "the database is unavailable; try again shortly"
ROUNDS = 40  # requests of each kind after the connections died; 2 workers x 8 threads hold them


@pytest.fixture
def seeded(live_registry, make_user, make_token):
    raw = RepositoryFactory(name="files", format="raw")
    RepositoryFactory(name="pypi", format="pypi", anonymous_read=True)
    user = make_user(raw, Role.WRITE)
    raw_file_put(
        repository=raw,
        path="f.txt",
        stream=io.BytesIO(b"hello"),
        content_type="text/plain",
        user=user,
    )
    return {"Authorization": f"Bearer {make_token(user)}"}


def _requests(url: str, auth: dict[str, str]) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "raw file (row_get, then the ORM)": (f"{url}/repository/files/f.txt", auth),
        "cached simple page (row_get)": (
            f"{url}/repository/pypi/simple/",
            {"Accept": "application/vnd.pypi.simple.v1+json"},
        ),
        "management API (ORM)": (f"{url}/api/v1/repositories/", auth),
        "health": (f"{url}/-/health", {}),
    }


def _statuses(kinds: dict[str, tuple[str, dict[str, str]]], rounds: int) -> dict[str, Counter]:
    jobs = [(kind, url, headers) for kind, (url, headers) in kinds.items() for _ in range(rounds)]

    def fetch(job: tuple[str, str, dict[str, str]]) -> tuple[str, int]:
        kind, url, headers = job
        return kind, requests.get(url, headers=headers, timeout=60).status_code

    counts: dict[str, Counter] = {kind: Counter() for kind in kinds}
    with ThreadPoolExecutor(max_workers=16) as pool:
        for kind, status in pool.map(fetch, jobs):
            counts[kind][status] += 1
    return counts


@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="needs PostgreSQL: SQLite has no server connections to drop",
)
def test_requests_survive_the_database_dropping_every_connection(live_registry, seeded):
    kinds = _requests(live_registry.url, seeded)
    warm = _statuses(kinds, rounds=ROUNDS)  # every worker thread now holds a connection
    assert warm == {kind: Counter({200: ROUNDS}) for kind in kinds}

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (terminated,) = cursor.fetchone()
    assert terminated >= 2  # at least one connection per gunicorn worker

    after = _statuses(kinds, rounds=ROUNDS)
    again = _statuses(kinds, rounds=5)

    # A dropped connection is replaced on the spot: no 500, and no 503 needed either.
    assert after == {kind: Counter({200: ROUNDS}) for kind in kinds}
    assert again == {kind: Counter({200: 5}) for kind in kinds}


@pytest.fixture(scope="module")
def database_down(tmp_path_factory):
    server = start_server(
        tmp_path_factory.mktemp("database-down"),
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nothing",
    )
    yield server
    server.stop()


def _assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


@pytest.mark.parametrize(
    ("_case", "method", "path", "headers"),
    [
        ("pip reads a simple page", "GET", "/repository/pypi/simple/demo/", {}),
        (
            "mvn deploys with Basic credentials",
            "PUT",
            "/repository/maven/a/b/1/b-1.jar",
            {"Authorization": "Basic dTpw"},
        ),
        (
            "npm asks for a packument with a token",
            "GET",
            "/repository/npm/left-pad",
            {"Authorization": "Bearer reg_abc"},
        ),
        ("curl downloads a raw file", "GET", "/repository/raw/file.txt", {}),
    ],
)
def test_repository_urls_answer_503_while_the_database_is_down(
    database_down, _case, method, path, headers
):
    response = requests.request(method, database_down.url + path, headers=headers, timeout=30)

    _assert_unavailable(response)
    assert response.json() == {"error": UNAVAILABLE}  # what npm prints
    assert response.reason == UNAVAILABLE  # what pip, twine and mvn print


def test_oci_answers_503_in_its_envelope_while_the_database_is_down(database_down):
    response = requests.get(f"{database_down.url}/v2/library/app/manifests/latest", timeout=30)

    _assert_unavailable(response)
    assert response.json() == {
        "errors": [{"code": "UNAVAILABLE", "message": UNAVAILABLE, "detail": {}}]
    }


def test_the_api_answers_503_in_its_envelope_while_the_database_is_down(database_down):
    response = requests.get(
        f"{database_down.url}/api/v1/repositories/",
        headers={"Authorization": "Bearer reg_abc"},
        timeout=30,
    )

    _assert_unavailable(response)
    assert response.json() == {"code": "UNAVAILABLE", "message": UNAVAILABLE, "detail": {}}


def test_readiness_fails_while_the_database_is_down_and_liveness_does_not(database_down):
    ready = requests.get(database_down.url + "/-/ready", timeout=30)
    health = requests.get(database_down.url + "/-/health", timeout=30)

    _assert_unavailable(ready)
    body = ready.json()  # with "broker": "ok" too when CELERY_BROKER_URL is set
    assert (body["status"], body["database"], body["blob_store"]) == (
        "error",
        "error: OperationalError",
        "ok",
    )
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


def test_web_pages_answer_503_while_the_database_is_down(database_down):
    response = requests.get(f"{database_down.url}/", timeout=30)

    _assert_unavailable(response)
    assert response.text == UNAVAILABLE
