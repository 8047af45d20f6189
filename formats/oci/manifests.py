"""Media types, descriptors, image manifests and indexes, and the referrers index: pure, no Django.

https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md, ``image-index.md`` and
``descriptor.md``, plus Docker's image manifest v2 schema 2 and manifest list
(https://distribution.github.io/distribution/spec/manifest-v2-2/), which clients still push;
the referrers index follows
https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from formats.oci.errors import DigestInvalid, ManifestInvalid
from formats.oci.names import Digest, digest_of, parse_digest
from registry_project import jsonbody

# --- Media types -----------------------------------------------------------------------------

MIME_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MIME_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MIME_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MIME_OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MIME_OCI_EMPTY = "application/vnd.oci.empty.v1+json"

MIME_DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MIME_DOCKER_MANIFEST_LIST_V2 = "application/vnd.docker.distribution.manifest.list.v2+json"
MIME_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MIME_DOCKER_LAYER_TAR_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MIME_DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
MIME_DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

MIME_OCTET_STREAM = "application/octet-stream"
MIME_JSON = "application/json"

#: Single-image manifests: they reference a config and layers (blobs).
IMAGE_MANIFEST_MEDIA_TYPES = frozenset({MIME_OCI_MANIFEST, MIME_DOCKER_MANIFEST_V2})
#: Indexes: they reference other manifests.
INDEX_MEDIA_TYPES = frozenset({MIME_OCI_INDEX, MIME_DOCKER_MANIFEST_LIST_V2})
#: Every manifest media type a PUT may carry and a GET may answer with.
MANIFEST_MEDIA_TYPES = IMAGE_MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES
#: Schema 1 is deprecated (distribution 2.8 refuses it by default); we refuse it too.
LEGACY_MANIFEST_MEDIA_TYPES = frozenset({MIME_DOCKER_MANIFEST_V1, MIME_DOCKER_MANIFEST_V1_SIGNED})

#: The canonical empty JSON blob (``{}``) that artifact manifests use as config or sole layer.
EMPTY_JSON = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
EMPTY_SIZE = 2

#: The spec says registries SHOULD accept manifests of at least 4 MiB.
MAX_MANIFEST_SIZE = 4 * 1024 * 1024

# RFC 6838 restricted-name, both halves; parameters are not allowed in descriptors.
_MEDIA_TYPE_RE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)


# --- Descriptors and manifests ---------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    """The platform of an index entry.

    Attributes:
        architecture: CPU architecture, e.g. ``amd64``.
        os: Operating system, e.g. ``linux``.
        variant: CPU variant, e.g. ``v8``, when given.
    """

    architecture: str
    os: str
    variant: str | None = None


@dataclass(frozen=True)
class Descriptor:
    """A reference to content by media type, digest and size.

    Attributes:
        media_type: Media type of the referenced content.
        digest: Digest of the referenced content.
        size: Size in bytes of the referenced content.
        artifact_type: The ``artifactType`` field, when given.
        annotations: The ``annotations`` field (empty when absent); treat as read-only.
        platform: The ``platform`` field of index entries, when given.
        urls: The ``urls`` field (foreign layers), when given.
    """

    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the descriptor as the JSON object the image-spec defines.

        Returns:
            A dict with ``mediaType``, ``digest`` and ``size``, plus the optional fields set.
        """
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            platform = {"architecture": self.platform.architecture, "os": self.platform.os}
            if self.platform.variant:
                platform["variant"] = self.platform.variant
            out["platform"] = platform
        if self.urls:
            out["urls"] = list(self.urls)
        return out


@dataclass(frozen=True)
class ParsedManifest:
    """A validated manifest or index and everything it references.

    Attributes:
        media_type: The manifest's media type (one of ``MANIFEST_MEDIA_TYPES``).
        digest: The sha256 digest of the raw bytes (what ``Docker-Content-Digest`` reports).
        size: Length of the raw bytes.
        config: The config descriptor of an image manifest; None for indexes.
        layers: The layer descriptors of an image manifest; empty for indexes.
        manifests: The child manifest descriptors of an index; empty for image manifests.
        subject: The ``subject`` descriptor (OCI types only), when given.
        artifact_type: Per the referrers rules: the explicit ``artifactType``, else the config
            media type for image manifests, else None for indexes.
        annotations: The manifest's ``annotations`` (empty when absent).
    """

    media_type: str
    digest: Digest
    size: int
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str | None
    annotations: Mapping[str, str]

    @property
    def is_index(self) -> bool:
        """True for OCI indexes and Docker manifest lists."""
        return self.media_type in INDEX_MEDIA_TYPES

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """The blobs that must exist before this manifest is accepted: config, then layers."""
        return ((self.config,) if self.config else ()) + self.layers

    def referrer_descriptor(self) -> Descriptor:
        """Return the descriptor that lists this manifest in its subject's referrers index.

        Returns:
            A descriptor carrying this manifest's media type, digest, size, artifact type and
            annotations, as the referrers API requires.
        """
        return Descriptor(
            media_type=self.media_type,
            digest=self.digest,
            size=self.size,
            artifact_type=self.artifact_type,
            annotations=dict(self.annotations),
        )


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity, which are not JSON and which other clients reject.
    raise ValueError(f"invalid JSON constant {name}")


