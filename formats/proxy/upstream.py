"""The HTTP client of proxy repositories (stub until the core lands)."""

from formats.models import Repository


def upstream_probe_status(*, repository: Repository) -> str:
    return ""
