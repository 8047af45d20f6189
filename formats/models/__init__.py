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
from formats.models.lifecycle import CleanupPolicy, CleanupRun
from formats.models.proxy import ProxyEntry
from formats.models.repository import (
    FORMAT_CHOICES,
    REPOSITORY_NAME_PATTERN,
    Repository,
    RepositoryMember,
)

__all__ = [
    "FORMAT_CHOICES",
    "REPOSITORY_NAME_PATTERN",
    "Asset",
    "CleanupPolicy",
    "CleanupRun",
    "Document",
    "Package",
    "ProxyEntry",
    "PublishedCoordinate",
    "Repository",
    "RepositoryMember",
    "Tag",
    "TagEvent",
    "Version",
]
