"""Headers and query parameters of the OCI distribution API: chunk ranges, pagination links.

https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-a-blob-in-chunks
and https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-tags
(blob GET ``Range`` is the core's: ``storage.responses``).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from formats.oci.errors import BlobUploadInvalid, PaginationNumberInvalid

# --- Headers ---------------------------------------------------------------------------------

HEADER_DOCKER_CONTENT_DIGEST = "Docker-Content-Digest"
HEADER_DOCKER_UPLOAD_UUID = "Docker-Upload-UUID"
HEADER_DOCKER_DISTRIBUTION_API_VERSION = "Docker-Distribution-API-Version"
HEADER_OCI_SUBJECT = "OCI-Subject"
HEADER_OCI_FILTERS_APPLIED = "OCI-Filters-Applied"
HEADER_OCI_TAG = "OCI-Tag"
HEADER_LINK = "Link"
HEADER_RANGE = "Range"
HEADER_CONTENT_RANGE = "Content-Range"

API_VERSION = "registry/2.0"
FILTER_ARTIFACT_TYPE = "artifactType"

# Offsets of up to 18 digits (an exabyte): int() of thousands of digits raises ValueError.
_CONTENT_RANGE_RE = re.compile(r"(?:bytes[ =])?([0-9]{1,18})-([0-9]{1,18})(?:/(?:[0-9]+|\*))?")


# --- Ranges ----------------------------------------------------------------------------------


def parse_content_range(header: str) -> tuple[int, int]:
    """Parse the ``Content-Range`` of a chunk PATCH (or of a closing PUT carrying a chunk).

    The spec form is ``<start>-<end>``, inclusive. The RFC 9110 form ``bytes <start>-<end>/*``
    is accepted as well because some clients send it. Whether the chunk starts at the current
    offset (else 416) is for the caller to check.

    Args:
        header: The header value.

    Returns:
        ``(start, end)``, both inclusive.

    Raises:
        BlobUploadInvalid: If the header is malformed or ``end < start``.
    """
    match = _CONTENT_RANGE_RE.fullmatch(header.strip())
    if not match:
        raise BlobUploadInvalid("malformed Content-Range", content_range=header)
    start, end = int(match.group(1)), int(match.group(2))
    if end < start:
        raise BlobUploadInvalid("Content-Range end before start", content_range=header)
    return start, end


# --- Pagination ------------------------------------------------------------------------------


def parse_page_size(value: str | None, *, default: int, maximum: int) -> int:
    """Parse the ``n`` query parameter of tag and catalog listings.

    Args:
        value: The raw ``n`` parameter, if any.
        default: The page size when ``n`` is absent.
        maximum: The largest page served; larger requests are clamped (the Link header then
            tells the client there is more).

    Returns:
        The page size, from 0 (the spec says an empty list, no Link) to ``maximum``.

    Raises:
        PaginationNumberInvalid: If ``n`` is not a non-negative integer.
    """
    if value is None or value == "":
        return min(default, maximum)
    if not value.isascii() or not value.isdigit():
        raise PaginationNumberInvalid(n=value)
    return min(int(value), maximum)


def build_next_link(path: str, *, n: int, last: str) -> str:
    """Build the ``Link`` header pointing at the next page of a listing.

    Args:
        path: The listing's path, e.g. ``/v2/team/app/tags/list`` or ``/v2/_catalog``.
        n: The page size to repeat.
        last: The last tag or repository name of the current page.

    Returns:
        The header value, e.g. ``</v2/team/app/tags/list?n=2&last=b>; rel="next"``.
    """
    return f'<{path}?{urlencode({"n": n, "last": last})}>; rel="next"'
