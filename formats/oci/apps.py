from formats.base import FormatConfig


class OciConfig(FormatConfig):
    """Container images and OCI artifacts (distribution-spec v1.1) under ``/v2/``."""

    name = "formats.oci"
    label = "oci"
    verbose_name = "OCI images"
    format_name = "oci"
    protocol_urls = "formats.oci.protocol.urls"
    root_urls = "formats.oci.protocol.root_urls"
