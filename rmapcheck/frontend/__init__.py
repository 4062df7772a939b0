"""The front end: spec text → AST (``parser``) → checked, typed IR (``check``)."""

from rmapcheck.frontend.check import bundled_models, load_model, resolve_spec_path
from rmapcheck.frontend.parser import parse_text

__all__ = ["bundled_models", "load_model", "parse_text", "resolve_spec_path"]
