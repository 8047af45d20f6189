"""The shared model: ``repository`` (what access control grants on) and ``content`` (the rest)."""

from formats.models.content import (
    Asset,
    Document,
    Package,
    PublishedCoordinate,
    Tag,
    TagEvent,
    Version,
)
from formats.models.repository import FORMAT_CHOICES, REPOSITORY_NAME_PATTERN, Repository

__all__ = [
    "FORMAT_CHOICES",
    "REPOSITORY_NAME_PATTERN",
    "Asset",
    "Document",
    "Package",
    "PublishedCoordinate",
    "Repository",
    "Tag",
    "TagEvent",
    "Version",
]
