"""Progress lines on standard error while a command runs.

A thread reads the board the engines note on (``rmapcheck.activity``) and
writes what it says: on a terminal one line rewritten in place twice a
second; otherwise (a pipe, a CI log) a full line every few seconds, so that
a long run is never silent. Nothing is written for a run shorter than the
first interval. ``--quiet`` turns it off; ``RMAPCHECK_PROGRESS_SECONDS``
sets the interval.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from rmapcheck import activity

TERMINAL_SECONDS = 0.5
PIPE_SECONDS = 5.0


def describe(phase: str, detail: dict[str, str], search: activity.SearchFigures | None,
             elapsed: float) -> str:
    """One progress line, in the words of the rest of the output."""
    parts: list[str] = []
    if search is not None:
        parts.append(f"{search.states:,} states")
        parts.append(f"depth {search.depth}")
        parts.append(f"{search.rate:,.0f} states/s")
        if search.queue is not None:
            parts.append(f"queue {search.queue:,}")
        if search.rss:
            parts.append(f"{search.rss / 2**20:,.0f} MiB")
    parts += [value if key == "method" else f"{key} {value}" for key, value in detail.items()]
    parts.append(f"{elapsed:,.0f} s")
    return f"rmapcheck: {phase or 'search'}: " + ", ".join(parts)


def _interval(terminal: bool) -> float:
    # RMAPCHECK_PROGRESS_SECONDS: a CI log that wants a line more or less often.
    given = os.environ.get("RMAPCHECK_PROGRESS_SECONDS")
    if given:
        with contextlib.suppress(ValueError):
            if float(given) > 0:
                return float(given)
    return TERMINAL_SECONDS if terminal else PIPE_SECONDS


@contextlib.contextmanager
def progress_lines(enabled: bool, stream: TextIO | None = None) -> Iterator[None]:
    """Shows progress on ``stream`` (standard error) while the block runs."""
    if not enabled:
        yield
        return
    out = stream if stream is not None else sys.stderr
    terminal = out.isatty()
    interval = _interval(terminal)
    board = activity.Board()
    stop = threading.Event()
    shown = [False]

    def show() -> None:
        while not stop.wait(interval):
            phase, detail, search, elapsed = board.snapshot()
            if not phase and search is None:
                continue
            line = describe(phase, detail, search, elapsed)
            try:
                if terminal:
                    width = 119
                    out.write("\r" + line[:width].ljust(width))
                else:
                    out.write(line + "\n")
                out.flush()
            except (OSError, ValueError):
                return  # standard error went away: the run goes on without it
            shown[0] = True

    thread = threading.Thread(target=show, name="rmapcheck-progress", daemon=True)
    with activity.watch(board):
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            if terminal and shown[0]:
                with contextlib.suppress(OSError, ValueError):
                    out.write("\r" + " " * 119 + "\r")
                    out.flush()
