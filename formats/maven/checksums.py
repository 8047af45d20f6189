"""Reading the checksum files clients upload next to each file (``.md5 .sha1 .sha256 .sha512``).

https://maven.apache.org/repository/layout.html (checksums); the forms accepted are those GNU
coreutils and BSD tools write. Pure: no Django.
"""

import re

from formats.maven.errors import ChecksumMismatch

CHECKSUM_HEX_LENGTHS: dict[str, int] = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
# "MD5 (file.jar) = abc..." as written by BSD md5/shasum --tag.
_BSD_CHECKSUM_RE = re.compile(r"[A-Za-z0-9-]+ \(.*\) = (?P<hex>[0-9a-fA-F]+)")


def parse_checksum_file(*, raw: bytes, algorithm: str) -> str:
    """Extract the hex digest from an uploaded ``.md5``/``.sha1``/``.sha256``/``.sha512`` file.

    Accepts a bare digest, ``<hex>  <filename>`` (GNU coreutils), ``<hex> *<filename>`` and
    ``ALGO (<filename>) = <hex>`` (BSD), in either case, with surrounding whitespace.

    Args:
        raw: The checksum file content.
        algorithm: Hashlib name, a value of `CHECKSUM_ALGORITHMS`.

    Returns:
        The digest in lowercase hex.

    Raises:
        ChecksumMismatch: If the content holds no hex digest of the algorithm's length.
        ValueError: If the algorithm is unknown.
    """
    if algorithm not in CHECKSUM_HEX_LENGTHS:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}")
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise ChecksumMismatch(f"{algorithm} checksum file is not ASCII text") from exc
    bsd = _BSD_CHECKSUM_RE.fullmatch(text)
    candidate = bsd["hex"] if bsd else (text.split(maxsplit=1) or [""])[0]
    expected = CHECKSUM_HEX_LENGTHS[algorithm]
    if not _HEX_RE.fullmatch(candidate) or len(candidate) != expected:
        raise ChecksumMismatch(
            f"{algorithm} checksum must be {expected} hex digits, got {candidate[:140]!r}"
        )
    return candidate.lower()
