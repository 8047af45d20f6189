"""Request parsers of the management API."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

from registry_project import jsonbody


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the nesting limit of ``jsonbody`` (deep bodies were a 500)."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
            return jsonbody.loads(text, parse_constant=strict_constant if self.strict else None)
        except ValueError as exc:  # DocumentTooDeep and UnicodeDecodeError are ValueErrors too
            raise ParseError(f"JSON parse error - {exc}") from exc
