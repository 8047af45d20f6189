from pathlib import Path
from typing import TYPE_CHECKING

from formats.base import FormatConfig, Imported

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from formats.models import Asset, Repository


class RawConfig(FormatConfig):
    """Any file by path, like Nexus raw and Artifactory generic repositories."""

    name = "formats.raw"
    label = "raw"
    verbose_name = "Raw files"
    format_name = "raw"
    kinds = ("hosted", "proxy", "group")
    protocol_urls = "formats.raw.protocol.urls"

    def asset_delete(self, asset: "Asset", user: "User | AnonymousUser") -> None:
        """A raw file is just a file: delete it."""
        from formats.raw.services import raw_file_delete  # models load after apps

        raw_file_delete(repository=asset.repository, path=asset.path)

    def import_unit(
        self, repository: "Repository", *, root: Path, unit: Path, user: "User"
    ) -> Imported:
        """A file lands at its path below the imported folder (a file alone: at its name)."""
        from formats.raw.services import raw_file_put

        path = unit.name if unit == root else unit.relative_to(root).as_posix()
        with unit.open("rb") as stream:
            asset, _ = raw_file_put(
                repository=repository, path=path, stream=stream, content_type="", user=user
            )
        return Imported(label=path, assets=[asset])
