"""Building core nodes, folded as they are built; and substituting values for variables.

Every node the lowering makes goes through these constructors, and so does
every copy of a body that a back end unrolls (``substitute`` with the loop
variable bound to a literal): a read whose keys are known becomes a read of
one fixed slot, a check of a known value disappears or becomes a ``Fault``,
a quantifier over an empty sort becomes its identity. Folding never changes
what a node means, including which run-time error it raises first: a part
that is evaluated before a deciding constant is kept when it can raise one.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, assert_never

from rmapcheck.core.nodes import (
    BOOL_T,
    INT_T,
    Addr,
    AddrTerm,
    Arith,
    ArithOp,
    AssertStmt,
    Bit,
    BoolOp,
    Check,
    Checked,
    Cmp,
    CmpOp,
    DivMod,
    Expr,
    Fault,
    For,
    Guard,
    If,
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
    ScopedLocal,
    SetOp,
    SetOpName,
    SlotKind,
    Some,
    Stmt,
    Stop,
    Store,
    Test,
    Ty,
    Var,
    expr_children,
)

TRUE = Lit(True, BOOL_T)
FALSE = Lit(False, BOOL_T)

_ARITH: dict[str, Callable[[int, int], int]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul}
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}


def lit(value: Any, ty: Ty) -> Lit:
    return Lit(value, ty)


def is_lit(e: Expr, value: Any = ...) -> bool:
    """``e`` is a literal (of ``value``, when given; ``True`` is not ``1``)."""
    if not isinstance(e, Lit):
        return False
    return value is ... or (e.value is value if isinstance(value, bool) or value is None
                            else e.value == value and not isinstance(e.value, bool))


def can_fault(e: Expr) -> bool:
    """Whether evaluating ``e`` may raise a run-time error of the spec, or
    counts a coverage mark: either way folding keeps it where it is evaluated."""
    match e:
        case Checked() | Guard() | Fault() | Marked():
            return True
        case DivMod(site=site) if site is not None:
            return True
        case _:
            return any(can_fault(c) for c in expr_children(e))


# ---------------------------------------------------------------- addresses


def addr(base: int, terms: Sequence[AddrTerm]) -> Addr:
    """An address with every known key folded into the base."""
    kept: list[AddrTerm] = []
    for term in terms:
        if isinstance(term.key, Lit):
            base += position(term.values, term.key.value) * term.stride
        else:
            kept.append(term)
    return Addr(base, tuple(kept))


def position(values: tuple[Any, ...], value: Any) -> int:
    """The index of ``value`` among ``values`` (consecutive integers, or
    ``(False, True)``); ``value`` is known to be one of them."""
    if not values:
        raise AssertionError("a key of an empty sort")
    if isinstance(values[0], bool):
        return int(value)
    return int(value) - int(values[0])


def read(address: Addr, slot: SlotKind) -> Read:
    return Read(addr(address.base, address.terms), slot)


# ---------------------------------------------------------------- operators


def not_(a: Expr) -> Expr:
    if isinstance(a, Lit):
        return Lit(not a.value, BOOL_T)
    if isinstance(a, Not):
        return a.arg
    return Not(a)


def neg(a: Expr) -> Expr:
    if isinstance(a, Lit):
        return Lit(-a.value, INT_T)
    return Neg(a)


def arith(op: ArithOp, a: Expr, b: Expr) -> Expr:
    if isinstance(a, Lit) and isinstance(b, Lit):
        return Lit(_ARITH[op](int(a.value), int(b.value)), INT_T)
    if op in ("add", "sub") and is_lit(b, 0):
        return a
    return Arith(op, a, b)


def divmod_(op: str, a: Expr, b: Expr, site: int | None) -> Expr:
    """Floor ``div``/``mod``; ``site`` is the fault of a zero divisor (None
    only when the divisor is a non-zero constant)."""
    assert op in ("div", "mod")
    if isinstance(b, Lit) and b.value != 0:
        if isinstance(a, Lit):
            x, y = int(a.value), int(b.value)
            return Lit(x // y if op == "div" else x % y, INT_T)
        return DivMod(op, a, b, None)  # type: ignore[arg-type]
    assert site is not None, "a divisor that may be zero needs a fault site"
    if isinstance(b, Lit) and isinstance(a, Lit):
        return Fault(site, a, INT_T)
    return DivMod(op, a, b, site)  # type: ignore[arg-type]


def cmp(op: CmpOp, a: Expr, b: Expr) -> Expr:
    if isinstance(a, Lit) and isinstance(b, Lit):
        match op:
            case "eq":
                return Lit(_same(a.value, b.value), BOOL_T)
            case "ne":
                return Lit(not _same(a.value, b.value), BOOL_T)
            case _:
                return Lit(_ORDER[op](a.value, b.value), BOOL_T)
    if op in ("eq", "ne"):
        for x, y in ((a, b), (b, a)):
            if is_lit(y, None):
                test = is_none(x)
                return test if op == "eq" else not_(test)
        if a == b and not can_fault(a):
            return Lit(op == "eq", BOOL_T)
    return Cmp(op, a, b)


def _same(x: Any, y: Any) -> bool:
    """Two scalar values are equal (``none`` only to ``none``)."""
    return x == y and (x is None) == (y is None)


def is_none(a: Expr) -> Expr:
    """``a`` is none; false for a value that is not an option (a ``T``
    compared with ``none`` after ``if c then none else v`` folded)."""
    if isinstance(a, Lit):
        return Lit(a.value is None, BOOL_T)
    if isinstance(a, Some) and not can_fault(a.arg):
        return FALSE
    if not isinstance(a.ty, OptT):
        return FALSE if not can_fault(a) else and_(cmp("eq", a, a), FALSE)
    return IsNone(a)


def some(a: Expr, ty: OptT) -> Expr:
    if isinstance(a, Lit):
        return Lit(a.value, ty)
    return Some(a, ty)


def setop(op: SetOpName, a: Expr, b: Expr, ty: MaskT) -> Expr:
    if op == "union" and is_lit(a, 0):
        return b
    if op in ("union", "diff") and is_lit(b, 0):
        return a
    if isinstance(a, Lit) and isinstance(b, Lit):
        x, y = int(a.value), int(b.value)
        value = x | y if op == "union" else x & y if op == "inter" else x & ~y
        return Lit(value, ty)
    return SetOp(op, a, b, ty)


def bit(elem: Expr, values: tuple[Any, ...], ty: MaskT) -> Expr:
    if isinstance(elem, Lit):
        return Lit(1 << position(values, elem.value), ty)
    return Bit(elem, values, ty)


def member(elem: Expr, mask: Expr, values: tuple[Any, ...], known_in: bool) -> Expr:
    if isinstance(elem, Lit):
        if not among(values, elem.value):
            return FALSE if not can_fault(mask) else Member(elem, mask, values, False)
        if isinstance(mask, Lit):
            return Lit(bool(int(mask.value) >> position(values, elem.value) & 1), BOOL_T)
        known_in = True
    return Member(elem, mask, values, known_in)


def among(values: tuple[Any, ...], value: Any) -> bool:
    """Whether ``value`` is one of ``values`` (an integer outside is not)."""
    if not values:
        return False
    if isinstance(values[0], bool):
        return isinstance(value, bool)
    return value.__class__ is int and int(values[0]) <= value <= int(values[-1])


def _bool_op(op: str, args: Sequence[Expr]) -> Expr:
    """``and``/``or``: flattened; the neutral constant dropped; a deciding
    constant ends the list (what follows is never evaluated), and of what
    precedes it only the parts that can raise a run-time error are kept."""
    neutral = op == "and"
    flat: list[Expr] = []
    for a in args:
        if isinstance(a, BoolOp) and a.op == op:
            flat.extend(a.args)
        else:
            flat.append(a)
    kept: list[Expr] = []
    for a in flat:
        if isinstance(a, Lit):
            if a.value is neutral:
                continue
            raising = [x for x in kept if can_fault(x)]
            if not raising:
                return Lit(not neutral, BOOL_T)
            return BoolOp(op, (*kept, Lit(not neutral, BOOL_T)))  # type: ignore[arg-type]
        kept.append(a)
    if not kept:
        return Lit(neutral, BOOL_T)
    if len(kept) == 1:
        return kept[0]
    return BoolOp(op, tuple(kept))  # type: ignore[arg-type]


def and_(*args: Expr) -> Expr:
    return _bool_op("and", args)


def or_(*args: Expr) -> Expr:
    return _bool_op("or", args)


def implies(a: Expr, b: Expr) -> Expr:
    return or_(not_(a), b)


def ite(c: Expr, a: Expr, b: Expr, ty: Ty) -> Expr:
    if isinstance(c, Lit):
        return a if c.value else b
    if a == b and not can_fault(c):
        return a
    if ty == BOOL_T and is_lit(a, True) and is_lit(b, False):
        return c
    return Ite(c, a, b, ty)


# ---------------------------------------------------------------- checks


def passes(test: Test, value: Any) -> bool:
    match test:
        case RangeTest(lo=lo, hi=hi, optional=optional):
            if value is None:
                return optional
            return value.__class__ is int and lo <= value <= hi
        case NotNoneTest():
            return value is not None
        case _:
            assert_never(test)


def checked(value: Expr, test: Test, site: int, keys: tuple[Expr, ...], ty: Ty) -> Expr:
    if isinstance(value, Lit):
        if passes(test, value.value):
            return Lit(value.value, ty)
        return Fault(site, value, ty)
    if isinstance(test, NotNoneTest) and isinstance(value, Some):
        return value.arg
    return Checked(value, test, site, keys, ty)


def guard(cond: Expr, site: int, body: Expr, ty: Ty) -> Expr:
    if isinstance(cond, Lit):
        return body if cond.value else Fault(site, None, ty)
    return Guard(cond, site, body, ty)


def let_in(var: Var, value: Expr, body: Expr) -> Expr:
    if isinstance(value, (Lit, Var)):
        return substitute(body, {var.name: value})
    return LetIn(var, value, body, body.ty)


# ---------------------------------------------------------------- quantifiers


def quant(q: Quant) -> Expr:
    """``q``, or its value when a domain is empty or the body is a constant
    (nothing is evaluated then). A ``choose`` over a symmetric sort stays:
    a reduced search checks that its choice is as good as any other."""
    if isinstance(q.body, Lit) and all(q.domains) and q.sym_sort is None:
        size = 1
        for d in q.domains:
            size *= len(d)
        match q.kind:
            case "forall" | "exists":
                return q.body
            case "count":
                return Lit(size if q.body.value else 0, INT_T)
            case "choose":
                return Lit(q.domains[0][0] if q.body.value else None, q.ty)
    if any(not d for d in q.domains):
        match q.kind:
            case "forall":
                return TRUE
            case "exists":
                return FALSE
            case "count":
                return Lit(0, INT_T)
            case "choose":
                return Lit(None, q.ty)
    return q


def instances(q: Quant) -> list[tuple[tuple[Any, ...], Expr]]:
    """Each combination of the variables' values with the body for it."""
    import itertools

    out = []
    for combo in itertools.product(*q.domains):
        env = {v.name: Lit(x, v.ty) for v, x in zip(q.vars, combo, strict=True)}
        out.append((combo, substitute(q.body, env)))
    return out


