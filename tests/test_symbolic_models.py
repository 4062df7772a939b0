"""The bundled models through the Z3 back end: anonmm's 3-step counterexample
(the same length as breadth-first search), anon_vma's proofs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmapcheck.explicit.bfs import search
from rmapcheck.explicit.machine import Machine
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.portfolio import bmc, prove
from rmapcheck.replay import replay_violation
from rmapcheck.trace import Proved, Violated

MODELS = Path(__file__).resolve().parent.parent / "models"


def load(name: str) -> Instance:
    path = MODELS / f"{name}.spec"
    if not path.exists():
        pytest.skip(f"{path} is not there")
    from rmapcheck.frontend import load_model

    return Instance(load_model(str(path)))


def test_anonmm_mremap_counterexample_matches_bfs() -> None:
    inst = load("anonmm")
    result = bmc(inst, 3, props=["rmap_complete"])
    v = result.verdict("rmap_complete")
    assert isinstance(v, Violated)
    assert [s.action for s in v.trace.steps] == ["mmap", "fault", "mremap"]
    replay_violation(Machine(inst, symmetry=False), v.trace, "rmap_complete")
    explicit = search(Machine(inst), SearchLimits(properties=["rmap_complete"]))
    w = explicit.verdict("rmap_complete")
    assert isinstance(w, Violated) and len(w.trace) == len(v.trace) == 3
    # The same counterexample, step for step: BMC lowers each choice to the
    # first one breadth-first search would try.
    plain = search(Machine(inst, symmetry=False), SearchLimits(properties=["rmap_complete"]))
    u = plain.verdict("rmap_complete")
    assert isinstance(u, Violated)
    assert [(s.action, s.args) for s in v.trace.steps] == \
        [(s.action, s.args) for s in u.trace.steps] == \
        [("mmap", (("p", 0), ("s", 0), ("n", 1), ("growsdown", False))),
         ("fault", (("p", 0), ("v", 0))), ("mremap", (("p", 0), ("a", 0), ("n", 1), ("t", 1)))]


def test_anon_vma_rmap_properties_proved() -> None:
    inst = load("anon_vma")
    result = prove(inst, props=["rmap_complete", "rmap_sound", "mapcount"], method="induction",
                   witness_depth=3)
    for name in ("rmap_complete", "rmap_sound", "mapcount"):
        v = result.verdict(name)
        assert isinstance(v, Proved), (name, v)
