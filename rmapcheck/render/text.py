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

from rmapcheck import ir
from rmapcheck.instance import Instance
from rmapcheck.render.explain import (
    BlockedExplanation,
    explain,
    fails_for,
    format_value,
    target_name,
)
from rmapcheck.render.explain import where as where_of
from rmapcheck.render.threads import (
    describe_locks,
    is_thread_bookkeeping,
    locks_held,
    step_thread,
    thread_label,
)
from rmapcheck.render.vmview import Vma, VmLayout, vm_layout, vm_view
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


def format_key(instance: Instance, var: str, key: tuple[Any, ...]) -> str:
    rng = instance.layout[var]
    if not key:
        return var
    parts = [format_value(instance, sort, value)
             for sort, value in zip(rng.var.keys, key, strict=True)]
    return f"{var}[{', '.join(parts)}]"


def format_args(instance: Instance, action: ir.Action, args: Iterable[tuple[str, Any]]) -> str:
    sorts = {p.name: p.sort for p in action.params}
    return ", ".join(f"{name}={format_value(instance, sorts.get(name, ir.INT), value)}"
                     for name, value in args)


def state_difference(instance: Instance, expected: State, got: State, limit: int = 3) -> str:
    """The first few locations where two states differ, as ``var[key] is a in
    the spec but b in the trace``."""
    a, b = instance.decode(expected), instance.decode(got)
    diffs: list[str] = []
    for name, rng in instance.layout.items():
        sort = rng.var.value
        pairs: list[tuple[tuple[Any, ...], Any, Any]]
        if not rng.var.keys:
            pairs = [((), a[name], b[name])]
        else:
            pairs = [(k, a[name][k], b[name][k]) for k in rng.keys]
        record = sort.inner if isinstance(sort, ir.OptionSort) else sort
        for key, x, y in pairs:
            if x == y:
                continue
            parts = [format_value(instance, s, v)
                     for s, v in zip(rng.var.keys, key, strict=True)]
            where = f"{name}[{', '.join(parts)}]" if parts else name
            if isinstance(record, ir.RecordSort) and isinstance(x, dict) and isinstance(y, dict):
                # Two records: the fields that differ, not two whole records to compare.
                diffs.extend(f"{where}.{f} is {format_value(instance, fs, x[f])} in the spec "
                             f"but {format_value(instance, fs, y[f])} in the trace"
                             for f, fs in record.fields if x[f] != y[f])
            else:
                diffs.append(f"{where} is {format_value(instance, sort, x)} in the spec but "
                             f"{format_value(instance, sort, y)} in the trace")
    shown = "; ".join(diffs[:limit])
    return shown + (f" (and {len(diffs) - limit} more)" if len(diffs) > limit else "")


def state_changes(instance: Instance, before: State, after: State,
                  only: set[str] | None = None) -> Iterator[str]:
    """``var[key] := value`` for every map entry that differs; for records, the
    fields that changed (all of them when the record appears or disappears)."""
    old, new = instance.decode(before), instance.decode(after)
    for var in instance.model.state:
        if only is not None and var.name not in only:
            continue
        if is_thread_bookkeeping(instance.model, var.name):
            continue  # the step line names the step, and the holds line the locks
        sort = var.value
        if var.keys:
            entries = [(k, old[var.name][k], new[var.name][k])
                       for k in instance.layout[var.name].keys]
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


# ------------------------------------------------------------ VM-aware changes


def _vma_attrs(instance: Instance, layout: VmLayout, vma: Vma) -> str:
    """``pgoff 0, writable, anon av0``: the pgoff, true flags, present fields."""
    parts = [f"pgoff {vma.pgoff}"]
    for name, sort in layout.vma_rec.fields:
        if name in ("end", "pgoff"):
            continue
        value = vma.fields[name]
        if isinstance(sort, ir.BoolSort):
            if value:
                parts.append(name)
        elif value is not None:
            parts.append(f"{name} {format_value(instance, sort, value)}")
    return ", ".join(parts)


