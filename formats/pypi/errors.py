"""Errors of the PyPI format, named after what PyPI (warehouse) answers in each case.

The legacy upload API reports failures in the HTTP reason phrase, which is what twine prints:
https://warehouse.pypa.io/api-reference/legacy.html#upload-api
"""

from registry_project.errors import BadRequest, NotFound, RegistryError

# twine --skip-existing recognises a duplicate by this prefix (pypa/twine#332), so keep it.
FILE_EXISTS_MESSAGE = (
    "File already exists ({filename!r}, with sha256 hash {sha256!r}). "
    "See https://pypi.org/help/#file-name-reuse for more information."
)

# What PyPI answers for the filename of a deleted file (https://pypi.org/help/#file-name-reuse);
# twine --skip-existing does not skip it, as on PyPI.
FILENAME_REUSED_MESSAGE = (
    "This filename has already been used, use a different version. "
    "See https://pypi.org/help/#file-name-reuse for more information."
)


class InvalidUpload(BadRequest):
    """Invalid upload."""

    code = "INVALID_UPLOAD"


class FileExists(BadRequest):
    """File already exists."""

    code = "FILE_EXISTS"


class FilenameReused(BadRequest):
    """This filename has already been used, use a different version."""

    code = "FILENAME_REUSED"


class ProjectUnknown(NotFound):
    """Not Found"""

    code = "PROJECT_UNKNOWN"


class NotAcceptable(RegistryError):
    """None of the media types in the Accept header is available."""

    code = "NOT_ACCEPTABLE"
    http_status = 406
    headers = {"Vary": "Accept"}
