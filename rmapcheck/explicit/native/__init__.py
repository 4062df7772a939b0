"""Native explicit-state engine: the core of an instance compiled to C.

``search(machine, limits)`` is ``rmapcheck.explicit.bfs.search`` run in C (same
semantics, limits, verdicts and traces; engine ``native-bfs``): the actions
and properties are printed from the core as C (``c_emit``), the symmetry
canonical form and the packing are generated for the instance's layout
(``c_symmetry``, ``c_layout``), compiled once with the system C compiler and cached
(``loader``), and driven from Python (``driver``). ``available()`` says
whether a C compiler is there; a model the port cannot compile falls back to
the Python engine with the reason in the result's statistics.
"""

from rmapcheck.explicit.native.c_layout import Unsupported
from rmapcheck.explicit.native.driver import ENGINE, available, prepare, search

__all__ = ["ENGINE", "Unsupported", "available", "prepare", "search"]
