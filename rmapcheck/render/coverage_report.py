"""What a run exercised, in words: the ``--coverage`` table, its JSON, and the
warnings every ``verify`` prints about what never happened.

A warning is one line, placed like an error (``file:line:col: warning:``) at
the action, the hook definition or the property. It is given only when the
run finished (or a limit stopped it: it then says how many states were
searched); a run stopped by a violation or by Ctrl-C says nothing of what it
did not reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rmapcheck import ir
from rmapcheck.render.text import Style
from rmapcheck.trace import Coverage, Result, SiteCount


def bounds_text(model: ir.Model, consts: Mapping[str, int]) -> str:
    """``PROCS=2 VPAGES=4 ...``, in the order the model declares them."""
    return " ".join(f"{c.name}={consts[c.name]}" for c in model.consts if c.name in consts)


def _where(span: ir.Span | None) -> str:
    return f"{span}: " if span is not None and span.line > 0 else "rmapcheck: "


def _scope(result: Result, coverage: Coverage, bounds: str) -> str | None:
    """How far the claim "never" reaches, or None when the run says nothing:
    a search that stopped at a violation or at Ctrl-C did not go on to reach
    what it could have; one a limit stopped went as far as it says."""
    if coverage.complete:
        return f"at {bounds} (the search finished)"
    if result.violations or coverage.stopped in (None, "interrupted"):
        return None
    return f"in the {coverage.states:,} states searched at {bounds}"


def coverage_warnings(model: ir.Model, result: Result, consts: Mapping[str, int]) -> list[str]:
    """One line per action that never fired, hook the design defines that
    never ran, and invariant or lemma whose antecedent never held (where the
    property was checked and not violated)."""
    coverage = result.coverage
    if coverage is None:
        return []
    scope = _scope(result, coverage, bounds_text(model, consts))
    if scope is None:
        return []
    violated = {name for name, _ in result.violations}
    kinds = {p.name: p.kind for p in model.properties}
    out = [f"{_where(a.span)}warning: action {a.name} never fired {scope}"
           for a in coverage.actions if a.enabled == 0]
    started = {s.name: s.count for s in coverage.sites if s.kind == "hook"}
    for site in coverage.sites:
        if site.count:
            continue
        if site.kind == "hook_end" and site.by_design and started.get(site.name):
            out.append(f"{_where(site.span)}warning: hook {site.name} ran "
                       f"{started[site.name]:,} times and never to its end: a requires in it "
                       f"disabled every step that called it {scope}")
        elif site.kind == "hook" and site.by_design:
            out.append(f"{_where(site.span)}warning: hook {site.name} never ran {scope}")
        elif site.kind == "antecedent" and site.name not in violated:
            out.append(f"{_where(site.span)}warning: {kinds.get(site.name, 'property')} "
                       f"{site.name} holds vacuously: the left side of its '->' is never "
                       f"true {scope}")
    return out


# ------------------------------------------------------------ the table


def _n(count: int) -> str:
    return f"{count:,}"


def _table(rows: Iterable[tuple[str, ...]], indent: str = "  ",
           align: str = "") -> list[str]:
    """Columns padded to their widest cell: ``align`` says per column ``l``
    or ``r``; the first is ``l`` and the rest ``r`` unless it says otherwise."""
    rows = list(rows)
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    align = align or "l" + "r" * (len(widths) - 1)
    out = []
    for row in rows:
        cells = [cell.ljust(w) if how == "l" else cell.rjust(w)
                 for cell, w, how in zip(row, widths, align, strict=True)]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def _ends(coverage: Coverage) -> dict[str, int]:
    """How often each hook proc ran to its end (a requires in it can stop it)."""
    return {s.name: s.count for s in coverage.sites if s.kind == "hook_end"}


def _ended(site: SiteCount, ends: dict[str, int]) -> str:
    end = ends.get(site.name)
    if end is None or end == site.count:
        return ""
    return f", {end:,} to its end"


def _ran(site: SiteCount) -> str:
    if not site.count:
        return "never"
    return "ran once" if site.count == 1 else f"ran {site.count:,} times"


def format_coverage(coverage: Coverage, style: Style | None = None) -> list[str]:
    """The ``--coverage`` table: actions (enabled, new states; per instance
    for an action with few), hooks, branches of the design's code, and the
    antecedents of the properties."""
    style = style or Style(False)
    how = ("the search finished" if coverage.complete
           else coverage.stopped or "not exhaustive")
    out = [style.bold(f"coverage ({coverage.states:,} states; {how})")]
    rows: list[tuple[str, ...]] = [("action", "enabled", "new states")]
    for action in coverage.actions:
        rows.append((action.name, _n(action.enabled), _n(action.new)))
        if len(action.instances) > 1:
            for inst in action.instances:
                args = ", ".join(f"{name}={value}" for name, value in inst.args)
                rows.append((f"  {action.name}({args})", _n(inst.enabled), _n(inst.new)))
    out.extend(_table(rows))
    hooks = [s for s in coverage.sites if s.kind == "hook"]
    ends = _ends(coverage)
    if hooks:
        out.append("  hooks:")
        out.extend(_table(((s.name, _ran(s) + _ended(s, ends),
                            f"{s.span}" + ("" if s.by_design else " (library)"))
                           for s in hooks), "    ", "lrl"))
    branches = _branches(coverage.sites)
    if branches:
        out.append("  branches:")
        out.extend(_table(((f"{span}", f"then {then:,}", f"else {else_:,}")
                           for span, then, else_ in branches), "    "))
    antecedents = [s for s in coverage.sites if s.kind == "antecedent"]
    if antecedents:
        out.append("  properties (the left side of the top '->'):")
        out.extend(_table(((s.name, _antecedent(s)) for s in antecedents), "    "))
    return out


def _antecedent(site: SiteCount) -> str:
    if not site.count:
        return "never true"
    if site.states is None:
        return f"true {site.count:,} times"
    return f"true in {site.states:,} states"


def _branches(sites: Iterable[SiteCount]) -> list[tuple[ir.Span | None, int, int]]:
    """(the ``if``, then count, else count), in the order of the spec text."""
    found: dict[ir.Span | None, list[int]] = {}
    for site in sites:
        if site.kind in ("then", "else"):
            found.setdefault(site.span, [0, 0])[0 if site.kind == "then" else 1] += site.count
    return sorted(((span, then, else_) for span, (then, else_) in found.items()),
                  key=lambda row: (row[0].file, row[0].line, row[0].col) if row[0] else ("", 0, 0))


# ------------------------------------------------------------ JSON


def coverage_to_json(coverage: Coverage) -> dict[str, Any]:
    def where(span: ir.Span | None) -> str | None:
        return str(span) if span is not None else None

    ends = _ends(coverage)
    return {
        "states": coverage.states,
        "complete": coverage.complete,
        **({"stopped": coverage.stopped} if coverage.stopped else {}),
        "actions": [
            {"name": a.name, "location": where(a.span), "enabled": a.enabled, "new": a.new,
             **({"instances": [{"args": dict(i.args), "enabled": i.enabled, "new": i.new}
                               for i in a.instances]} if len(a.instances) > 1 else {})}
            for a in coverage.actions],
        "hooks": [{"name": s.name, "location": where(s.span), "ran": s.count,
                   **({"ran_to_end": ends[s.name]} if s.name in ends else {}),
                   "by_design": s.by_design}
                  for s in coverage.sites if s.kind == "hook"],
        "branches": [{"location": where(span), "then": then, "else": else_}
                     for span, then, else_ in _branches(coverage.sites)],
        "properties": [{"name": s.name, "location": where(s.span), "antecedent_true": s.count,
                        **({"states": s.states} if s.states is not None else {})}
                       for s in coverage.sites if s.kind == "antecedent"],
    }
