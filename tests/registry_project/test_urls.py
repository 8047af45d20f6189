import pytest

from tests.live import free_port

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("_case", "url", "expected"),
    [
        ("API path no route matches", "/api/v1/nothing-here/", None),
        ("outside the API's version", "/api/nope", None),
        ("repository without a path", "/repository/raw", {"error": "nothing at /repository/raw"}),
        ("bare /repository/", "/repository/", {"error": "nothing at /repository/"}),
        ("unknown /-/ endpoint", "/-/nope", {"error": "nothing at /-/nope"}),
    ],
)
def test_unmatched_urls_answer_in_the_envelope_of_their_clients(client, _case, url, expected):
    response = client.get(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    if expected is None:
        expected = {"code": "NOT_FOUND", "message": f"nothing at {url}", "detail": {}}
    assert response.json() == expected


def test_unmatched_web_pages_stay_html(client):
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"


def test_ready_checks_database_and_blob_store(client, settings):
    settings.CELERY_BROKER_URL = ""

    response = client.get("/-/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "blob_store": "ok"}


def test_ready_fails_when_the_broker_does_not_answer(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens

    response = client.get("/-/ready")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["broker"].startswith("error: ")
    assert {k: v for k, v in response.json().items() if k != "broker"} == {
        "status": "error",
        "database": "ok",
        "blob_store": "ok",
    }


def test_ready_reports_the_configured_broker(client, settings):
    if not settings.CELERY_BROKER_URL:
        pytest.skip("no broker configured (CELERY_BROKER_URL): tasks run in process")

    response = client.get("/-/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "blob_store": "ok", "broker": "ok"}
