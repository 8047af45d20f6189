import io
import os

import pytest
from django.test import RequestFactory

from storage.errors import RangeNotSatisfiable
from storage.responses import blob_response, parse_range
from storage.services import blob_ingest
from tests.helpers import body_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("_case", "header", "expected"),
    [
        ("first bytes", "bytes=0-9", (0, 9)),
        ("open end", "bytes=90-", (90, 99)),
        ("suffix", "bytes=-10", (90, 99)),
        ("end past size is clamped", "bytes=95-200", (95, 99)),
        ("multi-range is ignored", "bytes=0-1,5-6", None),
        ("other unit is ignored", "items=0-1", None),
    ],
)
def test_parse_range(_case, header, expected):
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=50-40", "bytes=-0"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_full_and_partial_reads_stream_the_right_bytes():
    content = os.urandom(100_000)
    blob = blob_ingest(stream=io.BytesIO(content))
    factory = RequestFactory()

    full = blob_response(factory.get("/"), blob, content_type="application/octet-stream")
    assert full.status_code == 200
    assert full["Content-Length"] == "100000"
    assert body_of(full) == content

    partial = blob_response(
        factory.get("/", headers={"Range": "bytes=1000-1999"}),
        blob,
        content_type="application/octet-stream",
    )
    assert partial.status_code == 206
    assert partial["Content-Range"] == "bytes 1000-1999/100000"
    assert partial["Content-Length"] == "1000"
    assert body_of(partial) == content[1000:2000]

    outside = blob_response(
        factory.get("/", headers={"Range": "bytes=200000-"}), blob, content_type="x/y"
    )
    assert outside.status_code == 416
    assert outside["Content-Range"] == "bytes */100000"


def test_etag_revalidation_answers_304():
    blob = blob_ingest(stream=io.BytesIO(b"cached"))
    request = RequestFactory().get("/", headers={"If-None-Match": f'"{blob.digest}"'})
    response = blob_response(request, blob, content_type="text/plain")
    assert response.status_code == 304


def test_x_accel_mode_hands_the_file_to_nginx(settings):
    settings.BLOB_SERVE_MODE = "x-accel"
    blob = blob_ingest(stream=io.BytesIO(b"via nginx"))
    response = blob_response(RequestFactory().get("/"), blob, content_type="text/plain")
    assert response["X-Accel-Redirect"] == f"/_blobs/{blob.path}"
    assert response.content == b""
