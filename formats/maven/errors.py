"""Errors of the Maven format, raised by its parsers and services alike.

``MavenConfig.render_error`` sends them as status + reason text (what mvn prints).
"""

from registry_project.errors import BadRequest, NotFound


class MavenPathInvalid(BadRequest):
    """path is not a Maven 2 repository path"""

    code = "PATH_INVALID"


class VersionPolicyViolation(BadRequest):
    """the repository's version policy does not allow this version"""

    code = "VERSION_POLICY"


class ChecksumMismatch(BadRequest):
    """checksum does not match the stored file"""

    code = "CHECKSUM_INVALID"


class PomInvalid(BadRequest):
    """POM is invalid"""

    code = "POM_INVALID"


class MetadataInvalid(BadRequest):
    """maven-metadata.xml is invalid"""

    code = "METADATA_INVALID"


class FileUnknown(NotFound):
    """file not found"""
