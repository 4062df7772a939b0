"""The Z3 encoding agrees with the explicit machine, step by step.

Every action instance is run both ways on reachable states and on arbitrary
well-formed states (induction reasons about those too), in both integer
representations (bit vectors and Z3 Ints).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections import deque
from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from test_symbolic_support import counter, divmod_model, evens, mutex, vmlike

from rmapcheck import ir
from rmapcheck.errors import SpecError, SpecRuntimeError
from rmapcheck.explicit.machine import Machine
from rmapcheck.instance import Instance
from rmapcheck.symbolic.widths import int_bits
from rmapcheck.symbolic.z3_emit import ERROR_PROP, Encoder, Leaf


def machine_step(mach: Machine, state: tuple[Any, ...], action: ir.Action,
                 args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...] | None, tuple[str, ...]]:
    try:
        r = mach.step_full(state, action.name,
                           tuple((p.name, v) for p, v in zip(action.params, args, strict=True)))
    except SpecRuntimeError:
        return ERROR_PROP, None, ()
    if r is None:
        return "disabled", None, ()
    nxt, failed = r
    return "ok", nxt, tuple(dict.fromkeys(a.name for a in failed))


def compare_state(mach: Machine, enc: Encoder, state: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Every action instance and property agree on ``state``; returns successors."""
    model = enc.model
    out = []
    for p in model.properties:
        try:
            expected: bool | None = mach.holds(p.name, state)
        except SpecRuntimeError:
            expected = None
        assert enc.concrete_prop(p, state) == expected, (p.name, state)
    for a in model.actions:
        for args in itertools.product(*[enc.inst.values(p.sort) for p in a.params]):
            want = machine_step(mach, state, a, args)
            got = enc.concrete_step(state, a.name, args)
            assert (got[0], got[1], set(got[2])) == (want[0], want[1], set(want[2])), \
                (model.name, state, a.name, args, want, got)
            if want[0] == "ok":
                out.append(want[1])
    return out


def differential(model: ir.Model, limit: int, arith: str = "bv") -> int:
    inst = Instance(model)
    mach = Machine(inst, symmetry=False)
    enc = Encoder(inst, arith)  # type: ignore[arg-type]
    init = mach.initial_state()
    assert enc.initial_state() == init
    seen = {init}
    queue = deque([init])
    while queue and len(seen) < limit:
        for nxt in compare_state(mach, enc, queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return len(seen)


MODELS = {
    "counter": (counter, 10),
    "counter_unguarded": (lambda: counter(guarded=False), 10),
    "evens": (evens, 10),
    "mutex": (mutex, 25),
    "mutex_broken": (lambda: mutex(broken=True), 25),
    "vmlike": (vmlike, 12),
    "vmlike_noadd": (lambda: vmlike(variant="noadd"), 12),
    "vmlike_badassert": (lambda: vmlike(variant="badassert"), 12),
    "divmod": (divmod_model, 12),
}


@pytest.mark.parametrize("arith", ["bv", "int"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_reachable_states_agree(name: str, arith: str) -> None:
    make, limit = MODELS[name]
    assert differential(make(), limit, arith) >= 2


def _slot_strategy(leaf: Leaf) -> st.SearchStrategy[Any]:
    match leaf.kind:
        case "bool":
            return st.booleans()
        case "int":
            return st.integers(leaf.lo, leaf.hi)
        case "opt_int":
            return st.none() | st.integers(leaf.lo, leaf.hi)
        case "opt_bool":
            return st.none() | st.booleans()
        case "bv":
            return st.integers(0, (1 << leaf.elems) - 1)
        case "opt_bv":
            return st.none() | st.integers(0, (1 << leaf.elems) - 1)
    raise AssertionError(leaf)


def _states(enc: Encoder) -> st.SearchStrategy[tuple[Any, ...]]:
    def canonical(slots: list[Any]) -> tuple[Any, ...]:
        for presence, fields in enc.canon:
            if not slots[presence]:
                for i, d in fields:
                    slots[i] = d
        return tuple(slots)
    return st.tuples(*[_slot_strategy(leaf) for leaf in enc.leaves]).map(
        lambda t: canonical(list(t)))


_VM = vmlike()
_VM_INST = Instance(_VM)
_VM_ENC = Encoder(_VM_INST)
_VM_MACH = Machine(_VM_INST, symmetry=False)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(_states(_VM_ENC))
def test_arbitrary_states_agree(state: tuple[Any, ...]) -> None:
    # Induction starts from any well-formed state, reachable or not.
    compare_state(_VM_MACH, _VM_ENC, state)


def test_domain_matches_layout() -> None:
    enc = _VM_ENC
    xs = enc.state_consts("d")
    s = z3.SolverFor("QF_BV")
    s.add(enc.domain(xs))
    assert s.check() == z3.sat
    state = enc.decode_state(s.model(), xs)
    assert len(state) == _VM_INST.num_slots
    for presence, fields in enc.canon:
        if not state[presence]:
            assert all(state[i] == d for i, d in fields)


def test_int_width_covers_every_value() -> None:
    inst = Instance(divmod_model())
    bits = int_bits(inst)
    # -9 .. 9 ranges, a div with a (-3..3) divisor: a few bits, all of them fit
    assert 5 <= bits <= 8
    enc = Encoder(inst)
    assert enc.iw == bits


def test_init_without_initial_state_is_an_error() -> None:
    m = counter()
    bad = ir.Model(m.name, m.doc, m.consts, m.sorts, m.state, (ir.Require(ir.BoolLit(False)),),
                   m.actions, m.properties)
    with pytest.raises(SpecError, match="no initial state"):
        Encoder(Instance(bad)).initial_state()


def test_explicit_trust_rules_are_mirrored() -> None:
    # A let of a range sort is checked when bound (explicit machine's rule).
    m = counter(n=3)
    x = ir.Local("y", m.sorts[0])
    body = (ir.Let(x, ir.Binary("add", ir.StateRead("x", (), m.sorts[0]), ir.IntLit(5), ir.INT)),)
    bad = ir.Model(m.name, m.doc, m.consts, m.sorts, m.state, (),
                   (ir.Action("jump", (), body),), ())
    inst = Instance(bad)
    enc = Encoder(inst)
    assert enc.concrete_step(enc.initial_state(), "jump", ())[0] == ERROR_PROP
    mach = Machine(inst, symmetry=False)
    with pytest.raises(SpecRuntimeError):
        mach.step_full(mach.initial_state(), "jump", ())
