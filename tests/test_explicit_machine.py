"""The executable machine: the core of an instance printed as Python
(rmapcheck.explicit.python_emit)."""

from __future__ import annotations

import examples
import pytest

from rmapcheck import ir
from rmapcheck.core.lower import UNROLL_MAX_VALUES
from rmapcheck.errors import SpecError, SpecRuntimeError
from rmapcheck.explicit.machine import Machine
from rmapcheck.instance import Instance
from rmapcheck.ir import (
    BOOL,
    INT,
    Action,
    Assert,
    Assign,
    Binary,
    BoolLit,
    Const,
    ConstRef,
    Field,
    For,
    Function,
    If,
    IntLit,
    Local,
    LValue,
    Model,
    NoneLit,
    OptionSort,
    Property,
    Quant,
    RangeSort,
    RecordLit,
    RecordSort,
    Require,
    SetLit,
    SetSort,
    Span,
    StateRead,
    StateVar,
    Unary,
    Unwrap,
    Wrap,
)


def machine(model: ir.Model, **consts: int) -> Machine:
    return Machine(Instance(model, consts))


def test_counter_steps_and_layout() -> None:
    m = machine(examples.counter(), N=5)
    s = m.initial_state()
    assert s == (0,)
    seen = [s]
    for _ in range(5):
        (t,) = list(m.successors(seen[-1]))
        assert t.action == "inc" and t.args == () and t.failed == ()
        seen.append(t.state)
    assert seen == [(0,), (1,), (2,), (3,), (4,), (0,)]
    assert m.step((4,), "inc", {}) == (0,)
    assert m.holds("reaches_top", (4,)) and not m.holds("reaches_top", (3,))
    assert m.failed_invariants((4,)) == []


def test_value_outside_its_sort_is_a_runtime_error_with_span() -> None:
    m = machine(examples.counter(wrap=False), N=4)
    with pytest.raises(SpecRuntimeError) as info:
        m.step((3,), "inc", {})
    assert info.value.message == "value 4 is outside sort Val (0 .. 3) in assignment to x"
    assert (info.value.span.file, info.value.span.line) == ("<examples>", 3)
    assert m.step((2,), "inc", {}) == (3,)


def test_record_field_assignment_outside_sort_names_the_entry() -> None:
    m = machine(examples.slots(safe=False), PROCS=2)
    s = m.step(m.initial_state(), "create", {"p": 1})
    assert s is not None
    assert m.instance.decode(s)["slot"][(1,)] == {"owner": 1, "count": 0}
    s = m.step(m.step(s, "bump", {"p": 1}), "bump", {"p": 1})  # type: ignore[arg-type]
    with pytest.raises(SpecRuntimeError) as info:
        m.step(s, "bump", {"p": 1})  # type: ignore[arg-type]
    assert info.value.message == ("value 3 is outside sort Cnt (0 .. 2) in assignment to "
                                  "slot[1].count")
    assert info.value.span.line == 32


def test_absent_optional_record_holds_defaults() -> None:
    m = machine(examples.slots(), PROCS=2)
    s = m.step(m.initial_state(), "create", {"p": 0})
    s = m.step(s, "bump", {"p": 0})  # type: ignore[arg-type]
    assert s == (True, 0, 1, False, 0, 0)
    dropped = m.step(s, "drop", {"p": 0})
    assert dropped == m.initial_state()  # none writes the defaults back
    assert m.step(dropped, "bump", {"p": 0}) is None  # type: ignore[arg-type]


def _eval_model() -> tuple[Machine, dict[str, ir.Expr]]:
    """A model whose only purpose is to evaluate expressions in its one state."""
    val = RangeSort("Val", IntLit(0), IntLit(3))
    proc = RangeSort("P", IntLit(1), IntLit(3))
    rec = RecordSort("R", (("a", val), ("b", BOOL)))
    ropt = OptionSort(rec)
    vset = SetSort(val)
    model = Model("eval", "", (), (val, proc, rec),
                  (StateVar("arr", (val,), val), StateVar("r", (), ropt),
                   StateVar("vs", (), vset), StateVar("ps", (), SetSort(proc))),
                  (Assign(LValue("arr", (IntLit(2, val),), (), val), IntLit(3, val)),
                   Assign(LValue("vs", (), (), vset),
                          SetLit(vset, (IntLit(1, val), IntLit(3, val)))),
                   Assign(LValue("ps", (), (), SetSort(proc)),
                          SetLit(SetSort(proc), (IntLit(2, proc),)))),
                  (), ())
    return Machine(Instance(model)), {}


