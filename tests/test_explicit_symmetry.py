"""Symmetry reduction: the canonical form is a true canonical form (checked
against a brute-force orbit computation written independently of the engine
on decoded states), and the static and run-time soundness checks."""

from __future__ import annotations

import itertools
from typing import Any

import examples
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmapcheck import ir
from rmapcheck.core.slots import state_slot_guards
from rmapcheck.explicit import bfs, dfs
from rmapcheck.explicit.machine import Machine
from rmapcheck.instance import Instance
from rmapcheck.ir import (
    BOOL,
    INT,
    Action,
    Assign,
    Binary,
    BoolLit,
    For,
    If,
    IntLit,
    Local,
    LValue,
    Model,
    Quant,
    RangeSort,
    Require,
    StateRead,
    StateVar,
    Unary,
)
from rmapcheck.limits import SearchLimits
from rmapcheck.replay import replay

State = tuple[Any, ...]


# ---------------------------------------------------------------- brute force


def _permute_value(sort: ir.Sort, value: Any, perms: dict[ir.Sort, dict[Any, Any]]) -> Any:
    """A decoded value (``Instance.decode``) with symmetric ids renamed."""
    match sort:
        case ir.RangeSort() if sort in perms:
            return perms[sort][value]
        case ir.OptionSort(inner=inner):
            return None if value is None else _permute_value(inner, value, perms)
        case ir.RecordSort(fields=fields):
            return {name: _permute_value(s, value[name], perms) for name, s in fields}
        case ir.SetSort(elem=elem):
            return frozenset(_permute_value(elem, x, perms) for x in value)
        case _:
            return value


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, frozenset):
        return tuple(sorted(map(repr, value)))
    return repr(value)


