from formats.base import FormatConfig


class NpmConfig(FormatConfig):
    name = "formats.npm"
    label = "npm"
    format_name = "npm"
    protocol_urls = "formats.npm.protocol.urls"
