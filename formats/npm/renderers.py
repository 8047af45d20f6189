"""Answers of the npm registry's side endpoints: ``npm search`` and ``npm audit``.

Implements the search response of
https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md#get-v1search and the empty audit
reports of https://github.com/npm/registry/blob/main/docs/audit (bulk advisories, npm 6 quick
audit). Pure: no Django.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from formats.npm.metadata import format_time

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_js_date(value: datetime) -> str:
    """Format an aware datetime as JavaScript's ``Date.toString()`` in UTC.

    The public registry puts this form in the search answer's ``time``; built by hand so the
    result never depends on the process locale.

    Raises:
        ValueError: ``value`` is naive.
    """
    if value.tzinfo is None:
        raise ValueError("npm times must be timezone-aware")
    utc = value.astimezone(UTC)
    return (
        f"{_WEEKDAYS[utc.weekday()]} {_MONTHS[utc.month - 1]} {utc.day:02d} {utc.year} "
        f"{utc:%H:%M:%S} GMT+0000 (Coordinated Universal Time)"
    )


def build_search_results(
    *, hits: Sequence[Mapping[str, Any]], total: int, now: datetime
) -> dict[str, Any]:
    """Build the ``GET /-/v1/search`` answer.

    Args:
        hits: One dict per package with ``name``, ``version``, ``date`` (aware datetime) and
            optionally ``description``, ``keywords``, ``links``, ``publisher``
            (``{"username", "email"}``), ``maintainers`` and ``score`` (0..1, default 1).
        total: Number of matches before paging.
        now: Time of the answer.

    Returns:
        ``{"objects": [...], "total": ..., "time": ...}`` as the public registry shapes it.
    """
    objects = []
    for hit in hits:
        score = float(hit.get("score", 1.0))
        package: dict[str, Any] = {
            "name": hit["name"],
            "version": hit["version"],
            "description": hit.get("description") or "",
            "keywords": list(hit.get("keywords") or []),
            "date": format_time(hit["date"]),
            "links": dict(hit.get("links") or {}),
            "publisher": dict(hit.get("publisher") or {}),
            "maintainers": [dict(m) for m in hit.get("maintainers") or []],
        }
        objects.append(
            {
                "package": package,
                "score": {
                    "final": score,
                    "detail": {"quality": score, "popularity": score, "maintenance": score},
                },
                "searchScore": score,
            }
        )
    return {"objects": objects, "total": total, "time": format_js_date(now)}


def empty_audit_bulk() -> dict[str, Any]:
    """Answer for ``POST /-/npm/v1/security/advisories/bulk``: no advisories for any package."""
    return {}


def empty_audit_quick() -> dict[str, Any]:
    """Answer for ``POST /-/npm/v1/security/audits/quick`` in the npm 6 report shape, all zero."""
    return {
        "actions": [],
        "advisories": {},
        "muted": [],
        "metadata": {
            "vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0},
            "dependencies": 0,
            "devDependencies": 0,
            "optionalDependencies": 0,
            "totalDependencies": 0,
        },
    }