def _vma_changes(instance: Instance, layout: VmLayout, who: str,
                 old: list[Vma], new: list[Vma]) -> list[str]:
    o = {v.start: v for v in old}
    n = {v.start: v for v in new}
    removed = sorted(a for a in o if a not in n)
    added = sorted(b for b in n if b not in o)
    changed = sorted(a for a in o if a in n and o[a] != n[a])
    lines: list[str] = []
    done_old: set[int] = set()
    done_new: set[int] = set()
    def fields_of(v):
        return (v.pgoff, v.fields)

    def field_diff(a: Vma, b: Vma, pgoff: bool = True) -> str:
        diffs = []
        if pgoff and a.pgoff != b.pgoff:
            diffs.append(f"pgoff {a.pgoff} -> {b.pgoff}")
        for name, sort in layout.vma_rec.fields:
            if name in ("end", "pgoff") or a.fields[name] == b.fields[name]:
                continue
            diffs.append(f"{name} := {format_value(instance, sort, b.fields[name])}")
        return ", ".join(diffs)

    # splits: the VMA at a now ends at m, and a new VMA covers [m, old end)
    for a in changed:
        before, after = o[a], n[a]
        if after.end < before.end:
            pieces = [after]
            m = after.end
            while m in n and m in added and n[m].end <= before.end:
                pieces.append(n[m])
                if n[m].end == before.end:
                    break
                m = n[m].end
            if len(pieces) > 1 and pieces[-1].end == before.end:
                text = " and ".join(
                    f"{v.range()} pgoff {v.pgoff}"
                    + (f" ({d})" if (d := field_diff(before, v, pgoff=False)) else "")
                    for v in pieces)
                lines.append(f"{who}: VMA {before.range()} split into {text}")
                done_old.add(a)
                done_new.update(v.start for v in pieces)
    # merges: the VMA at a now reaches over VMAs that are gone
    for a in changed:
        if a in done_old:
            continue
        before, after = o[a], n[a]
        if after.end > before.end:
            parts = [before]
            m = before.end
            while m in o and m in removed and m not in done_old and o[m].end <= after.end:
                parts.append(o[m])
                if o[m].end == after.end:
                    break
                m = o[m].end
            if len(parts) > 1 and parts[-1].end == after.end:
                text = " and ".join(v.range() for v in parts)
                extra = field_diff(before, after)
                lines.append(f"{who}: VMAs {text} merged into {after.range()}, pgoff "
                             f"{after.pgoff}" + (f" ({extra})" if extra else ""))
                done_old.update(v.start for v in parts)
                done_new.add(a)
    # moves and stack growth: a VMA gone at one start, one of the same end or
    # length (and the same other fields) at another
    for a in removed:
        if a in done_old:
            continue
        before = o[a]
        for b in added:
            if b in done_new:
                continue
            after = n[b]
            if after.end == before.end and b < a:
                lines.append(f"{who}: VMA {before.range()} grew down to {after.range()}, "
                             f"pgoff {before.pgoff} -> {after.pgoff}")
            elif after.end - b == before.end - a or fields_of(after) == fields_of(before):
                extra = field_diff(before, after)
                lines.append(f"{who}: VMA {before.range()} moved to {after.range()}, "
                             f"pgoff {after.pgoff}" + (f" ({extra})" if extra else ""))
            else:
                continue
            done_old.add(a)
            done_new.add(b)
            break
    for a in changed:
        if a in done_old or a in done_new:
            continue
        before, after = o[a], n[a]
        what: list[str] = []
        if before.end != after.end:
            verb = "shrank" if after.end < before.end else "grew"
            what.append(f"{verb} to {after.range()}")
        extra = field_diff(before, after)
        if extra:
            what.append(extra)
        lines.append(f"{who}: VMA {before.range()} " + ", ".join(what))
    for a in removed:
        if a not in done_old:
            lines.append(f"{who}: VMA {o[a].range()} unmapped")
    for b in added:
        if b not in done_new:
            lines.append(f"{who}: VMA {n[b].range()} mapped, "
                         f"{_vma_attrs(instance, layout, n[b])}")
    return lines


