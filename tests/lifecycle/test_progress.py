"""The progress bar of long commands: drawn on a terminal, nothing in a pipe or a log."""

import io

from formats.management.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_that_ends_its_line():
    terminal = Terminal()
    progress = Progress(terminal, "npm")
    progress(1, 4)
    progress(4, 4)
    progress.close()
    assert terminal.getvalue() == (
        "\rnpm [#######                       ] 1/4" + "\rnpm [" + "#" * 30 + "] 4/4\n"
    )


def test_a_pipe_gets_nothing():
    pipe = io.StringIO()
    progress = Progress(pipe, "npm")
    progress(1, 2)
    progress.close()
    assert pipe.getvalue() == ""
