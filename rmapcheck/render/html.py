"""``--html``: one self-contained page to explore a trace.

The sticky header names the spec, the property violated and the step shown
(``step i of n``, its action and arguments). The steps are listed on the left
(action, arguments, spec line and what changed, in the VM's terms); the view
on the right shows the step: the slots it changed in the spec's syntax
(``pte[p0, 1]: none -> f0``), the picture of the state after it (inline SVG
from ``svg.py``) with the changed slots outlined, at the violation the
reverse-map walk with the pte it missed (or wrongly found), and the whole
state as a table, the changed slots marked. The text explanation is below.

Each step has an anchor (``#step-3``): the page opens at the step its URL
names, and stepping rewrites the fragment. Arrow keys or j/k (and Home/End)
move between steps; so does clicking a step. The page has no external
resources: its CSS and JS (``explorer.css``, ``explorer.js``) are inlined.

Below the header's step line, a box takes any expression of the spec language
(a def's call, a state read, a quantifier) and shows its value in the state of
the step shown, as ``rmapcheck eval`` prints it; ``expr_eval.js`` parses and
evaluates it over the decoded states, sorts and defs ``html_eval.py`` embeds.
"""

from __future__ import annotations

import re
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from rmapcheck import ir
from rmapcheck.instance import Instance
from rmapcheck.render.explain import Explanation, explain, format_value
from rmapcheck.render.explain import where as where_of
from rmapcheck.render.html_eval import eval_script
from rmapcheck.render.scene import Change, build_scene, slot_changes
from rmapcheck.render.svg import CHANGED, COLOURS, scene_to_svg
from rmapcheck.render.text import Style, format_args, format_explanation, format_key, step_changes
from rmapcheck.render.threads import describe_locks, locks_held, step_thread, thread_label
from rmapcheck.render.vmview import vm_layout, vm_view
from rmapcheck.trace import State, Trace


def _asset(name: str) -> str:
    return resources.files("rmapcheck.render").joinpath(name).read_text(encoding="utf-8")


def _changed_list(index: int, changes: list[Change]) -> str:
    if index == 0:
        return '<p class="changed-list">the initial state: nothing has changed yet</p>'
    if not changes:
        return '<p class="changed-list"><b>changed:</b> nothing</p>'
    items = "; ".join(f'<code data-slot="{escape(c.name)}">{escape(c.text())}</code>'
                      for c in changes)
    return f'<p class="changed-list"><b>changed:</b> {items}</p>'


def _value_html(instance: Any, sort: ir.Sort, value: Any, path: tuple[str, ...],
                changed: dict[tuple[str, ...], Change]) -> str:
    """A value as the spec writes it, each changed slot in it marked."""
    mark = changed.get(path)
    if mark is not None:
        return (f'<span class="changed" data-slot="{escape(mark.name)}" '
                f'title="was {escape(mark.before)}">{escape(format_value(instance, sort, value))}'
                "</span>")
    inner = sort.inner if isinstance(sort, ir.OptionSort) else sort
    if isinstance(inner, ir.RecordSort) and isinstance(value, dict) \
            and any(p[:len(path)] == path for p in changed):
        fields = [f"{escape(n)}: " + _value_html(instance, s, value[n], path + (n,), changed)
                  for n, s in inner.fields]
        return "{" + ", ".join(fields) + "}"
    return escape(format_value(instance, sort, value))


def _state_table(instance: Any, state: State, changes: list[Change]) -> str:
    """Every entry that is not its sort's default, and every entry the step
    changed (one that went back to its default too), one line each."""
    by_entry: dict[tuple[str, tuple[Any, ...]], dict[tuple[str, ...], Change]] = {}
    for c in changes:
        by_entry.setdefault((c.var, c.key), {})[c.path] = c
    rows = []
    decoded = instance.decode(state)
    for var, rng in instance.layout.items():
        sort = rng.var.value
        default = instance.decode_value(sort, instance.default(sort))
        entries = decoded[var].items() if rng.var.keys else [((), decoded[var])]
        for key, value in entries:
            changed = by_entry.get((var, key), {})
            if value == default and not changed:
                continue
            body = _value_html(instance, sort, value, (), changed)
            rows.append(f'<div class="row">{escape(format_key(instance, var, key))} = '
                        f"{body}</div>")
    if not rows:
        rows.append('<div class="row">(every variable has its default value)</div>')
    return '<div class="state-table">' + "".join(rows) + "</div>"


