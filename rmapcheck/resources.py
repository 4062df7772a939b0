"""Where the grammar and the bundled models are, installed or in a checkout.

In the repository they live in the top-level ``spec/`` and ``models/`` folders
(so a newcomer finds them); an installed wheel carries them as the packages
``rmapcheck.grammar`` and ``rmapcheck.models``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _folder(package: str, checkout_name: str) -> Path:
    checkout = Path(__file__).resolve().parent.parent / checkout_name
    if checkout.is_dir():
        return checkout
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    raise FileNotFoundError(f"rmapcheck is installed without its {checkout_name}/ folder")


def grammar_path() -> Path:
    return _folder("rmapcheck.grammar", "spec") / "rmapcheck.lark"


def models_dir() -> Path:
    return _folder("rmapcheck.models", "models")
