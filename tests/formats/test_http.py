from datetime import UTC, datetime

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from formats.http import conditional_response
from registry_project.errors import PreconditionFailed

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
