from typing import TYPE_CHECKING

from formats.base import FormatConfig

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from formats.models import Asset


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
