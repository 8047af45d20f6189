from formats.base import FormatConfig


class RawConfig(FormatConfig):
    """Any file by path, like Nexus raw and Artifactory generic repositories."""

    name = "formats.raw"
    label = "raw"
    verbose_name = "Raw files"
    format_name = "raw"
    protocol_urls = "formats.raw.protocol.urls"
