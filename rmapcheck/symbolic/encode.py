"""The IR as a Z3 transition relation over a current and a next copy of the state.

Representation
--------------
A state is the flat slot tuple of ``rmapcheck.instance`` and the encoding has
exactly **one Z3 constant per slot** per time frame, so that a Z3 model decodes
to the very tuple the explicit engine reaches. Each slot has a ``Leaf`` kind:

- ``bool``: a Z3 Bool (Bool state, and the presence slot of an ``R?`` record);
- ``int``: a Z3 Int constrained to ``lo .. hi`` (range sorts; enums as the
  member index ``0 .. n-1``);
- ``bv``: a ``set T`` as a bit vector of ``|T|`` bits (bit ``i`` for the
  ``i``-th value of ``T``), decoded to the same int mask the explicit engine uses;
- ``opt_int``: ``T?`` of a range or enum: an Int where the sentinel ``lo - 1``
  (outside the sort) stands for ``none``; ``opt_bool``: ``Bool?`` as -1/0/1;
  ``opt_bv``: ``(set T)?`` as ``|T| + 1`` bits, ``none`` being the top bit alone.

An absent ``R?`` record keeps its fields at their defaults (the explicit
engine's canonical form); the encoding keeps it so, and ``domain`` constrains
unconstrained states (induction) to canonical ones.

Symbolic execution
------------------
An action body runs once, symbolically, over a functional store (slot index ->
Z3 term) starting from the current-state constants, with the parameters as
fresh constants. ``If`` forks the store and merges the slots that differ with
``ite``; a write to a map entry whose key is symbolic updates every candidate
slot with ``ite(key == k, new, old)``; a read with a symbolic key is a nested
``ite`` chain over the candidates (one key position at a time). ``For`` is
unrolled over the sort, quantifiers are expanded over their (finite) sorts.
Constant folding on construction keeps terms small: quantified variables and
loop variables are concrete, so most keys are concrete.

The result per action is: ``ok`` (every ``require`` holds and nothing failed),
``fails[name]`` (the step violates assertion ``name``) and the store at the
end of the body. The step relation of a frame has an action selector (an Int,
the index of the action in ``model.actions``) and per-action parameter
constants, so a model tells which action fired with which arguments.

Semantics pinned here (the explicit machine is the reference)
-------------------------------------------------------------
- Statements run in order; ``require`` false disables the step; the first
  failing ``assert`` or run-time error ends the step as a violation of that
  assertion or of ``__runtime_error__`` (statements after it do not matter).
- Run-time errors: storing a value outside the target sort, a map key or set
  element outside its sort, reading a field of (or writing a field into) a
  ``none`` record, ``unwrap(none)``, division or modulo by zero. They are
  evaluated with Python's short-circuit order (``and``, ``or``, ``implies``,
  ``ite``, and ``forall``/``exists``/``choose`` stop at the first deciding
  instance), so a guarded ``unwrap`` is not an error.
- ``div``/``mod`` are Python's floor division; Z3's are Euclidean, so a
  negative divisor is corrected explicitly.
- A property whose evaluation hits a run-time error is reported as violated
  (``prop_value`` returns the error condition separately).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, assert_never

import z3

from rmapcheck import ir
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


# ---------------------------------------------------------------- symbolic values


@dataclass(frozen=True)
class Rec:
    """A record value: one value per field, in declaration order."""

    sort: ir.RecordSort
    fields: tuple[Val, ...]


@dataclass(frozen=True)
class Opt:
    """A value of ``T?``. ``inner`` is the default of ``T`` when absent for records
    (canonical form). ``raw`` is the slot encoding (sentinel for none) of a scalar
    option, when known; a scalar option of ``Int`` has none."""

    sort: ir.OptionSort
    present: z3.BoolRef
    inner: Val
    raw: z3.ExprRef | None = None


# z3 has no type information, so mypy sees this as an alias only when told
Val: TypeAlias = z3.ExprRef | Rec | Opt


@dataclass
class Binding:
    val: Val
    # A trusted value is in its sort by construction (parameter, quantified
    # variable, or a let of a trusted expression), so storing it needs no check.
    trusted: bool


Env = dict[str, Binding]


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

    def __init__(self, instance: Instance, arith: Arith = "bv") -> None:
        self.inst = instance
        self.model = instance.model
        self.arith = arith
        # Bit-vector mode: one signed width for every integer term, wide enough
        # for every value (static interval analysis), so nothing wraps around.
        self.iw = int_bits(instance, (len(self.model.actions),)) if arith == "bv" else 0
        self.leaves: list[Leaf] = []
        self.slot_names: list[str] = []
        # For each R? entry: its presence slot and (field slot, default) pairs.
        self.canon: list[tuple[int, list[tuple[int, Any]]]] = []
        for var in self.model.state:
            rng = instance.layout[var.name]
            for key in rng.keys:
                base = f"{var.name}[{','.join(map(str, key))}]" if key else var.name
                self._flatten(var.value, base, var.span)
        if len(self.leaves) != instance.num_slots:
            raise InternalError(f"slot layout mismatch: {len(self.leaves)} leaves for "
                                f"{instance.num_slots} slots")
        self._transition: Transition | None = None
        self._initial: tuple[Any, ...] | None = None
        self._prop_cache: dict[str, z3.BoolRef] = {}
        self.init_failures: tuple[str, ...] = ()

    # ------------------------------------------------------------ layout

    def _flatten(self, sort: ir.Sort, name: str, span: ir.Span | None) -> None:
        match sort:
            case ir.RecordSort(fields=fields):
                for fname, fsort in fields:
                    self._flatten(fsort, f"{name}.{fname}", span)
            case ir.OptionSort(inner=ir.RecordSort() as rec):
                presence = len(self.leaves)
                self.leaves.append(Leaf("bool"))
                self.slot_names.append(f"{name}?")
                start = len(self.leaves)
                self._flatten(rec, name, span)
                defaults = self.inst.default(rec)
                self.canon.append((presence, [(start + i, d) for i, d in enumerate(defaults)]))
            case _:
                self.leaves.append(self.leaf(sort, span))
                self.slot_names.append(name)

    def leaf(self, sort: ir.Sort, span: ir.Span | None = None) -> Leaf:
        """The representation of a scalar sort (one slot)."""
        match sort:
            case ir.BoolSort():
                return Leaf("bool")
            case ir.RangeSort():
                lo, hi = self.inst.range_bounds(sort)
                return Leaf("int", lo, hi, iw=self.iw)
            case ir.EnumSort(members=members):
                return Leaf("int", 0, len(members) - 1, iw=self.iw)
            case ir.SetSort(elem=elem):
                n = len(self.inst.values(elem))
                return Leaf("bv", bits=max(1, n), elems=n)
            case ir.OptionSort(inner=ir.BoolSort()):
                return Leaf("opt_bool", -1, 1, iw=self.iw)
            case ir.OptionSort(inner=ir.RangeSort() | ir.EnumSort() as inner):
                base = self.leaf(inner, span)
                return Leaf("opt_int", base.lo, base.hi, iw=self.iw)
            case ir.OptionSort(inner=ir.SetSort(elem=elem)):
                n = len(self.inst.values(elem))
                return Leaf("opt_bv", bits=n + 1, elems=n)
            case ir.OptionSort() | ir.IntSort() | ir.RecordSort():
                raise SpecError(f"a value of sort {sort} cannot be held in one state slot",
                                span)
        assert_never(sort)

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

    def default_val(self, sort: ir.Sort) -> Val:
        match sort:
            case ir.RecordSort(fields=fields):
                return Rec(sort, tuple(self.default_val(s) for _, s in fields))
            case ir.OptionSort():
                return self.none_val(sort)
            case ir.IntSort():
                return self.num(0)
            case _:
                (slot,) = self.inst.default(sort)
                return self.leaf(sort).to_z3(slot)

    def none_val(self, sort: ir.OptionSort) -> Opt:
        inner = self.default_val(sort.inner)
        raw = None
        if not isinstance(sort.inner, (ir.RecordSort, ir.IntSort)):
            raw = self.leaf(sort).to_z3(None)
        return Opt(sort, FALSE, inner, raw)

    def wrap(self, sort: ir.OptionSort, present: z3.BoolRef, inner: Val,
             raw_ok: bool = True) -> Opt:
        """An option from its parts; computes the slot encoding for scalars when the
        inner value is known to lie in its sort (else the sentinel could collide)."""
        raw = None
        if raw_ok and not isinstance(sort.inner, (ir.RecordSort, ir.IntSort)):
            leaf = self.leaf(sort)
            none = leaf.to_z3(None)
            assert isinstance(inner, z3.ExprRef)
            match leaf.kind:
                case "opt_int":
                    enc: z3.ExprRef = inner
                case "opt_bool":
                    enc = ite(inner, self.num(1), self.num(0))  # type: ignore[arg-type]
                case "opt_bv":
                    enc = z3.ZeroExt(1, inner)  # type: ignore[arg-type]
                    c = concrete(enc)
                    if c is not None:
                        enc = z3.BitVecVal(c, leaf.bits)
                case _:
                    raise InternalError(f"option leaf {leaf.kind}")
            raw = ite(present, enc, none)
        return Opt(sort, present, inner, raw)

    def load(self, sort: ir.Sort, slots: Sequence[z3.ExprRef]) -> Val:
        """The value of ``sort`` held in ``slots`` (exactly its width)."""
        match sort:
            case ir.RecordSort(fields=fields):
                out: list[Val] = []
                pos = 0
                for _, fsort in fields:
                    w = self.inst.width(fsort)
                    out.append(self.load(fsort, slots[pos:pos + w]))
                    pos += w
                return Rec(sort, tuple(out))
            case ir.OptionSort(inner=ir.RecordSort() as rec):
                return Opt(sort, slots[0], self.load(rec, slots[1:]))  # type: ignore[arg-type]
            case ir.OptionSort():
                leaf = self.leaf(sort)
                raw = slots[0]
                present = not_(eq_(raw, leaf.to_z3(None)))
                match leaf.kind:
                    case "opt_int":
                        val: Val = raw
                    case "opt_bool":
                        val = eq_(raw, self.num(1))
                    case "opt_bv":
                        val = z3.Extract(max(0, leaf.elems - 1), 0, raw)  # type: ignore[arg-type]
                        c = concrete(val)
                        if c is not None:
                            val = z3.BitVecVal(c, max(1, leaf.elems))
                    case _:
                        raise InternalError(f"option leaf {leaf.kind}")
                return Opt(sort, present, val, raw)
            case _:
                return slots[0]

    def dump(self, sort: ir.Sort, val: Val) -> list[z3.ExprRef]:
        """The slots of a value of ``sort``."""
        match sort:
            case ir.RecordSort(fields=fields):
                assert isinstance(val, Rec), (sort, val)
                out: list[z3.ExprRef] = []
                for (_, fsort), fval in zip(fields, val.fields, strict=True):
                    out.extend(self.dump(fsort, fval))
                return out
            case ir.OptionSort(inner=ir.RecordSort() as rec):
                assert isinstance(val, Opt), (sort, val)
                return [val.present] + self.dump(rec, val.inner)
            case ir.OptionSort():
                assert isinstance(val, Opt), (sort, val)
                if val.raw is not None and val.sort == sort:
                    return [val.raw]
                return [self.wrap(sort, val.present, val.inner).raw]  # type: ignore[list-item]
            case _:
                assert isinstance(val, z3.ExprRef), (sort, val)
                return [val]

    def merge(self, c: z3.BoolRef, a: Val, b: Val) -> Val:
        """``ite`` over values of the same sort."""
        if is_t(c):
            return a
        if is_f(c):
            return b
        if isinstance(a, Rec) and isinstance(b, Rec):
            return Rec(a.sort, tuple(self.merge(c, x, y)
                                     for x, y in zip(a.fields, b.fields, strict=True)))
        if isinstance(a, Opt) and isinstance(b, Opt):
            raw = None
            if a.raw is not None and b.raw is not None and a.sort == b.sort:
                raw = ite(c, a.raw, b.raw)
            return Opt(a.sort, ite(c, a.present, b.present),  # type: ignore[arg-type]
                       self.merge(c, a.inner, b.inner), raw)
        if isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef):
            return ite(c, a, b)
        raise InternalError(f"merging values of different shapes: {a!r} / {b!r}")

    def equal(self, a: Val, b: Val) -> z3.BoolRef:
        if isinstance(a, Rec) and isinstance(b, Rec):
            return and_(*[self.equal(x, y) for x, y in zip(a.fields, b.fields, strict=True)])
        if isinstance(a, Opt) and isinstance(b, Opt):
            if a.raw is not None and b.raw is not None and a.sort == b.sort:
                return eq_(a.raw, b.raw)
            both = and_(a.present, b.present)
            return and_(eq_(a.present, b.present),
                        implies_(both, self.equal(a.inner, b.inner)))
        if isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef):
            return eq_(a, b)
        raise InternalError(f"comparing values of different shapes: {a!r} / {b!r}")

    def in_sort(self, sort: ir.Sort, v: z3.ExprRef) -> z3.BoolRef:
        """A scalar value of an arithmetic expression lies in ``sort``."""
        match sort:
            case ir.RangeSort():
                lo, hi = self.inst.range_bounds(sort)
                c = cint(v)
                if c is not None:
                    return TRUE if lo <= c <= hi else FALSE
                return and_(v >= lo, v <= hi)  # type: ignore[operator]
            case ir.EnumSort(members=members):
                c = cint(v)
                if c is not None:
                    return TRUE if 0 <= c < len(members) else FALSE
                return and_(v >= 0, v < len(members))  # type: ignore[operator]
            case _:
                return TRUE

    def fits(self, sort: ir.Sort, val: Val, expr: ir.Expr | None, env: Env) -> z3.BoolRef:
        """``val`` (the value of ``expr``) may be stored in a slot run of ``sort``."""
        if expr is not None and self.trusted(expr, sort, env):
            return TRUE
        match sort:
            case ir.RangeSort() | ir.EnumSort():
                assert isinstance(val, z3.ExprRef)
                return self.in_sort(sort, val)
            case ir.OptionSort(inner=inner):
                assert isinstance(val, Opt)
                sub = expr.arg if isinstance(expr, ir.Wrap) else None
                return implies_(val.present, self.fits(inner, val.inner, sub, env))
            case ir.RecordSort(fields=fields):
                assert isinstance(val, Rec)
                lit = dict(expr.fields) if isinstance(expr, ir.RecordLit) else {}
                return and_(*[self.fits(fsort, fval, lit.get(fname), env)
                              for (fname, fsort), fval in zip(fields, val.fields, strict=True)])
            case _:
                return TRUE

    def trusted(self, expr: ir.Expr, target: ir.Sort, env: Env) -> bool:
        """Whether every value ``expr`` can have belongs to ``target``, so storing
        it needs no run-time check. Mirrors the explicit compiler's rule (a
        check skipped there must be skipped here, and the other way round)."""
        match target:
            case ir.IntSort() | ir.BoolSort() | ir.EnumSort() | ir.SetSort():
                return True
            case _:
                pass
        match expr:
            case ir.IntLit(value=value):
                return self.inst.contains(target, value)
            case ir.ConstRef(name=name):
                return self.inst.contains(target, self.inst.consts[name])
            case ir.NoneLit():
                return isinstance(target, ir.OptionSort)
            case ir.Wrap(arg=arg):
                return isinstance(target, ir.OptionSort) and self.trusted(arg, target.inner, env)
            case ir.Unwrap(arg=arg):
                return self.trusted(arg, ir.OptionSort(target), env)
            case ir.Ite(then=a, else_=b):
                return self.trusted(a, target, env) and self.trusted(b, target, env)
            case ir.RecordLit(sort=rec, fields=fields):
                return rec == target and all(
                    self.trusted(e, rec.field_sort(n), env) for n, e in fields)
            case ir.Field(base=base):
                return expr.sort == target and self.trusted(base, base.sort, env)
            case ir.Unary() | ir.Binary():
                return False  # arithmetic is Int whatever the front end labels it
            case ir.Quant(kind=kind, vars=vars_):
                return kind == "choose" and target == ir.OptionSort(vars_[0].sort)
            case ir.StateRead() | ir.Local() | ir.BoolLit() | ir.EnumLit() | ir.SetLit():
                # A let is checked against its sort when bound, so a local of
                # the target sort is in it, like a parameter.
                return expr.sort == target
        assert_never(expr)

    # ------------------------------------------------------------ map entries

    def _key_choices(self, sorts: Sequence[ir.Sort], keys: Sequence[z3.ExprRef],
                     exprs: Sequence[ir.Expr], env: Env
                     ) -> tuple[list[list[tuple[int, z3.BoolRef]]], z3.BoolRef]:
        """Per key position, the candidate value indices with their conditions,
        and the run-time error condition (a key outside its sort)."""
        choices: list[list[tuple[int, z3.BoolRef]]] = []
        errs: list[z3.BoolRef] = []
        for sort, k, e in zip(sorts, keys, exprs, strict=True):
            values = self.inst.values(sort)
            c = concrete(k) if isinstance(sort, ir.BoolSort) else cint(k)
            if c is not None:
                if isinstance(sort, ir.BoolSort) or self.inst.contains(sort, c):
                    choices.append([(self.inst.index_of(sort, c), TRUE)])
                else:
                    errs.append(TRUE)
                    choices.append([(0, TRUE)])
                continue
            if not self.trusted(e, sort, env):
                errs.append(not_(self.in_sort(sort, k)))
            if isinstance(sort, ir.BoolSort):
                choices.append([(0, not_(k)), (1, k)])  # type: ignore[arg-type]
            else:
                choices.append([(i, eq_(k, self.num(v))) for i, v in enumerate(values)])
        return choices, or_(*errs)

    def _entries(self, var: str, choices: list[list[tuple[int, z3.BoolRef]]]
                 ) -> list[tuple[z3.BoolRef, int]]:
        """Every candidate entry: (condition, first slot)."""
        rng = self.inst.layout[var]
        out: list[tuple[z3.BoolRef, int]] = []
        for combo in itertools.product(*choices):
            pos = sum(i * s for (i, _), s in zip(combo, rng.strides, strict=True))
            out.append((and_(*[c for _, c in combo]), rng.offset + pos * rng.width))
        return out

    def read_entry(self, var: str, keys: Sequence[z3.ExprRef], exprs: Sequence[ir.Expr],
                   env: Env, store: Sequence[z3.ExprRef]) -> tuple[Val, z3.BoolRef]:
        rng = self.inst.layout[var]
        sort = rng.var.value
        choices, err = self._key_choices(rng.var.keys, keys, exprs, env)
        # Nested ite, one key position at a time: conditions stay single equalities.

        def build(pos: int, base: int) -> Val:
            if pos == len(choices):
                start = rng.offset + base * rng.width
                return self.load(sort, store[start:start + rng.width])
            opts = choices[pos]
            out = build(pos + 1, base + opts[-1][0] * rng.strides[pos])
            for i, c in reversed(opts[:-1]):
                out = self.merge(c, build(pos + 1, base + i * rng.strides[pos]), out)
            return out

        return build(0, 0), err

    # ------------------------------------------------------------ expressions

    def ev(self, expr: ir.Expr, env: Env, store: Sequence[z3.ExprRef]) -> tuple[Val, z3.BoolRef]:
        """The value of ``expr`` and the condition under which evaluating it is a
        run-time error (in Python's evaluation order)."""
        match expr:
            case ir.BoolLit(value=value):
                return z3.BoolVal(value), FALSE
            case ir.IntLit(value=value, sort=sort):
                if isinstance(sort, ir.RangeSort) and not self.inst.contains(sort, value):
                    return self.num(value), TRUE  # a literal outside its declared sort
                return self.num(value), FALSE
            case ir.EnumLit():
                return self.num(expr.index), FALSE
            case ir.NoneLit(sort=sort):
                return self.none_val(sort), FALSE
            case ir.ConstRef(name=name):
                return self.num(self.inst.consts[name]), FALSE
            case ir.Local(name=name):
                if name not in env:
                    raise InternalError(f"unbound local {name}")
                return env[name].val, FALSE
            case ir.StateRead(var=var, keys=keys):
                kvals, kerr = self._ev_scalars(keys, env, store)
                val, err = self.read_entry(var, kvals, keys, env, store)
                return val, or_(kerr, err)
            case ir.Field(base=base, name=name):
                bval, err = self.ev(base, env, store)
                if isinstance(bval, Opt):
                    err = or_(err, not_(bval.present))
                    bval = bval.inner
                assert isinstance(bval, Rec), bval
                idx = [n for n, _ in bval.sort.fields].index(name)
                return bval.fields[idx], err
            case ir.Unary(op="not", arg=arg):
                v, err = self.ev(arg, env, store)
                return not_(v), err  # type: ignore[arg-type]
            case ir.Unary(op="neg", arg=arg):
                v, err = self.ev(arg, env, store)
                c = cint(v)  # type: ignore[arg-type]
                return (self.num(-c) if c is not None else -v), err  # type: ignore[operator]
            case ir.Unary():
                raise InternalError(f"unknown unary operator {expr.op}")
            case ir.Binary():
                return self._ev_binary(expr, env, store)
            case ir.Ite(cond=cond, then=then, else_=else_):
                test, ec = self.ev(cond, env, store)
                assert isinstance(test, z3.ExprRef)
                if is_t(test):
                    v, e = self.ev(then, env, store)
                    return v, or_(ec, e)
                if is_f(test):
                    v, e = self.ev(else_, env, store)
                    return v, or_(ec, e)
                a, ea = self.ev(then, env, store)
                b, eb = self.ev(else_, env, store)
                return self.merge(test, a, b), or_(ec, ite(test, ea, eb))  # type: ignore[arg-type]
            case ir.Quant():
                return self._ev_quant(expr, env, store)
            case ir.RecordLit(sort=sort, fields=fields):
                given = dict(fields)
                vals: list[Val] = []
                errs: list[z3.BoolRef] = []
                evaluated: dict[str, Val] = {}  # evaluated in the literal's order
                for fname, fexpr in fields:
                    v, e = self.ev(fexpr, env, store)
                    evaluated[fname] = v
                    errs.append(e)
                for fname, _fsort in sort.fields:
                    if fname not in given:
                        raise InternalError(f"record literal without field {fname}")
                    vals.append(evaluated[fname])
                return Rec(sort, tuple(vals)), or_(*errs)
            case ir.SetLit(sort=sort, elems=elems):
                leaf = self.leaf(sort)
                values = self.inst.values(sort.elem)
                mask: z3.ExprRef = z3.BitVecVal(0, leaf.bits)
                errs = []
                for el in elems:
                    v, e = self.ev(el, env, store)
                    assert isinstance(v, z3.ExprRef)
                    errs.append(e)
                    if not self.trusted(el, sort.elem, env):
                        errs.append(not_(self.in_sort(sort.elem, v)))
                    bits = [(eq_(v, self.scalar_const(sort.elem, x)),
                             z3.BitVecVal(1 << i, leaf.bits)) for i, x in enumerate(values)]
                    for c, bit in bits:
                        mask = self._bvor(mask, ite(c, bit, z3.BitVecVal(0, leaf.bits)))
                return mask, or_(*errs)
            case ir.Wrap(arg=arg, sort=sort):
                v, err = self.ev(arg, env, store)
                return self.wrap(sort, TRUE, v, raw_ok=self.trusted(arg, sort.inner, env)), err
            case ir.Unwrap(arg=arg):
                v, err = self.ev(arg, env, store)
                assert isinstance(v, Opt), v
                return v.inner, or_(err, not_(v.present))
        assert_never(expr)

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

    def _ev_scalars(self, exprs: Sequence[ir.Expr], env: Env, store: Sequence[z3.ExprRef]
                    ) -> tuple[list[z3.ExprRef], z3.BoolRef]:
        out: list[z3.ExprRef] = []
        errs: list[z3.BoolRef] = []
        for e in exprs:
            v, err = self.ev(e, env, store)
            assert isinstance(v, z3.ExprRef), v
            out.append(v)
            errs.append(err)
        return out, or_(*errs)

    def _ev_binary(self, expr: ir.Binary, env: Env, store: Sequence[z3.ExprRef]
                   ) -> tuple[Val, z3.BoolRef]:
        op = expr.op
        a, ea = self.ev(expr.lhs, env, store)
        # Short-circuit operators: the right operand's errors count only when the
        # explicit machine would evaluate it.
        if op in ("and", "or", "implies"):
            assert isinstance(a, z3.ExprRef)
            if op == "and" and is_f(a):
                return FALSE, ea
            if op in ("or",) and is_t(a):
                return TRUE, ea
            if op == "implies" and is_f(a):
                return TRUE, ea
            b, eb = self.ev(expr.rhs, env, store)
            assert isinstance(b, z3.ExprRef)
            if op == "and":
                return and_(a, b), or_(ea, and_(a, eb))  # type: ignore[arg-type]
            if op == "or":
                return or_(a, b), or_(ea, and_(not_(a), eb))  # type: ignore[arg-type]
            return implies_(a, b), or_(ea, and_(a, eb))  # type: ignore[arg-type]
        b, eb = self.ev(expr.rhs, env, store)
        err = or_(ea, eb)
        match op:
            case "iff" | "eq":
                return self.equal(a, b), err
            case "ne":
                return not_(self.equal(a, b)), err
            case "lt" | "le" | "gt" | "ge":
                assert isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef)
                ca, cb = cint(a), cint(b)
                if ca is not None and cb is not None:
                    r = {"lt": ca < cb, "le": ca <= cb, "gt": ca > cb, "ge": ca >= cb}[op]
                    return z3.BoolVal(r), err
                t = {"lt": lambda: a < b, "le": lambda: a <= b,  # type: ignore[operator]
                     "gt": lambda: a > b, "ge": lambda: a >= b}[op]()  # type: ignore[operator]
                return t, err
            case "add" | "sub" | "mul":
                assert isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef)
                ca, cb = cint(a), cint(b)
                if ca is not None and cb is not None:
                    n = ca + cb if op == "add" else ca - cb if op == "sub" else ca * cb
                    return self.num(n), err
                if op == "add":
                    if cb == 0:
                        return a, err
                    return a + b, err  # type: ignore[operator]
                if op == "sub":
                    if cb == 0:
                        return a, err
                    return a - b, err  # type: ignore[operator]
                return a * b, err  # type: ignore[operator]
            case "div" | "mod":
                assert isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef)
                return self._floor_divmod(op, a, b, err)
            case "union" | "inter" | "diff":
                assert isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef)
                ca, cb = concrete(a), concrete(b)
                if ca is not None and cb is not None:
                    r = ca | cb if op == "union" else ca & cb if op == "inter" else ca & ~cb
                    return z3.BitVecVal(r, a.size()), err  # type: ignore[attr-defined]
                if op == "union":
                    return a | b, err  # type: ignore[operator]
                if op == "inter":
                    return a & b, err  # type: ignore[operator]
                return a & ~b, err  # type: ignore[operator]
            case "in":
                assert isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef)
                set_sort = expr.rhs.sort
                assert isinstance(set_sort, ir.SetSort), set_sort
                return self._member(set_sort, a, b, expr.lhs, env, err)
            case "and" | "or" | "implies":
                raise InternalError("unreachable")
        assert_never(op)

    def _floor_divmod(self, op: str, a: z3.ExprRef, b: z3.ExprRef, err: z3.BoolRef
                      ) -> tuple[Val, z3.BoolRef]:
        ca, cb = cint(a), cint(b)
        if cb == 0:
            return self.num(0), TRUE
        if ca is not None and cb is not None:
            return self.num(ca // cb if op == "div" else ca % cb), err
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

    def _member(self, sort: ir.SetSort, v: z3.ExprRef, mask: z3.ExprRef, elem_expr: ir.Expr,
                env: Env, err: z3.BoolRef) -> tuple[Val, z3.BoolRef]:
        # An element outside the sort is simply not in the set (explicit machine).
        values = self.inst.values(sort.elem)
        cm = concrete(mask)
        parts: list[z3.BoolRef] = []
        for i, x in enumerate(values):
            c = eq_(v, self.scalar_const(sort.elem, x))
            if is_f(c):
                continue
            if cm is not None:
                bit = TRUE if cm >> i & 1 else FALSE
            else:
                bit = z3.Extract(i, i, mask) == 1  # type: ignore[assignment]
            parts.append(and_(c, bit))
        return or_(*parts), err

    def _instances(self, vars: Sequence[ir.Local]) -> list[dict[str, z3.ExprRef]]:
        out = []
        for combo in itertools.product(*[self.inst.values(v.sort) for v in vars]):
            out.append({v.name: self.scalar_const(v.sort, x)
                        for v, x in zip(vars, combo, strict=True)})
        return out

    def _ev_quant(self, expr: ir.Quant, env: Env, store: Sequence[z3.ExprRef]
                  ) -> tuple[Val, z3.BoolRef]:
        kind = expr.kind
        bodies: list[z3.ExprRef] = []
        errs: list[z3.BoolRef] = []
        for binding in self._instances(expr.vars):
            inner = dict(env)
            for name, v in binding.items():
                inner[name] = Binding(v, True)
            b, e = self.ev(expr.body, inner, store)
            assert isinstance(b, z3.ExprRef)
            bodies.append(b)
            errs.append(e)
        match kind:
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
                if len(expr.vars) != 1:
                    raise InternalError("choose binds one variable")
                var = expr.vars[0]
                sort = expr.sort
                assert isinstance(sort, ir.OptionSort), sort
                values = self.inst.values(var.sort)
                err = self._first_error(bodies, errs, False)  # type: ignore[arg-type]
                present = or_(*bodies)  # type: ignore[arg-type]
                chosen: Val = self.default_val(var.sort)
                for b, x in reversed(list(zip(bodies, values, strict=True))):
                    chosen = ite(b, self.scalar_const(var.sort, x), chosen)  # type: ignore[arg-type]
                return self.wrap(sort, present, chosen), err
        assert_never(kind)

    @staticmethod
    def _first_error(bodies: Sequence[z3.BoolRef], errs: Sequence[z3.BoolRef],
                     continue_on: bool) -> z3.BoolRef:
        """Error of a short-circuit scan: instance i is evaluated only while every
        earlier body was ``continue_on``."""
        out: list[z3.BoolRef] = []
        for i, e in enumerate(errs):
            if is_f(e):
                continue
            before = [b if continue_on else not_(b) for b in bodies[:i]]
            out.append(and_(*before, e))
        return or_(*out)

    # ------------------------------------------------------------ statements

    def exec_block(self, stmts: Sequence[ir.Stmt], env: Env, store: list[z3.ExprRef],
                   pc: z3.BoolRef, acc: Acc) -> list[z3.ExprRef]:
        """Runs ``stmts`` on ``store`` under path condition ``pc``; returns the store."""
        env = dict(env)  # a let binds until the end of its block
        for stmt in stmts:
            if is_f(acc.run):
                break
            store = self.exec_stmt(stmt, env, store, pc, acc)
        return store

    def exec_stmt(self, stmt: ir.Stmt, env: Env, store: list[z3.ExprRef], pc: z3.BoolRef,
                  acc: Acc) -> list[z3.ExprRef]:
        match stmt:
            case ir.Assign(target=target, value=value):
                kvals, kerr = self._ev_scalars(target.keys, env, store)
                v, verr = self.ev(value, env, store)
                acc.runtime_error(pc, or_(kerr, verr))
                return self._assign(target, kvals, v, value, env, store, pc, acc)
            case ir.If(cond=cond, then=then, else_=else_):
                c, err = self.ev(cond, env, store)
                assert isinstance(c, z3.ExprRef)
                acc.runtime_error(pc, err)
                if is_t(c):
                    return self.exec_block(then, env, store, pc, acc)
                if is_f(c):
                    return self.exec_block(else_, env, store, pc, acc)
                s1 = self.exec_block(then, env, list(store), and_(pc, c), acc)  # type: ignore[arg-type]
                s2 = self.exec_block(else_, env, list(store), and_(pc, not_(c)), acc)  # type: ignore[arg-type]
                return [a if a.eq(b) else ite(c, a, b) for a, b in zip(s1, s2, strict=True)]  # type: ignore[arg-type]
            case ir.For(var=var, body=body):
                for x in self.inst.values(var.sort):
                    inner = dict(env)
                    inner[var.name] = Binding(self.scalar_const(var.sort, x), True)
                    store = self.exec_block(body, inner, store, pc, acc)
                return store
            case ir.Let(var=var, value=value):
                v, err = self.ev(value, env, store)
                acc.runtime_error(pc, err)
                # The explicit machine checks a let against its sort, so a let-bound
                # local is then trusted like a parameter.
                acc.runtime_error(pc, not_(self.fits(var.sort, v, value, env)))
                env[var.name] = Binding(v, True)
                return store
            case ir.Require(cond=cond):
                c, err = self.ev(cond, env, store)
                assert isinstance(c, z3.ExprRef)
                acc.runtime_error(pc, err)
                acc.require(pc, c)  # type: ignore[arg-type]
                return store
            case ir.Assert(name=name, cond=cond):
                c, err = self.ev(cond, env, store)
                assert isinstance(c, z3.ExprRef)
                acc.runtime_error(pc, err)
                acc.assertion(name, pc, c)  # type: ignore[arg-type]
                return store
        assert_never(stmt)

    def _assign(self, target: ir.LValue, kvals: list[z3.ExprRef], v: Val, vexpr: ir.Expr,
                env: Env, store: list[z3.ExprRef], pc: z3.BoolRef, acc: Acc
                ) -> list[z3.ExprRef]:
        rng = self.inst.layout[target.var]
        choices, kerr = self._key_choices(rng.var.keys, kvals, target.keys, env)
        # Walk the field path: offset inside the entry, presence slots crossed.
        sort: ir.Sort = rng.var.value
        offset = 0
        presences: list[int] = []
        for name in target.path:
            if isinstance(sort, ir.OptionSort) and isinstance(sort.inner, ir.RecordSort):
                presences.append(offset)
                offset += 1
                sort = sort.inner
            if not isinstance(sort, ir.RecordSort):
                raise InternalError(f"field {name} of non-record {sort}")
            offset += self.inst.field_offset(sort, name)
            sort = sort.field_sort(name)
        fit = self.fits(sort, v, vexpr, env)
        new = self.dump(sort, v)
        entries = self._entries(target.var, choices)
        absent = [and_(c, *[not_(store[base + p]) for p in presences])  # type: ignore[arg-type]
                  for c, base in entries] if presences else []
        acc.runtime_error(pc, or_(kerr, not_(fit), *absent))
        store = list(store)
        for c, base in entries:
            for j, slot in enumerate(new):
                i = base + offset + j
                store[i] = ite(c, slot, store[i])
        return store

    # ------------------------------------------------------------ the model

    def initial_state(self) -> tuple[Any, ...]:
        """The deterministic initial state (defaults, then the init block).
        Assertions the init block violates are in ``init_failures``."""
        if self._initial is not None:
            return self._initial
        store = self.state_literal(self.inst.initial_slots())
        acc = Acc()
        store = self.exec_block(self.model.init, {}, store, TRUE, acc)
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
        v, err = self.ev(prop.expr, {}, xs)
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
        if not (ir.is_finite_scalar(param.sort) or (
                isinstance(param.sort, ir.OptionSort) and ir.is_finite_scalar(param.sort.inner))):
            raise SpecError(f"parameter {param.name} must have a finite sort, not {param.sort}",
                            param.span)
        return self.leaf(param.sort, param.span)

    def param_val(self, param: ir.Local, x: z3.ExprRef) -> Val:
        if isinstance(param.sort, ir.OptionSort):
            return self.load(param.sort, [x])
        return x

    def encode_action(self, action: ir.Action, index: int, cur: list[z3.ExprRef],
                      tag: str = "P") -> ActionEncoding:
        leaves = tuple(self.param_leaf(p) for p in action.params)
        params = tuple(z3.Const(f"{tag}|{action.name}.{p.name}", leaf.z3sort())
                       for p, leaf in zip(action.params, leaves, strict=True))
        env: Env = {p.name: Binding(self.param_val(p, x), True)
                    for p, x in zip(action.params, params, strict=True)}
        domain = and_(*[leaf.domain(x) for leaf, x in zip(leaves, params, strict=True)])
        if any(not self.inst.values(p.sort) for p in action.params
               if ir.is_finite_scalar(p.sort)):
            domain = FALSE  # an empty parameter sort: the action never fires
        acc = Acc()
        store = self.exec_block(action.body, env, list(cur), TRUE, acc)
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


