"""Template filters of the web UI."""

from django import template

from formats.quotas import format_size

register = template.Library()


@register.filter
def size(value: int | None) -> str:
    """Bytes in binary units (``1.5 KiB``), as the rest of the registry writes sizes."""
    return format_size(value or 0)
