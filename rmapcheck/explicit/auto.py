"""The explicit engine's default: Python for a small state space, C past it."""

from __future__ import annotations

import time
from typing import Any

from rmapcheck.explicit.machine import Machine
from rmapcheck.trace import Result

# The Python engine answers a small state space before a C compiler could
# start; past this many states the native engine takes over from the start.
QUICK_STATES = 20_000


def auto_search(machine: Machine, kwargs: dict[str, Any], max_states: int | None) -> Result:
    """Breadth-first in Python up to ``QUICK_STATES``, then (when a C compiler
    is there) the whole search again in the native engine."""
    from rmapcheck.explicit import bfs, native

    if not native.available() or (max_states is not None and max_states <= QUICK_STATES):
        return bfs.search(machine, **kwargs)
    start = time.monotonic()
    quick = bfs.search(machine, **{**kwargs, "max_states": QUICK_STATES})
    # Fewer states: it finished, or another limit ended it; a violation is
    # the answer (the search stops at the first).
    if quick.stats.states < QUICK_STATES or quick.violations:
        return quick
    rest = dict(kwargs)
    if rest.get("timeout") is not None:
        rest["timeout"] = max(rest["timeout"] - (time.monotonic() - start), 0.001)
    return native.search(machine, **rest)
