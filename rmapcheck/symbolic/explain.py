"""Which part of a property fails on a concrete state, in words.

A property is split into its top-level conjuncts (``and`` chains); a failing
``forall`` conjunct is narrowed to the first failing instance of its
variables, recursively through nested ``forall`` and the right side of
``->``. The concrete evaluation reuses the encoder on a literal state: every
term folds to a literal, so it agrees with the encoding by construction.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import z3

from rmapcheck import ir
from rmapcheck.render.text import format_value
from rmapcheck.symbolic.encode import Binding, Encoder, Env


def conjuncts(expr: ir.Expr) -> list[ir.Expr]:
    """Top-level conjuncts of ``a and b and ...``, left to right."""
    if isinstance(expr, ir.Binary) and expr.op == "and":
        return conjuncts(expr.lhs) + conjuncts(expr.rhs)
    return [expr]


def _truth(enc: Encoder, expr: ir.Expr, env: Env, store: Sequence[z3.ExprRef]) -> bool | None:
    """True/False, or None when evaluating it is a run-time error."""
    v, err = enc.ev(expr, env, store)
    if z3.is_true(z3.simplify(err)):
        return None
    assert isinstance(v, z3.ExprRef)
    return z3.is_true(z3.simplify(v))


def _name(local: ir.Local) -> str:
    return local.name.split("#")[0]


def _value(enc: Encoder, sort: ir.Sort, v: Any) -> str:
    return format_value(enc.inst, sort, v)


def where(span: ir.Span) -> str:
    return f" at {span}" if span.line > 0 else ""


def failing_part(enc: Encoder, prop: ir.Property, state: Sequence[Any]) -> str:
    """A phrase naming the failing conjunct and instance, e.g.
    ``conjunct 2 of 3 (at m.spec:12:5), for p = 0, v = 2``; empty if it holds."""
    store = enc.state_literal(state)
    parts = conjuncts(prop.expr)
    for i, part in enumerate(parts):
        truth = _truth(enc, part, {}, store)
        if truth:
            continue
        label = f"conjunct {i + 1} of {len(parts)}{where(part.span)}" if len(parts) > 1 else ""
        if truth is None:
            label = (label + ", " if label else "") + "evaluation hits a run-time error"
        bindings = _narrow(enc, part, {}, store)
        if bindings:
            label = (label + ", " if label else "") + "for " + ", ".join(bindings)
        return label
    return ""


def _narrow(enc: Encoder, expr: ir.Expr, env: Env, store: Sequence[z3.ExprRef]) -> list[str]:
    """The bindings of the first failing instance of nested foralls in ``expr``."""
    if isinstance(expr, ir.Quant) and expr.kind == "forall":
        for combo in itertools.product(*[enc.inst.values(v.sort) for v in expr.vars]):
            inner = dict(env)
            for var, x in zip(expr.vars, combo, strict=True):
                inner[var.name] = Binding(enc.scalar_const(var.sort, x), True)
            if not _truth(enc, expr.body, inner, store):
                shown = [f"{_name(v)} = {_value(enc, v.sort, x)}"
                         for v, x in zip(expr.vars, combo, strict=True)]
                return shown + _narrow(enc, expr.body, inner, store)
        return []
    if isinstance(expr, ir.Binary) and expr.op == "implies":
        return _narrow(enc, expr.rhs, env, store)
    if isinstance(expr, ir.Binary) and expr.op == "and":
        for part in (expr.lhs, expr.rhs):
            if not _truth(enc, part, env, store):
                return _narrow(enc, part, env, store)
    return []
