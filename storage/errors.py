"""Errors of the blob store; each protocol renders them in its own envelope."""

from registry_project.errors import RegistryError


class DigestMismatch(RegistryError):
    """provided digest did not match uploaded content"""

    code = "DIGEST_INVALID"
    http_status = 400


class BlobTooLarge(RegistryError):
    """content exceeds the configured size limit"""

    code = "SIZE_INVALID"
    http_status = 413


class BlobUnknown(RegistryError):
    """blob unknown to registry"""

    code = "BLOB_UNKNOWN"
    http_status = 404


class UploadUnknown(RegistryError):
    """upload unknown to registry"""

    code = "BLOB_UPLOAD_UNKNOWN"
    http_status = 404


class UploadOutOfOrder(RegistryError):
    """chunk does not continue the upload where it stands"""

    code = "BLOB_UPLOAD_INVALID"
    http_status = 416


class RangeNotSatisfiable(RegistryError):
    """requested range not satisfiable"""

    code = "RANGE_NOT_SATISFIABLE"
    http_status = 416


class InsufficientStorage(RegistryError):
    """the registry's storage is full; nothing was stored, try again later"""

    code = "INSUFFICIENT_STORAGE"
    http_status = 507


class BlobCollected(RegistryError):
    """the uploaded content was garbage-collected before it was used; send it again"""

    # Only a garbage collection with a grace period shorter than an upload can cause this; a
    # retry stores the bytes again.
    code = "UNAVAILABLE"
    http_status = 503
    headers = {"Retry-After": "1"}


class BlobCorrupt(RegistryError):
    """the stored bytes failed the integrity check; an administrator must restore them"""

    # fsck found the file missing or not matching its digest: serving it would hand out wrong
    # bytes. Not the client's fault, and a retry does not help until the bytes are stored again.
    code = "BLOB_CORRUPT"
    http_status = 500


class StoreUnavailable(RegistryError):
    """the registry's blob store is unavailable; nothing was changed, try again later"""

    # The object store refused or did not answer (down, unreachable, throttling): a retry can
    # succeed, and the request changed nothing the client can see.
    code = "UNAVAILABLE"
    http_status = 503
    headers = {"Retry-After": "5"}
