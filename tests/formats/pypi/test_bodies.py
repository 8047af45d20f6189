"""The legacy upload form's fields (formats.pypi.bodies), in the words twine prints."""

import pytest

from formats.pypi.bodies import upload_digests, upload_form_check
from formats.pypi.errors import InvalidUpload
from formats.pypi.names import parse_distribution_filename

WHEEL = parse_distribution_filename("foo_bar-1.0-py3-none-any.whl")
FORM = {":action": "file_upload", "name": "Foo.Bar", "version": "1.0", "filetype": "bdist_wheel"}


@pytest.mark.parametrize(
    ("_case", "fields", "expected"),
    [
        ("sha256 only, uppercase", {"sha256_digest": "A" * 64}, {"sha256": "a" * 64}),
        ("md5 only", {"md5_digest": "b" * 32}, {"md5": "b" * 32}),
        (
            "both",
            {"sha256_digest": "a" * 64, "md5_digest": "b" * 32},
            {"sha256": "a" * 64, "md5": "b" * 32},
        ),
    ],
)
def test_upload_digests(_case, fields, expected):
    assert upload_digests(fields=fields) == expected


@pytest.mark.parametrize(
    ("_case", "fields", "message"),
    [
        ("none", {}, "Include at least one message digest."),
        (
            "short sha256",
            {"sha256_digest": "a" * 63},
            "Invalid value for sha256_digest. Use a valid hex digest.",
        ),
        (
            "md5 not hex",
            {"md5_digest": "z" * 32},
            "Invalid value for md5_digest. Use a valid hex digest.",
        ),
    ],
)
def test_upload_digests_refuses(_case, fields, message):
    with pytest.raises(InvalidUpload) as excinfo:
        upload_digests(fields=fields)
    assert (excinfo.value.http_status, str(excinfo.value)) == (400, message)


def test_upload_form_check_accepts_a_form_agreeing_with_the_filename():
    assert upload_form_check(fields=FORM, dist=WHEEL) is None


@pytest.mark.parametrize(
    ("_case", "change", "message"),
    [
        (
            "another action",
            {":action": "submit"},
            "Unsupported ':action' 'submit'; only 'file_upload' is supported.",
        ),
        (
            "another project",
            {"name": "other"},
            "Start filename for 'other' with 'foo_bar': "
            "the filename 'foo_bar-1.0-py3-none-any.whl' is for another project.",
        ),
        (
            "an invalid name",
            {"name": "foo bar"},
            "Start filename for 'foo bar' with 'foo_bar': "
            "the filename 'foo_bar-1.0-py3-none-any.whl' is for another project.",
        ),
        (
            "another version",
            {"version": "2.0"},
            "Version in filename should be '2.0' not '1.0': "
            "'foo_bar-1.0-py3-none-any.whl' is for another version.",
        ),
        (
            "another filetype",
            {"filetype": "sdist"},
            "Invalid value for filetype 'sdist': the file is a bdist_wheel.",
        ),
    ],
)
def test_upload_form_check_refuses(_case, change, message):
    with pytest.raises(InvalidUpload) as excinfo:
        upload_form_check(fields={**FORM, **change}, dist=WHEEL)
    assert str(excinfo.value) == message
