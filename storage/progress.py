"""A progress bar for long management commands: redrawn in place on a TTY, silent elsewhere."""

import sys
import time
from typing import TextIO

WIDTH = 30


class Progress:
    """Count work done out of ``total`` and redraw one line at most every ``interval`` seconds.

    Either ``advance`` it as work is done (fsck, import), or call it with (done, total) where
    the work reports both (cleanup, gc). Off a terminal (cron, CI logs) it draws nothing; the
    command's summary line is the record.
    """

    def __init__(
        self, label: str, total: int = 0, *, stream: TextIO | None = None, interval: float = 0.2
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.interval = interval
        self._drawn = 0.0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._update()

    def advance(self, count: int = 1) -> None:
        self.done += count
        self._update()

    def _update(self) -> None:
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= self.interval or self.done >= self.total):
            self._drawn = now
            self._draw()

    def _draw(self) -> None:
        share = min(self.done / self.total, 1.0) if self.total else 1.0
        bar = "#" * int(share * WIDTH)
        self.stream.write(f"\r{self.label} [{bar:<{WIDTH}}] {self.done}/{self.total} {share:6.1%}")
        self.stream.flush()

    def close(self) -> None:
        """Draw the last state and end the line, if the bar was drawn at all."""
        if self.enabled and self._drawn:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
