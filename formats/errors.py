"""Errors of the shared version model."""

from registry_project.errors import BadRequest, Conflict, InvalidName, NotFound, RegistryError


class RepositoryUnknown(NotFound):
    """repository not found"""

    code = "NAME_UNKNOWN"


class RepositoryInvalid(BadRequest):
    """invalid repository settings"""

    code = "REPOSITORY_INVALID"


class RepositoryInUse(Conflict):
    """the repository holds content: its format and kind cannot change"""

    code = "REPOSITORY_IN_USE"


class PackageUnknown(NotFound):
    """package not found"""


class VersionUnknown(NotFound):
    """version not found"""


class AssetUnknown(NotFound):
    """file not found"""


class VersionExists(Conflict):
    """this version already exists and published versions cannot be changed"""


class AssetExists(Conflict):
    """this file already exists and the repository does not allow redeploy"""


class CoordinateReused(Conflict):
    """this was published before with other bytes, and a published coordinate never changes"""

    code = "COORDINATE_REUSED"


class TagImmutable(Conflict):
    """tags in this repository are immutable"""

    code = "TAG_INVALID"


class InvalidPath(InvalidName):
    """invalid path"""


class ProxyReadOnly(RegistryError):
    """a proxy repository is read-only: it caches what its upstream serves"""

    code = "UNSUPPORTED"
    http_status = 405
    headers = {"Allow": "GET, HEAD"}


class GroupReadOnly(RegistryError):
    """a group repository without a deploy target is read-only: write to one of its members"""

    code = "UNSUPPORTED"
    http_status = 405
    headers = {"Allow": "GET, HEAD"}


class UpstreamUnavailable(RegistryError):
    """the upstream of this proxy is unavailable and nothing is cached for this request"""

    code = "UPSTREAM_UNAVAILABLE"
    http_status = 502


class UpstreamTimeout(UpstreamUnavailable):
    """the upstream of this proxy did not answer in time and nothing is cached for this request"""

    code = "UPSTREAM_TIMEOUT"
    http_status = 504


class UpstreamDigestMismatch(UpstreamUnavailable):
    """the upstream sent bytes that do not match the digest it declared; nothing was stored"""

    code = "UPSTREAM_DIGEST_MISMATCH"


class UpstreamMissing(NotFound):
    """the upstream of this proxy does not have it"""


class QuotaExceeded(RegistryError):
    """this upload would exceed the repository's quota; nothing was stored"""

    # DENIED is the OCI spec's code for a refused write; every other format shows the message.
    code = "DENIED"
    http_status = 413
