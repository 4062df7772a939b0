"""The core: what a model means at fixed bounds, in nodes every back end only prints.

``rmapcheck.core.lower`` lowers the IR of one ``Instance`` into these nodes and
makes every decision there: where a slot is, which value needs a run-time
check and with what message, how an action's guard is hoisted into its
parameter loops, which quantifiers and loops are worth unrolling. What is left
for a back end is what belongs to its target: the Python emitter copies the
state on its first write, the C emitter names temporaries, the Z3 emitter
merges branches with ``ite``. ``rmapcheck.core.interp`` runs the nodes
directly: it is the readable reference semantics.

**Values.** Every value is a scalar of one slot: a ``Bool``, an integer (a
range value, an enum's index, an ``Int``), a set as a bit mask, or an option
of one of those (``None`` for none). Records do not exist here: the lowering
spreads a record over one scalar per field (an optional record has a presence
flag first), so a record-valued IR expression becomes a tuple of nodes.

**Evaluation.** Expressions are evaluated left to right. ``BoolOp``,
``Ite`` and ``Quant`` evaluate a part only when it is needed, so a run-time
error in a part that is not needed does not happen. The nodes that can raise a
run-time error of the spec name a *fault site* (``FaultSite``, an index into
``CoreModel.faults``): ``Checked``, ``Guard``, ``Fault`` and ``DivMod``.
Everything else is pure.

**Statements** run in order on one state that they update in place; a
``Store`` evaluates all its values (and their checks) before it writes any, a
false ``Require`` disables the step (nothing it did is kept), a false
``AssertStmt`` records a violation and execution goes on.
"""

from __future__ import annotations

from typing import Any, Literal, assert_never

import attrs
from attrs import frozen

from rmapcheck import ir

# ---------------------------------------------------------------- types


@frozen
class BoolT:
    def __str__(self) -> str:
        return "bool"


@frozen
class IntT:
    def __str__(self) -> str:
        return "int"


@frozen
class MaskT:
    """A set of the ``n`` values of a finite sort: bit ``i`` for the ``i``-th."""

    n: int

    def __str__(self) -> str:
        return f"mask{self.n}"


@frozen
class OptT:
    inner: BoolT | IntT | MaskT

    def __str__(self) -> str:
        return f"{self.inner}?"


Ty = BoolT | IntT | MaskT | OptT
BOOL_T = BoolT()
INT_T = IntT()


# ---------------------------------------------------------------- slots


@frozen
class SlotKind:
    """What one slot of the state holds: its type and, for integers, the range
    ``lo .. hi`` of the scalar sort (an enum is ``0 .. n-1``). ``sort`` is the
    IR scalar sort of the slot (a presence flag's is ``Bool``).

    A slot's *code* is what a compact store keeps: a Bool ``0/1``, an integer
    ``value - lo``, a mask itself, an option ``0`` for none and the inner
    code ``+ 1`` otherwise; ``card`` codes in all."""

    ty: Ty
    sort: ir.Sort
    lo: int = 0
    hi: int = 0

    @property
    def inner(self) -> BoolT | IntT | MaskT:
        return self.ty.inner if isinstance(self.ty, OptT) else self.ty

    @property
    def offset(self) -> int:
        """The value whose code is 0 (an option's: whose code is 1)."""
        return self.lo if isinstance(self.inner, IntT) else 0

    @property
    def card(self) -> int:
        match self.inner:
            case BoolT():
                base = 2
            case IntT():
                base = self.hi - self.lo + 1
            case MaskT(n=n):
                base = 1 << n
        return base + 1 if isinstance(self.ty, OptT) else base

    def code(self, value: Any) -> int:
        if isinstance(self.ty, OptT):
            return 0 if value is None else self._inner_code(value) + 1
        return self._inner_code(value)

    def _inner_code(self, value: Any) -> int:
        return int(value) - self.offset

    def value(self, code: int) -> Any:
        if isinstance(self.ty, OptT):
            return None if code == 0 else self._inner_value(code - 1)
        return self._inner_value(code)

    def _inner_value(self, code: int) -> Any:
        match self.inner:
            case BoolT():
                return code != 0
            case IntT() | MaskT():
                return code + self.offset

    def contains(self, value: Any) -> bool:
        if value is None:
            return isinstance(self.ty, OptT)
        match self.inner:
            case BoolT():
                return isinstance(value, bool)
            case IntT():
                return value.__class__ is int and self.lo <= value <= self.hi
            case MaskT(n=n):
                return value.__class__ is int and 0 <= value < (1 << n)