def test_floor_division_and_modulo_and_division_by_zero() -> None:
    m, _ = _eval_model()
    s = m.initial_state()
    a, b = Local("a", INT), Local("b", INT)
    div = Binary("div", a, b, INT, Span("t.spec", 7, 3))
    mod = Binary("mod", a, b, INT, Span("t.spec", 8, 3))
    assert m.eval_expr(div, s, {"a": -7, "b": 2}) == -4
    assert m.eval_expr(mod, s, {"a": -7, "b": 2}) == 1
    assert m.eval_expr(div, s, {"a": 7, "b": -2}) == -4
    assert m.eval_expr(mod, s, {"a": 7, "b": -2}) == -1
    with pytest.raises(SpecRuntimeError) as info:
        m.eval_expr(div, s, {"a": 1, "b": 0})
    assert "division by zero" in info.value.message and info.value.span.line == 7
    with pytest.raises(SpecRuntimeError):
        m.eval_expr(mod, s, {"a": 1, "b": 0})
    assert m.eval_expr(Binary("div", IntLit(9), IntLit(4), INT), s) == 2


def test_none_field_unwrap_keys_and_sets() -> None:
    m, _ = _eval_model()
    s = m.initial_state()
    val = m.model.sorts[0]
    rec = m.model.sorts[2]
    assert isinstance(rec, RecordSort)
    ropt = OptionSort(rec)
    r = StateRead("r", (), ropt)
    with pytest.raises(SpecRuntimeError) as info:
        m.eval_expr(Field(r, "a", val, Span("t.spec", 3, 1)), s)
    assert info.value.message == "reading field a of none" and info.value.span.line == 3
    with pytest.raises(SpecRuntimeError) as info:
        m.eval_expr(Unwrap(r, rec, Span("t.spec", 4, 1)), s)
    assert info.value.span.line == 4
    # r == none reads only the presence slot; a record literal compares whole.
    assert m.eval_expr(Binary("eq", r, NoneLit(ropt), BOOL), s) is True
    lit = Wrap(RecordLit(rec, (("a", IntLit(0, val)), ("b", BoolLit(False)))), ropt)
    assert m.eval_expr(Binary("eq", r, lit, BOOL), s) is False
    # A computed key outside its sort.
    x = Local("x", INT)
    read = StateRead("arr", (Binary("add", x, IntLit(1), INT),), val, Span("t.spec", 5, 1))
    assert m.eval_expr(read, s, {"x": 1}) == 3
    with pytest.raises(SpecRuntimeError) as info:
        m.eval_expr(read, s, {"x": 3})
    assert info.value.message == "key 4 is outside sort Val (0 .. 3) in arr"
    # Membership: bits per value's position; outside the element sort: false.
    vs = StateRead("vs", (), SetSort(val))
    member = Binary("in", x, vs, BOOL)
    assert [m.eval_expr(member, s, {"x": i}) for i in range(-1, 5)] == \
        [False, False, True, False, True, False]
    ps = StateRead("ps", (), SetSort(m.model.sorts[1]))
    assert s[-1] == 0b010  # P = 1 .. 3: value 2 is bit 1
    assert m.eval_expr(Binary("in", x, ps, BOOL), s, {"x": 2}) is True
    with pytest.raises(SpecRuntimeError) as info:
        m.eval_expr(SetLit(SetSort(val), (x,)), s, {"x": 9})
    assert info.value.message == "set element 9 is outside sort Val (0 .. 3)"
    assert m.eval_expr(Binary("diff", vs, SetLit(SetSort(val), (IntLit(1, val),)), SetSort(val)),
                       s) == 0b1000


def test_quantifiers_count_and_choose() -> None:
    m, _ = _eval_model()
    s = m.initial_state()
    val = m.model.sorts[0]
    i = Local("i", val)
    arr = StateRead("arr", (i,), val)
    positive = Binary("gt", arr, IntLit(0), BOOL)
    assert m.eval_expr(Quant("count", (i,), positive, INT), s) == 1
    assert m.eval_expr(Quant("choose", (i,), positive, OptionSort(val)), s) == 2
    never = Binary("gt", arr, IntLit(5), BOOL)
    assert m.eval_expr(Quant("choose", (i,), never, OptionSort(val)), s) is None
    assert m.eval_expr(Quant("exists", (i,), positive, BOOL), s) is True
    assert m.eval_expr(Quant("forall", (i,), positive, BOOL), s) is False
    j = Local("j", val)
    pairs = Quant("count", (i, j), Binary("lt", i, j, BOOL), INT)
    assert m.eval_expr(pairs, s) == 6


