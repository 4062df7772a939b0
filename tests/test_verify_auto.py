"""``rmapcheck verify``'s default engine: a search that stops at its state
budget hands the properties it did not settle to the prover."""

from __future__ import annotations

import pytest

from rmapcheck import portfolio
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.trace import Holds, Proved, Unknown, Violated


def machine(name: str) -> Machine:
    # anon_vma at two pages: its proof takes 3 s there, 30 s at its defaults
    # (tests/test_models_defaults.py verifies it there).
    consts = {"VPAGES": 2} if name == "anon_vma.spec" else {}
    return Machine(Instance(load_model(name, consts), consts))


def test_a_search_cut_at_the_budget_is_finished_by_a_proof(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(portfolio, "AUTO_STATES", 5000)
    result = portfolio.verify(machine("anon_vma.spec"))
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
    monkeypatch.setattr(portfolio, "AUTO_STATES", 5000)
    result = portfolio.verify(machine("anonmm.spec"))
    assert result.engine == "explicit-bfs"
    assert isinstance(result.verdict("rmap_complete"), Violated)
    monkeypatch.setattr(portfolio, "AUTO_STATES", 100_000)
    result = portfolio.verify(machine("anon_vma.spec"), SearchLimits(max_states=5000))
    # the user's own limit is a bound they asked for: no proof
    assert result.engine == "explicit-bfs"
    assert isinstance(result.verdict("rmap_complete"), Holds)


def test_ctrl_c_in_the_proof_keeps_what_the_search_covered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rmapcheck.cli.outcome import exit_code
    from rmapcheck.symbolic import induction

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(portfolio, "AUTO_STATES", 5000)
    monkeypatch.setattr(induction, "prove", interrupted)
    result = portfolio.verify(machine("anon_vma.spec"))
    v = result.verdict("rmap_complete")
    assert isinstance(v, Unknown) and v.reason.startswith("interrupted while Z3 proved it")
    assert "5,000 states" in v.reason
    assert exit_code(result) == 130


def test_ctrl_c_wrapped_by_ctypes_is_an_interrupt(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # SIGINT during ctypes' argument conversion surfaces as ArgumentError.
    import ctypes
    import importlib

    # the module: the package's attribute of that name is its main() function
    cli = importlib.import_module("rmapcheck.cli.main")

    def wrapped(args: object) -> int:
        raise ctypes.ArgumentError("argument 3: KeyboardInterrupt: ")

    monkeypatch.setattr(cli, "_run", wrapped)
    assert cli.main(["verify", "anonmm.spec"]) == 130
    assert capsys.readouterr().err == "rmapcheck: interrupted\n"

    def other(args: object) -> int:
        raise ctypes.ArgumentError("argument 1: TypeError: wrong type")

    monkeypatch.setattr(cli, "_run", other)
    monkeypatch.delenv("RMAPCHECK_DEBUG", raising=False)
    assert cli.main(["verify", "anonmm.spec"]) == 255
