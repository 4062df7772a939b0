"""Verdicts and traces as text a kernel developer reads at a glance.

A step shows the action, its arguments and spec line, then only what changed.
A violation names the property, its docstring, the values of the quantified
variables where it fails, and the state the failing formula looked at (for
rmap_complete: the pte, and the page's mapping and index the walk used).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import attrs

from rmapcheck import ir
from rmapcheck.instance import Instance
from rmapcheck.trace import Holds, Proved, Result, State, Trace, Unknown, Verdict, Violated


class Evaluator(Protocol):
    """What rendering needs from the executable machine."""

    instance: Instance

    def eval_expr(self, expr: ir.Expr, state: State, env: dict[str, Any]) -> Any: ...


# ------------------------------------------------------------ colour


class Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        return self._wrap("1;31", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)


def auto_style(stream: Any = None) -> Style:
    stream = stream or sys.stdout
    wanted = stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    return Style(bool(wanted))


# ------------------------------------------------------------ values


def _prefix(sort: ir.RangeSort) -> str:
    capitals = "".join(c for c in sort.name if c.isupper()).lower()
    return capitals or sort.name[:1].lower()


def format_value(instance: Instance, sort: ir.Sort, value: Any) -> str:
    """A readable value: ``p0`` for process 0, ``f2`` for frame 2, records in braces."""
    match sort:
        case ir.OptionSort(inner=inner):
            return "none" if value is None else format_value(instance, inner, value)
        case ir.RangeSort(symmetric=True):
            return f"{_prefix(sort)}{value}"
        case ir.RangeSort() | ir.IntSort():
            return str(value)
        case ir.BoolSort():
            return "true" if value else "false"
        case ir.EnumSort(members=members):
            return value if isinstance(value, str) else members[value]
        case ir.RecordSort(fields=fields):
            parts = [f"{name}: {format_value(instance, fsort, value[name])}"
                     for name, fsort in fields]
            return "{" + ", ".join(parts) + "}"
        case ir.SetSort(elem=elem):
            items = sorted(value) if isinstance(value, frozenset) else value
            return "{" + ", ".join(format_value(instance, elem, v) for v in items) + "}"
    return str(value)


def format_key(instance: Instance, var: str, key: tuple[Any, ...]) -> str:
    rng = instance.layout[var]
    if not key:
        return var
    parts = [format_value(instance, sort, value) for sort, value in zip(rng.var.keys, key)]
    return f"{var}[{', '.join(parts)}]"


def format_args(instance: Instance, action: ir.Action, args: Iterable[tuple[str, Any]]) -> str:
    sorts = {p.name: p.sort for p in action.params}
    return ", ".join(f"{name}={format_value(instance, sorts.get(name, ir.INT), value)}"
                     for name, value in args)


def state_changes(instance: Instance, before: State, after: State) -> Iterator[str]:
    """``var[key] := value`` for every map entry that differs; for records, the
    fields that changed (all of them when the record appears or disappears)."""
    old, new = instance.decode(before), instance.decode(after)
    for var in instance.model.state:
        sort = var.value
        if var.keys:
            entries = [(k, old[var.name][k], new[var.name][k]) for k in instance.layout[var.name].keys]
        else:
            entries = [((), old[var.name], new[var.name])]
        for key, a, b in entries:
            if a == b:
                continue
            where = format_key(instance, var.name, key)
            record = sort.inner if isinstance(sort, ir.OptionSort) else sort
            if isinstance(record, ir.RecordSort) and isinstance(a, dict) and isinstance(b, dict):
                changed = [(f, fs) for f, fs in record.fields if a[f] != b[f]]
                yield "; ".join(f"{where}.{f} := {format_value(instance, fs, b[f])}"
                                for f, fs in changed)
            else:
                yield f"{where} := {format_value(instance, sort, b)}"


# ------------------------------------------------------------ traces


def format_trace(instance: Instance, trace: Trace, style: Style | None = None) -> list[str]:
    style = style or Style(False)
    lines = [style.dim("  0. initial state")]
    previous = trace.initial
    for number, step in enumerate(trace.steps, 1):
        action = instance.model.action(step.action)
        where = f"  {style.dim(str(step.span or action.span))}"
        lines.append(f"  {number}. {style.bold(step.action)}"
                     f"({format_args(instance, action, step.args)}){where}")
        changes = list(state_changes(instance, previous, step.state))
        for change in changes:
            lines.append(f"       {change}")
        if not changes:
            lines.append(style.dim("       (no change)"))
        previous = step.state
    return lines


def _ground_reads(expr: ir.Expr, bound: set[str]) -> Iterator[ir.Expr]:
    """State reads (and field reads of them) whose keys use only ``bound`` names."""
    match expr:
        case ir.Field(base=ir.StateRead() as base) if _uses_only(base, bound):
            yield expr
            return
        case ir.StateRead() if _uses_only(expr, bound):
            yield expr
            return
        case ir.Quant(vars=vars_, body=body):
            yield from _ground_reads(body, bound)
            return
    for field in attrs.fields(type(expr)):
        if field.name in ("sort", "span"):
            continue
        value = getattr(expr, field.name)
        children = value if isinstance(value, tuple) else (value,)
        for child in children:
            if isinstance(child, tuple):
                child = child[-1]
            if hasattr(child, "sort") and hasattr(child, "span") and not isinstance(child, ir.Sort):
                yield from _ground_reads(child, bound)


def _locals_in(expr: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(expr, ir.Local):
        return {expr.name}
    if not attrs.has(type(expr)):
        return found
    for field in attrs.fields(type(expr)):
        if field.name in ("sort", "span"):
            continue
        value = getattr(expr, field.name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, tuple):
                for sub in child:
                    found |= _locals_in(sub)
            else:
                found |= _locals_in(child)
    return found


def _uses_only(expr: ir.Expr, bound: set[str]) -> bool:
    return _locals_in(expr) <= bound


def explain_failure(machine: Evaluator, prop: ir.Property, state: State) -> list[str]:
    """Where a ``forall`` property fails: the bindings and the state it read."""
    instance = machine.instance
    expr = prop.expr
    env: dict[str, Any] = {}
    lines: list[str] = []
    if isinstance(expr, ir.Quant) and expr.kind == "forall":
        import itertools

        domains = [instance.values(v.sort) for v in expr.vars]
        for combo in itertools.product(*domains):
            env = {v.name: value for v, value in zip(expr.vars, combo)}
            if not machine.eval_expr(expr.body, state, env):
                break
        else:
            return lines
        shown = ", ".join(f"{v.name.split('#')[0]} = {format_value(instance, v.sort, env[v.name])}"
                          for v in expr.vars)
        lines.append(f"  fails for {shown}")
        body = expr.body
    else:
        body = expr
    seen: set[str] = set()
    facts: list[str] = []
    for read in _ground_reads(body, set(env)):
        try:
            value = machine.eval_expr(read, state, env)
        except Exception:  # a read of none's field: the fact is simply absent
            continue
        text = f"{_format_read(machine, read, state, env)} = {format_value(instance, read.sort, value)}"
        if text not in seen:
            seen.add(text)
            facts.append(text)
    if facts:
        lines.append("  where " + "\n        ".join(facts))
    return lines


def _format_read(machine: Evaluator, read: ir.Expr, state: State, env: dict[str, Any]) -> str:
    instance = machine.instance
    if isinstance(read, ir.Field):
        return f"{_format_read(machine, read.base, state, env)}.{read.name}"
    assert isinstance(read, ir.StateRead)
    rng = instance.layout[read.var]
    keys = tuple(machine.eval_expr(k, state, env) for k in read.keys)
    parts = [format_value(instance, sort, value) for sort, value in zip(rng.var.keys, keys)]
    return f"{read.var}[{', '.join(parts)}]" if parts else read.var


# ------------------------------------------------------------ verdicts


def verdict_word(verdict: Verdict, style: Style) -> str:
    match verdict:
        case Holds():
            return style.green("holds")
        case Proved():
            return style.green("proved")
        case Violated():
            return style.red("VIOLATED")
        case Unknown():
            return style.yellow("unknown")
    raise AssertionError(verdict)


def format_result(machine: Evaluator, result: Result, style: Style | None = None,
                  timing: bool = True) -> str:
    style = style or Style(False)
    instance = machine.instance
    model = instance.model
    consts = " ".join(f"{k}={v}" for k, v in result.consts or tuple(instance.consts.items()))
    out: list[str] = []
    violations = result.violations
    stats = result.stats
    if violations:
        name, first = violations[0]
        out.append(style.bold(f"{model.name}: {name} is ") + style.red("VIOLATED") +
                   style.bold(f" after {len(first.trace)} step{'s' if len(first.trace) != 1 else ''}")
                   + f"  ({result.engine}, {consts})")
        doc = _doc_of(model, name)
        if doc:
            out.append(f"  \"{doc}\"")
        out.append("")
        out.extend(format_trace(instance, first.trace, style))
        out.append("")
        out.append(f"  violated: {style.bold(name)}")
        try:
            prop = model.prop(name)
        except KeyError:
            prop = None
        if prop is not None:
            out.extend(explain_failure(machine, prop, first.trace.last))
        if first.detail:
            out.append(f"  {first.detail}")
    else:
        unknown = result.unknowns
        if unknown:
            out.append(style.bold(f"{model.name}: no violation found, but the check is ") +
                       style.yellow("inconclusive") + f"  ({result.engine}, {consts})")
        else:
            out.append(style.bold(f"{model.name}: no property is violated") +
                       f"  ({result.engine}, {consts})")
    out.append("")
    for name, verdict in result.verdicts:
        kind = _kind_of(model, name)
        line = f"  {verdict_word(verdict, style):<9} {kind + ' ' if kind else ''}{name}"
        match verdict:
            case Holds(bound=bound):
                line += style.dim(f"  ({bound.describe()})")
            case Proved(method=method, lemmas=lemmas):
                line += style.dim(f"  ({method}{'; lemmas ' + ', '.join(lemmas) if lemmas else ''})")
            case Violated(trace=trace):
                line += style.dim(f"  (after {len(trace)} steps)")
            case Unknown(reason=reason):
                line += style.dim(f"  ({reason})")
        out.append(line)
    summary = f"{stats.states:,} states, {stats.transitions:,} transitions, depth {stats.depth}"
    if timing:
        summary += f", {stats.seconds:.2f} s"
        if stats.peak_memory:
            summary += f", peak memory {stats.peak_memory / 2**20:.0f} MiB"
    for key, value in stats.extra:
        if key in ("symmetry",):
            summary += f", symmetry {value}"
    out.append("")
    out.append(style.dim("  " + summary))
    return "\n".join(out)


def _doc_of(model: ir.Model, name: str) -> str:
    try:
        return model.prop(name).doc
    except KeyError:
        for assertion in model.assertions():
            if assertion.name == name:
                return assertion.doc
    return ""


def _kind_of(model: ir.Model, name: str) -> str:
    try:
        return model.prop(name).kind
    except KeyError:
        return "assert" if any(a.name == name for a in model.assertions()) else ""
