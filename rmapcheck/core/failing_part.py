"""Which part of a property fails on a concrete state, as data.

A property is split into its top-level conjuncts (``and`` chains); a failing
``forall`` conjunct is narrowed to the first failing instance of its
variables, recursively through nested ``forall`` and the right side of
``->``. Each part is lowered to the core and run by the interpreter, the
reference semantics, so the answer is what every engine computes. The answer
is a ``FailingPart``; ``rmapcheck.render.proof`` puts it in words.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from rmapcheck import ir
from rmapcheck.core.interp import Interpreter
from rmapcheck.core.lower import CoreModel
from rmapcheck.errors import SpecRuntimeError
from rmapcheck.trace import FailingPart


def conjuncts(expr: ir.Expr) -> list[ir.Expr]:
    """Top-level conjuncts of ``a and b and ...``, left to right."""
    if isinstance(expr, ir.Binary) and expr.op == "and":
        return conjuncts(expr.lhs) + conjuncts(expr.rhs)
    if isinstance(expr, ir.HookValue):
        return conjuncts(expr.value)
    return [expr]


class _Evaluator:
    def __init__(self, core: CoreModel, state: Sequence[Any]) -> None:
        self.core = core
        self.interp = Interpreter(core)
        self.state = state

    def truth(self, expr: ir.Expr, bound: dict[str, tuple[ir.Local, Any]]) -> bool | None:
        """True/False, or None when evaluating it is a run-time error."""
        params = [local for local, _ in bound.values()]
        variables, vals = self.core.lower_expr(expr, params)
        env = {v.name: bound[v.name][1] for v in variables}
        try:
            return bool(self.interp.eval(vals[0], env, self.state))
        except SpecRuntimeError:
            return None

    def narrow(self, expr: ir.Expr,
               bound: dict[str, tuple[ir.Local, Any]]) -> list[tuple[str, ir.Sort, Any]]:
        """The bindings of the first failing instance of nested foralls in ``expr``."""
        if isinstance(expr, ir.Quant) and expr.kind == "forall":
            values = [self.core.instance.values(v.sort) for v in expr.vars]
            for combo in itertools.product(*values):
                inner = dict(bound)
                for var, x in zip(expr.vars, combo, strict=True):
                    inner[var.name] = (var, x)
                if not self.truth(expr.body, inner):
                    shown = [(_plain(v.name), v.sort, x)
                             for v, x in zip(expr.vars, combo, strict=True)]
                    return shown + self.narrow(expr.body, inner)
            return []
        if isinstance(expr, ir.Binary) and expr.op == "implies":
            return self.narrow(expr.rhs, bound)
        if isinstance(expr, ir.HookValue):
            return self.narrow(expr.value, bound)
        if isinstance(expr, ir.Binary) and expr.op == "and":
            for part in (expr.lhs, expr.rhs):
                if not self.truth(part, bound):
                    return self.narrow(part, bound)
        return []


def _plain(name: str) -> str:
    return name.split("#")[0]


def failing_part(core: CoreModel, prop: ir.Property,
                 state: Sequence[Any]) -> FailingPart | None:
    """The first conjunct of ``prop`` that is false (or a run-time error) in
    ``state``, with the first failing instance of its variables; None if
    ``prop`` holds."""
    ev = _Evaluator(core, state)
    parts = conjuncts(prop.expr)
    for i, part in enumerate(parts):
        truth = ev.truth(part, {})
        if truth:
            continue
        return FailingPart(prop.name, i + 1, len(parts), part.span, truth is None,
                           tuple(ev.narrow(part, {})))
    return None
