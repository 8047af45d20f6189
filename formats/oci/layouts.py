"""An OCI image layout (``skopeo copy ... oci:DIR:TAG``, ``umoci``, ``oras``) loaded into a
repository through the services a push uses: blobs verified against their digests, then each
manifest (children of an index first) with the tags its ``ref.name`` annotations give."""

import json
from pathlib import Path

from formats.oci.errors import ManifestInvalid
from formats.oci.manifests import MAX_MANIFEST_SIZE, MIME_OCI_INDEX, Descriptor, parse_manifest
from formats.oci.names import Digest, validate_name, validate_tag
from formats.oci.selectors import OciImage
from formats.oci.services import oci_blob_push, oci_manifest_put
from formats.plugin import Repository, User

LAYOUT_FILE = "oci-layout"
REF_NAME = "org.opencontainers.image.ref.name"


def is_oci_layout(path: Path) -> bool:
    return (path / LAYOUT_FILE).is_file() and (path / "index.json").is_file()


def oci_layout_import(*, repository: Repository, layout: Path, name: str, user: User) -> list[str]:
    """Push every manifest listed in ``layout``'s index.json to image ``name``; return the
    references pushed (``repo/name:tag``, or ``@digest`` for an untagged one).

    Raises:
        ManifestInvalid: not an image layout, or a manifest in it is invalid.
        InvalidName, TagInvalid: the image name or a ``ref.name`` is not valid.
        DigestMismatch: a file does not have the digest it is stored under.
        FileNotFoundError: a blob the manifests name is missing from the layout.
    """
    validate_name(f"{repository.name}/{name}")
    if not is_oci_layout(layout):
        raise ManifestInvalid(f"{layout} is not an OCI image layout (no {LAYOUT_FILE})")
    try:
        version = json.loads((layout / LAYOUT_FILE).read_text()).get("imageLayoutVersion")
    except (ValueError, AttributeError):
        version = None
    if version != "1.0.0":
        raise ManifestInvalid(f"unsupported image layout version {version!r}")
    index = parse_manifest(_read(layout, "index.json"), content_type=MIME_OCI_INDEX)
    image = OciImage(repository=repository, name=name)
    pushed = []
    for descriptor in index.manifests:
        tag = descriptor.annotations.get(REF_NAME)
        if tag is not None:
            validate_tag(tag)
        _push(image, layout, descriptor, tag=tag, user=user)
        pushed.append(
            f"{image.full_name}:{tag}" if tag else f"{image.full_name}@{descriptor.digest}"
        )
    return pushed


def _blob(layout: Path, digest: Digest) -> Path:
    return layout / "blobs" / digest.algorithm / digest.hex  # a parsed digest: no ``..``


def _read(layout: Path, name: str) -> bytes:
    with (layout / name).open("rb") as file:
        raw = file.read(MAX_MANIFEST_SIZE + 1)
    if len(raw) > MAX_MANIFEST_SIZE:
        raise ManifestInvalid(f"{name} is larger than {MAX_MANIFEST_SIZE} bytes")
    return raw


def _push(
    image: OciImage, layout: Path, descriptor: Descriptor, *, tag: str | None, user: User
) -> None:
    path = _blob(layout, descriptor.digest)
    raw = _read(path.parent, path.name)
    parsed = parse_manifest(raw, content_type=descriptor.media_type)
    for child in parsed.manifests:
        _push(image, layout, child, tag=None, user=user)
    for blob in parsed.blobs:
        with _blob(layout, blob.digest).open("rb") as stream:
            oci_blob_push(image=image, digest=blob.digest, stream=stream)
    oci_manifest_put(
        image=image,
        reference=tag or descriptor.digest,
        raw=raw,
        content_type=descriptor.media_type,
        user=user,
    )
