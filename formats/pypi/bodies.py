"""The legacy upload API's form: the fields twine sends beside the file.

Specification: https://warehouse.pypa.io/api-reference/legacy.html#upload-api (a
``multipart/form-data`` POST with ``:action=file_upload``, ``name``, ``version``, ``filetype``
and ``md5_digest``/``sha256_digest``).

Pure Python: nothing here touches Django or the database.
"""

import re
from collections.abc import Mapping

from packaging.version import InvalidVersion, Version

from formats.pypi.errors import InvalidUpload
from formats.pypi.names import DistributionFile, is_valid_project_name, normalize_project_name

_HEX = {"sha256": re.compile(r"^[0-9a-f]{64}$"), "md5": re.compile(r"^[0-9a-f]{32}$")}


def upload_digests(*, fields: Mapping[str, str]) -> dict[str, str]:
    """Return the digests the form declares for the file, by hashlib name.

    Args:
        fields: The form fields other than ``content``.

    Raises:
        InvalidUpload: A digest is not hex of the right length, or none is given.
    """
    expected = {}
    for algorithm in ("sha256", "md5"):
        value = fields.get(f"{algorithm}_digest", "").strip().lower()
        if not value:
            continue
        if not _HEX[algorithm].match(value):
            raise InvalidUpload(f"Invalid value for {algorithm}_digest. Use a valid hex digest.")
        expected[algorithm] = value
    if not expected:
        raise InvalidUpload("Include at least one message digest.")
    return expected


def upload_form_check(*, fields: Mapping[str, str], dist: DistributionFile) -> None:
    """Refuse a form whose action, name, version or filetype disagrees with the filename.

    Args:
        fields: The form fields other than ``content``.
        dist: What the uploaded file's name says.

    Raises:
        InvalidUpload: The form is not a ``file_upload`` or contradicts the filename.
    """
    action = fields.get(":action", "")
    if action != "file_upload":
        raise InvalidUpload(f"Unsupported ':action' {action!r}; only 'file_upload' is supported.")
    name = fields.get("name", "").strip()
    if name and not (
        is_valid_project_name(name) and normalize_project_name(name) == dist.normalized_name
    ):
        raise InvalidUpload(
            f"Start filename for {name!r} with {dist.normalized_name.replace('-', '_')!r}: "
            f"the filename {dist.filename!r} is for another project."
        )
    version = fields.get("version", "").strip()
    if version and not _same_version(version, dist.version):
        raise InvalidUpload(
            f"Version in filename should be {version!r} not {dist.version!r}: "
            f"{dist.filename!r} is for another version."
        )
    filetype = fields.get("filetype", "")
    if filetype and filetype != dist.kind:
        raise InvalidUpload(f"Invalid value for filetype {filetype!r}: the file is a {dist.kind}.")


def _same_version(first: str, second: str) -> bool:
    try:
        return Version(first) == Version(second)
    except InvalidVersion:
        return False