def _permute_decoded(inst: Instance, decoded: dict[str, Any],
                     perms: dict[ir.Sort, dict[Any, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in decoded.items():
        var = inst.layout[name].var
        if not var.keys:
            out[name] = _permute_value(var.value, value, perms)
            continue
        out[name] = {tuple(_permute_value(k, x, perms) for k, x in zip(var.keys, key, strict=True)):
                     _permute_value(var.value, v, perms) for key, v in value.items()}
    return out


def _all_perms(inst: Instance, sorts: list[ir.RangeSort]) -> list[dict[ir.Sort, dict[Any, Any]]]:
    choices = [[dict(zip(inst.values(s), p, strict=True))
                for p in itertools.permutations(inst.values(s))]
               for s in sorts]
    return [dict(zip(sorts, combo, strict=True)) for combo in itertools.product(*choices)]


def orbit_id(inst: Instance, sorts: list[ir.RangeSort], state: State) -> str:
    decoded = inst.decode(state)
    return min(repr(_freeze(_permute_decoded(inst, decoded, perms)))
               for perms in _all_perms(inst, sorts))


def reachable(m: Machine) -> set[State]:
    todo = [m.initial_state()]
    seen = set(todo)
    while todo:
        s = todo.pop()
        for t in m.successors(s):
            if t.state not in seen:
                seen.add(t.state)
                todo.append(t.state)
    return seen


CASES = [
    ("toggles", {"PROCS": 3}),
    ("mutex", {"PROCS": 2}),
    ("mutex", {"PROCS": 3}),
    ("mutex", {"PROCS": 4}),
    ("slots", {"PROCS": 3}),
    ("frames", {"PROCS": 2, "FRAMES": 3}),
    ("frames", {"PROCS": 3, "FRAMES": 3}),
]


@pytest.mark.parametrize("name,consts", CASES)
def test_canonical_form_is_exact_on_reachable_states(name: str, consts: dict[str, int]) -> None:
    m = Machine(Instance(getattr(examples, name)(), consts))
    inst = m.instance
    sorts = m.symmetric_sorts
    assert sorts, "the example has symmetric sorts"
    states = reachable(m)
    orbit_of = {s: orbit_id(inst, sorts, s) for s in states}
    key_of = {s: m.key(s) for s in states}
    # Same key exactly when in the same orbit.
    by_key: dict[int, str] = {}
    by_orbit: dict[str, int] = {}
    for s in states:
        assert by_key.setdefault(key_of[s], orbit_of[s]) == orbit_of[s]
        assert by_orbit.setdefault(orbit_of[s], key_of[s]) == key_of[s]
    # The representative is in the orbit, and its own representative.
    for s in list(states)[:200]:
        rep = m.canonical(s)
        assert orbit_id(inst, sorts, rep) == orbit_of[s]
        assert m.key(rep) == key_of[s] and m.state_of(key_of[s]) == rep
    # The reduced search visits one state per orbit.
    orbits = len(set(orbit_of.values()))
    for engine in (bfs.search, dfs.search):
        assert engine(m, SearchLimits(symmetry=True, stop_at_first=False)).stats.states == orbits


@pytest.mark.parametrize("name,consts", CASES)
def test_apply_agrees_with_the_decoded_permutation(name: str, consts: dict[str, int]) -> None:
    m = Machine(Instance(getattr(examples, name)(), consts))
    inst, canon = m.instance, m.canonicalizer
    assert canon is not None
    sorts = m.symmetric_sorts
    states = sorted(reachable(m), key=m.codec.pack)[:40]
    for perms in _all_perms(inst, sorts):
        pis = [tuple(inst.index_of(s, perms[s][v]) for v in inst.values(s)) for s in sorts]
        for s in states:
            image = canon.apply(s, pis)
            assert inst.decode(image) == _permute_decoded(inst, inst.decode(s), perms)
            assert m.key(image) == m.key(s)


def _random_state(m: Machine, code: int) -> State:
    """A well-formed state from a number: every slot in its sort, and absent
    optional records at their defaults."""
    total = 1
    for card in m.codec.cards:
        total *= card
    state = list(m.codec.unpack(code % total))
    defaults = m.instance.initial_slots()
    for i, guard in enumerate(state_slot_guards(m.instance)):
        if guard >= 0 and not state[guard]:
            state[i] = defaults[i]
    return tuple(state)


@settings(max_examples=150, deadline=None)
@given(code=st.integers(min_value=0, max_value=2**80), perm_index=st.integers(0, 10**6))
def test_canonical_form_on_random_states(code: int, perm_index: int) -> None:
    """Arbitrary (also unreachable) states: the key is invariant under every
    permutation, and states with the same key are permutations of each other."""
    m = _FRAMES
    canon = m.canonicalizer
    assert canon is not None
    s = _random_state(m, code)
    perms = _FRAMES_PERMS[perm_index % len(_FRAMES_PERMS)]
    pis = [tuple(m.instance.index_of(x, perms[x][v]) for v in m.instance.values(x))
           for x in m.symmetric_sorts]
    image = canon.apply(s, pis)
    assert m.key(image) == m.key(s)
    rep = m.canonical(s)
    assert orbit_id(m.instance, m.symmetric_sorts, rep) == \
        orbit_id(m.instance, m.symmetric_sorts, s)


_FRAMES = Machine(Instance(examples.frames(), {"PROCS": 3, "FRAMES": 3}))
_FRAMES_PERMS = _all_perms(_FRAMES.instance, _FRAMES.symmetric_sorts)


def test_symmetric_traces_are_concrete_runs() -> None:
    """A counterexample found on representatives replays exactly."""
    m = Machine(Instance(examples.mutex(broken=True), {"PROCS": 3}))
    result = bfs.search(m, SearchLimits(stop_at_first=False))
    for _, violation in result.violations:
        replay(m, violation.trace)


# ---------------------------------------------------------------- soundness checks


def _proc(n: int = 3) -> RangeSort:
    return RangeSort("Proc", IntLit(0), IntLit(n - 1), True)


def test_literal_of_a_symmetric_sort_in_an_action_excludes_the_sort() -> None:
    proc = _proc()
    p = Local("p", proc)
    act = Action("a", (p,), (Require(Binary("eq", p, IntLit(0, proc), BOOL)),
                             Assign(LValue("on", (p,), (), BOOL), BoolLit(True))))
    model = Model("lit", "", (), (proc,), (StateVar("on", (proc,), BOOL),), (), (act,), ())
    m = Machine(Instance(model))
    assert m.symmetric_sorts == []
    (note,) = m.symmetry_notes
    assert note.sort == "Proc" and "literal 0" in note.message
    assert bfs.search(m).stats.states == 2


def test_literal_in_init_is_allowed() -> None:
    m = Machine(Instance(examples.frames(), {"PROCS": 2, "FRAMES": 2}))
    assert [s.name for s in m.symmetric_sorts] == ["Proc", "Frame"]
    assert m.symmetry_notes == []


def _first_fit(order_free: bool) -> Model:
    """``grab`` marks processes in a loop over Proc. Order-dependent: only the
    first unmarked process in loop order is marked (a shared budget). Order-free:
    every flagged process is cleared and counted (a shared total, which the
    static check cannot prove order-free)."""
    proc = _proc()
    budget = RangeSort("Budget", IntLit(0), IntLit(3))
    i, q = Local("i#1", proc), Local("q", proc)
    used = StateRead("used", (), budget)
    mark = StateRead("mark", (i,), BOOL)
    if order_free:
        body: tuple[ir.Stmt, ...] = (If(mark, (
            Assign(LValue("mark", (i,), (), BOOL), BoolLit(False)),
            Assign(LValue("used", (), (), budget), Binary("add", used, IntLit(1), INT))), ()),)
        grab = Action("grab", (), (Require(Binary("lt", used, IntLit(1), BOOL)), For(i, body)))
    else:
        body = (If(Binary("and", Binary("lt", used, IntLit(1), BOOL), Unary("not", mark, BOOL),
                          BOOL),
                   (Assign(LValue("mark", (i,), (), BOOL), BoolLit(True)),
                    Assign(LValue("used", (), (), budget),
                           Binary("add", used, IntLit(1), INT))), ()),)
        grab = Action("grab", (), (For(i, body),))
    flip = Action("flip", (q,), (Require(Binary("eq", used, IntLit(0), BOOL)),
                                 Assign(LValue("mark", (q,), (), BOOL),
                                        Unary("not", StateRead("mark", (q,), BOOL), BOOL))))
    reset = Action("reset", (), (Assign(LValue("used", (), (), budget), IntLit(0, budget)),
                                 For(Local("j#2", proc), (Assign(LValue(
                                     "mark", (Local("j#2", proc),), (), BOOL), BoolLit(False)),))))
    return Model("first_fit", "", (), (proc, budget),
                 (StateVar("mark", (proc,), BOOL), StateVar("used", (), budget)), (),
                 (grab, flip, reset), ())


def test_order_dependent_loop_is_caught_and_the_search_restarts() -> None:
    m = Machine(Instance(_first_fit(order_free=False)))
    assert [s.name for s in m.symmetric_sorts] == ["Proc"]  # not provable, checked at run time
    plain = bfs.search(Machine(Instance(_first_fit(False)), symmetry=False)).stats.states
    result = bfs.search(m)
    extra = dict(result.stats.extra)
    assert extra["symmetry_restarts"] == 1 and extra["symmetry"] == ()
    (note,) = extra["symmetry_notes"]
    assert note.sort == "Proc" and "depends on the order" in note.message
    assert result.stats.states == plain
    assert m.symmetric_sorts == []


def test_order_free_loop_keeps_the_reduction() -> None:
    m = Machine(Instance(_first_fit(order_free=True)))
    plain = bfs.search(Machine(Instance(_first_fit(True)), symmetry=False)).stats.states
    result = bfs.search(m)
    extra = dict(result.stats.extra)
    assert "symmetry_restarts" not in extra and extra["symmetry"] == ("Proc",)
    assert result.stats.states < plain
    states = reachable(Machine(Instance(_first_fit(True)), symmetry=False))
    assert result.stats.states == len({orbit_id(m.instance, m.symmetric_sorts, s)
                                       for s in states})


def test_choose_over_interchangeable_values_keeps_the_reduction() -> None:
    """frames-like allocation with choose: the free values are twins."""
    proc = _proc()
    p = Local("p", proc)
    c = Local("c#1", proc)
    owner_sort = ir.OptionSort(proc)
    pick = Quant("choose", (c,), Unary("not", StateRead("taken", (c,), BOOL), BOOL), owner_sort)
    take = Action("take", (), (
        ir.Let(Local("x#2", owner_sort), pick),
        Require(Binary("ne", Local("x#2", owner_sort), ir.NoneLit(owner_sort), BOOL)),
        Assign(LValue("taken", (ir.Unwrap(Local("x#2", owner_sort), proc),), (), BOOL),
               BoolLit(True))))
    give = Action("give", (p,), (Require(StateRead("taken", (p,), BOOL)),
                                 Assign(LValue("taken", (p,), (), BOOL), BoolLit(False))))
    model = Model("alloc", "", (), (proc,), (StateVar("taken", (proc,), BOOL),), (),
                  (take, give), ())
    m = Machine(Instance(model))
    result = bfs.search(m)
    assert dict(result.stats.extra)["symmetry"] == ("Proc",)
    assert result.stats.states == 4  # 0, 1, 2 or 3 taken


def test_choose_over_distinguishable_values_is_caught() -> None:
    m = Machine(Instance(examples.loops()))
    result = bfs.search(m)
    extra = dict(result.stats.extra)
    assert extra["symmetry_restarts"] == 1
    (note,) = extra["symmetry_notes"]
    assert note.sort == "Proc" and "choose picks the least Proc" in note.message
    assert result.stats.states == 372
    assert m.symmetric_sorts == []


def test_no_symmetry_flag() -> None:
    m = Machine(Instance(examples.mutex(), {"PROCS": 3}), symmetry=False)
    assert m.symmetric_sorts == [] and m.canonicalizer is None
    assert bfs.search(m).stats.states == 112


def test_symmetric_sort_that_keys_no_map() -> None:
    """Values of the sort only occur as slot values (no map is keyed by it)."""
    proc = _proc()
    opt = ir.OptionSort(proc)
    pset = ir.SetSort(proc)
    p = Local("p", proc)
    claim = Action("claim", (p,), (
        Require(Binary("eq", StateRead("owner", (), opt), ir.NoneLit(opt), BOOL)),
        Assign(LValue("owner", (), (), opt), ir.Wrap(p, opt)),
        Assign(LValue("seen", (), (), pset), Binary(
            "union", StateRead("seen", (), pset), ir.SetLit(pset, (p,)), pset))))
    free = Action("free", (), (Assign(LValue("owner", (), (), opt), ir.NoneLit(opt)),))
    model = Model("owner", "", (), (proc,), (StateVar("owner", (), opt),
                                              StateVar("seen", (), pset)), (),
                  (claim, free), ())
    m = Machine(Instance(model))
    states = reachable(m)
    orbits = {orbit_id(m.instance, m.symmetric_sorts, s) for s in states}
    assert bfs.search(m).stats.states == len(orbits) < len(states)
