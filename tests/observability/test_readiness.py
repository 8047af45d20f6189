"""/-/ready of a live server whose broker is down: 503 naming the broker; /-/health stays 200."""

import pytest
import requests

from tests.live import free_port, start_server

pytestmark = pytest.mark.e2e


def test_a_server_whose_redis_is_unreachable_is_alive_but_not_ready(transactional_db, tmp_path):
    server = start_server(tmp_path, CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    try:
        ready = requests.get(f"{server.url}/-/ready", timeout=30)
        health = requests.get(f"{server.url}/-/health", timeout=30)
    finally:
        server.stop()

    assert ready.status_code == 503
    assert ready.headers["Retry-After"] == "5"
    assert ready.json() == {
        "status": "error",
        "database": "ok",
        "blob_store": "ok",
        "broker": "error: OperationalError",
    }
    assert (health.status_code, health.json()) == (200, {"status": "ok"})


def test_public_metrics_answer_while_the_database_is_down(transactional_db, tmp_path):
    server = start_server(
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nothing",
        METRICS_PUBLIC="true",
    )
    try:
        requests.get(f"{server.url}/-/ready", timeout=30)
        metrics = requests.get(f"{server.url}/-/metrics", timeout=30)
    finally:
        server.stop()

    assert metrics.status_code == 200
    assert 'registry_http_requests_total{format="none",method="GET",status="503"}' in metrics.text
    assert "registry_blobs" not in metrics.text