def _normalize_content_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    value = content_type.split(";", 1)[0].strip().lower()
    # Generic types say nothing about the document; curl and some scripts send them.
    if value in ("", MIME_JSON, MIME_OCTET_STREAM):
        return None
    return value


def _string(obj: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ManifestInvalid(f"{where}{key} is required", field=f"{where}{key}")
        return None
    if not isinstance(value, str):
        raise ManifestInvalid(f"{where}{key} must be a string", field=f"{where}{key}")
    return value


def _required_string(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _string(obj, key, where, required=True)
    if value is None:  # unreachable: required=True raises; narrows the type
        raise ManifestInvalid(f"{where}{key} is required", field=f"{where}{key}")
    return value


def _annotations(obj: Mapping[str, Any], where: str) -> dict[str, str]:
    value = obj.get("annotations")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ManifestInvalid(
            f"{where}annotations must map strings to strings", field=f"{where}annotations"
        )
    return dict(value)


def _platform(obj: Mapping[str, Any], where: str) -> Platform | None:
    value = obj.get("platform")
    if value is None:
        return None
    where = f"{where}platform."
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where[:-1]} must be an object", field=where[:-1])
    return Platform(
        architecture=_required_string(value, "architecture", where),
        os=_required_string(value, "os", where),
        variant=_string(value, "variant", where, required=False),
    )


def _descriptor(value: object, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where.rstrip('.')} must be an object", field=where.rstrip("."))
    media_type = _required_string(value, "mediaType", where)
    if not _MEDIA_TYPE_RE.fullmatch(media_type):
        raise ManifestInvalid(f"{where}mediaType is not a media type", field=f"{where}mediaType")
    try:
        digest = parse_digest(_required_string(value, "digest", where))
    except DigestInvalid as exc:
        raise ManifestInvalid(f"{where}digest: {exc.message}", field=f"{where}digest") from exc
    size = value.get("size")
    # bool is an int subclass; JSON true must not pass as size 1.
    if isinstance(size, bool) or not isinstance(size, int):
        raise ManifestInvalid(f"{where}size must be an integer", field=f"{where}size")
    if size < 0:
        raise ManifestInvalid(f"{where}size must not be negative", field=f"{where}size")
    urls = value.get("urls")
    if urls is not None and (
        not isinstance(urls, list) or not all(isinstance(u, str) for u in urls)
    ):
        raise ManifestInvalid(f"{where}urls must be a list of strings", field=f"{where}urls")
    data = _string(value, "data", where, required=False)
    if data is not None:
        _check_embedded_data(data, digest=digest, size=size, where=where)
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        artifact_type=_string(value, "artifactType", where, required=False) or None,
        annotations=_annotations(value, where),
        platform=_platform(value, where),
        urls=tuple(urls or ()),
    )


def _check_embedded_data(data: str, *, digest: Digest, size: int, where: str) -> None:
    try:
        decoded = base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise ManifestInvalid(f"{where}data is not base64", field=f"{where}data") from exc
    if len(decoded) != size or digest_of(decoded, algorithm=digest.algorithm) != digest:
        raise ManifestInvalid(f"{where}data does not match digest and size", field=f"{where}data")


def _descriptor_list(body: Mapping[str, Any], key: str) -> tuple[Descriptor, ...]:
    value = body.get(key)
    if value is None:
        raise ManifestInvalid(f"{key} is required", field=key)
    if not isinstance(value, list):
        raise ManifestInvalid(f"{key} must be a list", field=key)
    return tuple(_descriptor(item, f"{key}[{i}].") for i, item in enumerate(value))


