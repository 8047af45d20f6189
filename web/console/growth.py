"""Storage growth over time, from the creation dates of blobs (physical) and files (logical).

Bytes since removed (collected blobs, deleted files) are not counted: the curve is the growth
of what the store holds now. A server-rendered SVG line chart shows it without JavaScript.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate

from formats.models import Asset
from storage.models import Blob

WIDTH, HEIGHT, MARGIN = 640, 220, 8


@dataclass(frozen=True)
class Day:
    """The bytes held at the end of one day: every file's (logical), each blob's once."""

    day: date
    logical: int
    physical: int


def _daily(rows: QuerySet, size: str) -> dict[date, int]:
    totals = rows.annotate(day=TruncDate("created")).values("day").annotate(total=Sum(size))
    return {row["day"]: row["total"] or 0 for row in totals}


def growth_by_day() -> list[Day]:
    """Return the running totals for every day anything still held was added, oldest first."""
    logical = _daily(Asset.objects.all(), "blob__size")
    physical = _daily(Blob.objects.all(), "size")
    days, held_logical, held_physical = [], 0, 0
    for day in sorted(logical.keys() | physical.keys()):
        held_logical += logical.get(day, 0)
        held_physical += physical.get(day, 0)
        days.append(Day(day=day, logical=held_logical, physical=held_physical))
    return days


@dataclass(frozen=True)
class Chart:
    """Polyline points (``x,y ...``) of both series, in a WIDTH x HEIGHT view box."""

    logical: str
    physical: str
    top: int  # the bytes the top of the chart stands for
    first: date | None
    last: date | None
    width: int = WIDTH
    height: int = HEIGHT


def growth_chart(days: list[Day]) -> Chart:
    """Scale ``days`` to the chart: time along x, bytes up y (one point per day)."""
    top = max((day.logical for day in days), default=0) or 1
    span = max(len(days) - 1, 1)

    def points(values: list[int]) -> str:
        plotted = []
        for index, value in enumerate(values):
            x = MARGIN + (WIDTH - 2 * MARGIN) * index / span
            y = HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * value / top
            plotted.append(f"{x:.1f},{y:.1f}")
        return " ".join(plotted)

    return Chart(
        logical=points([day.logical for day in days]),
        physical=points([day.physical for day in days]),
        top=top,
        first=days[0].day if days else None,
        last=days[-1].day if days else None,
    )