def vm_changes(instance: Instance, layout: VmLayout, before: State, after: State) -> list[str]:
    """What a step changed, in the terms of the VM: processes, VMAs split,
    merged, moved; ptes set, moved and cleared; page metadata; then every
    other state variable as generic ``var[key] := value`` lines."""
    old, new = vm_view(instance, layout, before), vm_view(instance, layout, after)
    def fp(p):
        return format_value(instance, layout.proc, p)
    def ff(f):
        return format_value(instance, layout.frame, f)
    lines: list[str] = []
    old_alive = dict(old.procs)
    for p, alive in new.procs:
        if alive != old_alive[p]:
            lines.append(f"mm {fp(p)} {'created' if alive else 'gone'}")
    for p, _ in new.procs:
        lines.extend(_vma_changes(instance, layout, fp(p), old.vmas[p], new.vmas[p]))
    # ptes
    o = {(x.proc, x.vpage): x for x in old.ptes}
    n = {(x.proc, x.vpage): x for x in new.ptes}
    gone = [k for k in o if k not in n or n[k].frame != o[k].frame]
    came = [k for k in n if k not in o or o[k].frame != n[k].frame]
    moved_from: dict[tuple[Any, int], tuple[Any, int]] = {}
    for k in came:
        for g in gone:
            if g[0] == k[0] and o[g].frame == n[k].frame and g not in moved_from.values() \
                    and g not in n:
                moved_from[k] = g
                break
    for k in sorted(set(o) | set(n)):
        p, v = k
        where = f"pte[{fp(p)}, {v}]"
        if k in came:
            wp = " (write-protected)" if n[k].wp else ""
            if k in moved_from:
                lines.append(f"{where} := {ff(n[k].frame)}{wp}, moved from page {moved_from[k][1]}")
            else:
                was = f" (was {ff(o[k].frame)})" if k in o else ""
                lines.append(f"{where} := {ff(n[k].frame)}{wp}{was}")
        elif k in gone and k not in moved_from.values():
            lines.append(f"{where} := none (was {ff(o[k].frame)})")
        elif k in o and k in n and o[k].wp != n[k].wp:
            lines.append(f"{where} -> {ff(n[k].frame)} "
                         f"{'write-protected' if n[k].wp else 'writable again'}")
    # pages
    rec = layout.page_rec
    for before_page, after_page in zip(old.pages, new.pages, strict=True):
        if before_page.fields == after_page.fields:
            continue
        name = f"page[{ff(after_page.frame)}]"
        if "used" in after_page.fields and after_page.used != before_page.used:
            if not after_page.used:
                lines.append(f"{name} freed")
                continue
            parts = [f"{n_} {format_value(instance, s, after_page.fields[n_])}"
                     for n_, s in rec.fields if n_ != "used"
                     and after_page.fields[n_] is not None]
            lines.append(f"{name} allocated: " + ", ".join(parts))
            continue
        parts = [f"{name}.{n_} := {format_value(instance, s, after_page.fields[n_])}"
                 for n_, s in rec.fields if before_page.fields[n_] != after_page.fields[n_]]
        lines.append("; ".join(parts))
    rest = {v.name for v in instance.model.state} - {"vma", "pte", "page", "alive", "wp"}
    lines.extend(state_changes(instance, before, after, only=rest))
    return lines


def step_changes(instance: Instance, before: State, after: State) -> list[str]:
    """The changes of one step: VM-aware for a vm-library model, generic otherwise."""
    layout = vm_layout(instance)
    if layout is not None:
        try:
            return vm_changes(instance, layout, before, after)
        except Exception:  # noqa: BLE001 - never lose the trace over a rendering nicety
            pass
    return list(state_changes(instance, before, after))


# ------------------------------------------------------------ traces


def format_step_header(instance: Instance, number: int, step: Any, style: Style) -> str:
    """``3. mmap(p=p0, v=1)  vm.spec:120:1``; a step of a thread says which
    one first: ``6. walker(w0): try_to_unmap.visit(w=w0)  ...``."""
    action = instance.model.action(step.action)
    where = f"  {style.dim(where_of(step.span or action.span))}"
    thread = step_thread(instance, step.action, step.args)
    lane = f"{thread_label(instance, *thread)}: " if thread is not None else ""
    return (f"  {number}. {lane}{style.bold(step.action)}"
            f"({format_args(instance, action, step.args)}){where}")


def format_stopped_step(instance: Instance, number: int, action: str,
                        args: Iterable[tuple[str, Any]], what: str, style: Style) -> str:
    """The line of a step that did not run, as a trace's step line with
    ``what`` became of it: ``4. fork(parent=p0, child=p1)  not allowed  vm.spec:230:1``."""
    act = instance.model.action(action)
    return (f"  {number}. {style.bold(action)}({format_args(instance, act, args)})  "
            f"{style.red(what)}  " + style.dim(where_of(act.span)))


def format_trace(instance: Instance, trace: Trace, style: Style | None = None) -> list[str]:
    style = style or Style(False)
    lines = [style.dim("  0. initial state")]
    previous = trace.initial
    for number, step in enumerate(trace.steps, 1):
        lines.append(format_step_header(instance, number, step, style))
        changes = step_changes(instance, previous, step.state)
        for change in changes:
            lines.append(f"       {change}")
        if not changes:
            lines.append(style.dim("       (no change)"))
        thread = step_thread(instance, step.action, step.args)
        if thread is not None and instance.model.locks:
            held = locks_held(instance, step.state, *thread)
            if held or held != locks_held(instance, previous, *thread):
                lines.append(style.dim(f"       holds {describe_locks(held) or 'no lock'}"))
        previous = step.state
    return lines


