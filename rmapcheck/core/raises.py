"""Which core expressions can raise a run-time error, given what is known to hold.

A node can raise only if it is a check (``Checked``, ``Guard``, ``Fault``, a
``DivMod`` by a divisor that may be zero) or contains one; that much is
``fold.can_fault``. A search that evaluates parts of a guard out of the
spec's order (the fuzzer, to prune parameter values early) needs more: the
guards the specs use make most checks safe where they are reached. After
``a != none`` holds, ``a!`` cannot fail; after ``vma[p, a] != none``, reading
``vma[p, a].end`` cannot; and when ``a`` is ``choose x. vma[p, x] != none and
...``, ``a != none`` already implies ``vma[p, a!] != none``.

``Facts`` is what is known true at a point, compared modulo fault sites (two
unwraps of one local at different places are the same test). Everything here
is conservative: ``can_raise`` is False only when the node never raises where
the facts hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import assert_never

import attrs

from rmapcheck.core import fold
from rmapcheck.core.lower import free_vars
from rmapcheck.core.nodes import (
    Addr,
    AddrTerm,
    Bit,
    BoolOp,
    Checked,
    Cmp,
    DivMod,
    Expr,
    Fault,
    Guard,
    IsNone,
    Ite,
    LetIn,
    Lit,
    Marked,
    Member,
    Neg,
    Not,
    NotNoneTest,
    Quant,
    Read,
    SetOp,
    Some,
    Var,
    expr_children,
)
from rmapcheck.core.nodes import Arith as ArithNode

Facts = frozenset[Expr]


def erase(e: Expr) -> Expr:
    """``e`` with every fault site and shown key forgotten: a fact's identity."""
    x = erase
    match e:
        case Lit() | Var():
            return e
        case Read(addr=addr, slot=slot):
            if not addr.terms:
                return e
            terms = tuple(AddrTerm(x(t.key), t.values, t.stride) for t in addr.terms)
            return Read(Addr(addr.base, terms), slot)
        case Not(arg=arg):
            return Not(x(arg))
        case Neg(arg=arg):
            return Neg(x(arg))
        case IsNone(arg=arg):
            return IsNone(x(arg))
        case Some(arg=arg, ty=ty):
            return Some(x(arg), ty)
        case ArithNode(op=op, lhs=a, rhs=b):
            return ArithNode(op, x(a), x(b))
        case DivMod(op=op, lhs=a, rhs=b, site=site):
            return DivMod(op, x(a), x(b), None if site is None else -1)
        case Cmp(op=op, lhs=a, rhs=b):
            return Cmp(op, x(a), x(b))
        case SetOp(op=op, lhs=a, rhs=b, ty=ty):
            return SetOp(op, x(a), x(b), ty)
        case Bit(elem=elem, values=values, ty=ty):
            return Bit(x(elem), values, ty)
        case Member(elem=elem, mask=mask, values=values, known_in=known_in):
            return Member(x(elem), x(mask), values, known_in)
        case BoolOp(op=op, args=args):
            return BoolOp(op, tuple(x(a) for a in args))
        case Ite(cond=c, then=a, else_=b, ty=ty):
            return Ite(x(c), x(a), x(b), ty)
        case Checked(value=value, test=test, ty=ty):
            return Checked(x(value), test, -1, (), ty)
        case Guard(cond=c, body=body, ty=ty):
            return Guard(x(c), -1, x(body), ty)
        case Fault(shown=shown, ty=ty):
            return Fault(-1, None if shown is None else x(shown), ty)
        case Quant():
            return attrs.evolve(e, body=x(e.body), scoped=())
        case LetIn(var=var, value=value, body=body, ty=ty):
            return LetIn(var, x(value), x(body), ty)
        case Marked(body=body):
            return x(body)
        case _:
            assert_never(e)


def known(e: Expr, truth: bool) -> Facts:
    """What holds when ``e`` evaluates to ``truth`` (without an error)."""
    match e:
        case BoolOp(op="and", args=args) if truth:
            return frozenset().union(*(known(a, True) for a in args))
        case BoolOp(op="or", args=args) if not truth:
            return frozenset().union(*(known(a, False) for a in args))
        case Not(arg=arg):
            return known(arg, not truth)
        case _:
            return frozenset({erase(e if truth else fold.not_(e))})


