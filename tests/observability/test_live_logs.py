"""Logs of a live gunicorn and a real Celery worker, read from their output as operators do."""

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from access.models import Role
from tests.factories import RepositoryFactory
from tests.live import require_client, settled_text, start_server, start_worker

pytestmark = pytest.mark.e2e


def _json_lines(log: Path) -> list[dict]:
    """The registry's lines of a log (gunicorn's own start-up lines are not JSON)."""
    lines = settled_text(log).splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _curl(*args: str) -> str:
    curl = require_client("curl")
    result = subprocess.run(
        [curl, "--silent", "--show-error", "--write-out", "%{http_code}", "-o", "/dev/null", *args],
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def _json_server(django_db_setup, tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("json-logs"), LOG_FORMAT="json")
    yield server
    server.stop()


@pytest.fixture
def json_server(_json_server, transactional_db):
    """A live server writing JSON lines; data must be committed to be seen."""
    return _json_server


def test_json_access_lines_of_a_download_and_a_refused_sign_in(
    json_server, make_user, make_token, tmp_path
):
    repository = RepositoryFactory(name="logged", format="raw")
    writer = make_user(repository, Role.WRITE)
    token = make_token(writer)
    payload = tmp_path / "tool.bin"
    payload.write_bytes(b"z" * 300_000)
    url = f"{json_server.url}/repository/logged/tool.bin"
    credentials = f"{writer.username}:{token}"

    assert _curl("-u", credentials, "-T", str(payload), "-H", "X-Request-ID: up-1", url) == "201"
    assert _curl("-u", credentials, "-H", "X-Request-ID: down-1", url) == "200"
    assert _curl("-u", f"{writer.username}:wrong", "-H", "X-Request-ID: bad-1", url) == "401"

    lines = _json_lines(json_server.log)
    access = {line["request_id"]: line for line in lines if line["logger"] == "registry.access"}
    download = access["down-1"]
    assert {k: download[k] for k in ("method", "path", "status", "bytes", "user", "format")} == {
        "method": "GET",
        "path": "/repository/logged/tool.bin",
        "status": 200,
        "bytes": 300_000,
        "user": writer.username,
        "format": "raw",
    }
    assert download["repository"] == "logged"
    assert download["token_id"] == writer.api_tokens.get().pk
    assert access["up-1"]["status"] == 201
    assert (access["bad-1"]["status"], access["bad-1"]["user"]) == (401, "-")
    # The warning of the refused password carries the id of the request it refused.
    warnings = [line for line in lines if line["level"] == "WARNING"]
    assert [line["request_id"] for line in warnings if line["logger"] == "access.auth"] == ["bad-1"]


@pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs a broker (CELERY_BROKER_URL)")
def test_a_task_logs_with_the_request_id_of_the_request_that_queued_it(
    django_db_setup, transactional_db, make_user, tmp_path_factory, password
):
    mirror = tmp_path_factory.mktemp("mirror")
    queue = f"logs-{uuid.uuid4().hex[:12]}"
    worker_dir = tmp_path_factory.mktemp("worker")
    worker = start_worker(worker_dir, queue, MIRROR_DIR=str(mirror), LOG_FORMAT="json")
    server = start_server(
        tmp_path_factory.mktemp("queueing-server"),
        MIRROR_DIR=str(mirror),
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    try:
        repository = RepositoryFactory(name="maven-logged", format="maven")
        deployer = make_user(repository, Role.WRITE)
        jar = tmp_path_factory.mktemp("jar") / "lib-1.0.jar"
        jar.write_bytes(b"PK\x03\x04 not really a jar")
        url = f"{server.url}/repository/maven-logged/com/example/lib/1.0/lib-1.0.jar"
        request_id = f"deploy-{uuid.uuid4().hex[:8]}"

        status = _curl(
            "-u",
            f"{deployer.username}:{password}",
            "-T",
            str(jar),
            "-H",
            f"X-Request-ID: {request_id}",
            url,
        )
        assert status == "201"

        def finished() -> list[dict]:
            return [
                line
                for line in _json_lines(worker_dir / "worker.log")
                if line["logger"] == "registry_project.tasklog"
            ]

        deadline = time.monotonic() + 60
        while not finished() and time.monotonic() < deadline:
            time.sleep(0.3)
        runs = finished()
    finally:
        server.stop()
        worker.terminate()
        worker.wait(timeout=30)

    assert runs, settled_text(worker_dir / "worker.log")[-3000:]
    assert {line["request_id"] for line in runs} == {request_id}
    assert all(
        line["message"].startswith("task formats.mirror_tasks.mirror_refresh_task SUCCESS")
        for line in runs
    )
    assert [path.name for path in mirror.rglob("lib-1.0.jar")] == ["lib-1.0.jar"]
