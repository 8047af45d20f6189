"""Writes of the raw format: a file stored at a path."""

import mimetypes
from typing import BinaryIO

from formats.plugin import (
    Asset,
    Repository,
    User,
    asset_delete,
    asset_find,
    asset_get,
    asset_put,
    blob_ingest,
    validate_path,
)


def raw_file_put(
    *,
    repository: Repository,
    path: str,
    stream: BinaryIO,
    content_type: str,
    user: User,
    expected_sha256: str = "",
) -> tuple[Asset, bool]:
    """Store the bytes of ``stream`` at ``path``; return the asset and whether it is new.

    The bytes are hashed and stored before the path points at them, so a failed or refused
    upload changes nothing visible.
    """
    validate_path(path)
    existed = asset_find(repository=repository, path=path) is not None
    blob = blob_ingest(
        stream=stream, expected={"sha256": expected_sha256} if expected_sha256 else None
    )
    guessed = mimetypes.guess_type(path)[0]
    media_type = guessed or content_type or "application/octet-stream"
    asset = asset_put(repository=repository, path=path, blob=blob, media_type=media_type, user=user)
    return asset, not existed


def raw_file_delete(*, repository: Repository, path: str) -> None:
    """Delete the file at ``path`` (its bytes go at the next garbage collection)."""
    asset_delete(asset=asset_get(repository=repository, path=validate_path(path)))
