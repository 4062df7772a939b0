"""Every bundled model and broken variant through every engine: breadth-first
search, BMC and the prover must agree.

At small bounds (two processes, two pages, two frames) and a depth of 3, the
explicit search is the reference. BMC must find exactly the violations it
finds, at the same depth, with the same steps and arguments (BMC picks the
counterexample breadth-first search would meet first) and every trace
replays on the machine. The prover must never prove what the search refutes,
and a violation it reports within the depth must be one the search finds at
that length.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rmapcheck.explicit import bfs
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.frontend.check import bundled_models
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.portfolio import bmc, prove
from rmapcheck.replay import replay_violation
from rmapcheck.trace import Holds, Proved, Result, Violated

BOUNDS = dict(PROCS=2, VPAGES=2, FRAMES=2)
DEPTH = 3
# The prover's share: enough for the quick models to settle, and a bound on
# the slow ones, which then answer unknown (never a proof).
PROOF_SECONDS = 20.0

MODELS = sorted(bundled_models(), key=lambda p: (p.parent.name, p.stem))


def instance(path: Path) -> Instance:
    model = load_model(str(path))
    names = {c.name for c in model.consts}
    return Instance(model, {k: v for k, v in BOUNDS.items() if k in names})


def explicit(inst: Instance) -> Result:
    # Without symmetry: its traces are the machine's own steps, in the order
    # BFS tries them, which is the order BMC's counterexample follows.
    return bfs.search(Machine(inst, symmetry=False),
                      SearchLimits(max_depth=DEPTH, stop_at_first=False))


def violations(result: Result) -> dict[str, Violated]:
    return dict(result.violations)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_bmc_finds_what_breadth_first_search_finds(path: Path) -> None:
    inst = instance(path)
    reference = violations(explicit(inst))
    result = bmc(inst, DEPTH)
    found = violations(result)
    assert sorted(found) == sorted(reference)
    machine = Machine(inst, symmetry=False)
    for name, v in found.items():
        replay_violation(machine, v.trace, name)
        assert [(s.action, s.args) for s in v.trace.steps] == \
            [(s.action, s.args) for s in reference[name].trace.steps], name
    for name, verdict in result.verdicts:
        if name not in found and name in {p.name for p in inst.model.invariants}:
            assert isinstance(verdict, Holds), (name, verdict)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_prover_never_contradicts_the_search(path: Path) -> None:
    inst = instance(path)
    reference = violations(explicit(inst))
    result = prove(inst, method="induction", time_limit=PROOF_SECONDS)
    for name, verdict in result.verdicts:
        if name in reference:
            assert not isinstance(verdict, Proved), (name, verdict)
        if isinstance(verdict, Violated) and len(verdict.trace) <= DEPTH:
            assert name in reference, (name, verdict)
            assert len(verdict.trace) == len(reference[name].trace), name
