"""Small helpers shared by protocol tests."""

from django.http.response import HttpResponseBase

from formats.models import Asset, Repository
from formats.services import asset_put, package_ensure, version_create
from storage.services import blob_ingest_bytes


def body_of(response: HttpResponseBase) -> bytes:
    """Return a response's body, closing a streamed file without ending the test's DB session.

    ``response.close()`` would fire ``request_finished``, which closes the database
    connection of a test running inside a transaction.
    """
    if not response.streaming:
        return response.content
    body = b"".join(response.streaming_content)
    stream = getattr(response, "file_to_stream", None)
    if stream is not None:
        stream.close()
    return body


def stored_file(
    repository: Repository,
    path: str,
    content: bytes,
    *,
    media_type: str = "application/octet-stream",
    package: str = "tool",
) -> Asset:
    """Store ``content`` at ``path`` of ``repository``, the file of version 1.0 of ``package``."""
    owner = package_ensure(repository=repository, name=package, normalized_name=package)
    version = version_create(package=owner, version="1.0", metadata={}, user=None)
    return asset_put(
        repository=repository,
        path=path,
        blob=blob_ingest_bytes(content=content),
        media_type=media_type,
        user=None,
        version=version,
    )
