import pytest

from formats.oci import headers
from formats.oci.errors import BlobUploadInvalid, PaginationNumberInvalid


@pytest.mark.parametrize(
    ("_case", "header", "expected"),
    [
        ("spec form", "0-99", (0, 99)),
        ("later chunk", "100-199", (100, 199)),
        ("single byte", "5-5", (5, 5)),
        ("rfc form with unknown total", "bytes 0-99/*", (0, 99)),
        ("rfc form with total", "bytes 0-99/100", (0, 99)),
        ("bytes= prefix", "bytes=0-99", (0, 99)),
        ("surrounding spaces", " 0-9 ", (0, 9)),
    ],
)
def test_parse_content_range(_case, header, expected):
    assert headers.parse_content_range(header) == expected


@pytest.mark.parametrize(
    ("_case", "header", "message"),
    [
        ("empty", "", "malformed Content-Range"),
        ("open ended", "0-", "malformed Content-Range"),
        ("negative", "-1-5", "malformed Content-Range"),
        ("not numbers", "a-b", "malformed Content-Range"),
        ("end before start", "10-5", "Content-Range end before start"),
        ("thousands of digits", "0-" + "9" * 5000, "malformed Content-Range"),
    ],
)
def test_parse_content_range_rejects_invalid(_case, header, message):
    with pytest.raises(BlobUploadInvalid) as excinfo:
        headers.parse_content_range(header)
    assert excinfo.value.message == message
    assert excinfo.value.code == "BLOB_UPLOAD_INVALID"
    assert excinfo.value.detail == {"content_range": header}


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("absent uses default", None, 50),
        ("empty uses default", "", 50),
        ("zero", "0", 0),
        ("explicit", "2", 2),
        ("clamped", "100000", 1000),
    ],
)
def test_parse_page_size(_case, value, expected):
    assert headers.parse_page_size(value, default=50, maximum=1000) == expected


@pytest.mark.parametrize(
    ("_case", "value"), [("negative", "-1"), ("word", "ten"), ("float", "1.5"), ("unicode", "١")]
)
def test_parse_page_size_rejects_invalid(_case, value):
    with pytest.raises(PaginationNumberInvalid) as excinfo:
        headers.parse_page_size(value, default=50, maximum=1000)
    assert excinfo.value.code == "PAGINATION_NUMBER_INVALID"
    assert excinfo.value.detail == {"n": value}


@pytest.mark.parametrize(
    ("_case", "path", "n", "last", "expected"),
    [
        (
            "tags",
            "/v2/team/app/tags/list",
            2,
            "b",
            '</v2/team/app/tags/list?n=2&last=b>; rel="next"',
        ),
        (
            "catalog escapes slash",
            "/v2/_catalog",
            100,
            "team/app",
            '</v2/_catalog?n=100&last=team%2Fapp>; rel="next"',
        ),
    ],
)
def test_build_next_link(_case, path, n, last, expected):
    assert headers.build_next_link(path, n=n, last=last) == expected