# ---------------------------------------------------------------- fault sites


@frozen
class FaultSite:
    """One place where the spec can do something undefined, with the words of
    its message: ``template`` may name ``{value}`` (the offending value),
    ``{sort}`` (``sort`` with its bounds) and ``{where}`` (the state location
    ``var[keys].path``, from the key values the fault is raised with)."""

    span: ir.Span
    template: str
    sort: ir.Sort | None = None
    var: str | None = None
    path: tuple[str, ...] = ()
    shows_value: bool = True


# ---------------------------------------------------------------- expressions


@frozen(cache_hash=True)
class Lit:
    value: Any  # bool, int, or None
    ty: Ty


@frozen(cache_hash=True)
class Var:
    """A scalar local: a parameter, a ``let`` (one per slot of its value), a
    loop or quantified variable."""

    name: str
    ty: Ty


@frozen(cache_hash=True)
class AddrTerm:
    """``index(key) * stride``, where ``index`` is the position of ``key`` among
    ``values`` (the values of the key's sort, consecutive integers from
    ``values[0]``, or ``(False, True)``). The key is known to be among them."""

    key: Expr
    values: tuple[Any, ...]
    stride: int

    @property
    def lo(self) -> int:
        return int(self.values[0]) if self.values else 0


@frozen(cache_hash=True)
class Addr:
    base: int
    terms: tuple[AddrTerm, ...] = ()

    @property
    def constant(self) -> bool:
        return not self.terms

    def plus(self, offset: int) -> Addr:
        return Addr(self.base + offset, self.terms)


@frozen(cache_hash=True)
class Read:
    """The slot at ``addr`` of the state as the statements so far left it."""

    addr: Addr
    slot: SlotKind

    @property
    def ty(self) -> Ty:
        return self.slot.ty


@frozen(cache_hash=True)
class Not:
    arg: Expr
    ty: Ty = BOOL_T


@frozen(cache_hash=True)
class Neg:
    arg: Expr
    ty: Ty = INT_T


ArithOp = Literal["add", "sub", "mul"]
CmpOp = Literal["eq", "ne", "lt", "le", "gt", "ge"]
SetOpName = Literal["union", "inter", "diff"]


@frozen(cache_hash=True)
class Arith:
    op: ArithOp
    lhs: Expr
    rhs: Expr
    ty: Ty = INT_T


@frozen(cache_hash=True)
class DivMod:
    """Floor division or modulo (``-7 div 2 = -4``, ``-7 mod 2 = 1``). A zero
    divisor is a run-time error at ``site`` that shows the dividend; ``site``
    is None when the divisor is a non-zero constant."""

    op: Literal["div", "mod"]
    lhs: Expr
    rhs: Expr
    site: int | None
    ty: Ty = INT_T


@frozen(cache_hash=True)
class Cmp:
    """``eq``/``ne`` compare two scalars of one type (an option with ``None``
    unequal to every value); the orders compare integers."""

    op: CmpOp
    lhs: Expr
    rhs: Expr
    ty: Ty = BOOL_T


@frozen(cache_hash=True)
class IsNone:
    arg: Expr
    ty: Ty = BOOL_T


@frozen(cache_hash=True)
class Some:
    """A value of ``inner`` as a value of ``inner?`` (the same scalar)."""

    arg: Expr
    ty: OptT


@frozen(cache_hash=True)
class SetOp:
    op: SetOpName
    lhs: Expr
    rhs: Expr
    ty: MaskT


@frozen(cache_hash=True)
class Bit:
    """The set holding just ``elem`` (known to be among ``values``)."""

    elem: Expr
    values: tuple[Any, ...]
    ty: MaskT


@frozen(cache_hash=True)
class Member:
    """``elem`` is in ``mask``; an integer outside ``values`` is in no set.
    ``known_in``: the lowering knows ``elem`` is among ``values``."""

    elem: Expr
    mask: Expr
    values: tuple[Any, ...]
    known_in: bool
    ty: Ty = BOOL_T