def _walk_section(machine: Any, trace: Trace, ex: Explanation) -> str:
    """The reverse-map walk at the violation, as explain.py computes it: each
    VMA it looked into and what it found there, then the pte it missed (or
    found wrongly), marked."""
    instance = machine.instance
    layout = vm_layout(instance)
    if layout is None or ex.frame is None:
        return ""

    def fp(p: Any) -> str:
        return format_value(instance, layout.proc, p)

    def ff(f: Any) -> str:
        return format_value(instance, layout.frame, f)

    frame = ff(ex.frame)
    view = vm_view(instance, layout, trace.last)
    meta = ", ".join(f"{n} {v}" for n, v in ex.page_fields)
    items = []
    if ex.walk is None:
        items.append("<li>(the design does not describe its walk: define walk_visits and "
                     "walk_address beside finds to see it here)</li>")
    elif not ex.walk:
        items.append("<li>visits no VMA</li>")
    for w in ex.walk or []:
        head = (f"{fp(w.proc)}'s VMA {w.vma.range()} pgoff {w.vma.pgoff}: "
                f"computes address {w.address}")
        if w.found:
            text, cls = f"{head} \u2192 pte[{fp(w.proc)}, {w.address}] = {frame}: found", "found"
        elif not w.in_vma:
            text, cls = f"{head}, outside the VMA: finds nothing", "nothing"
        else:
            there = ff(w.pte) if w.pte is not None else "none"
            text = f"{head} \u2192 pte[{fp(w.proc)}, {w.address}] = {there}: finds nothing"
            cls = "nothing"
        items.append(f'<li class="walk-visit {cls}">{escape(text)}</li>')
    if ex.missed is not None:
        p, v, f = ex.missed
        vma = view.vma_of(p, v)
        inside = f", in {fp(p)}'s VMA {vma.range()} pgoff {vma.pgoff}" if vma else ""
        slot = f"pte[{fp(p)}, {v}]"
        items.append(f'<li class="walk-missed" data-slot="{escape(slot)}">\u2717 missed: '
                     f"{escape(slot)} = {escape(ff(f))}{escape(inside)}</li>")
    if ex.spurious is not None:
        p, v, _f = ex.spurious
        pte = view.pte_at(p, v)
        slot = f"pte[{fp(p)}, {v}]"
        maps = ff(pte.frame) if pte is not None else "none"
        items.append(f'<li class="walk-extra" data-slot="{escape(slot)}">\u2717 extra: '
                     f"{escape(slot)} = {escape(maps)}, found by the walk from "
                     f"{escape(frame)}</li>")
    diagnosis = "".join(f'<p class="diagnosis">{escape(d)}</p>' for d in ex.diagnosis)
    return (f'<section class="walk"><h2>{escape(ex.name)}: the reverse-map walk from '
            f"page {escape(frame)} ({escape(meta)})</h2>"
            f'<ol class="walk-path">{"".join(items)}</ol>{diagnosis}</section>')


LEGEND = (
    '<p class="legend">'
    f'<span class="swatch" style="background:{COLOURS["pte"]}"></span>pte'
    f'<span class="swatch" style="background:{COLOURS["rmap"]}"></span>rmap metadata'
    f'<span class="swatch" style="background:{COLOURS["walk"]}"></span>the walk'
    f'<span class="swatch" style="background:{COLOURS["missing"]}"></span>missed or wrong'
    f'<span class="swatch" style="border:3px solid {CHANGED}"></span>changed by this step'
    "</p>")


def _link_steps(text: str, n: int) -> str:
    """The explanation's "step 2" as links to the step (the text is escaped)."""
    def link(m: re.Match[str]) -> str:
        number = int(m.group(1))
        return f'<a href="#step-{number}">{m.group(0)}</a>' if 0 <= number <= n else m.group(0)
    return re.sub(r"\bstep (\d+)\b", link, text)