def _media_type(body: Mapping[str, Any], content_type: str | None) -> str:
    declared = _string(body, "mediaType", "", required=False)
    header = _normalize_content_type(content_type)
    for candidate in (declared, header):
        if candidate in LEGACY_MANIFEST_MEDIA_TYPES:
            raise ManifestInvalid(
                "Docker schema 1 manifests are not supported", mediaType=candidate
            )
        if candidate is not None and candidate not in MANIFEST_MEDIA_TYPES:
            raise ManifestInvalid(f"unsupported manifest media type {candidate!r}")
    if declared and header and declared != header:
        raise ManifestInvalid(
            "mediaType does not match Content-Type", mediaType=declared, contentType=header
        )
    media_type = declared or header
    if media_type is None:
        # The OCI types make mediaType optional (SHOULD); the document's shape tells them apart.
        if "manifests" in body:
            return MIME_OCI_INDEX
        if "config" in body:
            return MIME_OCI_MANIFEST
        raise ManifestInvalid("cannot determine the manifest media type")
    if media_type in (MIME_DOCKER_MANIFEST_V2, MIME_DOCKER_MANIFEST_LIST_V2) and not declared:
        raise ManifestInvalid("Docker manifests must declare mediaType", field="mediaType")
    return media_type


def parse_manifest(
    raw: bytes, *, content_type: str | None, max_size: int = MAX_MANIFEST_SIZE
) -> ParsedManifest:
    """Validate a pushed manifest or index and extract what it references.

    The media type comes from the body's ``mediaType``, falling back to ``content_type``; when
    both are given they must agree. Generic content types (``application/json``,
    ``application/octet-stream``) count as absent. Existence of the referenced blobs and
    manifests is not checked here.

    Args:
        raw: The request body exactly as received (its digest is the manifest's identity).
        content_type: The request's ``Content-Type`` header, if any.
        max_size: The largest body accepted.

    Returns:
        The parsed manifest.

    Raises:
        ManifestInvalid: If the body is too large, not a JSON object, has a schemaVersion other
            than 2, an unsupported or inconsistent media type, or malformed descriptors.
    """
    if len(raw) > max_size:
        raise ManifestInvalid(f"manifest larger than {max_size} bytes", size=len(raw))
    try:
        body = jsonbody.loads(raw, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ManifestInvalid("manifest must be a JSON object")
    version = body.get("schemaVersion")
    if isinstance(version, bool) or version != 2 or not isinstance(version, int):
        raise ManifestInvalid("schemaVersion must be 2", field="schemaVersion")
    media_type = _media_type(body, content_type)
    is_oci = media_type in (MIME_OCI_MANIFEST, MIME_OCI_INDEX)
    explicit_artifact_type = _string(body, "artifactType", "", required=False) or None

    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    artifact_type: str | None
    if media_type in IMAGE_MANIFEST_MEDIA_TYPES:
        # image-spec: reject documents that look like both kinds (media type confusion).
        if "manifests" in body:
            raise ManifestInvalid("an image manifest must not contain manifests", field="manifests")
        if body.get("config") is None:
            raise ManifestInvalid("config is required", field="config")
        config = _descriptor(body["config"], "config.")
        layers = _descriptor_list(body, "layers")
        artifact_type = explicit_artifact_type or config.media_type
    else:
        for key in ("config", "layers"):
            if key in body:
                raise ManifestInvalid(f"an index must not contain {key}", field=key)
        manifests = _descriptor_list(body, "manifests")
        artifact_type = explicit_artifact_type

    subject = None
    if is_oci and body.get("subject") is not None:
        subject = _descriptor(body["subject"], "subject.")
    return ParsedManifest(
        media_type=media_type,
        digest=digest_of(raw),
        size=len(raw),
        config=config,
        layers=layers,
        manifests=manifests,
        subject=subject,
        artifact_type=artifact_type if is_oci else None,
        annotations=_annotations(body, ""),
    )


def build_referrers_index(
    descriptors: Iterable[Descriptor], *, artifact_type_filter: str | None
) -> bytes:
    """Build the image index the referrers API answers with.

    When a filter is given (non-empty), the view must also send
    ``OCI-Filters-Applied: artifactType``.

    Args:
        descriptors: The referrers, usually ``ParsedManifest.referrer_descriptor()`` values, in
            the order to list them.
        artifact_type_filter: The ``artifactType`` query parameter; None or empty lists all.

    Returns:
        Compact JSON bytes of an OCI image index (``manifests`` may be empty).
    """
    manifests = [
        d.to_json()
        for d in descriptors
        if not artifact_type_filter or d.artifact_type == artifact_type_filter
    ]
    index = {"schemaVersion": 2, "mediaType": MIME_OCI_INDEX, "manifests": manifests}
    return json.dumps(index, separators=(",", ":"), ensure_ascii=False).encode()
