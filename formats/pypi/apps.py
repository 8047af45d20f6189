from formats.base import FormatConfig


class PypiConfig(FormatConfig):
    name = "formats.pypi"
    label = "pypi"
    format_name = "pypi"
    protocol_urls = "formats.pypi.protocol.urls"