def format_explanation(machine: Evaluator, name: str, trace: Trace,
                       style: Style | None = None) -> list[str]:
    """The violation: the property and its docstring, the failing conjunct with
    its values, and for the rmap properties the pte and the walk's path."""
    style = style or Style(False)
    instance = machine.instance
    try:
        ex = explain(machine, name, trace)
    except Exception:  # noqa: BLE001 - the bare verdict rather than no trace at all
        return [f"  violated: {style.red(name)}"]
    where = f", {where_of(ex.span)}" if ex.span else ""
    kind = ex.kind or "property"
    lines = [f"  violated: {style.red(name)}  ({kind}{where})"]
    if ex.doc:
        lines.append(f"    \"{ex.doc}\"")
    if ex.kind == "assert" and trace.steps:
        last = trace.steps[-1]
        lines.append(f"  step {len(trace)} {last.action} fails the assertion")
    if ex.bindings:
        lines.append("  " + fails_for(ex.bindings))
    if ex.conjunct:
        place = where_of(ex.conjunct_span)
        if ex.conjunct_in:
            place = f"in def {ex.conjunct_in}, {place}"
        lines.append(f"  the conjunct that fails: {style.yellow(ex.conjunct)}  "
                     + style.dim(f"({place})"))
    shown = {n for n, _ in ex.bindings}
    facts = [f for f in ex.facts if f.text not in shown]
    if facts:
        width = max(len(f"{f.text} = {f.value}") for f in facts)
        for i, fact in enumerate(facts):
            text = f"{fact.text} = {fact.value}"
            note = ""
            if fact.written_at is not None:
                if fact.written_at == 0:
                    note = "since the initial state"
                else:
                    step = trace.steps[fact.written_at - 1]
                    note = f"set at step {fact.written_at}, {step.action}"
            lead = "    where " if i == 0 else "          "
            lines.append(lead + text + (" " * (width - len(text)) + style.dim(f"   ({note})")
                                        if note else ""))
    layout = vm_layout(instance)
    if layout is not None and ex.frame is not None:
        def fp(p):
            return format_value(instance, layout.proc, p)
        ff = format_value(instance, layout.frame, ex.frame)
        view = vm_view(instance, layout, trace.last)
        if ex.missed is not None:
            p, v, _f = ex.missed
            vma = view.vma_of(p, v)
            inside = f", inside {fp(p)}'s VMA {vma.range()} pgoff {vma.pgoff}" if vma else ""
            pte = style.bold(f"pte[{fp(p)}, {v}] = {ff}")
            lines.append(f"  the pte the walk should find: {pte}{inside}")
        if ex.spurious is not None:
            p, v, _f = ex.spurious
            lines.append(f"  the pte the walk finds but should not: pte[{fp(p)}, {v}]")
        meta = ", ".join(f"{n} {v}" for n, v in ex.page_fields)
        if ex.walk is not None:
            lines.append(f"  the walk from {ff} ({meta}):")
            if not ex.walk:
                lines.append("    visits no VMA")
            for w in ex.walk:
                head = (f"    visits {fp(w.proc)}'s VMA {w.vma.range()} pgoff {w.vma.pgoff}: "
                        f"computes address {w.address}")
                if w.found:
                    tail = f" -> pte[{fp(w.proc)}, {w.address}] = {ff}, found"
                elif not w.in_vma:
                    tail = ", outside the VMA: finds nothing"
                else:
                    there = format_value(instance, layout.frame, w.pte) if w.pte is not None \
                        else "none"
                    tail = f" -> pte[{fp(w.proc)}, {w.address}] = {there}: finds nothing"
                lines.append(head + tail)
        elif meta:
            lines.append(f"  page[{ff}]: {meta}")
            lines.append(style.dim("  (define walk_visits and walk_address in the design to "
                                   "see the walk's path)"))
    for line in ex.diagnosis:
        lines.append("  " + style.bold(line))
    return lines


