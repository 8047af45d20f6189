"""A progress bar for long management commands: drawn on a terminal, silent otherwise."""

from typing import Protocol

WIDTH = 30


class Stream(Protocol):
    def write(self, text: str) -> object: ...
    def flush(self) -> object: ...
    def isatty(self) -> bool: ...


class Progress:
    """Call with (done, total) as work goes; draws ``label [####   ] done/total`` on a TTY."""

    def __init__(self, stream: Stream, label: str) -> None:
        self.stream = stream
        self.label = label
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.stream.isatty() or total <= 0:
            return
        filled = WIDTH * done // total
        bar = "#" * filled + " " * (WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        if self.drawn:
            self.stream.write("\n")
            self.drawn = False
