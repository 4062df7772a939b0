"""rmapcheck: a model checker for the reverse-map invariants of OS memory management."""

# The one place the version is written: pyproject.toml reads it, and every
# report digest (docs/PROPERTIES.md, models/README.md) includes it.
__version__ = "0.1.0"

import sys as _sys

# The front end, the lowering, the emitters and pickling recurse a few frames
# per level of an expression; the checker bounds that depth
# (frontend.check.MAX_EXPR_DEPTH), and this limit is what lets that bound be
# useful, in every process that imports the package (workers included).
_sys.setrecursionlimit(max(_sys.getrecursionlimit(), 8000))
