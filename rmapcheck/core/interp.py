"""The core, run directly: the reference semantics of the language.

This is the readable definition every engine is held to. It walks the nodes
of ``rmapcheck.core.nodes`` one by one, with no compilation, no symmetry
reduction and no cleverness; the generated Python and C and the Z3 encoding
must compute exactly what it computes (``tests/test_differential_specs.py``
runs them side by side on generated specs), and every counterexample an engine
finds is replayed here before it is shown.

A state is the flat slot tuple of ``rmapcheck.instance``. A step runs an
action's body on a copy of the state; a false ``requires`` disables it (no
step), a false ``assert`` records the assertion and the body goes on, a
run-time error of the spec raises ``SpecRuntimeError`` with the message of
its fault site.

With ``counts`` (a list with one entry per coverage site), every ``Mark``
and ``Marked`` it runs adds one to its site's entry; ``successors`` runs each
action as its plan says a search does (each leading guard once per
combination of the parameters it reads), so the counts are a search's.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, assert_never

from rmapcheck.core.faults import fault_error
from rmapcheck.core.fold import among, passes, position
from rmapcheck.core.lower import CoreModel
from rmapcheck.core.nodes import (
    ActionPlan,
    Addr,
    Arith,
    AssertStmt,
    Bit,
    BoolOp,
    Check,
    Checked,
    Cmp,
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
    Member,
    Neg,
    Not,
    Quant,
    Read,
    Require,
    SetOp,
    Some,
    Stmt,
    Stop,
    Store,
    Var,
)
from rmapcheck.errors import SpecError

State = tuple[Any, ...]


class _Disabled(Exception):
    """A false ``requires``: the step does not happen."""


class _Stopped(Exception):
    """A ``stop``: the step ends with the state as it is (a failpoint's error
    path has run)."""


class Interpreter:
    """Runs the core of one instance; ``counts``: see the module docstring."""

    def __init__(self, core: CoreModel, counts: list[int] | None = None) -> None:
        self.core = core
        self.instance = core.instance
        self.counts = counts
        self._initial: State | None = None
        self.init_failures: tuple[int, ...] = ()

    # ------------------------------------------------------------ the model

    def initial_state(self) -> State:
        if self._initial is None:
            t = list(self.instance.initial_slots())
            failed: list[int] = []
            try:
                self.stmts(self.core.init, {}, t, failed)
            except _Disabled:
                raise SpecError("a requires in the init block is false, so there is no "
                                "initial state", self.core.model.span) from None
            self._initial = tuple(t)
            self.init_failures = tuple(failed)
        return self._initial

    def run(self, state: State, plan: ActionPlan,
            args: Sequence[Any]) -> tuple[State, tuple[int, ...]] | None:
        """One step of ``plan`` with ``args`` (by parameter position): the next
        state and the indices of the assertions it violates, or None when the
        action is not enabled."""
        env = {p.name: a for p, a in zip(plan.params, args, strict=True)}
        t = list(state)
        failed: list[int] = []
        try:
            self.stmts(plan.body, env, t, failed)
        except _Disabled:
            return None
        except _Stopped:
            pass
        return tuple(t), tuple(failed)

    def successors(self, state: State) -> list[tuple[int, State, tuple[int, ...]]]:
        """``(iid, next state, failed assertion indices)`` of every enabled
        instance, in instance order. Each item of a plan's prefix runs once per
        combination of the parameters up to its level: the guards are pure
        but for their errors, and the first error met is the one the
        instance-by-instance order would meet first."""
        out: list[tuple[int, State, tuple[int, ...]]] = []
        read = list(state)  # the prefix only reads
        for plan in self.core.actions:
            self._level(plan, read, 0, 0, {}, out)
        return out

    def _level(self, plan: ActionPlan, state: list[Any], depth: int, placed: int,
               env: dict[str, Any], out: list[tuple[int, State, tuple[int, ...]]]) -> None:
        env = dict(env)
        while placed < len(plan.prefix) and plan.levels[placed] <= depth:
            try:
                self.stmt(plan.prefix[placed], env, state, [])
            except _Disabled:
                return
            placed += 1
        if depth < len(plan.params):
            for value in plan.domains[depth]:
                inner = dict(env)
                inner[plan.params[depth].name] = value
                self._level(plan, state, depth + 1, placed, inner, out)
            return
        t = list(state)
        failed: list[int] = []
        try:
            self.stmts(plan.rest, env, t, failed)
        except _Disabled:
            return
        except _Stopped:
            pass
        iid = plan.iid_base
        for p, domain, mult in zip(plan.params, plan.domains, plan.multipliers, strict=True):
            iid += position(domain, env[p.name]) * mult
        out.append((iid, tuple(t), tuple(failed)))

    def prop(self, name: str, state: State) -> bool:
        for p in self.core.properties:
            if p.name == name:
                return bool(self.eval(p.expr, {}, state))
        raise KeyError(name)

    # ------------------------------------------------------------ statements

    def stmts(self, stmts: Sequence[Stmt], env: dict[str, Any], t: list[Any],
              failed: list[int]) -> None:
        env = dict(env)  # a let binds to the end of its block
        for stmt in stmts:
            self.stmt(stmt, env, t, failed)

    def stmt(self, stmt: Stmt, env: dict[str, Any], t: list[Any], failed: list[int]) -> None:
        match stmt:
            case Let(var=var, value=value):
                env[var.name] = self.eval(value, env, t)
            case Store(addr=addr, values=values):
                at = self.address(addr, env, t)
                computed = [self.eval(v, env, t) for v in values]
                t[at:at + len(computed)] = computed
            case Check(cond=cond, site=site, keys=keys):
                if not self.eval(cond, env, t):
                    raise fault_error(self.instance, self.core.faults[site], None,
                                      [self.eval(k, env, t) for k in keys])
            case If(cond=cond, then=then, else_=else_):
                self.stmts(then if self.eval(cond, env, t) else else_, env, t, failed)
            case For(var=var, values=values, body=body):
                for value in values:
                    inner = dict(env)
                    inner[var.name] = value
                    self.stmts(body, inner, t, failed)
            case Require(cond=cond):
                if not self.eval(cond, env, t):
                    raise _Disabled
            case AssertStmt(index=index, cond=cond):
                if not self.eval(cond, env, t):
                    failed.append(index)
            case Mark(site=site):
                if self.counts is not None:
                    self.counts[site] += 1
            case Stop():
                raise _Stopped
            case _:
                assert_never(stmt)

    # ------------------------------------------------------------ expressions

    def address(self, addr: Addr, env: Mapping[str, Any], state: Sequence[Any]) -> int:
        at = addr.base
        for term in addr.terms:
            at += position(term.values, self.eval(term.key, env, state)) * term.stride
        return at

    def eval(self, e: Expr, env: Mapping[str, Any], state: Sequence[Any]) -> Any:
        ev = self.eval
        match e:
            case Lit(value=value):
                return value
            case Var(name=name):
                return env[name]
            case Read(addr=addr):
                return state[self.address(addr, env, state)]
            case Not(arg=arg):
                return not ev(arg, env, state)
            case Neg(arg=arg):
                return -ev(arg, env, state)
            case Arith(op=op, lhs=a, rhs=b):
                x, y = ev(a, env, state), ev(b, env, state)
                return x + y if op == "add" else x - y if op == "sub" else x * y
            case DivMod(op=op, lhs=a, rhs=b, site=site):
                x, y = ev(a, env, state), ev(b, env, state)
                if y == 0:
                    assert site is not None
                    raise fault_error(self.instance, self.core.faults[site], x)
                return x // y if op == "div" else x % y
            case Cmp(op=op, lhs=a, rhs=b):
                x, y = ev(a, env, state), ev(b, env, state)
                match op:
                    case "eq":
                        return x == y
                    case "ne":
                        return x != y
                    case "lt":
                        return x < y
                    case "le":
                        return x <= y
                    case "gt":
                        return x > y
                    case "ge":
                        return x >= y
                    case _:
                        assert_never(op)
            case IsNone(arg=arg):
                return ev(arg, env, state) is None
            case Some(arg=arg):
                return ev(arg, env, state)
            case SetOp(op=op, lhs=a, rhs=b):
                x, y = ev(a, env, state), ev(b, env, state)
                return x | y if op == "union" else x & y if op == "inter" else x & ~y
            case Bit(elem=elem, values=values):
                return 1 << position(values, ev(elem, env, state))
            case Member(elem=elem, mask=mask, values=values):
                x, m = ev(elem, env, state), ev(mask, env, state)
                return among(values, x) and (m >> position(values, x)) & 1 == 1
            case BoolOp(op="and", args=args):
                return all(ev(a, env, state) for a in args)
            case BoolOp(op="or", args=args):
                return any(ev(a, env, state) for a in args)
            case BoolOp():
                raise AssertionError(e.op)
            case Ite(cond=c, then=a, else_=b):
                return ev(a, env, state) if ev(c, env, state) else ev(b, env, state)
            case Checked(value=value, test=test, site=site, keys=keys):
                x = ev(value, env, state)
                if not passes(test, x):
                    raise fault_error(self.instance, self.core.faults[site], x,
                                      [ev(k, env, state) for k in keys])
                return x
            case Guard(cond=cond, site=site, body=body):
                if not ev(cond, env, state):
                    raise fault_error(self.instance, self.core.faults[site])
                return ev(body, env, state)
            case Fault(site=site, shown=shown):
                value = None if shown is None else ev(shown, env, state)
                raise fault_error(self.instance, self.core.faults[site], value)
            case Quant():
                return self.quant(e, env, state)
            case LetIn(var=var, value=value, body=body):
                inner = dict(env)
                inner[var.name] = ev(value, env, state)
                return ev(body, inner, state)
            case Marked(site=site, body=body):
                if self.counts is not None:
                    self.counts[site] += 1
                return ev(body, env, state)
            case _:
                assert_never(e)

    def quant(self, q: Quant, env: Mapping[str, Any], state: Sequence[Any]) -> Any:
        inner = dict(env)
        names = [v.name for v in q.vars]

        def holds(combo: tuple[Any, ...]) -> bool:
            inner.update(zip(names, combo, strict=True))
            return bool(self.eval(q.body, inner, state))

        combos = itertools.product(*q.domains)
        match q.kind:
            case "forall":
                return all(holds(c) for c in combos)
            case "exists":
                return any(holds(c) for c in combos)
            case "count":
                return sum(1 for c in combos if holds(c))
            case "choose":
                return next((c[0] for c in combos if holds(c)), None)
            case _:
                assert_never(q.kind)


def iid_args(core: CoreModel, iid: int) -> tuple[ActionPlan, tuple[Any, ...]]:
    """The action and argument values of instance number ``iid``."""
    for plan in core.actions:
        if plan.iid_base <= iid < plan.iid_base + plan.count:
            k = iid - plan.iid_base
            values = []
            for domain, mult in zip(plan.domains, plan.multipliers, strict=True):
                values.append(domain[k // mult])
                k %= mult
            return plan, tuple(values)
    raise KeyError(iid)


__all__ = ["Interpreter", "iid_args"]