def test_large_domains_use_loops_with_the_same_semantics() -> None:
    """Quantifiers and for loops over more than UNROLL_MAX_VALUES values are
    compiled to loops instead of unrolled code; they must agree."""
    size = UNROLL_MAX_VALUES * 2
    big = RangeSort("Big", IntLit(0), IntLit(size - 1))
    i, k = Local("i", big), Local("k#1", big)
    total = RangeSort("Total", IntLit(0), IntLit(size))
    bump = Action("bump", (), (
        Require(Binary("lt", StateRead("n", (), total), IntLit(2), BOOL)),
        For(i, (If(Binary("eq", Binary("mod", i, IntLit(size // 2), INT),
                          StateRead("n", (), total), BOOL),
                   (Assign(LValue("on", (i,), (), BOOL), BoolLit(True)),), ()),)),
        Assign(LValue("n", (), (), total), Binary("add", StateRead("n", (), total), IntLit(1),
                                                  INT))))
    counted = Quant("count", (k,), StateRead("on", (k,), BOOL), INT)
    model = Model("big", "", (), (big, total),
                  (StateVar("on", (big,), BOOL), StateVar("n", (), total)), (), (bump,),
                  (Property("on_twice_n", "invariant",
                            Binary("eq", counted, Binary("mul", IntLit(2), StateRead(
                                "n", (), total), INT), BOOL)),))
    m = machine(model)
    s = m.initial_state()
    for n in (1, 2):
        s = m.step(s, "bump", {})  # type: ignore[assignment]
        assert s is not None
        assert sum(s[:size]) == 2 * n and s[-1] == n
        assert m.holds("on_twice_n", s)
    assert m.step(s, "bump", {}) is None
    assert any("for L" in src for src in m.compiler.sources)  # really a loop


def test_assert_then_require_and_failed_assertions() -> None:
    m = machine(examples.asserting())
    s = m.initial_state()
    (t,) = m.successors(s)
    assert t.failed == ()
    s2 = m.step(m.step(s, "inc", {}), "inc", {})  # type: ignore[arg-type]
    (t,) = m.successors(s2)  # type: ignore[arg-type]
    assert t.failed_assertion is not None and t.failed_assertion.name == "small"
    assert t.state == (3,)  # the successor exists
    assert m.step_full(s2, "inc", {}) == ((3,), (t.failed_assertion,))  # type: ignore[arg-type]
    assert list(m.successors((3,))) == []  # requires x < 3


def test_require_after_a_failing_assert_disables_the_step() -> None:
    val = RangeSort("Val", IntLit(0), IntLit(1))
    x = StateRead("x", (), val)
    act = Action("a", (), (Assert("never", BoolLit(False), ""), Require(Binary(
        "eq", x, IntLit(1), BOOL)), Assign(LValue("x", (), (), val), IntLit(0, val))))
    m = machine(Model("m", "", (), (val,), (StateVar("x", (), val),), (), (act,), ()))
    assert list(m.successors((0,))) == []
    (t,) = m.successors((1,))
    assert [a.name for a in t.failed] == ["never"]


def test_parameters_hoisting_and_instance_numbers() -> None:
    m = machine(examples.frames(), PROCS=2, FRAMES=3)
    assert len(m.instances) == 2 * 2 * 3 + 2 * 2 * 2 + 2 * 2
    for iid in range(len(m.instances)):
        name, args = m.describe(iid)
        assert m.iid(name, args) == iid
    s = m.initial_state()
    decoded = m.instance.decode(s)
    assert decoded["pte"][(0, 0)] == 0 and decoded["page"][(0,)] == {"used": True,
                                                                        "mapcount": 1}
    successors = list(m.successors(s))
    # fault(p, v, f): the 2 free frames at the 3 unmapped pages; share(1, 0, 0)
    # maps q=0's page; unmap(0, 0).
    faults = [t for t in successors if t.action == "fault"]
    assert len(faults) == 3 * 2
    assert {(t.action, t.args) for t in successors if t.action != "fault"} == {
        ("share", (("p", 1), ("q", 0), ("v", 0))), ("unmap", (("p", 0), ("v", 0)))}
    for t in successors:
        assert m.step(s, t.action, t.args) == t.state
    shared = m.step(s, "share", {"p": 1, "q": 0, "v": 0})
    assert m.instance.decode(shared)["owners"][(0,)] == frozenset({0, 1})  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        m.step(s, "share", {"p": 1})
    with pytest.raises(KeyError):
        m.step(s, "nope", {})


def test_functions_and_explanations() -> None:
    proc = RangeSort("Proc", IntLit(0), Binary("sub", ConstRef("PROCS"), IntLit(1), INT), True)
    p, q = Local("p", proc), Local("q", proc)
    fn = Function("both", (p, q), Binary("and", StateRead("flag", (p,), BOOL),
                                         StateRead("flag", (q,), BOOL), BOOL), BOOL)
    base = examples.toggles()
    model = Model(base.name, "", base.consts, base.sorts, base.state, base.init, base.actions,
                  base.properties, (fn,))
    m = machine(model, PROCS=3)
    s = (True, False, True)
    assert m.eval_function("both", s, {"p": 0, "q": 2}) is True
    assert m.eval_function("both", s, (0, 1)) is False
    assert m.explain("not_all", s) == ""
    assert m.explain("not_all", (True, True, True)) == "not (forall q: Proc. flag[q]) is false"
    r = RangeSort("R", IntLit(0), IntLit(3))
    i = Local("i#7", r)
    bad = Property("small", "invariant", Quant("forall", (i,), Binary(
        "implies", Binary("gt", i, IntLit(1), BOOL), StateRead("ok", (i,), BOOL), BOOL), BOOL))
    m2 = machine(Model("x", "", (), (r,), (StateVar("ok", (r,), BOOL),), (), (), (bad,)))
    assert m2.explain("small", (True, True, True, False)) == "for i=3: ok[i] is false"


def test_init_block_runs_once_and_requires_in_init_is_an_error() -> None:
    m = machine(examples.frames(), PROCS=2, FRAMES=2)
    assert m.initial_state() is m.initial_state()
    val = RangeSort("Val", IntLit(0), IntLit(1))
    model = Model("m", "", (), (val,), (StateVar("x", (), val),),
                  (Require(BoolLit(False)),), (), ())
    with pytest.raises(SpecError):
        machine(model).initial_state()


def test_let_for_and_if_else() -> None:
    m = machine(examples.loops())
    s = m.initial_state()
    decoded = m.instance.decode(s)
    assert decoded == {"mark": {(0,): False, (1,): False, (2,): False}, "n": 0, "last": None,
                       "half": 0}
    s = m.step(m.step(s, "set", {"p": 2}), "set", {"p": 1})  # type: ignore[arg-type]
    s = m.step(s, "first", {})  # type: ignore[arg-type]
    assert m.instance.decode(s)["last"] == 1  # type: ignore[arg-type]
    s = m.step(s, "clear", {})  # type: ignore[arg-type]
    assert m.instance.decode(s)["mark"] == {(0,): False, (1,): False, (2,): False}  # type: ignore
    assert m.step(s, "first", {}) is None  # type: ignore[arg-type]
    for _ in range(4):
        s = m.step(s, "clear", {})  # type: ignore[arg-type]
    assert m.instance.decode(s)["n"] == 5  # type: ignore[arg-type]
    s = m.step(s, "clear", {})  # type: ignore[arg-type]
    assert m.instance.decode(s)["n"] == 5 * 7 % 3  # type: ignore[arg-type]


def test_consts_fix_the_layout() -> None:
    m = machine(examples.counter(), N=7)
    assert m.instance.values(m.model.sorts[0]) == tuple(range(7))
    with pytest.raises(SpecError):
        machine(examples.counter(), N=99)
    assert Const("N", 4, 1, 16) in examples.counter().consts


def test_packing_round_trips_and_orders_like_tuples() -> None:
    m = machine(examples.frames(), PROCS=2, FRAMES=3)
    states = [m.initial_state()]
    seen = set(states)
    while states:
        s = states.pop()
        assert m.state_of(m.codec.pack(s)) == s
        for t in m.successors(s):
            if t.state not in seen:
                seen.add(t.state)
                states.append(t.state)
    codes = {s: m.codec.pack(s) for s in seen}
    assert len(set(codes.values())) == len(seen)
    # Slot 0 is the most significant: the packed order is the order of code tuples.
    ordered = sorted(seen, key=codes.__getitem__)
    def code_tuple(s: tuple) -> tuple:  # type: ignore[type-arg]
        return tuple(-1 if v is None else int(v) for v in s)
    assert ordered == sorted(seen, key=code_tuple)
    assert m.codec.bits <= 64 and m.codec.packed_bytes() <= 8


def test_unary_neg_and_ite() -> None:
    m, _ = _eval_model()
    s = m.initial_state()
    x = Local("x", INT)
    expr = ir.Ite(Binary("ge", x, IntLit(0), BOOL), x, Unary("neg", x, INT), INT)
    assert [m.eval_expr(expr, s, {"x": v}) for v in (-3, 0, 4)] == [3, 0, 4]
    assert m.eval_expr(Unary("not", BoolLit(False), BOOL), s) is True
