"""What a long command is doing now, for its progress lines.

The engines say what they are at — a search its states and depth, the prover
its method, property and action, BMC its depth — with ``note``; whoever shows
progress (the command line, ``rmapcheck.cli.progress``) installs a ``Board``
with ``watch`` and reads it from its own thread. With no board installed a
note costs one global lookup, so library users and tests pay nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import attrs


@attrs.frozen
class SearchFigures:
    """An explicit search's progress: states stored, the depth reached,
    states per second, states waiting to be expanded and resident memory."""

    states: int
    depth: int
    rate: float
    queue: int | None
    rss: int | None


class Board:
    """The latest note of each kind, and when the work began."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.phase = ""
        self.detail: dict[str, str] = {}
        self.search: SearchFigures | None = None

    def set_phase(self, phase: str, detail: dict[str, str]) -> None:
        with self.lock:
            if phase != self.phase:
                self.search = None
            self.phase = phase
            self.detail = detail

    def set_search(self, figures: SearchFigures) -> None:
        with self.lock:
            self.search = figures

    def snapshot(self) -> tuple[str, dict[str, str], SearchFigures | None, float]:
        with self.lock:
            return self.phase, dict(self.detail), self.search, time.monotonic() - self.start


# The installed board, in a one-element list so that watch() can swap it
# without a global statement.
_installed: list[Board | None] = [None]


@contextlib.contextmanager
def watch(board: Board) -> Iterator[Board]:
    """Installs ``board`` for the duration of the block."""
    previous, _installed[0] = _installed[0], board
    try:
        yield board
    finally:
        _installed[0] = previous


def note(phase: str, **detail: object) -> None:
    """The engine is now at ``phase`` (``search``, ``induction``, ``bmc`` ...),
    with ``detail`` (property, action, depth ...) in the words a user reads."""
    board = _installed[0]
    if board is not None:
        board.set_phase(phase, {k: str(v) for k, v in detail.items() if v is not None})


def note_search(states: int, depth: int, rate: float, queue: int | None,
                rss: int | None) -> None:
    board = _installed[0]
    if board is not None:
        board.set_search(SearchFigures(states, depth, rate, queue, rss))
