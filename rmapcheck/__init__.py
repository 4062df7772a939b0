"""rmapcheck: a model checker for the reverse-map invariants of OS memory management."""

# The one place the version is written: pyproject.toml reads it, and every
# report digest (docs/PROPERTIES.md, models/README.md) includes it.
__version__ = "0.1.0"
