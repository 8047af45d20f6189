"""Names, tags, references and digests of the OCI distribution protocol: pure, no Django.

https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
(the ``<name>`` and ``<reference>`` grammar) and
https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from formats.oci.errors import DigestInvalid, TagInvalid
from registry_project.errors import InvalidName

#: distribution/reference caps the whole name at 255; the spec only warns about hostname + name.
MAX_NAME_LENGTH = 255
MAX_TAG_LENGTH = 128

DIGEST_HEX_LENGTHS: Mapping[str, int] = {"sha256": 64, "sha512": 128}

_NAME_RE = re.compile(
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
_TAG_RE = re.compile(rf"[a-zA-Z0-9_][a-zA-Z0-9._-]{{0,{MAX_TAG_LENGTH - 1}}}")
_HEX_RE = re.compile(r"[a-f0-9]+")


@dataclass(frozen=True)
class Digest:
    """A content digest such as ``sha256:<64 hex>``.

    Attributes:
        algorithm: ``sha256`` or ``sha512``.
        hex: The lowercase hex encoding of the hash.
    """

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_digest(value: str) -> Digest:
    """Parse and validate a digest string.

    Only ``sha256`` and ``sha512`` with lowercase hex of the exact length are accepted, as the
    image-spec requires for registered algorithms.

    Args:
        value: The digest, e.g. ``"sha256:<64 hex>"``.

    Returns:
        The parsed digest.

    Raises:
        DigestInvalid: If the string is malformed, the algorithm unsupported or the hex wrong.
    """
    algorithm, sep, hex_ = value.partition(":")
    if not sep:
        raise DigestInvalid("digest must be <algorithm>:<hex>", digest=value)
    expected = DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        raise DigestInvalid(f"unsupported digest algorithm {algorithm!r}", digest=value)
    if len(hex_) != expected or not _HEX_RE.fullmatch(hex_):
        raise DigestInvalid(
            f"{algorithm} digest must be {expected} lowercase hex characters", digest=value
        )
    return Digest(algorithm=algorithm, hex=hex_)


def digest_of(data: bytes, *, algorithm: str = "sha256") -> Digest:
    """Compute the digest of ``data``.

    Args:
        data: The bytes to hash (small documents only, such as manifests).
        algorithm: ``sha256`` or ``sha512``.

    Returns:
        The digest of ``data``.

    Raises:
        DigestInvalid: If the algorithm is not supported.
    """
    if algorithm not in DIGEST_HEX_LENGTHS:
        raise DigestInvalid(f"unsupported digest algorithm {algorithm!r}")
    return Digest(algorithm=algorithm, hex=hashlib.new(algorithm, data).hexdigest())


def validate_name(name: str) -> str:
    """Validate a repository name such as ``team/app/api``.

    Args:
        name: The ``<name>`` of a ``/v2/<name>/...`` URL.

    Returns:
        ``name`` unchanged.

    Raises:
        InvalidName: If it does not match the spec's grammar or exceeds ``MAX_NAME_LENGTH``.
    """
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"repository name longer than {MAX_NAME_LENGTH}", name=name)
    if not _NAME_RE.fullmatch(name):
        raise InvalidName("invalid repository name", name=name)
    return name


def validate_tag(tag: str) -> str:
    """Validate a tag.

    Args:
        tag: The tag, at most 128 characters of ``[a-zA-Z0-9._-]`` not starting with ``.``/``-``.

    Returns:
        ``tag`` unchanged.

    Raises:
        TagInvalid: If it does not match the spec's grammar.
    """
    if not _TAG_RE.fullmatch(tag):
        raise TagInvalid("invalid tag", tag=tag)
    return tag


def is_digest_reference(reference: str) -> bool:
    """Tell whether a ``<reference>`` is meant as a digest rather than a tag.

    Tags cannot contain ``:``, so any reference with one is a digest; validate it with
    ``parse_digest``.

    Args:
        reference: The ``<reference>`` of a manifests URL.

    Returns:
        True if ``reference`` should be treated as a digest.
    """
    return ":" in reference


def parse_reference(reference: str) -> Digest | str:
    """Parse a manifests ``<reference>`` into a digest or a validated tag.

    Args:
        reference: A tag or a digest.

    Returns:
        A ``Digest`` for digests, the tag string otherwise.

    Raises:
        DigestInvalid: If it looks like a digest but is not a valid one.
        TagInvalid: If it is neither a digest nor a valid tag.
    """
    if is_digest_reference(reference):
        return parse_digest(reference)
    return validate_tag(reference)