def trace_to_html(machine: Any, trace: Trace, violated: str | None) -> str:
    instance = machine.instance
    model = instance.model
    states = trace.states()
    n = len(trace)
    if violated:
        verdict = f"{violated} is violated after {n} step{'s' if n != 1 else ''}"
    else:
        verdict = f"a trace of {n} step{'s' if n != 1 else ''}"
    doc = ""
    if violated:
        try:
            doc = model.prop(violated).doc
        except KeyError:
            doc = next((a.doc for a in model.assertions() if a.name == violated), "")
    ex: Explanation | None = None
    if violated:
        try:
            ex = explain(machine, violated, trace)
        except Exception:  # noqa: BLE001 - the page without the walk rather than no page
            ex = None
    consts = " ".join(f"{k}={v}" for k, v in instance.consts.items())
    items = [('<li data-index="0" data-call="initial state">'
              '<a class="call" href="#step-0">0. initial state</a></li>')]
    previous = trace.initial
    for number, step in enumerate(trace.steps, 1):
        action = model.action(step.action)
        call = f"{step.action}({format_args(instance, action, step.args)})"
        where = where_of(step.span or action.span)
        prose = step_changes(instance, previous, step.state) or ["(no change)"]
        cls = ' class="violation"' if violated and number == n else ""
        items.append(f'<li data-index="{number}" data-call="{escape(call)}" '
                     f'data-where="{escape(where)}"{cls}><a class="call" '
                     f'href="#step-{number}">{number}. {escape(call)}</a> '
                     f'<span class="where">{escape(where)}</span><div class="changes">'
                     + "".join(f"<div>{escape(c)}</div>" for c in prose) + "</div></li>")
        previous = step.state
    lanes = _lanes(instance, trace)
    panels = []
    vm = vm_layout(instance) is not None
    for index, state in enumerate(states):
        changes = slot_changes(instance, states[index - 1], state) if index else []
        parts = [_changed_list(index, changes)]
        if vm:
            scene = build_scene(machine, trace, violated, index, explanation=ex)
            scene.title = ""  # the header names the step
            scene.notes = []  # the walk and the explanation say it in full
            parts.append(f'<div class="svg-box">'
                         f"{scene_to_svg(scene, f'-s{index}', changes)}</div>{LEGEND}")
        if index == n and ex is not None:
            parts.append(_walk_section(machine, trace, ex))
        heading = "the initial state" if index == 0 else f"the state after step {index}"
        parts.append(f"<h2>{heading}</h2>" + _state_table(instance, state, changes))
        # the anchor of the step is its panel, at the top of the view: the
        # browser's scroll to the fragment then leaves the page where it is
        panels.append(f'<div class="picture" id="step-{index}" data-index="{index}">'
                      f'{"".join(parts)}</div>')
    explanation = ""
    if violated:
        lines = format_explanation(machine, violated, trace, Style(False))
        text = "\n".join(line.removeprefix("  ") for line in lines)
        # below every step, so it says which step it is about
        explanation = (f"<h2>the violation, after step {n}, as the text report explains it</h2>"
                       '<pre id="explanation">' + _link_steps(escape(text), n) + "</pre>")
    title = f"rmapcheck: {model.name}: {verdict}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_asset("explorer.css")}</style>
</head>
<body data-step="">
<header>
<h1>{escape(model.name)}: <span class="verdict">{escape(verdict)}</span></h1>
<div class="doc">{escape(doc)}</div>
<div class="now"><button id="prev" type="button" title="previous step (&larr;)">&larr;</button>
<button id="next" type="button" title="next step (&rarr;)">&rarr;</button>
<span id="status"></span><span id="current-call"></span><span id="current-where"></span>
<span id="current-tag"></span></div>
<div class="eval"><label for="expr">evaluate</label>
<input id="expr" type="text" spellcheck="false" autocomplete="off"
placeholder="an expression of the spec, e.g. mapped_by(0) or forall p: Proc. alive[p]">
<output id="expr-value" for="expr"></output></div>
</header>
<main>
<nav><p class="consts">bounds: <code>{escape(consts)}</code></p>
{lanes}<ol id="steps">{''.join(items)}</ol>
<p class="keys">keys: &larr;/&rarr; (or &uarr;/&darr;, j/k) step, Home/End; the address
bar's #step-N names the step shown</p></nav>
<section id="view">
{''.join(panels)}
{explanation}
</section>
</main>
{eval_script(instance, states)}
<script>{_asset("explorer.js")}</script>
<script>{_asset("expr_eval.js")}</script>
</body>
</html>
"""


def _lanes(instance: Instance, trace: Trace) -> str:
    """The interleaving of a model with threads: one column per thread (and
    one for the atomic actions), one row per step, each step in its thread's
    column with the locks the thread holds after it."""
    if not instance.model.threads:
        return ""
    columns: list[str] = []
    rows: list[tuple[int, str, str, str]] = []
    for number, step in enumerate(trace.steps, 1):
        thread = step_thread(instance, step.action, step.args)
        lane = thread_label(instance, *thread) if thread is not None else "atomic"
        holds = describe_locks(locks_held(instance, step.state, *thread)) if thread else ""
        if lane not in columns:
            columns.append(lane)
        rows.append((number, lane, step.action, holds))
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for number, lane, action, holds in rows:
        cells = []
        for column in columns:
            if column != lane:
                cells.append("<td></td>")
                continue
            held = f'<div class="held">holds {escape(holds)}</div>' if holds else ""
            cells.append(f'<td><a href="#step-{number}">{number}. {escape(action)}</a>'
                         f"{held}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table class="lanes"><caption>the interleaving: one lane per thread</caption>'
            f"<tr>{head}</tr>{''.join(body)}</table>")


def write_html(machine: Any, trace: Trace, violated: str | None, path: str) -> None:
    Path(path).write_text(trace_to_html(machine, trace, violated))
