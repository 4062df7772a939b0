"""Which uses of a symmetric sort keep a reduction over it sound: the static rules.

A symmetric sort (processes, frames, anon_vmas) is a set of interchangeable
ids; a search may store one state per orbit of their permutations only if no
action or property tells them apart. ``check`` finds the uses that do (a
literal of the sort outside ``init``, ordering or arithmetic on it) and the
loops over the sort whose iterations it cannot prove independent; the
explicit engine leaves such a sort out of its reduction, or checks the loop
at run time (``rmapcheck.explicit.symmetry``). The lowering records what it
found on each loop (``nodes.For.order_free``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import assert_never

from attrs import frozen

from rmapcheck import ir
from rmapcheck.ir_walk import walk_expr, walk_stmts


@frozen
class SymmetryNote:
    """Why a symmetric sort is left out of the reduction."""

    sort: str
    message: str
    span: ir.Span | None


@frozen
class Analysis:
    """What the static check found: sorts to leave out, and the loops over
    symmetric sorts whose order independence is checked at run time."""

    notes: tuple[SymmetryNote, ...]
    unproven_loops: frozenset[ir.For]
    # action name -> names of the sorts of its unproven loops
    order_dependent: tuple[tuple[str, frozenset[str]], ...]


# ---------------------------------------------------------------- soundness check


def mentions(sort: ir.Sort, target: ir.RangeSort) -> bool:
    """Whether values of ``sort`` contain values of ``target``."""
    match sort:
        case ir.RangeSort():
            return sort == target
        case ir.OptionSort(inner=inner):
            return mentions(inner, target)
        case ir.SetSort(elem=elem):
            return mentions(elem, target)
        case ir.RecordSort(fields=fields):
            return any(mentions(s, target) for _, s in fields)
        case ir.BoolSort() | ir.IntSort() | ir.EnumSort():
            return False
        case _:
            assert_never(sort)


def check(model: ir.Model, sorts: Sequence[ir.RangeSort]) -> Analysis:
    """Uses of the symmetric ``sorts`` in actions and properties that make a
    reduction over them unsound (the init block may name values freely: it
    only picks the initial state): literals of the sort and ordering or
    arithmetic on it. ``choose`` over the sort is checked at run time (the
    values it could pick must be interchangeable where it runs), and so are
    the loops over the sort whose iterations this analysis cannot prove
    independent (they are re-run in every other order and compared)."""
    notes: list[SymmetryNote] = []
    seen: set[tuple[str, str]] = set()
    unproven: set[ir.For] = set()
    order_dependent: dict[str, set[str]] = {}

    def note(sort: ir.RangeSort, message: str, span: ir.Span | None) -> None:
        if (sort.name, message) not in seen:
            seen.add((sort.name, message))
            notes.append(SymmetryNote(sort.name, message, span))

    def exprs(expr: ir.Expr) -> None:
        for node in walk_expr(expr):
            match node:
                case ir.IntLit(value=value, sort=ir.RangeSort() as sort) if sort in sorts:
                    note(sort, f"the literal {value} names one {sort.name} among equals",
                         node.span)
                case ir.Binary(op=op, lhs=lhs, rhs=rhs) if op in (
                        "lt", "le", "gt", "ge", "add", "sub", "mul", "div", "mod"):
                    for side in (lhs, rhs):
                        inner = side.sort.inner if isinstance(side.sort, ir.OptionSort) \
                            else side.sort
                        if inner in sorts:
                            assert isinstance(inner, ir.RangeSort)
                            note(inner, f"'{op}' orders or computes with {inner.name} values",
                                 node.span)
                case _:
                    pass

    def stmts(action: str, body: Iterable[ir.Stmt]) -> None:
        for stmt in walk_stmts(body):
            match stmt:
                case ir.Assign(target=target, value=value):
                    for key in target.keys:
                        exprs(key)
                    exprs(value)
                case ir.If(cond=cond) | ir.Require(cond=cond) | ir.Assert(cond=cond):
                    exprs(cond)
                case ir.Let(value=value):
                    exprs(value)
                case ir.For(var=var, body=inner):
                    if var.sort in sorts and not _loop_commutes(var, inner):
                        assert isinstance(var.sort, ir.RangeSort)
                        unproven.add(stmt)
                        order_dependent.setdefault(action, set()).add(var.sort.name)

    for action in model.actions:
        stmts(action.name, action.body)
    for prop in model.properties:
        exprs(prop.expr)
    return Analysis(tuple(notes), frozenset(unproven),
                    tuple((a, frozenset(s)) for a, s in order_dependent.items()))


def _loop_commutes(var: ir.Local, body: tuple[ir.Stmt, ...]) -> bool:
    """Whether the iterations of ``for var`` provably commute: every state
    variable the loop writes is read and written only at entries whose key has
    the loop variable (or a ``let`` alias of it) at one fixed position, or is
    written one constant at fixed places and never read by the loop."""
    aliases = {var.name}
    writes: dict[str, list[ir.Assign]] = {}
    reads: dict[str, list[ir.StateRead]] = {}
    for stmt in walk_stmts(body):
        if isinstance(stmt, ir.Let) and isinstance(stmt.value, ir.Local) \
                and stmt.value.name in aliases:
            aliases.add(stmt.var.name)
        if isinstance(stmt, ir.Assign):
            writes.setdefault(stmt.target.var, []).append(stmt)
        for expr in _stmt_exprs_all(stmt):
            for node in walk_expr(expr):
                if isinstance(node, ir.StateRead):
                    reads.setdefault(node.var, []).append(node)
    for name, assigns in writes.items():
        accesses = [a.target.keys for a in assigns] + [r.keys for r in reads.get(name, [])]
        positions: set[int] | None = None
        for keys in accesses:
            here = {i for i, k in enumerate(keys)
                    if isinstance(k, ir.Local) and k.name in aliases}
            positions = here if positions is None else positions & here
        if positions:
            continue  # each iteration owns its own entries of this variable
        constant = all(isinstance(a.value, (ir.BoolLit, ir.IntLit, ir.EnumLit, ir.NoneLit))
                       and a.value == assigns[0].value for a in assigns)
        fixed_places = all(isinstance(k, (ir.IntLit, ir.EnumLit, ir.BoolLit, ir.ConstRef))
                           for a in assigns for k in a.target.keys)
        if constant and fixed_places and not reads.get(name):
            continue  # the same constant written to fixed places: order is irrelevant
        return False
    return True


def _stmt_exprs_all(stmt: ir.Stmt) -> Iterator[ir.Expr]:
    match stmt:
        case ir.Assign(target=target, value=value):
            yield from target.keys
            yield value
        case ir.If(cond=cond) | ir.Require(cond=cond) | ir.Assert(cond=cond):
            yield cond
        case ir.Let(value=value):
            yield value
        case ir.For():
            pass
