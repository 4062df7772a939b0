"""Walks over IR expressions and statements, shared by the compiler and the
symmetry analysis."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, assert_never

import attrs

from rmapcheck import ir


def unopt(sort: ir.Sort) -> ir.Sort:
    return sort.inner if isinstance(sort, ir.OptionSort) else sort


def walk_expr(expr: ir.Expr) -> Iterable[ir.Expr]:
    """``expr`` and every expression inside it."""
    yield expr
    match expr:
        case ir.BoolLit() | ir.IntLit() | ir.EnumLit() | ir.NoneLit() | ir.ConstRef() | ir.Local():
            pass
        case ir.StateRead(keys=keys):
            for key in keys:
                yield from walk_expr(key)
        case ir.Field(base=base):
            yield from walk_expr(base)
        case ir.Unary(arg=arg) | ir.Wrap(arg=arg) | ir.Unwrap(arg=arg) | \
                ir.HookValue(value=arg):
            yield from walk_expr(arg)
        case ir.Binary(lhs=lhs, rhs=rhs):
            yield from walk_expr(lhs)
            yield from walk_expr(rhs)
        case ir.Ite(cond=cond, then=then, else_=else_):
            yield from walk_expr(cond)
            yield from walk_expr(then)
            yield from walk_expr(else_)
        case ir.Quant(body=body):
            yield from walk_expr(body)
        case ir.RecordLit(fields=fields):
            for _, value in fields:
                yield from walk_expr(value)
        case ir.SetLit(elems=elems):
            for elem in elems:
                yield from walk_expr(elem)
        case _:
            assert_never(expr)


def substitute(expr: ir.Expr, values: Mapping[str, ir.Expr]) -> ir.Expr:
    """``expr`` with the locals named in ``values`` replaced (binders are
    unique names, so nothing is captured)."""
    def sub(e: ir.Expr) -> ir.Expr:
        return substitute(e, values)

    match expr:
        case ir.Local(name=name):
            return values.get(name, expr)
        case ir.BoolLit() | ir.IntLit() | ir.EnumLit() | ir.NoneLit() | ir.ConstRef():
            return expr
        case ir.StateRead(keys=keys):
            return attrs.evolve(expr, keys=tuple(sub(k) for k in keys))
        case ir.Field(base=base):
            return attrs.evolve(expr, base=sub(base))
        case ir.Unary(arg=arg):
            return attrs.evolve(expr, arg=sub(arg))
        case ir.Wrap(arg=arg):
            return attrs.evolve(expr, arg=sub(arg))
        case ir.Unwrap(arg=arg):
            return attrs.evolve(expr, arg=sub(arg))
        case ir.HookValue(value=value):
            return attrs.evolve(expr, value=sub(value))
        case ir.Binary(lhs=lhs, rhs=rhs):
            return attrs.evolve(expr, lhs=sub(lhs), rhs=sub(rhs))
        case ir.Ite(cond=cond, then=then, else_=else_):
            return attrs.evolve(expr, cond=sub(cond), then=sub(then), else_=sub(else_))
        case ir.Quant(body=body):
            return attrs.evolve(expr, body=sub(body))
        case ir.RecordLit(fields=fields):
            return attrs.evolve(expr, fields=tuple((n, sub(v)) for n, v in fields))
        case ir.SetLit(elems=elems):
            return attrs.evolve(expr, elems=tuple(sub(e) for e in elems))
        case _:
            assert_never(expr)


def fold_bool(op: Literal["and", "or"], parts: Iterable[ir.Expr], span: ir.Span) -> ir.Expr:
    """``parts`` joined by ``and`` (true when there are none) or ``or`` (false)."""
    out: ir.Expr | None = None
    for part in parts:
        out = part if out is None else ir.Binary(op, out, part, ir.BOOL, span)
    return out if out is not None else ir.BoolLit(op == "and", span)


def stmt_exprs(stmt: ir.Stmt) -> Iterable[ir.Expr]:
    """The expressions a statement evaluates directly (not those of nested statements)."""
    match stmt:
        case ir.Assign(target=target, value=value):
            yield from target.keys
            yield value
        case ir.If(cond=cond):
            yield cond
        case ir.For():
            pass
        case ir.Let(value=value):
            yield value
        case ir.Require(cond=cond) | ir.Assert(cond=cond):
            yield cond
        case ir.HookEntry() | ir.Stop():
            pass
        case _:
            assert_never(stmt)


def walk_stmts(stmts: Iterable[ir.Stmt]) -> Iterable[ir.Stmt]:
    for stmt in stmts:
        yield stmt
        match stmt:
            case ir.If(then=then, else_=else_):
                yield from walk_stmts(then)
                yield from walk_stmts(else_)
            case ir.For(body=body):
                yield from walk_stmts(body)
            case ir.Assign() | ir.Let() | ir.Require() | ir.Assert() | ir.HookEntry() | ir.Stop():
                pass
            case _:
                assert_never(stmt)


def free_locals(exprs: Iterable[ir.Expr]) -> set[str]:
    """Names of the locals the expressions read (quantified variables excluded)."""
    bound: set[str] = set()
    used: set[str] = set()
    for expr in exprs:
        for node in walk_expr(expr):
            if isinstance(node, ir.Quant):
                bound.update(v.name for v in node.vars)
            elif isinstance(node, ir.Local):
                used.add(node.name)
    return used - bound


def show(expr: ir.Expr) -> str:
    """A short rendering of an expression for error messages."""
    match expr:
        case ir.Local(name=name):
            return name.split("#")[0]
        case ir.IntLit(value=value):
            return str(value)
        case ir.BoolLit(value=value):
            return "true" if value else "false"
        case ir.EnumLit(member=member):
            return member
        case ir.NoneLit():
            return "none"
        case ir.ConstRef(name=name):
            return name
        case ir.StateRead(var=var, keys=keys):
            return f"{var}[{', '.join(show(k) for k in keys)}]" if keys else var
        case ir.Field(base=base, name=name):
            return f"{show(base)}.{name}"
        case ir.Wrap(arg=arg) | ir.Unwrap(arg=arg) | ir.HookValue(value=arg):
            return show(arg)
        case _:
            return "..."
