"""``rmapcheck verify``'s default engine: a search that stops at its state
budget hands the properties it did not settle to the prover."""

from __future__ import annotations

import pytest

from rmapcheck import verify as auto
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.trace import Holds, Proved, Violated


def machine(name: str) -> Machine:
    return Machine(Instance(load_model(name)))


def test_a_search_cut_at_the_budget_is_finished_by_a_proof(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto, "AUTO_STATES", 5000)
    result = auto.verify(machine("anon_vma.spec"), {})
    assert result.engine == "explicit-bfs + prove"
    assert result.stats.states == 5000
    kinds = {p.name: p.kind for p in load_model("anon_vma.spec").properties}
    for name, verdict in result.verdicts:
        if kinds.get(name) == "sometimes":
            assert isinstance(verdict, Holds), name  # witnessed by the search
        else:
            assert isinstance(verdict, Proved), (name, verdict)
    assert "the search stopped at 5,000 states" in dict(result.stats.extra)["then proved"]


def test_a_violation_or_a_finished_search_is_the_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto, "AUTO_STATES", 5000)
    result = auto.verify(machine("anonmm.spec"), {})
    assert result.engine == "explicit-bfs"
    assert isinstance(result.verdict("rmap_complete"), Violated)
    monkeypatch.setattr(auto, "AUTO_STATES", 100_000)
    result = auto.verify(machine("anon_vma.spec"), {"max_states": 5000})
    # the user's own limit is a bound they asked for: no proof
    assert result.engine == "explicit-bfs"
    assert isinstance(result.verdict("rmap_complete"), Holds)
