"""The error codes of the OCI distribution spec, and the one place other errors map onto them.

https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes
"""

from formats import errors as format_errors
from formats.oci import parsers
from registry_project.errors import PermissionDenied, RegistryError
from storage import errors as storage_errors


class BlobUnknown(RegistryError):
    """blob unknown to registry"""

    code = "BLOB_UNKNOWN"
    http_status = 404


class BlobUploadInvalid(RegistryError):
    """blob upload invalid"""

    code = "BLOB_UPLOAD_INVALID"
    http_status = 400


class BlobUploadOutOfOrder(RegistryError):
    """chunk does not continue the upload where it stands"""

    code = "BLOB_UPLOAD_INVALID"
    http_status = 416


class BlobUploadUnknown(RegistryError):
    """blob upload unknown to registry"""

    code = "BLOB_UPLOAD_UNKNOWN"
    http_status = 404


class DigestInvalid(RegistryError):
    """provided digest did not match uploaded content"""

    code = "DIGEST_INVALID"
    http_status = 400


class ManifestBlobUnknown(RegistryError):
    """manifest references a manifest or blob unknown to registry"""

    code = "MANIFEST_BLOB_UNKNOWN"
    http_status = 400


class ManifestInvalid(RegistryError):
    """manifest invalid"""

    code = "MANIFEST_INVALID"
    http_status = 400


class ManifestUnknown(RegistryError):
    """manifest unknown to registry"""

    code = "MANIFEST_UNKNOWN"
    http_status = 404


class NameInvalid(RegistryError):
    """invalid repository name"""

    code = "NAME_INVALID"
    http_status = 400


class NameUnknown(RegistryError):
    """repository name not known to registry"""

    code = "NAME_UNKNOWN"
    http_status = 404


class SizeInvalid(RegistryError):
    """provided length did not match content length"""

    code = "SIZE_INVALID"
    http_status = 400


class Denied(RegistryError):
    """requested access to the resource is denied"""

    code = "DENIED"
    http_status = 403


class Unsupported(RegistryError):
    """the operation is unsupported"""

    code = "UNSUPPORTED"
    http_status = 405


class RangeInvalid(RegistryError):
    """requested range not satisfiable"""

    code = "RANGE_INVALID"
    http_status = 416


class PaginationNumberInvalid(RegistryError):
    """invalid number of results requested"""

    # Not a spec code; CNCF Distribution answers a bad ``n`` with it.
    code = "PAGINATION_NUMBER_INVALID"
    http_status = 400


class TagInvalid(RegistryError):
    """manifest tag did not match URI"""

    # Not a spec code; CNCF Distribution uses it for a malformed tag.
    code = "TAG_INVALID"
    http_status = 400


class ScopeInvalid(RegistryError):
    """invalid scope"""

    # Not a spec code: the token endpoint's answer to a malformed ``scope`` parameter.
    code = "SCOPE_INVALID"
    http_status = 400


# Parser errors carry the spec code; this picks the HTTP side for each.
_PARSER_ERRORS: dict[type[parsers.OciProtocolError], type[RegistryError]] = {
    parsers.DigestInvalid: DigestInvalid,
    parsers.NameInvalid: NameInvalid,
    parsers.ManifestInvalid: ManifestInvalid,
    parsers.BlobUploadInvalid: BlobUploadInvalid,
    parsers.TagInvalid: TagInvalid,
    parsers.PaginationNumberInvalid: PaginationNumberInvalid,
    parsers.RangeNotSatisfiable: RangeInvalid,
    parsers.ScopeInvalid: ScopeInvalid,
}

# Errors of the shared layers whose code or status differs from what OCI clients expect.
_SHARED_ERRORS: dict[type[RegistryError], type[RegistryError]] = {
    storage_errors.DigestMismatch: DigestInvalid,
    storage_errors.BlobUnknown: BlobUnknown,
    storage_errors.UploadUnknown: BlobUploadUnknown,
    storage_errors.UploadOutOfOrder: BlobUploadOutOfOrder,
    storage_errors.RangeNotSatisfiable: RangeInvalid,
    format_errors.RepositoryUnknown: NameUnknown,
    # Deleting a tag that may not move is "tag deletion disabled", which the spec answers with
    # 400; a move gets the same answer, as at ECR (TAG_INVALID "cannot be overwritten").
    format_errors.TagImmutable: TagInvalid,
    PermissionDenied: Denied,
}


def oci_error(error: Exception) -> RegistryError:
    """Return ``error`` as the RegistryError an OCI client should see.

    Parser errors (``OciProtocolError``) and errors of the blob store and the shared model are
    translated to the spec's codes, keeping their message and detail. Errors that already speak
    OCI (SIZE_INVALID with 413, UNAUTHORIZED with its challenge) pass unchanged.
    """
    if isinstance(error, parsers.OciProtocolError):
        return _PARSER_ERRORS[type(error)](error.message, **error.detail)
    if not isinstance(error, RegistryError):
        raise TypeError(f"not a registry error: {error!r}")
    for source, target in _SHARED_ERRORS.items():
        if isinstance(error, source) and not isinstance(error, target):
            return target(error.message, **error.detail)
    return error
