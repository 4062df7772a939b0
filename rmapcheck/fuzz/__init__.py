"""Fuzzing: Hypothesis stateful testing of a spec at bounds too large to exhaust.

- ``fuzz(machine, examples=..., steps=..., seed=..., timeout=...)`` runs
  Hypothesis on a compiled ``Machine`` and returns a ``Result`` (engine
  ``"fuzz"``), with a shrunk, replayed counterexample when it finds one;
- ``state_machine_class(machine)`` is the ``RuleBasedStateMachine`` itself;
- ``testcase("anon_vma.spec", PROCS=6, VPAGES=32)`` is a ``unittest.TestCase``
  class for pytest.

The names are imported on first use, so that the command line does not load
Hypothesis unless it fuzzes.
"""

from __future__ import annotations

from typing import Any

DEFAULT_EXAMPLES = 200
DEFAULT_STEPS = 50

_EXPORTS = {
    "fuzz": "rmapcheck.fuzz.run",
    "summary": "rmapcheck.fuzz.run",
    "state_machine_class": "rmapcheck.fuzz.stateful",
    "FuzzFailure": "rmapcheck.fuzz.stateful",
    "testcase": "rmapcheck.fuzz.unittest_case",
}

__all__ = ["DEFAULT_EXAMPLES", "DEFAULT_STEPS", "FuzzFailure", "fuzz", "state_machine_class",
           "summary", "testcase"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rmapcheck.fuzz' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
