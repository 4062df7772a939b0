"""What an explicit-state search is asked to do and where it must stop.

One value, ``SearchLimits``, travels from the planner (``rmapcheck.portfolio``)
to every explicit engine (``bfs``, ``dfs``, ``parallel``, ``native``) and into
their shared ``Run``. It lives down here, beside ``trace``, rather than in the
planner, because the engines take it and sit below the planner.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import attrs

# (states, depth, states per second, resident bytes), called about twice a second.
Progress = Callable[[int, int, float, int], None]


def _not_negative(_: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    # A negative limit is a caller's mistake, not a search that stops at once.
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value}")


def _names(value: Collection[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen
class SearchLimits:
    """Limits and options of one explicit-state search.

    ``None`` means no limit. ``max_memory`` is in bytes, ``timeout`` in
    seconds. ``workers``: processes (Python) or threads (native) for the
    search; None lets the engine choose. ``properties``: the names to check
    (every property and assertion when None). ``partial_order``: the ample
    sets of ``explicit.partial_order`` (the Python breadth-first search
    only). ``progress`` is called with
    the search's progress; it takes no part in comparing two limits."""

    max_states: int | None = attrs.field(default=None, validator=_not_negative)
    max_depth: int | None = attrs.field(default=None, validator=_not_negative)
    timeout: float | None = attrs.field(default=None, validator=_not_negative)
    max_memory: int | None = attrs.field(default=None, validator=_not_negative)
    workers: int | None = None
    symmetry: bool = True
    partial_order: bool = False
    stop_at_first: bool = True
    properties: tuple[str, ...] | None = attrs.field(default=None, converter=_names)
    progress: Progress | None = attrs.field(default=None, eq=False)

    @property
    def limited(self) -> bool:
        """Whether the caller bounded the search (states, depth, time or memory)."""
        return any(v is not None for v in (self.max_states, self.max_depth, self.timeout,
                                           self.max_memory))


# The engines' default: no limit, symmetry on, stop at the first violation.
DEFAULT_LIMITS = SearchLimits()
