"""Uploaded checksum files (formats.maven.checksums)."""

import pytest

from formats.maven.checksums import parse_checksum_file
from formats.maven.errors import ChecksumMismatch

SHA1 = "ac23e943938ee4c1450939136c777e4c65fee10d"


@pytest.mark.parametrize(
    ("_case", "raw"),
    [
        ("bare, as mvn uploads it", SHA1.encode()),
        ("trailing newline", f"{SHA1}\n".encode()),
        ("uppercase", SHA1.upper().encode()),
        ("coreutils", f"{SHA1}  base-1.0.jar\n".encode()),
        ("coreutils binary", f"{SHA1} *base-1.0.jar".encode()),
        ("bsd tag", f"SHA1 (base-1.0.jar) = {SHA1}\n".encode()),
        ("crlf and spaces", f"  {SHA1}\r\n".encode()),
    ],
)
def test_parse_checksum_file(_case, raw):
    assert parse_checksum_file(raw=raw, algorithm="sha1") == SHA1


@pytest.mark.parametrize(
    ("_case", "raw", "algorithm"),
    [
        ("empty", b"", "sha1"),
        ("too short", SHA1[:-1].encode(), "sha1"),
        ("md5 length for sha1", b"d41d8cd98f00b204e9800998ecf8427e", "sha1"),
        ("sha1 length for sha256", SHA1.encode(), "sha256"),
        ("not hex", b"z" * 32, "md5"),
        ("html error page", b"<html>404</html>", "md5"),
        ("binary", b"\xff" * 40, "sha1"),
    ],
)
def test_parse_checksum_file_rejects(_case, raw, algorithm):
    with pytest.raises(ChecksumMismatch):
        parse_checksum_file(raw=raw, algorithm=algorithm)


def test_parse_checksum_file_unknown_algorithm():
    with pytest.raises(ValueError, match="unknown checksum algorithm 'crc32'"):
        parse_checksum_file(raw=b"00", algorithm="crc32")