@frozen(cache_hash=True)
class BoolOp:
    """``and``/``or`` of two or more operands, left to right, stopping as soon
    as the result is known."""

    op: Literal["and", "or"]
    args: tuple[Expr, ...]
    ty: Ty = BOOL_T


@frozen(cache_hash=True)
class Ite:
    cond: Expr
    then: Expr
    else_: Expr
    ty: Ty


@frozen(cache_hash=True)
class RangeTest:
    """An integer in ``lo .. hi`` (or ``None`` too, when ``optional``)."""

    lo: int
    hi: int
    optional: bool = False


@frozen(cache_hash=True)
class NotNoneTest:
    """An option that holds a value; the check's result is the value."""


Test = RangeTest | NotNoneTest


@frozen(cache_hash=True)
class Checked:
    """``value``, evaluated once, after a check that it passes ``test``: else a
    run-time error at ``site`` showing the value (and the location named by
    ``keys``, pure nodes evaluated only for the message)."""

    value: Expr
    test: Test
    site: int
    keys: tuple[Expr, ...]
    ty: Ty


@frozen(cache_hash=True)
class Guard:
    """``body`` when ``cond`` holds, else a run-time error at ``site``."""

    cond: Expr
    site: int
    body: Expr
    ty: Ty


@frozen(cache_hash=True)
class Fault:
    """Always a run-time error at ``site``, showing ``shown`` (if any): a check
    the lowering decided at compile time."""

    site: int
    shown: Expr | None
    ty: Ty


@frozen(cache_hash=True)
class ScopedLocal:
    """A local in scope of a ``choose`` over a symmetric sort, one node per
    slot of its value: swapping two values of the sort must leave it alone
    for the choice to be as good as any other (``explicit.symmetry``)."""

    sort: ir.Sort
    slots: tuple[Expr, ...]
    slot_sorts: tuple[ir.Sort, ...]


QuantKind = Literal["forall", "exists", "count", "choose"]


@frozen(cache_hash=True)
class Quant:
    """``forall``/``exists`` (Bool), ``count`` (Int) over the product of the
    variables' ``domains`` (row-major, the first variable outermost), and
    ``choose`` (one variable: the first value that satisfies the body, or
    ``None``). ``unroll``: the body is small enough to copy once per value.
    ``sym_sort``: the sort of a ``choose`` over a sort declared symmetric,
    with the locals in scope (``scoped``) that a reduced search must check."""

    kind: QuantKind
    vars: tuple[Var, ...]
    domains: tuple[tuple[Any, ...], ...]
    body: Expr
    unroll: bool
    ty: Ty
    sym_sort: ir.RangeSort | None = None
    scoped: tuple[ScopedLocal, ...] = ()
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


@frozen(cache_hash=True)
class Marked:
    """``body``, after counting coverage site ``site`` (``CoreModel.coverage_sites``).
    A mark has no meaning of its own: the value is ``body``'s, and a back end
    that counts nothing (Z3) prints ``body`` alone. Folding keeps it, as it
    keeps a check, so that every engine counts the same evaluations."""

    site: int
    body: Expr
    ty: Ty


@frozen(cache_hash=True)
class LetIn:
    """``body`` with ``var`` bound to ``value`` (evaluated first, once)."""

    var: Var
    value: Expr
    body: Expr
    ty: Ty


Expr = (
    Lit | Var | Read | Not | Neg | Arith | DivMod | Cmp | IsNone | Some | SetOp | Bit
    | Member | BoolOp | Ite | Checked | Guard | Fault | Quant | LetIn | Marked
)


# ---------------------------------------------------------------- statements


@frozen
class Let:
    var: Var
    value: Expr
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


@frozen
class Store:
    """Writes ``values`` to the slots from ``addr`` on: all are evaluated (with
    their checks) before the first is written."""

    addr: Addr
    values: tuple[Expr, ...]
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


@frozen
class Check:
    """A run-time error at ``site`` when ``cond`` is false (a field assigned
    inside an optional record that is none)."""

    cond: Expr
    site: int
    keys: tuple[Expr, ...]
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


@frozen
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    else_: tuple[Stmt, ...]
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


