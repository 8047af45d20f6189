import io
from datetime import UTC, datetime

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from formats.http import body_length_check, body_read, conditional_response
from registry_project.errors import BodyTooLarge, PreconditionFailed

ETAG = '"abc"'
CHANGED = datetime(2026, 11, 30, 12, 0, 0, 500000, tzinfo=UTC)
CHANGED_HTTP = "Mon, 30 Nov 2026 12:00:00 GMT"


def _answer(method: str = "GET", **headers: str):
    request = RequestFactory().generic(method, "/", headers=headers)
    return conditional_response(
        request,
        etag=ETAG,
        last_modified=CHANGED,
        respond=lambda: HttpResponse(b"body", content_type="application/json"),
    )


@pytest.mark.parametrize(
    ("_case", "method", "headers", "status"),
    [
        ("no validators", "GET", {}, 200),
        ("same ETag", "GET", {"If-None-Match": ETAG}, 304),
        ("weak form of the same ETag", "GET", {"If-None-Match": f"W/{ETAG}"}, 304),
        ("one of a list", "GET", {"If-None-Match": f'"x", {ETAG}'}, 304),
        ("any ETag", "GET", {"If-None-Match": "*"}, 304),
        ("other ETag", "GET", {"If-None-Match": '"x"'}, 200),
        ("HEAD with the same ETag", "HEAD", {"If-None-Match": ETAG}, 304),
        ("not modified since", "GET", {"If-Modified-Since": CHANGED_HTTP}, 304),
        ("modified since", "GET", {"If-Modified-Since": "Mon, 30 Nov 2026 11:59:59 GMT"}, 200),
        (
            "ETag wins over the date",
            "GET",
            {"If-None-Match": '"x"', "If-Modified-Since": CHANGED_HTTP},
            200,
        ),
        ("matching If-Match", "GET", {"If-Match": ETAG}, 200),
    ],
)
def test_conditional_response(_case, method, headers, status):
    response = _answer(method, **headers)

    assert response.status_code == status
    assert response["ETag"] == ETAG
    assert response["Last-Modified"] == CHANGED_HTTP
    if status == 304:
        assert "Content-Type" not in response
        assert response.content == b""
    else:
        assert (response["Content-Type"], response.content) == ("application/json", b"body")


@pytest.mark.parametrize(
    "headers",
    [{"If-Match": '"x"'}, {"If-Unmodified-Since": "Mon, 30 Nov 2026 11:00:00 GMT"}],
)
def test_failed_preconditions_raise_for_the_format_to_render(headers):
    with pytest.raises(PreconditionFailed):
        _answer(**headers)


def test_a_body_of_exactly_the_limit_is_read_whole():
    assert body_read(io.BytesIO(b"12345"), limit=5) == b"12345"


def test_a_body_over_the_limit_is_refused_without_reading_the_rest():
    stream = io.BytesIO(b"123456789")
    with pytest.raises(BodyTooLarge) as raised:
        body_read(stream, limit=5)
    assert (raised.value.http_status, raised.value.detail, stream.tell()) == (413, {"limit": 5}, 6)


@pytest.mark.parametrize(
    ("_case", "length"),
    [("no Content-Length", None), ("at the limit", "10"), ("not a number", "ten")],
)
def test_a_declared_length_within_the_limit_passes(_case, length):
    request = RequestFactory().post("/", data=b"", content_type="application/octet-stream")
    request.META.pop("CONTENT_LENGTH", None)
    if length is not None:
        request.META["CONTENT_LENGTH"] = length
    assert body_length_check(request, limit=10) is None


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    request = RequestFactory().post("/", data=b"", content_type="application/octet-stream")
    request.META["CONTENT_LENGTH"] = "11"
    with pytest.raises(BodyTooLarge) as raised:
        body_length_check(request, limit=10, message="Upload larger than 10 bytes.")
    assert (raised.value.message, raised.value.detail) == (
        "Upload larger than 10 bytes.",
        {"limit": 10},
    )
