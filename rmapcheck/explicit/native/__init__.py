"""Native explicit-state engine: the IR of an instance compiled to C.

``search(machine, ...)`` is ``rmapcheck.explicit.bfs.search`` run in C (same
semantics, limits, verdicts and traces; engine ``native-bfs``): the actions,
properties and the symmetry canonical form are generated as C per instance
(``codegen``), compiled once with the system C compiler and cached
(``loader``), and driven from Python (``driver``). ``available()`` says
whether a C compiler is there; a model the port cannot compile falls back to
the Python engine with the reason in the result's statistics.
"""

from rmapcheck.explicit.native.codegen import Unsupported
from rmapcheck.explicit.native.driver import ENGINE, available, fastest_search, prepare, search

__all__ = ["ENGINE", "Unsupported", "available", "fastest_search", "prepare", "search"]