class RaiseAnalysis:
    """``can_raise`` over the core, and what ``let`` of a ``choose`` implies:
    ``note_let`` records, for ``let a = choose x. body``, the facts of
    ``body`` about ``a!``, which hold as soon as ``a != none`` does."""

    def __init__(self) -> None:
        self.let_facts: dict[str, Facts] = {}

    def note_let(self, var: Var, value: Expr) -> None:
        if isinstance(value, Quant) and value.kind == "choose":
            bound = value.vars[0]
            unwrapped = Checked(var, NotNoneTest(), -1, (), bound.ty)
            body = fold.substitute(value.body, {bound.name: unwrapped})
            facts = known(body, True)
            if facts:
                self.let_facts[var.name] = facts

    def facts(self, e: Expr, truth: bool) -> Facts:
        """``known``, with the facts that a choose-let's presence brings."""
        out = known(e, truth)
        more: set[Expr] = set()
        for fact in out:
            if isinstance(fact, Not) and isinstance(fact.arg, IsNone) \
                    and isinstance(fact.arg.arg, Var):
                more |= self.let_facts.get(fact.arg.arg.name, frozenset())
        return out | more if more else out

    def can_raise(self, e: Expr, facts: Facts = frozenset()) -> bool:
        match e:
            case Checked(value=value, test=NotNoneTest()):
                return self.can_raise(value, facts) or \
                    erase(fold.not_(fold.is_none(value))) not in facts
            case Checked() | Fault():
                return True
            case DivMod(site=site) if site is not None:
                return True
            case Marked():
                # Not an error, but a count: moving it would count other evaluations.
                return True
            case Guard(cond=cond, body=body):
                return (self.can_raise(cond, facts) or erase(cond) not in facts
                        or self.can_raise(body, facts))
            case BoolOp(op=op, args=args):
                seen = set(facts)
                for a in args:
                    if self.can_raise(a, frozenset(seen)):
                        return True
                    seen |= self.facts(a, op == "and")
                return False
            case Ite(cond=c, then=a, else_=b):
                return (self.can_raise(c, facts)
                        or self.can_raise(a, facts | self.facts(c, True))
                        or self.can_raise(b, facts | self.facts(c, False)))
            case _:
                return any(self.can_raise(c, facts) for c in expr_children(e))


# ---------------------------------------------------------------- relaxation


def relax(e: Expr, names: set[str]) -> Expr | None:
    """An expression over ``names`` only that ``e`` implies, or None (only
    "true"): a false relaxation proves ``e`` false for every value of the
    other variables."""
    if free_vars(e) <= names:
        return e
    match e:
        case BoolOp(op="and", args=args):
            parts = [p for p in (relax(a, names) for a in args) if p is not None]
            return fold.and_(*parts) if parts else None
        case BoolOp(op="or", args=args):
            relaxed = [relax(a, names) for a in args]
            if any(p is None for p in relaxed):
                return None
            return fold.or_(*(p for p in relaxed if p is not None))
        case Quant(kind="exists" | "forall", vars=vs, body=body):
            inner = relax(body, names | {v.name for v in vs})
            return None if inner is None else fold.quant(attrs.evolve(e, body=inner))
        case _:
            return None


# ---------------------------------------------------------------- reordering


def cost(e: Expr) -> float:
    """A rough count of the reads evaluating ``e`` makes."""
    match e:
        case Read(addr=addr):
            return 1.0 + sum(cost(t.key) for t in addr.terms)
        case Quant(domains=domains, kind=kind, body=body):
            n = 1
            for d in domains:
                n *= len(d)
            # exists/forall/choose stop early; assume half the domain on average
            factor = n if kind == "count" else max(1.0, n / 2)
            return factor * (1.0 + cost(body))
        case Ite(cond=c, then=a, else_=b):
            return cost(c) + max(cost(a), cost(b))
        case _:
            children = expr_children(e)
            return 0.0 if not children else 0.1 + sum(cost(c) for c in children)


def reorder(e: Expr, analysis: RaiseAnalysis, facts: Facts = frozenset()) -> Expr:
    """``e`` with the operands of ``and``/``or`` evaluated cheapest first where
    none can raise, so that the value is the same in every state. ``forall f,
    p, v. page[f].used and finds(f, p, v) -> pte[p, v] == f`` then looks at
    ``pte[p, v] == f`` before it walks anything."""
    match e:
        case BoolOp(op=op, args=args):
            if not any(analysis.can_raise(a, facts) for a in args):
                parts = sorted((reorder(a, analysis, facts) for a in args), key=cost)
                return fold.and_(*parts) if op == "and" else fold.or_(*parts)
            out = []
            seen = set(facts)
            for a in args:
                out.append(reorder(a, analysis, frozenset(seen)))
                seen |= analysis.facts(a, op == "and")
            return BoolOp(op, tuple(out))
        case Not(arg=arg):
            return fold.not_(reorder(arg, analysis, facts))
        case Quant(body=body):
            return attrs.evolve(e, body=reorder(body, analysis, facts))
        case LetIn(var=var, value=value, body=body):
            return LetIn(var, value, reorder(body, analysis, facts), e.ty)
        case _:
            return e


def vars_read(exprs: Iterable[Expr]) -> set[str]:
    return set().union(*(free_vars(e) for e in exprs))