def format_blocked(ex: BlockedExplanation, style: Style | None = None,
                   indent: str = "       ") -> list[str]:
    """A step the spec does not allow: the ``requires`` that is false, its
    false part and the values that part reads."""
    style = style or Style(False)
    lines = [f"{indent}{style.red('blocked')} by {style.yellow(ex.text or 'a requires')}  "
             + style.dim(f"({where_of(ex.span)})")]
    if ex.bindings:
        lines.append(indent + fails_for(ex.bindings))
    if ex.conjunct:
        span = ex.conjunct_span
        # A part inside a def's body is elsewhere in the spec: say where.
        place = "" if span is None or (span.file, span.line) == (ex.span.file, ex.span.line) \
            else "  " + style.dim(f"({where_of(span)})")
        lines.append(f"{indent}the part that is false: {style.yellow(ex.conjunct)}{place}")
    if ex.facts:
        for i, fact in enumerate(ex.facts):
            lead = "where " if i == 0 else "      "
            lines.append(f"{indent}  {lead}{fact.text} = {fact.value}")
    return lines


def explain_failure(machine: Evaluator, prop: ir.Property, state: State) -> list[str]:
    """Where a property fails in ``state``: the bindings and the state it read
    (kept for callers that have a state but no trace)."""
    return format_explanation(machine, prop.name, Trace(state))[1:]


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


def reached_in(steps: int) -> str:
    return f"reached in {steps} step{'s' if steps != 1 else ''}"


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
                   style.bold(f" after {len(first.trace)} "
                              f"step{'s' if len(first.trace) != 1 else ''}")
                   + f"  ({result.engine}{', ' + consts if consts else ''})")
        out.append("")
        out.extend(format_trace(instance, first.trace, style))
        out.append("")
        explained = format_explanation(machine, name, first.trace, style)
        out.extend(explained)
        if first.detail and name != ir.DEADLOCK_PROPERTY \
                and not any(line.startswith("  fails for") for line in explained):
            out.append(style.dim(f"  engine: {first.detail}"))
    else:
        unknown = result.unknowns
        if unknown:
            out.append(style.bold(f"{model.name}: no violation found, but the check is ") +
                       style.yellow("inconclusive")
                       + f"  ({result.engine}{', ' + consts if consts else ''})")
        else:
            out.append(style.bold(f"{model.name}: no property is violated") +
                       f"  ({result.engine}{', ' + consts if consts else ''})")
    out.append("")
    for name, verdict in result.verdicts:
        kind = _kind_of(model, name)
        word = verdict_word(verdict, style)
        if kind == "sometimes" and isinstance(verdict, Holds):
            # a witness is a reachable state, not a bound on behaviours
            word = style.green("witnessed")
        line = f"  {word:<9} {kind + ' ' if kind else ''}{target_name(name)}"
        match verdict:
            case Holds(bound=bound) if kind == "sometimes":
                steps = result.witness_steps(name, verdict)
                line += style.dim(f"  ({reached_in(steps)})" if steps is not None
                                  else f"  ({bound.describe()})")
            case Holds(bound=bound):
                line += style.dim(f"  ({bound.describe()})")
            case Proved(method=method, lemmas=lemmas, detail=detail):
                more = "; lemmas " + verdict.lemma_list() if lemmas else ""
                more += f"; {detail}" if detail else ""
                line += style.dim(f"  ({method}{more})")
            case Violated(trace=trace):
                line += style.dim(f"  (after {len(trace)} steps)")
            case Unknown(reason=reason):
                line += style.dim(f"  ({reason})")
        out.append(line)
    searched = stats.states > 0 or result.engine != "prove"
    parts = [f"{stats.states:,} states, {stats.transitions:,} transitions, depth {stats.depth}"] \
        if searched else []
    if timing:
        parts.append(f"{stats.seconds:.2f} s")
        if stats.peak_memory:
            parts.append(f"peak memory {stats.peak_memory / 2**20:.0f} MiB")
    for key, value in stats.extra:
        if key == "symmetry" and searched:
            parts.append(f"symmetry over {', '.join(value)}" if value
                         else "no symmetry reduction")
        if key == "partial_order":
            parts.append(f"partial-order reduction in {value:,} states" if value
                         else "partial-order reduction found no independent step")
    for key, value in stats.extra:
        if key == "then proved":
            out.append("")
            out.append(style.dim(f"  {value}"))
        if key == "inferred lemmas":
            out.append("")
            out.append("  lemmas the prover found and used (add them to the spec to keep them):")
            for text in value:
                out.extend("    " + line for line in text.splitlines())
    summary = ", ".join(parts)
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
