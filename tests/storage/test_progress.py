"""The progress bar of long commands: drawn on a terminal, nothing in a pipe or a log."""

import io

from storage.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_called_with_done_and_total_it_redraws_and_ends_its_line():
    terminal = Terminal()
    progress = Progress("npm", stream=terminal, interval=0)
    progress(1, 4)
    progress(4, 4)
    progress.close()
    assert terminal.getvalue() == (
        "\rnpm [#######                       ] 1/4  25.0%"
        + ("\rnpm [" + "#" * 30 + "] 4/4 100.0%") * 2
        + "\n"
    )


def test_a_bar_never_drawn_writes_nothing_when_closed():
    terminal = Terminal()
    Progress("npm", stream=terminal).close()
    assert terminal.getvalue() == ""


def test_a_pipe_gets_nothing():
    pipe = io.StringIO()
    progress = Progress("npm", stream=pipe, interval=0)
    progress(1, 2)
    progress.close()
    assert pipe.getvalue() == ""
