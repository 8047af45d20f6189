from formats.base import FormatConfig


class MavenConfig(FormatConfig):
    name = "formats.maven"
    label = "maven"
    format_name = "maven"
    protocol_urls = "formats.maven.protocol.urls"
