"""Request ids and access lines, through the Django test client (logging.LogRecord fields)."""

import base64
import json
import logging
import re
from datetime import datetime, timedelta

import pytest

from access.models import Role
from registry_project.logs import JsonFormatter, WorkContext, work_context_set
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("_case", "sent", "echoed"),
    [
        ("a proxy's id is kept", "req-7f3a.42", "req-7f3a.42"),
        (
            "a UUID is kept",
            "0b7e4a2c-1d2e-4f5a-8b9c-0d1e2f3a4b5c",
            "0b7e4a2c-1d2e-4f5a-8b9c-0d1e2f3a4b5c",
        ),
        ("too long is replaced", "a" * 129, None),
        ("a line break is replaced", "abc\r\nX-Evil: 1", None),
        ("spaces are replaced", "two words", None),
        ("none sent: one is made", None, None),
    ],
)
def test_request_id_is_echoed_when_safe_and_made_otherwise(client, _case, sent, echoed):
    headers = {"X-Request-ID": sent} if sent is not None else {}
    response = client.get("/-/health", headers=headers)

    assert response.status_code == 200
    if echoed is not None:
        assert response["X-Request-ID"] == echoed
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def _access_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "registry.access"]


def test_access_line_names_user_token_repository_format_status_and_bytes(
    client, make_user, make_token, caplog
):
    repository = RepositoryFactory(name="tools", format="raw")
    writer = make_user(repository, Role.WRITE)
    token = make_token(writer)
    auth = "Basic " + base64.b64encode(f"{writer.username}:{token}".encode()).decode()
    payload = b"x" * 5000
    caplog.set_level(logging.INFO, logger="registry.access")

    put = client.put(
        "/repository/tools/a/b.bin",
        payload,
        content_type="application/octet-stream",
        headers={"Authorization": auth},
    )
    get = client.get("/repository/tools/a/b.bin", headers={"Authorization": auth})
    assert b"".join(get.streaming_content) == payload
    anonymous = client.get("/repository/tools/a/b.bin")

    upload, download, refused = _access_records(caplog)
    assert put.status_code == 201
    assert (upload.method, upload.path, upload.status) == ("PUT", "/repository/tools/a/b.bin", 201)
    assert (upload.user, upload.token_id) == (writer.username, writer.api_tokens.get().pk)
    assert (upload.repository, upload.format) == ("tools", "raw")
    assert (download.status, download.bytes) == (200, 5000)
    assert download.duration >= 0
    assert (refused.status, refused.user, refused.token_id) == (401, "-", None)
    assert anonymous.status_code == 401


def test_a_malformed_content_length_still_gets_its_access_line(client, caplog):
    caplog.set_level(logging.INFO, logger="registry.access")

    response = client.get("/-/health", CONTENT_LENGTH="many")

    assert response.status_code == 200
    (line,) = _access_records(caplog)
    assert (line.path, line.status) == ("/-/health", 200)


def test_a_failed_sign_in_is_a_warning(client, caplog):
    RepositoryFactory(name="tools", format="raw")
    auth = "Basic " + base64.b64encode(b"nobody:wrong").decode()

    response = client.get("/repository/tools/a", headers={"Authorization": auth})

    assert response.status_code == 401
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.name == "access.auth"
    ]
    assert [r.getMessage() for r in warnings] == [
        "authentication failed (basic credentials): invalid username or password"
    ]


def test_json_lines_carry_the_request_id_and_extra_fields():
    record = logging.makeLogRecord(
        {"name": "registry.access", "levelname": "INFO", "msg": "GET %s", "args": ("/x",)}
    )
    record.status = 200
    work_context_set(WorkContext(request_id="r-1"))
    try:
        from registry_project.logs import RequestIdFilter

        RequestIdFilter().filter(record)
    finally:
        work_context_set(None)

    line = json.loads(JsonFormatter().format(record))

    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)

    assert {k: line[k] for k in ("level", "logger", "message", "request_id", "status")} == {
        "level": "INFO",
        "logger": "registry.access",
        "message": "GET /x",
        "request_id": "r-1",
        "status": 200,
    }