@frozen
class For:
    """``body`` once per value of ``values``, in order. ``sym_sort``: a loop
    over a sort declared symmetric whose iterations the lowering could not
    prove independent (``order_free`` False); a reduced search re-runs the
    action with the loop in every other order to check that none matters."""

    var: Var
    values: tuple[Any, ...]
    body: tuple[Stmt, ...]
    unroll: bool
    sym_sort: ir.RangeSort | None = None
    order_free: bool = True
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


@frozen
class Require:
    cond: Expr
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


@frozen
class AssertStmt:
    """Assertion number ``index`` of ``CoreModel.asserts``."""

    index: int
    cond: Expr
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


@frozen
class Mark:
    """Counts coverage site ``site`` each time it runs; nothing else."""

    site: int
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


@frozen
class Stop:
    """The step ends here: its successor is the state as the statements
    before left it (a failpoint's error path has run). Later statements,
    their requires and assertions included, do not run."""

    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


Stmt = Let | Store | Check | If | For | Require | AssertStmt | Mark | Stop


# ---------------------------------------------------------------- coverage

CoverKind = Literal["hook", "hook_end", "then", "else", "antecedent"]


@frozen
class CoverSite:
    """What a coverage mark counts: a hook's runs (``name`` the hook, ``span``
    its definition in effect, ``by_design`` when a design file holds it), one
    branch of an ``if`` of the design (``span`` the ``if``), or the evaluations
    of a property's right side of ``->`` after its antecedent held (``name``
    the property)."""

    kind: CoverKind
    name: str
    span: ir.Span
    by_design: bool = True


# ---------------------------------------------------------------- the model


@frozen
class ActionPlan:
    """One action, planned for a search that runs it on every parameter
    combination. ``prefix`` is the body's leading guard, one ``Require`` per
    conjunct and the ``Let``\\ s among them, each at ``levels[i]``: the number
    of leading parameters it reads (so it can run in the loop over the last
    of them, pruning every combination below). ``rest`` is the remainder of
    the body; it reads the prefix's ``carried`` lets. ``prefix + rest`` is the
    whole body. Instances are numbered from ``iid_base`` in row-major order
    of the parameters' ``domains``."""

    name: str
    index: int
    params: tuple[Var, ...]
    domains: tuple[tuple[Any, ...], ...]
    iid_base: int
    prefix: tuple[Let | Require, ...]
    levels: tuple[int, ...]
    rest: tuple[Stmt, ...]
    carried: tuple[Var, ...]
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)

    @property
    def body(self) -> tuple[Stmt, ...]:
        return self.prefix + self.rest

    @property
    def count(self) -> int:
        n = 1
        for domain in self.domains:
            n *= len(domain)
        return n

    @property
    def multipliers(self) -> tuple[int, ...]:
        """Per parameter, how far apart the instances of its consecutive values are."""
        out = []
        m = 1
        for domain in reversed(self.domains):
            out.append(m)
            m *= len(domain)
        return tuple(reversed(out))


@frozen
class CoreProperty:
    name: str
    kind: ir.PropertyKind
    expr: Expr
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)


def expr_children(e: Expr) -> tuple[Expr, ...]:
    """The nodes ``e`` evaluates directly, in evaluation order (address keys first)."""
    match e:
        case Lit() | Var():
            return ()
        case Read(addr=addr):
            return tuple(t.key for t in addr.terms)
        case Not(arg=arg) | Neg(arg=arg) | IsNone(arg=arg) | Some(arg=arg):
            return (arg,)
        case Arith(lhs=a, rhs=b) | DivMod(lhs=a, rhs=b) | Cmp(lhs=a, rhs=b) | SetOp(lhs=a, rhs=b):
            return (a, b)
        case Bit(elem=elem):
            return (elem,)
        case Member(elem=elem, mask=mask):
            return (elem, mask)
        case BoolOp(args=args):
            return args
        case Ite(cond=c, then=a, else_=b):
            return (c, a, b)
        case Checked(value=value, keys=keys):
            return (value, *keys)
        case Guard(cond=cond, body=body):
            return (cond, body)
        case Fault(shown=shown):
            return () if shown is None else (shown,)
        case Quant(body=body, scoped=scoped):
            return (body, *(s for local in scoped for s in local.slots))
        case LetIn(value=value, body=body):
            return (value, body)
        case Marked(body=body):
            return (body,)
        case _:
            assert_never(e)