# ---------------------------------------------------------------- substitution


def substitute(e: Expr, env: Mapping[str, Expr]) -> Expr:
    """``e`` with the variables named in ``env`` replaced, folded again."""
    if not env:
        return e
    return _Subst(env).expr(e)


def substitute_stmts(stmts: tuple[Stmt, ...], env: Mapping[str, Expr]) -> tuple[Stmt, ...]:
    if not env:
        return stmts
    return _Subst(env).stmts(stmts)


def unmark(e: Expr) -> Expr:
    """``e`` without its coverage marks, folded again: for an evaluation that
    is no step of the run (a symmetry check's second look at a ``choose``,
    the fuzzer's search of the arguments a guard allows)."""
    return _Subst({}, unmark=True).expr(e)


def unmark_stmts(stmts: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
    return _Subst({}, unmark=True).stmts(stmts)


class _Subst:
    def __init__(self, env: Mapping[str, Expr], unmark: bool = False) -> None:
        self.env = dict(env)
        self.unmark = unmark
        self.memo: dict[Expr, Expr] = {}

    def inner(self, env: Mapping[str, Expr]) -> _Subst:
        return _Subst(env, self.unmark)

    def expr(self, e: Expr) -> Expr:
        found = self.memo.get(e)
        if found is None:
            found = self.memo[e] = self._expr(e)
        return found

    def _addr(self, a: Addr) -> Addr:
        if not a.terms:
            return a
        return addr(a.base, [AddrTerm(self.expr(t.key), t.values, t.stride) for t in a.terms])

    def _expr(self, e: Expr) -> Expr:
        x = self.expr
        match e:
            case Lit():
                return e
            case Var(name=name):
                return self.env.get(name, e)
            case Read(addr=a, slot=slot):
                return Read(self._addr(a), slot)
            case Not(arg=arg):
                return not_(x(arg))
            case Neg(arg=arg):
                return neg(x(arg))
            case Arith(op=op, lhs=a, rhs=b):
                return arith(op, x(a), x(b))
            case DivMod(op=op, lhs=a, rhs=b, site=site):
                return divmod_(op, x(a), x(b), site)
            case Cmp(op=op, lhs=a, rhs=b):
                return cmp(op, x(a), x(b))
            case IsNone(arg=arg):
                return is_none(x(arg))
            case Some(arg=arg, ty=ty):
                return some(x(arg), ty)
            case SetOp(op=op, lhs=a, rhs=b, ty=ty):
                return setop(op, x(a), x(b), ty)
            case Bit(elem=elem, values=values, ty=ty):
                return bit(x(elem), values, ty)
            case Member(elem=elem, mask=mask, values=values, known_in=known_in):
                return member(x(elem), x(mask), values, known_in)
            case BoolOp(op=op, args=args):
                # Left to right: a deciding constant ends the list before the
                # parts after it are even substituted.
                return _bool_op(op, [x(a) for a in args])
            case Ite(cond=c, then=a, else_=b, ty=ty):
                cc = x(c)
                if isinstance(cc, Lit):
                    return x(a) if cc.value else x(b)
                return ite(cc, x(a), x(b), ty)
            case Checked(value=value, test=test, site=site, keys=keys, ty=ty):
                return checked(x(value), test, site, tuple(x(k) for k in keys), ty)
            case Guard(cond=c, site=site, body=body, ty=ty):
                cc = x(c)
                if isinstance(cc, Lit) and not cc.value:
                    return Fault(site, None, ty)
                return guard(cc, site, x(body), ty)
            case Fault(site=site, shown=shown, ty=ty):
                return Fault(site, None if shown is None else x(shown), ty)
            case Quant():
                inner = self.inner({k: v for k, v in self.env.items()
                                    if k not in {var.name for var in e.vars}})
                scoped = tuple(ScopedLocal(s.sort, tuple(inner.expr(v) for v in s.slots),
                                           s.slot_sorts) for s in e.scoped)
                return quant(Quant(e.kind, e.vars, e.domains, inner.expr(e.body), e.unroll,
                                   e.ty, e.sym_sort, scoped, e.span))
            case LetIn(var=var, value=value, body=body):
                inner = self.inner({k: v for k, v in self.env.items() if k != var.name})
                return let_in(var, x(value), inner.expr(body))
            case Marked(site=site, body=body, ty=ty):
                return x(body) if self.unmark else Marked(site, x(body), ty)
            case _:
                assert_never(e)

    def stmts(self, stmts: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
        return tuple(self.stmt(s) for s in stmts if not (self.unmark and isinstance(s, Mark)))

    def stmt(self, s: Stmt) -> Stmt:
        x = self.expr
        match s:
            case Let(var=var, value=value, span=span):
                out = Let(var, x(value), span)
                # From here on the let's name means its value: a literal is
                # folded into what follows (an unrolled copy's key becomes a
                # constant slot); anything else hides an outer binding.
                if isinstance(out.value, Lit):
                    self.env[var.name] = out.value
                    self.memo.clear()
                elif self.env.pop(var.name, None) is not None:
                    self.memo.clear()
                return out
            case Store(addr=a, values=values, span=span):
                return Store(self._addr(a), tuple(x(v) for v in values), span)
            case Check(cond=c, site=site, keys=keys, span=span):
                return Check(x(c), site, tuple(x(k) for k in keys), span)
            case If(cond=c, then=then, else_=else_, span=span):
                env = dict(self.env)
                then_s = self.inner(env).stmts(then)
                else_s = self.inner(env).stmts(else_)
                return If(x(c), then_s, else_s, span)
            case For(var=var):
                inner = self.inner({k: v for k, v in self.env.items() if k != var.name})
                return For(var, s.values, inner.stmts(s.body), s.unroll, s.sym_sort,
                           s.order_free, s.span)
            case Require(cond=c, span=span):
                return Require(x(c), span)
            case AssertStmt(index=index, cond=c, span=span):
                return AssertStmt(index, x(c), span)
            case Mark() | Stop():
                return s
            case _:
                assert_never(s)
