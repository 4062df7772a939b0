"""The core of one instance as a Z3 transition relation over a current and a next state.

Representation
--------------
A state is the flat slot tuple of ``rmapcheck.instance`` and the encoding has
exactly **one Z3 constant per slot** per time frame, so that a Z3 model decodes
to the very tuple the explicit engine reaches. Each slot's ``Leaf`` follows
its core ``SlotKind``:

- ``bool``: a Z3 Bool (Bool state, and the presence slot of an ``R?`` record);
- ``int``: a Z3 Int (or a bit vector, see ``Arith``) constrained to ``lo .. hi``
  (range sorts; enums as the member index ``0 .. n-1``);
- ``bv``: a ``set T`` as a bit vector of ``|T|`` bits (bit ``i`` for the
  ``i``-th value of ``T``), decoded to the same int mask the explicit engine uses;
- ``opt_int``: ``T?`` of a range or enum: the sentinel ``lo - 1`` (outside the
  sort) stands for ``none``; ``opt_bool``: ``Bool?`` as -1/0/1;
  ``opt_bv``: ``(set T)?`` as ``|T| + 1`` bits, ``none`` being the top bit alone.

An absent ``R?`` record keeps its fields at their defaults (the explicit
engine's canonical form); the encoding keeps it so, and ``domain`` constrains
unconstrained states (induction) to canonical ones.

Symbolic execution of the core
------------------------------
Every decision about what the model means was made by the lowering
(``rmapcheck.core``); this module only says it in Z3. An action's body runs
once, symbolically, over a functional store (slot index -> Z3 term) starting
from the current-state constants, with the parameters as fresh constants.
``If`` forks the store and merges the slots that differ with ``ite``; a write
to a slot whose address has a symbolic key updates every candidate slot with
``ite(key == k, new, old)``; a read with a symbolic key is a nested ``ite``
chain over the candidates (one key position at a time). Loops and quantifiers
are unrolled over their values (``fold.substitute`` folds what each value
decides); Z3 does not fold on construction, so the helpers below fold what
they can, which keeps the terms small.

The result per action is: ``ok`` (every ``require`` holds and nothing failed),
``fails[name]`` (the step violates assertion ``name``, or ``ERROR_PROP``: it
hits a run-time error of the spec) and the store at the end of the body. The
step relation of a frame has an action selector (an Int, the index of the
action in ``model.actions``) and per-action parameter constants, so a model
tells which action fired with which arguments.

The semantics is the core's (``rmapcheck.core.interp``): statements run in
order, a false ``require`` disables the step, a failing ``assert`` records a
violation and execution goes on, a run-time error ends the step as an error
(what follows it does not matter); errors are evaluated in the core's order,
so a part that ``and``, ``or``, ``ite`` or a quantifier does not need raises
none. ``div``/``mod`` are floor division and modulo; Z3's are Euclidean (and
bit vectors' truncating), so the encoding corrects them. A property whose
evaluation hits a run-time error is reported as violated (``prop_value``
returns the error condition separately).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, assert_never

import z3

from rmapcheck import ir
from rmapcheck.core import fold
from rmapcheck.core.lower import CoreModel
from rmapcheck.core.nodes import (
    Addr,
    AssertStmt,
    Bit,
    BoolOp,
    BoolT,
    Check,
    Checked,
    Cmp,
    DivMod,
    Expr,
    Fault,
    For,
    Guard,
    If,
    IntT,
    IsNone,
    Ite,
    Let,
    LetIn,
    Lit,
    Mark,
    Marked,
    MaskT,
    Member,
    Neg,
    Not,
    NotNoneTest,
    OptT,
    Quant,
    RangeTest,
    Read,
    Require,
    SetOp,
    SlotKind,
    Some,
    Stmt,
    Stop,
    Store,
    Ty,
    Var,
)
from rmapcheck.core.nodes import Arith as ArithNode
from rmapcheck.errors import InternalError, SpecError, SpecRuntimeError
from rmapcheck.instance import Instance
from rmapcheck.symbolic.widths import int_bits

ERROR_PROP = "__runtime_error__"
# Not a property: BMC looks for states where evaluating a property is a run-time
# error (the explicit engine stops there with an error, so must we).
EVAL_ERROR = "__property_error__"

TRUE = z3.BoolVal(True)
FALSE = z3.BoolVal(False)


# ---------------------------------------------------------------- folding helpers
# Z3 does not fold on construction; folding here keeps the per-step terms small,
# because every quantifier and loop instance has concrete variables.


# z3's is_true/is_int_value go through several Python-level calls each; the
# encoder asks them hundreds of thousands of times, so these use one C call:
# terms are hash-consed, so ``true`` is ``true`` exactly when the ids agree.
_TRUE_ID = TRUE.get_id()
_FALSE_ID = FALSE.get_id()
_NUMERAL = z3.Z3_NUMERAL_AST


def is_t(e: z3.ExprRef) -> bool:
    return e.get_id() == _TRUE_ID  # type: ignore[no-any-return]


def is_f(e: z3.ExprRef) -> bool:
    return e.get_id() == _FALSE_ID  # type: ignore[no-any-return]


def _is_numeral(e: z3.ExprRef) -> bool:
    return z3.Z3_get_ast_kind(e.ctx_ref(), e.as_ast()) == _NUMERAL  # type: ignore[no-any-return]


def concrete(e: z3.ExprRef) -> Any:
    """The Python value of a Z3 literal (bool; int or bit vector, unsigned), else None."""
    i = e.get_id()
    if i == _TRUE_ID:
        return True
    if i == _FALSE_ID:
        return False
    if _is_numeral(e):
        return e.as_long()  # type: ignore[attr-defined]
    return None


def signed(e: z3.ExprRef) -> int:
    """The integer a literal stands for (bit vectors as two's complement)."""
    if z3.is_bv_value(e):
        return e.as_signed_long()  # type: ignore[attr-defined]
    return e.as_long()  # type: ignore[attr-defined]


def cint(e: z3.ExprRef) -> int | None:
    """The integer value of an integer-valued literal term, else None."""
    if _is_numeral(e):
        return signed(e)
    return None


def and_(*xs: z3.BoolRef) -> z3.BoolRef:
    out: list[z3.BoolRef] = []
    for x in xs:
        if is_f(x):
            return FALSE
        if not is_t(x):
            out.append(x)
    if not out:
        return TRUE
    if len(out) == 1:
        return out[0]
    return z3.And(out)


def or_(*xs: z3.BoolRef) -> z3.BoolRef:
    out: list[z3.BoolRef] = []
    for x in xs:
        if is_t(x):
            return TRUE
        if not is_f(x):
            out.append(x)
    if not out:
        return FALSE
    if len(out) == 1:
        return out[0]
    return z3.Or(out)


def not_(x: z3.BoolRef) -> z3.BoolRef:
    if is_t(x):
        return FALSE
    if is_f(x):
        return TRUE
    if z3.is_not(x):
        return x.arg(0)  # type: ignore[return-value]
    return z3.Not(x)


def implies_(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
    return or_(not_(a), b)


def ite(c: z3.BoolRef, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
    if is_t(c):
        return a
    if is_f(c):
        return b
    if a.eq(b):
        return a
    return z3.If(c, a, b)


def eq_(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    if a.eq(b):
        return TRUE
    ca, cb = concrete(a), concrete(b)
    if ca is not None and cb is not None:
        return TRUE if ca == cb else FALSE
    return a == b  # type: ignore[return-value]


# ---------------------------------------------------------------- slots


LeafKind = Literal["bool", "int", "bv", "opt_int", "opt_bool", "opt_bv"]
# How integers (ranges, enums, arithmetic) are represented: signed bit vectors
# of one width (bit-blasted to SAT: much faster on these finite problems) or
# Z3's mathematical integers.
Arith = Literal["bv", "int"]


@dataclass(frozen=True)
class Leaf:
    """How one slot (or one scalar value) is represented in Z3."""

    kind: LeafKind
    lo: int = 0
    hi: int = -1
    bits: int = 1  # bv, opt_bv
    elems: int = 0  # bv, opt_bv: number of set elements
    iw: int = 0  # int, opt_int, opt_bool: bit-vector width, or 0 for a Z3 Int

    def num(self, v: int) -> z3.ExprRef:
        return z3.BitVecVal(v, self.iw) if self.iw else z3.IntVal(v)

    def z3sort(self) -> z3.SortRef:
        match self.kind:
            case "bool":
                return z3.BoolSort()
            case "int" | "opt_int" | "opt_bool":
                return z3.BitVecSort(self.iw) if self.iw else z3.IntSort()
            case "bv" | "opt_bv":
                return z3.BitVecSort(self.bits)
        assert_never(self.kind)

    @property
    def sentinel(self) -> int:
        """The Z3 value of ``none`` for a scalar option."""
        match self.kind:
            case "opt_int":
                return self.lo - 1
            case "opt_bool":
                return -1
            case "opt_bv":
                return 1 << self.elems
        raise InternalError(f"leaf {self.kind} has no none")

    def domain(self, x: z3.ExprRef) -> z3.BoolRef:
        """The values this slot may hold."""
        match self.kind:
            case "bool":
                return TRUE
            case "int":
                return z3.And(x >= self.lo, x <= self.hi)  # type: ignore[operator]
            case "opt_int":
                return z3.And(x >= self.lo - 1, x <= self.hi)  # type: ignore[operator]
            case "opt_bool":
                return z3.And(x >= -1, x <= 1)  # type: ignore[operator]
            case "bv":
                if self.elems == 0:  # a one-bit vector standing for the empty set
                    return x == 0  # type: ignore[return-value]
                return TRUE
            case "opt_bv":
                return z3.Or(x == self.sentinel, z3.ULT(x, self.sentinel))  # type: ignore[arg-type]
        assert_never(self.kind)

    def to_z3(self, v: Any) -> z3.ExprRef:
        """A Python slot value (as the explicit engine stores it) as a Z3 literal."""
        match self.kind:
            case "bool":
                return z3.BoolVal(bool(v))
            case "int":
                return self.num(int(v))
            case "opt_int":
                return self.num(self.sentinel if v is None else int(v))
            case "opt_bool":
                return self.num(-1 if v is None else int(bool(v)))
            case "bv":
                return z3.BitVecVal(int(v), self.bits)
            case "opt_bv":
                return z3.BitVecVal(self.sentinel if v is None else int(v), self.bits)
        assert_never(self.kind)

    def from_z3(self, e: z3.ExprRef) -> Any:
        """A Z3 literal back to the Python slot value."""
        match self.kind:
            case "bool":
                if not (is_t(e) or is_f(e)):
                    raise InternalError(f"expected a Bool literal, got {e}")
                return is_t(e)
            case "int":
                return signed(e)
            case "opt_int":
                v = signed(e)
                return None if v == self.sentinel else v
            case "opt_bool":
                v = signed(e)
                return None if v == -1 else bool(v)
            case "bv":
                return e.as_long()  # type: ignore[attr-defined]
            case "opt_bv":
                v = e.as_long()  # type: ignore[attr-defined]
                return None if v == self.sentinel else v
        assert_never(self.kind)




def leaf_of(kind: SlotKind, iw: int) -> Leaf:
    """The Z3 representation of a slot of ``kind``."""
    match kind.ty:
        case BoolT():
            return Leaf("bool")
        case IntT():
            return Leaf("int", kind.lo, kind.hi, iw=iw)
        case MaskT(n=n):
            return Leaf("bv", bits=max(1, n), elems=n)
        case OptT(inner=BoolT()):
            return Leaf("opt_bool", -1, 1, iw=iw)
        case OptT(inner=IntT()):
            return Leaf("opt_int", kind.lo, kind.hi, iw=iw)
        case OptT(inner=MaskT(n=n)):
            return Leaf("opt_bv", bits=n + 1, elems=n)
        case _:
            raise InternalError(f"no slot holds a {kind.ty}")


# ---------------------------------------------------------------- symbolic values


@dataclass(frozen=True)
class Opt:
    """A value of an option type: whether it holds a value, the value (a
    default when it does not), and ``raw``, its slot encoding under ``leaf``
    when it was read from a slot or built for one."""

    present: z3.BoolRef
    inner: z3.ExprRef
    raw: z3.ExprRef | None = None
    leaf: Leaf | None = None


# z3 has no type information, so mypy sees this as an alias only when told
Val: TypeAlias = z3.ExprRef | Opt
Env = dict[str, Val]


@dataclass
class Acc:
    """What a body has established so far, across all its branches.

    ``run``: execution reaches the current point (every ``require`` before it
    held and no run-time error happened); ``error``: the body stopped at a
    run-time error; ``failed[name]``: assertion ``name`` was false at its point
    (execution goes on: it is a violation only if the step is enabled, i.e.
    with ``run`` at the end)."""

    run: z3.BoolRef = TRUE
    error: z3.BoolRef = FALSE
    failed: dict[str, z3.BoolRef] = field(default_factory=dict)
    # ``stopped``: a ``stop`` ended the step before the current point; each
    # stop's path condition with the store it ended with (at most one holds).
    stopped: z3.BoolRef = FALSE
    stops: list[tuple[z3.BoolRef, list[z3.ExprRef]]] = field(default_factory=list)

    def stop(self, pc: z3.BoolRef, store: list[z3.ExprRef]) -> None:
        self.stops.append((pc, list(store)))
        self.stopped = or_(self.stopped, pc)

    def final(self, store: list[z3.ExprRef]) -> list[z3.ExprRef]:
        """The step's successor: the store a stop ended with where it held,
        else ``store``, the end of the body's."""
        for pc, at_stop in reversed(self.stops):
            store = [a if a.eq(b) else ite(pc, a, b)  # type: ignore[arg-type]
                     for a, b in zip(at_stop, store, strict=True)]
        return store

    def runtime_error(self, pc: z3.BoolRef, bad: z3.BoolRef) -> None:
        cond = and_(pc, bad)
        if is_f(cond):
            return
        self.error = or_(self.error, and_(self.run, cond))
        self.run = and_(self.run, not_(cond))

    def assertion(self, name: str, pc: z3.BoolRef, cond: z3.BoolRef) -> None:
        bad = and_(pc, not_(cond))
        if not is_f(bad):
            self.failed[name] = or_(self.failed.get(name, FALSE), bad)

    def require(self, pc: z3.BoolRef, cond: z3.BoolRef) -> None:
        self.run = and_(self.run, implies_(pc, cond))

    def fails(self) -> dict[str, z3.BoolRef]:
        """How the step fails: an assertion (only if the step is enabled) or a
        run-time error (whatever follows it)."""
        out = {name: and_(self.run, bad) for name, bad in self.failed.items()}
        if not is_f(self.error):
            out[ERROR_PROP] = self.error
        return out


@dataclass
class ActionEncoding:
    """One action over the template current state and its parameter constants."""

    action: ir.Action
    index: int
    params: tuple[z3.ExprRef, ...]
    param_leaves: tuple[Leaf, ...]
    domain: z3.BoolRef  # the parameters are in their sorts
    ok: z3.BoolRef
    fails: dict[str, z3.BoolRef]
    next: list[z3.ExprRef]


@dataclass
class Transition:
    """The step relation over template constants ``cur``, ``nxt``, ``sel`` and the
    actions' parameters; ``instantiate`` renames it to one time frame."""

    cur: list[z3.ExprRef]
    nxt: list[z3.ExprRef]
    sel: z3.ExprRef
    actions: list[ActionEncoding]
    ok: z3.BoolRef  # the selected action is enabled and runs to the end
    frame: z3.BoolRef  # nxt is the store the selected action computes
    fails: dict[str, z3.BoolRef]  # the selected action fails this way

    def template_vars(self) -> list[z3.ExprRef]:
        out = list(self.cur) + list(self.nxt) + [self.sel]
        for a in self.actions:
            out.extend(a.params)
        return out


@dataclass
class Frame:
    """The constants of one step ``t``: state ``t`` to state ``t + 1``."""

    sel: z3.ExprRef
    params: list[tuple[z3.ExprRef, ...]]  # per action
    ok: z3.BoolRef
    frame: z3.BoolRef
    fails: dict[str, z3.BoolRef]
    subst: list[tuple[z3.ExprRef, z3.ExprRef]]


class Encoder:
    """Encodes one ``Instance``: layout, values, properties and the transition."""

    def __init__(self, instance: Instance, arith: Arith = "bv",
                 core: CoreModel | None = None) -> None:
        self.inst = instance
        self.model = instance.model
        self.core = core if core is not None else CoreModel(instance)
        self.arith = arith
        # Bit-vector mode: one signed width for every integer term, wide enough
        # for every value (static interval analysis), so nothing wraps around.
        self.iw = int_bits(instance, (len(self.model.actions),)) if arith == "bv" else 0
        self.leaves: list[Leaf] = [leaf_of(k, self.iw) for k in self.core.slots]
        self.slot_names: list[str] = []
        # For each R? entry: its presence slot and (field slot, default) pairs.
        self.canon: list[tuple[int, list[tuple[int, Any]]]] = []
        for var in self.model.state:
            rng = instance.layout[var.name]
            for key in rng.keys:
                base = f"{var.name}[{','.join(map(str, key))}]" if key else var.name
                self._flatten(var.value, base)
        if len(self.slot_names) != instance.num_slots:
            raise InternalError(f"slot layout mismatch: {len(self.slot_names)} names for "
                                f"{instance.num_slots} slots")
        self._props = {p.name: p for p in self.core.properties}
        self._transition: Transition | None = None
        self._initial: tuple[Any, ...] | None = None
        self._prop_cache: dict[str, z3.BoolRef] = {}
        self._instances: dict[Quant, list[tuple[tuple[Any, ...], Expr]]] = {}
        self.init_failures: tuple[str, ...] = ()

    # ------------------------------------------------------------ layout

    def _flatten(self, sort: ir.Sort, name: str) -> None:
        match sort:
            case ir.RecordSort(fields=fields):
                for fname, fsort in fields:
                    self._flatten(fsort, f"{name}.{fname}")
            case ir.OptionSort(inner=ir.RecordSort() as rec):
                presence = len(self.slot_names)
                self.slot_names.append(f"{name}?")
                start = len(self.slot_names)
                self._flatten(rec, name)
                defaults = self.inst.default(rec)
                self.canon.append((presence, [(start + i, d) for i, d in enumerate(defaults)]))
            case _:
                self.slot_names.append(name)

    def leaf(self, sort: ir.Sort) -> Leaf:
        """The representation of a scalar sort (one slot)."""
        from rmapcheck.core.slots import slot_kind

        return leaf_of(slot_kind(self.inst, sort), self.iw)

    # ------------------------------------------------------------ integers

    def num(self, v: int) -> z3.ExprRef:
        """An integer literal of the integer representation."""
        if self.iw:
            if not -(1 << (self.iw - 1)) <= v < (1 << (self.iw - 1)):
                raise InternalError(f"{v} does not fit the {self.iw}-bit integers")
            return z3.BitVecVal(v, self.iw)
        return z3.IntVal(v)

    def int_sort(self) -> z3.SortRef:
        return z3.BitVecSort(self.iw) if self.iw else z3.IntSort()

    def sum(self, terms: Sequence[z3.ExprRef]) -> z3.ExprRef:
        if not terms:
            return self.num(0)
        return functools.reduce(lambda a, b: a + b, terms)  # type: ignore[no-any-return]

    # ------------------------------------------------------------ state constants

    def state_consts(self, tag: str) -> list[z3.ExprRef]:
        return [z3.Const(f"{tag}|{name}", leaf.z3sort())
                for name, leaf in zip(self.slot_names, self.leaves, strict=True)]

    def domain(self, xs: Sequence[z3.ExprRef]) -> z3.BoolRef:
        """``xs`` is a well-formed state: every slot in its sort, absent records
        canonical. Needed where a state is not computed from the initial one."""
        parts = [leaf.domain(x) for leaf, x in zip(self.leaves, xs, strict=True)]
        for presence, fields in self.canon:
            parts.append(z3.Implies(
                z3.Not(xs[presence]),
                and_(*[eq_(xs[i], self.leaves[i].to_z3(d)) for i, d in fields])))
        return and_(*parts)

    def state_literal(self, state: Sequence[Any]) -> list[z3.ExprRef]:
        return [leaf.to_z3(v) for leaf, v in zip(self.leaves, state, strict=True)]

    def equal_states(self, xs: Sequence[z3.ExprRef], ys: Sequence[z3.ExprRef]) -> z3.BoolRef:
        return and_(*[eq_(x, y) for x, y in zip(xs, ys, strict=True)])

    def decode_state(self, m: z3.ModelRef, xs: Sequence[z3.ExprRef]) -> tuple[Any, ...]:
        return tuple(leaf.from_z3(m.eval(x, model_completion=True))
                     for leaf, x in zip(self.leaves, xs, strict=True))

    # ------------------------------------------------------------ values

    def scalar_const(self, sort: ir.Sort, v: Any) -> z3.ExprRef:
        """A concrete value of a finite scalar sort (a loop or quantifier variable)."""
        if isinstance(sort, ir.BoolSort):
            return z3.BoolVal(bool(v))
        return self.num(int(v))

    def zero(self, ty: BoolT | IntT | MaskT) -> z3.ExprRef:
        """The value an absent option holds (it means nothing)."""
        match ty:
            case BoolT():
                return FALSE
            case IntT():
                return self.num(0)
            case MaskT(n=n):
                return z3.BitVecVal(0, max(1, n))
            case _:
                assert_never(ty)

    def literal(self, value: Any, ty: Ty) -> Val:
        match ty:
            case BoolT():
                return z3.BoolVal(bool(value))
            case IntT():
                return self.num(int(value))
            case MaskT(n=n):
                return z3.BitVecVal(int(value), max(1, n))
            case OptT(inner=inner):
                if value is None:
                    return Opt(FALSE, self.zero(inner))
                inner_val = self.literal(value, inner)
                assert isinstance(inner_val, z3.ExprRef)
                return Opt(TRUE, inner_val)
            case _:
                assert_never(ty)

    def load(self, leaf: Leaf, raw: z3.ExprRef) -> Val:
        """The value a slot of ``leaf`` holds."""
        match leaf.kind:
            case "bool" | "int" | "bv":
                return raw
            case "opt_int":
                return Opt(not_(eq_(raw, leaf.to_z3(None))), raw, raw, leaf)
            case "opt_bool":
                return Opt(not_(eq_(raw, leaf.to_z3(None))), eq_(raw, self.num(1)), raw, leaf)
            case "opt_bv":
                val = z3.Extract(max(0, leaf.elems - 1), 0, raw)
                c = concrete(val)
                if c is not None:
                    val = z3.BitVecVal(c, max(1, leaf.elems))
                return Opt(not_(eq_(raw, leaf.to_z3(None))), val, raw, leaf)
        assert_never(leaf.kind)

    def dump(self, leaf: Leaf, val: Val) -> z3.ExprRef:
        """The slot encoding of ``val`` under ``leaf``. An option's value is in
        its sort whenever it is present (the lowering checks what it stores;
        a step that stores a value outside is an error, whatever it writes)."""
        if not isinstance(val, Opt):
            return val
        if val.raw is not None and val.leaf == leaf:
            return val.raw
        none = leaf.to_z3(None)
        match leaf.kind:
            case "opt_int":
                enc: z3.ExprRef = val.inner
            case "opt_bool":
                enc = ite(val.inner, self.num(1), self.num(0))  # type: ignore[arg-type]
            case "opt_bv":
                enc = z3.ZeroExt(1, val.inner)  # type: ignore[arg-type]
                c = concrete(enc)
                if c is not None:
                    enc = z3.BitVecVal(c, leaf.bits)
            case _:
                raise InternalError(f"an option stored in a {leaf.kind} slot")
        return ite(val.present, enc, none)

    def merge(self, c: z3.BoolRef, a: Val, b: Val) -> Val:
        """``ite`` over values of one type."""
        if is_t(c):
            return a
        if is_f(c):
            return b
        if isinstance(a, Opt) and isinstance(b, Opt):
            raw = None
            if a.raw is not None and b.raw is not None and a.leaf == b.leaf:
                raw = ite(c, a.raw, b.raw)
            return Opt(ite(c, a.present, b.present),  # type: ignore[arg-type]
                       ite(c, a.inner, b.inner), raw, a.leaf if raw is not None else None)
        if isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef):
            return ite(c, a, b)
        raise InternalError(f"merging values of different shapes: {a!r} / {b!r}")

    def equal(self, a: Val, b: Val) -> z3.BoolRef:
        """``a == b``; an option against a plain value (a ``T?`` compared with
        a ``T``) is equal when it holds that value."""
        if isinstance(a, Opt) and not isinstance(b, Opt):
            return and_(a.present, eq_(a.inner, b))
        if isinstance(b, Opt) and not isinstance(a, Opt):
            return and_(b.present, eq_(b.inner, a))
        if isinstance(a, Opt) and isinstance(b, Opt):
            if a.raw is not None and b.raw is not None and a.leaf == b.leaf:
                return eq_(a.raw, b.raw)
            both = and_(a.present, b.present)
            return and_(eq_(a.present, b.present), implies_(both, eq_(a.inner, b.inner)))
        if isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef):
            return eq_(a, b)
        raise InternalError(f"comparing values of different shapes: {a!r} / {b!r}")

    def in_range(self, v: z3.ExprRef, lo: int, hi: int) -> z3.BoolRef:
        c = cint(v)
        if c is not None:
            return TRUE if lo <= c <= hi else FALSE
        return and_(v >= lo, v <= hi)  # type: ignore[operator]

    def _test(self, test: RangeTest | NotNoneTest, v: Val) -> z3.BoolRef:
        match test:
            case RangeTest(lo=lo, hi=hi, optional=optional):
                if isinstance(v, Opt):
                    ok = self.in_range(v.inner, lo, hi)
                    return implies_(v.present, ok) if optional else and_(v.present, ok)
                return self.in_range(v, lo, hi)
            case NotNoneTest():
                assert isinstance(v, Opt)
                return v.present
            case _:
                assert_never(test)

    # ------------------------------------------------------------ addresses

    def _choices(self, addr: Addr, env: Env, store: Sequence[z3.ExprRef]
                 ) -> tuple[list[list[tuple[int, z3.BoolRef]]], z3.BoolRef]:
        """Per address term, the candidate offsets with their conditions, and
        the run-time error of computing the keys."""
        choices: list[list[tuple[int, z3.BoolRef]]] = []
        errs: list[z3.BoolRef] = []
        for term in addr.terms:
            k, err = self.ev(term.key, env, store)
            errs.append(err)
            assert isinstance(k, z3.ExprRef)
            options = []
            for i, value in enumerate(term.values):
                cond = eq_(k, self.scalar_value(value))
                if is_f(cond):
                    continue
                options.append((i * term.stride, cond))
                if is_t(cond):
                    options = [(i * term.stride, TRUE)]
                    break
            choices.append(options or [(0, FALSE)])
        return choices, or_(*errs)

    def scalar_value(self, value: Any) -> z3.ExprRef:
        if isinstance(value, bool):
            return z3.BoolVal(value)
        return self.num(int(value))

    def read(self, addr: Addr, leaf: Leaf, env: Env, store: Sequence[z3.ExprRef]
             ) -> tuple[Val, z3.BoolRef]:
        choices, err = self._choices(addr, env, store)
        # Nested ite, one key position at a time: conditions stay single equalities.

        def build(pos: int, at: int) -> Val:
            if pos == len(choices):
                return self.load(leaf, store[at])
            opts = choices[pos]
            out = build(pos + 1, at + opts[-1][0])
            for offset, c in reversed(opts[:-1]):
                out = self.merge(c, build(pos + 1, at + offset), out)
            return out

        return build(0, addr.base), err

    # ------------------------------------------------------------ expressions

    def ev(self, e: Expr, env: Env, store: Sequence[z3.ExprRef]) -> tuple[Val, z3.BoolRef]:
        """The value of ``e`` and the condition under which evaluating it is a
        run-time error (in the core's order of evaluation)."""
        match e:
            case Lit(value=value, ty=ty):
                return self.literal(value, ty), FALSE
            case Var(name=name):
                found = env.get(name)
                if found is None:
                    raise InternalError(f"unbound local {name}")
                return found, FALSE
            case Read(addr=addr, slot=slot):
                return self.read(addr, leaf_of(slot, self.iw), env, store)
            case Not(arg=arg):
                v, err = self.ev(arg, env, store)
                return not_(v), err  # type: ignore[arg-type]
            case Neg(arg=arg):
                v, err = self.ev(arg, env, store)
                c = cint(v)  # type: ignore[arg-type]
                return (self.num(-c) if c is not None else -v), err  # type: ignore[operator]
            case ArithNode(op=op, lhs=a, rhs=b):
                (x, ex), (y, ey) = self.ev(a, env, store), self.ev(b, env, store)
                err = or_(ex, ey)
                cx, cy = cint(x), cint(y)  # type: ignore[arg-type]
                if cx is not None and cy is not None:
                    n = cx + cy if op == "add" else cx - cy if op == "sub" else cx * cy
                    return self.num(n), err
                if op in ("add", "sub") and cy == 0:
                    return x, err
                if op == "add":
                    return x + y, err  # type: ignore[operator]
                if op == "sub":
                    return x - y, err  # type: ignore[operator]
                return x * y, err  # type: ignore[operator]
            case DivMod(op=op, lhs=a, rhs=b, site=site):
                (x, ex), (y, ey) = self.ev(a, env, store), self.ev(b, env, store)
                assert isinstance(x, z3.ExprRef) and isinstance(y, z3.ExprRef)
                return self._floor_divmod(op, x, y, or_(ex, ey), site is not None)
            case Cmp(op=op, lhs=a, rhs=b):
                (x, ex), (y, ey) = self.ev(a, env, store), self.ev(b, env, store)
                err = or_(ex, ey)
                if op == "eq":
                    return self.equal(x, y), err
                if op == "ne":
                    return not_(self.equal(x, y)), err
                assert isinstance(x, z3.ExprRef) and isinstance(y, z3.ExprRef)
                cx, cy = cint(x), cint(y)
                if cx is not None and cy is not None:
                    r = {"lt": cx < cy, "le": cx <= cy, "gt": cx > cy, "ge": cx >= cy}[op]
                    return z3.BoolVal(r), err
                t = {"lt": lambda: x < y, "le": lambda: x <= y,  # type: ignore[operator]
                     "gt": lambda: x > y, "ge": lambda: x >= y}[op]()  # type: ignore[operator]
                return t, err
            case IsNone(arg=arg):
                v, err = self.ev(arg, env, store)
                assert isinstance(v, Opt)
                return not_(v.present), err
            case Some(arg=arg):
                v, err = self.ev(arg, env, store)
                assert isinstance(v, z3.ExprRef)
                return Opt(TRUE, v), err
            case SetOp(op=op, lhs=a, rhs=b):
                (x, ex), (y, ey) = self.ev(a, env, store), self.ev(b, env, store)
                err = or_(ex, ey)
                cx, cy = concrete(x), concrete(y)  # type: ignore[arg-type]
                if cx is not None and cy is not None:
                    r = cx | cy if op == "union" else cx & cy if op == "inter" else cx & ~cy
                    return z3.BitVecVal(r, x.size()), err  # type: ignore[union-attr]
                if op == "union":
                    return self._bvor(x, y), err  # type: ignore[arg-type]
                if op == "inter":
                    return x & y, err  # type: ignore[operator]
                return x & ~y, err  # type: ignore[operator]
            case Bit(elem=elem, values=values, ty=ty):
                v, err = self.ev(elem, env, store)
                assert isinstance(v, z3.ExprRef)
                bits = max(1, ty.n)
                mask: z3.ExprRef = z3.BitVecVal(0, bits)
                for i, x in enumerate(values):
                    mask = self._bvor(mask, ite(eq_(v, self.scalar_value(x)),
                                                z3.BitVecVal(1 << i, bits), z3.BitVecVal(0, bits)))
                return mask, err
            case Member(elem=elem, mask=m, values=values):
                (v, ev_), (mv, em) = self.ev(elem, env, store), self.ev(m, env, store)
                assert isinstance(v, z3.ExprRef) and isinstance(mv, z3.ExprRef)
                return self._member(v, mv, values), or_(ev_, em)
            case BoolOp(op=op, args=args):
                vals = []
                errs = []
                for a in args:
                    v, err = self.ev(a, env, store)
                    vals.append(v)
                    errs.append(err)
                combined = and_(*vals) if op == "and" else or_(*vals)  # type: ignore[arg-type]
                return combined, self._first_error(vals, errs, op == "and")  # type: ignore[arg-type]
            case Ite(cond=c, then=a, else_=b):
                test, ec = self.ev(c, env, store)
                assert isinstance(test, z3.ExprRef)
                if is_t(test):
                    v, err = self.ev(a, env, store)
                    return v, or_(ec, err)
                if is_f(test):
                    v, err = self.ev(b, env, store)
                    return v, or_(ec, err)
                (x, ex), (y, ey) = self.ev(a, env, store), self.ev(b, env, store)
                return self.merge(test, x, y), or_(ec, ite(test, ex, ey))  # type: ignore[arg-type]
            case Checked(value=value, test=test):
                v, err = self.ev(value, env, store)
                bad = not_(self._test(test, v))
                if isinstance(test, NotNoneTest):
                    assert isinstance(v, Opt)
                    return v.inner, or_(err, bad)
                return v, or_(err, bad)
            case Guard(cond=c, body=body):
                test, ec = self.ev(c, env, store)
                v, eb = self.ev(body, env, store)
                return v, or_(ec, not_(test), and_(test, eb))  # type: ignore[arg-type]
            case Fault(ty=ty):
                # Never a value: the step or the property is an error here.
                return self.literal(None if isinstance(ty, OptT) else 0, ty), TRUE
            case Quant():
                return self._ev_quant(e, env, store)
            case LetIn(var=var, value=value, body=body):
                v, ev_ = self.ev(value, env, store)
                inner = dict(env)
                inner[var.name] = v
                result, eb = self.ev(body, inner, store)
                return result, or_(ev_, eb)
            case Marked(body=body):
                return self.ev(body, env, store)  # a coverage count means nothing here
            case _:
                assert_never(e)

    @staticmethod
    def _bvor(a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        ca, cb = concrete(a), concrete(b)
        if ca == 0:
            return b
        if cb == 0:
            return a
        if ca is not None and cb is not None:
            return z3.BitVecVal(ca | cb, a.size())  # type: ignore[attr-defined]
        return a | b  # type: ignore[operator]

    def _floor_divmod(self, op: str, a: z3.ExprRef, b: z3.ExprRef, err: z3.BoolRef,
                      may_be_zero: bool) -> tuple[Val, z3.BoolRef]:
        ca, cb = cint(a), cint(b)
        if cb == 0:
            return self.num(0), TRUE
        if ca is not None and cb is not None:
            return self.num(ca // cb if op == "div" else ca % cb), err
        if may_be_zero:
            err = or_(err, eq_(b, self.num(0)))
        if self.iw:
            # bvsmod takes the divisor's sign, as Python's %; then the floor
            # quotient is the exact (truncating) quotient of a - a mod b.
            r = a % b  # type: ignore[operator]
            return ((a - r) / b if op == "div" else r), err  # type: ignore[operator]
        q = a / b  # type: ignore[operator]
        r = a % b  # type: ignore[operator]
        if cb is not None and cb > 0:
            # Euclidean and floor division agree for a positive divisor.
            return (q if op == "div" else r), err
        # Python: a // b == floor(a / b). Z3's Euclidean remainder is in [0, |b|);
        # for b < 0 and r != 0 the floor quotient is one less, the remainder r + b.
        fix = z3.And(b < 0, r != 0)  # type: ignore[operator]
        if op == "div":
            return z3.If(fix, q - 1, q), err
        return z3.If(fix, r + b, r), err  # type: ignore[operator]

    def _member(self, v: z3.ExprRef, mask: z3.ExprRef, values: tuple[Any, ...]) -> z3.BoolRef:
        # An element outside the sort is simply not in the set.
        cm = concrete(mask)
        parts: list[z3.BoolRef] = []
        for i, x in enumerate(values):
            c = eq_(v, self.scalar_value(x))
            if is_f(c):
                continue
            if cm is not None:
                bit = TRUE if cm >> i & 1 else FALSE
            else:
                bit = z3.Extract(i, i, mask) == 1  # type: ignore[assignment]
            parts.append(and_(c, bit))
        return or_(*parts)

    def instances(self, q: Quant) -> list[tuple[tuple[Any, ...], Expr]]:
        found = self._instances.get(q)
        if found is None:
            found = self._instances[q] = fold.instances(q)
        return found

    def _ev_quant(self, q: Quant, env: Env, store: Sequence[z3.ExprRef]
                  ) -> tuple[Val, z3.BoolRef]:
        bodies: list[z3.ExprRef] = []
        errs: list[z3.BoolRef] = []
        combos = []
        for combo, body in self.instances(q):
            b, e = self.ev(body, env, store)
            assert isinstance(b, z3.ExprRef)
            bodies.append(b)
            errs.append(e)
            combos.append(combo)
        match q.kind:
            case "forall":
                # all(): stops at the first false instance.
                return and_(*bodies), self._first_error(bodies, errs, True)  # type: ignore[arg-type]
            case "exists":
                # any(): stops at the first true instance.
                return or_(*bodies), self._first_error(bodies, errs, False)  # type: ignore[arg-type]
            case "count":
                known = 0
                terms = []
                for b in bodies:
                    if is_t(b):
                        known += 1
                    elif not is_f(b):
                        terms.append(z3.If(b, self.num(1), self.num(0)))
                total: z3.ExprRef = self.num(known)
                if terms:
                    total = self.sum(terms + ([total] if known else []))
                return total, or_(*errs)
            case "choose":
                assert isinstance(q.ty, OptT)
                err = self._first_error(bodies, errs, False)  # type: ignore[arg-type]
                present = or_(*bodies)  # type: ignore[arg-type]
                chosen: z3.ExprRef = self.zero(q.ty.inner)
                for b, combo in reversed(list(zip(bodies, combos, strict=True))):
                    chosen = ite(b, self.scalar_value(combo[0]), chosen)  # type: ignore[arg-type]
                return Opt(present, chosen), err
            case _:
                assert_never(q.kind)

    @staticmethod
    def _first_error(bodies: Sequence[z3.BoolRef], errs: Sequence[z3.BoolRef],
                     continue_on: bool) -> z3.BoolRef:
        """Error of a short-circuit scan: part i is evaluated only while every
        earlier part was ``continue_on``."""
        out: list[z3.BoolRef] = []
        for i, e in enumerate(errs):
            if is_f(e):
                continue
            before = [b if continue_on else not_(b) for b in bodies[:i]]
            out.append(and_(*before, e))
        return or_(*out)

    # ------------------------------------------------------------ statements

    def exec_block(self, stmts: Sequence[Stmt], env: Env, store: list[z3.ExprRef],
                   pc: z3.BoolRef, acc: Acc) -> list[z3.ExprRef]:
        """Runs ``stmts`` on ``store`` under path condition ``pc``; returns the store."""
        env = dict(env)  # a let binds until the end of its block
        for stmt in stmts:
            if is_f(acc.run):
                break
            # After a stop that may have happened, the statements run (their
            # requires, assertions and errors count) only where it did not.
            live = pc if is_f(acc.stopped) else and_(pc, not_(acc.stopped))
            if is_f(live):
                break
            store = self.exec_stmt(stmt, env, store, live, acc)  # type: ignore[arg-type]
        return store

    def exec_stmt(self, stmt: Stmt, env: Env, store: list[z3.ExprRef], pc: z3.BoolRef,
                  acc: Acc) -> list[z3.ExprRef]:
        match stmt:
            case Let(var=var, value=value):
                v, err = self.ev(value, env, store)
                acc.runtime_error(pc, err)
                env[var.name] = v
                return store
            case Store(addr=addr, values=values):
                choices, kerr = self._choices(addr, env, store)
                vals = []
                errs = [kerr]
                for value in values:
                    v, err = self.ev(value, env, store)
                    vals.append(v)
                    errs.append(err)
                acc.runtime_error(pc, or_(*errs))
                store = list(store)
                for combo in itertools.product(*choices):
                    at = addr.base + sum(offset for offset, _ in combo)
                    cond = and_(*[c for _, c in combo])
                    for j, v in enumerate(vals):
                        slot = self.dump(self.leaves[at + j], v)
                        store[at + j] = ite(cond, slot, store[at + j])
                return store
            case Check(cond=c):
                test, err = self.ev(c, env, store)
                acc.runtime_error(pc, or_(err, not_(test)))  # type: ignore[arg-type]
                return store
            case If(cond=c, then=then, else_=else_):
                test, err = self.ev(c, env, store)
                assert isinstance(test, z3.ExprRef)
                acc.runtime_error(pc, err)
                if is_t(test):
                    return self.exec_block(then, env, store, pc, acc)
                if is_f(test):
                    return self.exec_block(else_, env, store, pc, acc)
                s1 = self.exec_block(then, env, list(store), and_(pc, test), acc)  # type: ignore[arg-type]
                s2 = self.exec_block(else_, env, list(store), and_(pc, not_(test)), acc)  # type: ignore[arg-type]
                return [a if a.eq(b) else ite(test, a, b)  # type: ignore[arg-type]
                        for a, b in zip(s1, s2, strict=True)]
            case For(var=var, values=values, body=body):
                for x in values:
                    copy = fold.substitute_stmts(body, {var.name: Lit(x, var.ty)})
                    store = self.exec_block(copy, env, store, pc, acc)
                return store
            case Require(cond=c):
                test, err = self.ev(c, env, store)
                assert isinstance(test, z3.ExprRef)
                acc.runtime_error(pc, err)
                acc.require(pc, test)  # type: ignore[arg-type]
                return store
            case AssertStmt(index=index, cond=c):
                test, err = self.ev(c, env, store)
                assert isinstance(test, z3.ExprRef)
                acc.runtime_error(pc, err)
                acc.assertion(self.core.asserts[index].name, pc, test)  # type: ignore[arg-type]
                return store
            case Mark():
                return store
            case Stop():
                acc.stop(pc, store)
                return store
            case _:
                assert_never(stmt)

    # ------------------------------------------------------------ the model

    def initial_state(self) -> tuple[Any, ...]:
        """The deterministic initial state (defaults, then the init block).
        Assertions the init block violates are in ``init_failures``."""
        if self._initial is not None:
            return self._initial
        store = self.state_literal(self.inst.initial_slots())
        acc = Acc()
        store = self.exec_block(self.core.init, {}, store, TRUE, acc)
        if not is_f(z3.simplify(acc.error)):
            raise SpecRuntimeError("the init block hits a run-time error (a value outside "
                                   "its sort, a field of none, unwrap of none or division "
                                   "by zero)", self.model.span)
        if not is_t(z3.simplify(acc.run)):
            # No initial state: every property would hold vacuously, so it is an
            # error of the spec, never a proof.
            raise SpecError("a requires in the init block is false, so there is no "
                            "initial state", self.model.span)
        self.init_failures = tuple(name for name, cond in acc.failed.items()
                                   if is_t(z3.simplify(cond)))
        out = []
        for leaf, term in zip(self.leaves, store, strict=True):
            value = z3.simplify(term)
            if concrete(value) is None:
                raise InternalError(f"initial state not concrete: {value}")
            out.append(leaf.from_z3(value))
        self._initial = tuple(out)
        return self._initial

    def prop_value(self, prop: ir.Property, xs: Sequence[z3.ExprRef]
                   ) -> tuple[z3.BoolRef, z3.BoolRef]:
        """(value, evaluation error) of a property on state ``xs``."""
        v, err = self.ev(self._props[prop.name].expr, {}, xs)
        assert isinstance(v, z3.ExprRef)
        return v, err  # type: ignore[return-value]

    def prop_holds(self, prop: ir.Property, xs: Sequence[z3.ExprRef]) -> z3.BoolRef:
        """The property holds and evaluates without error (a ``sometimes`` is
        witnessed only by a state where it evaluates cleanly to true)."""
        v, err = self.prop_value(prop, xs)
        return and_(not_(err), v)

    def holds_at(self, prop: ir.Property, xs: Sequence[z3.ExprRef]) -> z3.BoolRef:
        """``prop_holds`` on state ``xs``: encoded once over the template state,
        then renamed (evaluating a property is much slower than renaming)."""
        tr = self.transition()
        term = self._prop_cache.get(prop.name)
        if term is None:
            term = self.prop_holds(prop, tr.cur)
            self._prop_cache[prop.name] = term
        return z3.substitute(term, *zip(tr.cur, xs, strict=True))  # type: ignore[return-value]

    def error_at(self, prop: ir.Property, xs: Sequence[z3.ExprRef]) -> z3.BoolRef:
        """Evaluating ``prop`` on state ``xs`` hits a run-time error."""
        tr = self.transition()
        key = "error|" + prop.name
        term = self._prop_cache.get(key)
        if term is None:
            term = self.prop_value(prop, tr.cur)[1]
            self._prop_cache[key] = term
        return z3.substitute(term, *zip(tr.cur, xs, strict=True))  # type: ignore[return-value]

    def param_leaf(self, param: ir.Local) -> Leaf:
        if not ir.is_finite_scalar(param.sort):
            raise SpecError(f"parameter {param.name} must have a finite sort, not {param.sort}",
                            param.span)
        return self.leaf(param.sort)

    def encode_action(self, action: ir.Action, index: int, cur: list[z3.ExprRef],
                      tag: str = "P") -> ActionEncoding:
        plan = self.core.actions[index]
        leaves = tuple(self.param_leaf(p) for p in action.params)
        params = tuple(z3.Const(f"{tag}|{action.name}.{p.name}", leaf.z3sort())
                       for p, leaf in zip(action.params, leaves, strict=True))
        env: Env = {v.name: x for v, x in zip(plan.params, params, strict=True)}
        domain = and_(*[leaf.domain(x) for leaf, x in zip(leaves, params, strict=True)])
        if any(not d for d in plan.domains):
            domain = FALSE  # an empty parameter sort: the action never fires
        acc = Acc()
        store = acc.final(self.exec_block(plan.body, env, list(cur), TRUE, acc))
        return ActionEncoding(action, index, params, leaves, domain, acc.run, acc.fails(),
                              store)

    def transition(self) -> Transition:
        """The step relation over template constants (built once, then renamed)."""
        if self._transition is not None:
            return self._transition
        cur = self.state_consts("X")
        nxt = self.state_consts("Y")
        sel = z3.Const("A", self.int_sort())
        actions = [self.encode_action(a, i, cur) for i, a in enumerate(self.model.actions)]
        ok = or_(*[and_(eq_(sel, self.num(a.index)), a.domain, a.ok) for a in actions])
        names: list[str] = []
        for a in actions:
            names.extend(n for n in a.fails if n not in names)
        fails = {n: or_(*[and_(eq_(sel, self.num(a.index)), a.domain, a.fails[n])
                          for a in actions if n in a.fails]) for n in names}
        frame_parts: list[z3.BoolRef] = []
        for i, y in enumerate(nxt):
            # Actions that leave slot i alone share the default branch.
            value: z3.ExprRef = cur[i]
            for a in reversed(actions):
                if not a.next[i].eq(cur[i]):
                    value = ite(eq_(sel, self.num(a.index)), a.next[i], value)
            frame_parts.append(eq_(y, value))
        frame = and_(*frame_parts)
        self._transition = Transition(cur, nxt, sel, actions, ok, frame, fails)
        return self._transition

    # ------------------------------------------------------------ time frames

    def frame_consts(self, t: int) -> list[z3.ExprRef]:
        return self.state_consts(f"s{t}")

    def step(self, t: int, cur: list[z3.ExprRef], nxt: list[z3.ExprRef]) -> Frame:
        """The step relation from ``cur`` to ``nxt`` with fresh selector and
        parameters named after step ``t``."""
        tr = self.transition()
        sel = z3.Const(f"act{t}", self.int_sort())
        params = [tuple(z3.Const(f"{t}|{a.action.name}.{p.name}", leaf.z3sort())
                        for p, leaf in zip(a.action.params, a.param_leaves, strict=True))
                  for a in tr.actions]
        subst: list[tuple[z3.ExprRef, z3.ExprRef]] = list(zip(tr.cur, cur, strict=True))
        subst += list(zip(tr.nxt, nxt, strict=True))
        subst.append((tr.sel, sel))
        for a, ps in zip(tr.actions, params, strict=True):
            subst.extend(zip(a.params, ps, strict=True))

        def rename(e: z3.BoolRef) -> z3.BoolRef:
            return z3.substitute(e, *subst) if subst else e  # type: ignore[return-value]

        return Frame(sel, params, rename(tr.ok), rename(tr.frame),
                     {n: rename(f) for n, f in tr.fails.items()}, subst)

    def decode_step(self, m: z3.ModelRef,
                    frame: Frame) -> tuple[ir.Action, tuple[tuple[str, Any], ...]]:
        tr = self.transition()
        idx = signed(m.eval(frame.sel, model_completion=True))
        if not 0 <= idx < len(tr.actions):
            raise InternalError(f"action selector {idx} out of range")
        a = tr.actions[idx]
        args = tuple((p.name, leaf.from_z3(m.eval(x, model_completion=True)))
                     for p, leaf, x in zip(a.action.params, a.param_leaves, frame.params[idx],
                                           strict=True))
        return a.action, args

    # ------------------------------------------------------------ concrete use

    def concrete_step(self, state: Sequence[Any], action: str, args: Sequence[Any]
                      ) -> tuple[str, tuple[Any, ...] | None, tuple[str, ...]]:
        """Runs the encoded action on a concrete state, as the explicit machine
        would: ("ok", next, failed assertions), ("disabled", None, ()) or
        (ERROR_PROP, None, ()). For self-checks and differential tests."""
        tr = self.transition()
        a = next(x for x in tr.actions if x.action.name == action)
        subst = list(zip(tr.cur, self.state_literal(state), strict=True))
        subst += [(x, leaf.to_z3(v))
                  for x, leaf, v in zip(a.params, a.param_leaves, args, strict=True)]

        def value(e: z3.ExprRef) -> z3.ExprRef:
            return z3.simplify(z3.substitute(e, *subst))

        if ERROR_PROP in a.fails and is_t(value(a.fails[ERROR_PROP])):
            return ERROR_PROP, None, ()
        if not is_t(value(a.ok)):
            return "disabled", None, ()
        failed = tuple(name for name, cond in a.fails.items()
                       if name != ERROR_PROP and is_t(value(cond)))
        nxt = tuple(leaf.from_z3(value(e)) for leaf, e in zip(self.leaves, a.next, strict=True))
        return "ok", nxt, failed

    def concrete_prop(self, prop: ir.Property, state: Sequence[Any]) -> bool | None:
        """The property on a concrete state: True/False, None for a run-time error."""
        v, err = self.prop_value(prop, self.state_literal(state))
        if is_t(z3.simplify(err)):
            return None
        return is_t(z3.simplify(v))
