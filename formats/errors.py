"""Errors of the shared version model."""

from registry_project.errors import BadRequest, Conflict, InvalidName, NotFound


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
