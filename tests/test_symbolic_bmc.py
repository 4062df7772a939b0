"""Bounded model checking: the same verdicts and shortest counterexample lengths
as the explicit engine's breadth-first search, traces that replay, and honest
unknowns."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_symbolic_support import counter, divmod_model, evens, mutex, vmlike

from rmapcheck.errors import SpecError, SpecRuntimeError
from rmapcheck.explicit.bfs import search
from rmapcheck.explicit.machine import Machine, TracedRuntimeError
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.portfolio import bmc
from rmapcheck.replay import replay_violation
from rmapcheck.trace import Holds, Unknown, Violated


def lengths(result) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {n: len(v.trace) for n, v in result.verdicts if isinstance(v, Violated)}


@pytest.mark.parametrize("make", [
    counter, evens, mutex, lambda: mutex(broken=True), vmlike,
    lambda: vmlike(variant="noadd"), lambda: vmlike(variant="badassert"),
], ids=["counter", "evens", "mutex", "mutex_broken", "vmlike", "vmlike_noadd",
        "vmlike_badassert"])
def test_same_shortest_counterexamples_as_bfs(make) -> None:  # type: ignore[no-untyped-def]
    model = make()
    inst = Instance(model)
    explicit = search(Machine(inst), SearchLimits(stop_at_first=False))
    result = bmc(inst, 5)
    assert lengths(result) == lengths(explicit)
    machine = Machine(inst, symmetry=False)
    for name, v in result.violations:
        replay_violation(machine, v.trace, name)
    # every property the explicit search does not refute holds to the bound
    for name, v in result.verdicts:
        if name not in lengths(explicit):
            assert isinstance(v, Holds), (name, v)


def test_counter_verdicts_pinned() -> None:
    result = bmc(Instance(counter()), 6)
    small = result.verdict("small")
    assert isinstance(small, Violated) and len(small.trace) == 3
    assert [s.action for s in small.trace.steps] == ["inc", "inc", "inc"]
    assert small.trace.last == (3,)
    bounded = result.verdict("bounded")
    assert isinstance(bounded, Holds) and bounded.bound.depth == 6
    witness = result.verdict("can_two")
    assert isinstance(witness, Holds) and witness.bound.depth == 2


def test_assertion_counterexample_and_detail() -> None:
    result = bmc(Instance(vmlike(variant="badassert")), 3)
    v = result.verdict("single_sharer")
    assert isinstance(v, Violated) and len(v.trace) == 2
    assert [s.action for s in v.trace.steps] == ["fault", "share"]
    assert "single_sharer" in v.detail and "share" in v.detail


def test_failing_instance_named() -> None:
    v = bmc(Instance(mutex(broken=True)), 4).verdict("mutex")
    assert isinstance(v, Violated)
    assert "for p = " in v.detail and "q = " in v.detail


def test_runtime_error_is_an_error_with_its_trace() -> None:
    with pytest.raises(TracedRuntimeError) as info:
        bmc(Instance(counter(guarded=False)), 8, props=["bounded"])
    err = info.value
    assert err.action == "inc" and len(err.trace) == 5
    assert "outside sort" in err.message


def test_division_by_zero_and_floor_semantics() -> None:
    # floor division and modulo as Python's // and % (Z3's are Euclidean)
    result = bmc(Instance(divmod_model(crash=False)), 3)
    assert lengths(result) == {"q_not_m2": 2, "r_not_m1": 2}
    for name in ("q_not_m2", "r_not_m1"):
        a, b, q, r = result.verdict(name).trace.last  # type: ignore[union-attr]
        assert (q, r) == (a // b, a % b)
    with pytest.raises(SpecRuntimeError) as info:
        bmc(Instance(divmod_model()), 3, props=["floor"])
    assert "division by zero" in info.value.message


def test_property_evaluation_error_is_reported() -> None:
    # reading a field of an absent page at the initial state
    from test_symbolic_support import field

    from rmapcheck import ir

    m = vmlike()
    frame = next(s for s in m.sorts if getattr(s, "name", "") == "Frame")
    f = ir.Local("f", frame)
    page = next(v for v in m.state if v.name == "page")
    bad = ir.Property("bad", "sometimes", ir.Quant("exists", (f,), ir.Binary(
        "ge", field(ir.StateRead("page", (f,), page.value), "mapcount"), ir.IntLit(2), ir.BOOL),
        ir.BOOL))
    m2 = ir.Model(m.name, m.doc, m.consts, m.sorts, m.state, m.init, m.actions, (bad,))
    with pytest.raises(TracedRuntimeError) as info:
        bmc(Instance(m2), 2)
    assert "field" in info.value.message and info.value.action is None


def test_tiny_timeout_is_unknown_never_holds() -> None:
    result = bmc(Instance(vmlike()), 8, solver_timeout=0.001)
    unknown = [n for n, v in result.verdicts if isinstance(v, Unknown)]
    assert unknown, result.verdicts
    for name in unknown:
        assert "unknown" in result.verdict(name).reason  # type: ignore[union-attr]


def test_time_limit_of_the_whole_search_is_unknown_never_holds() -> None:
    result = bmc(Instance(vmlike()), 8, time_limit=1e-9)
    for name, verdict in result.verdicts:
        assert isinstance(verdict, Unknown), (name, verdict)
        assert "time limit" in verdict.reason


def test_unknown_property_name_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="no property"):
        bmc(Instance(counter()), 2, props=["nope"])


def test_ctrl_c_in_a_query_is_an_interrupt_not_an_unknown() -> None:
    # Z3 takes SIGINT itself and answers unknown ("interrupted from
    # keyboard"); Python never sees it. The Checker turns it back into the
    # user's Ctrl-C, so that no proof goes on as if the solver had given up.
    import signal
    import threading

    import z3

    from rmapcheck.symbolic.bmc import Checker

    n = 11  # the pigeonhole principle: seconds for a SAT solver
    p = [[z3.Bool(f"hole{i}_{j}") for j in range(n - 1)] for i in range(n)]
    checker = Checker()
    for i in range(n):
        checker.add(z3.Or(p[i]))
    for j in range(n - 1):
        for i in range(n):
            for k in range(i + 1, n):
                checker.add(z3.Or(z3.Not(p[i][j]), z3.Not(p[k][j])))
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            checker.check(z3.BoolVal(True))
    finally:
        timer.cancel()
