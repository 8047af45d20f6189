"""The OCI distribution spec's own error codes, for what the shared errors do not already say.

https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes

The envelope renders every ``RegistryError`` by its own ``code``: the blob store's
``BlobUnknown``, ``UploadUnknown`` and ``DigestMismatch``, the shared model's ``RepositoryUnknown``
(``NAME_UNKNOWN``) and ``InvalidName`` (``NAME_INVALID``), ``PermissionDenied`` (``DENIED``) and
``BodyTooLarge`` (``SIZE_INVALID``) already carry the spec's codes, so they have no class here.
Pure parsers raise these classes too: this module imports nothing but ``registry_project.errors``.
"""

from registry_project.errors import RegistryError


class BlobUploadInvalid(RegistryError):
    """blob upload invalid"""

    code = "BLOB_UPLOAD_INVALID"
    http_status = 400


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


class SizeInvalid(RegistryError):
    """provided length did not match content length"""

    code = "SIZE_INVALID"
    http_status = 400


class Unsupported(RegistryError):
    """the operation is unsupported"""

    code = "UNSUPPORTED"
    http_status = 405


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
