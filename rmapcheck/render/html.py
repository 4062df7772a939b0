"""``--html``: one self-contained page to explore a trace.

The steps are listed on the left (action, arguments, spec line and what
changed); the picture of the state after the selected step is on the right
(inline SVG from ``svg.py``, one per state, so nothing is fetched and no
Graphviz is needed); the violation's explanation is below. Arrow keys or j/k
(and Home/End) move between steps; so does clicking a step. The page has no
external resources: inline CSS and JS only.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from rmapcheck.render.explain import where as where_of
from rmapcheck.render.scene import build_scene
from rmapcheck.render.svg import scene_to_svg
from rmapcheck.render.text import (
    Style,
    format_args,
    format_explanation,
    step_changes,
)
from rmapcheck.trace import Trace

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 Helvetica, Arial, sans-serif; color: #222; background: #fff; }
header { padding: 10px 16px; border-bottom: 1px solid #ccc; background: #f4f6f8; }
header h1 { font-size: 17px; margin: 0 0 2px 0; }
header .verdict { color: #b00000; font-weight: bold; }
header .doc { color: #555; font-style: italic; }
header .keys { color: #666; font-size: 12px; float: right; }
main { display: flex; align-items: flex-start; }
#steps { width: 34%; min-width: 300px; max-height: calc(100vh - 70px); overflow-y: auto;
         border-right: 1px solid #ccc; margin: 0; padding: 0; list-style: none; }
#steps li { padding: 6px 12px; border-bottom: 1px solid #eee; cursor: pointer; }
#steps li:hover { background: #f0f4fa; }
#steps li.selected { background: #dde7f3; border-left: 4px solid #1f4e79; padding-left: 8px; }
#steps li.violation .call::after { content: "  violation"; color: #b00000; font-weight: bold; }
#steps .call { font-family: Menlo, Consolas, monospace; font-weight: bold; }
#steps .where { color: #888; font-size: 11px; }
#steps .changes { margin: 3px 0 0 16px; font-family: Menlo, Consolas, monospace;
                  font-size: 12px; color: #333; list-style: none; }
#view { flex: 1; padding: 10px 16px; overflow-x: auto; }
#status { color: #555; margin-bottom: 6px; }
.picture { display: none; }
.picture.shown { display: block; }
#explanation { margin: 12px 0 0 0; padding: 8px 12px; background: #fff6f6;
               border: 1px solid #e8b4b4; font-family: Menlo, Consolas, monospace;
               font-size: 12px; white-space: pre-wrap; }
"""

JS = """
(function () {
  var items = Array.prototype.slice.call(document.querySelectorAll('#steps > li'));
  var pictures = Array.prototype.slice.call(document.querySelectorAll('.picture'));
  var status = document.getElementById('status');
  var current = -1;
  function show(i) {
    if (i < 0) { i = 0; }
    if (i > items.length - 1) { i = items.length - 1; }
    if (i === current) { return; }
    current = i;
    items.forEach(function (li, k) { li.classList.toggle('selected', k === i); });
    pictures.forEach(function (p, k) { p.classList.toggle('shown', k === i); });
    status.textContent = (i === 0 ? 'initial state' : 'after step ' + i) +
      ' (' + i + ' of ' + (items.length - 1) + ')';
    document.body.setAttribute('data-step', String(i));
    items[i].scrollIntoView({block: 'nearest'});
  }
  items.forEach(function (li, k) { li.addEventListener('click', function () { show(k); }); });
  document.addEventListener('keydown', function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var k = ev.key;
    if (k === 'ArrowDown' || k === 'ArrowRight' || k === 'j') { show(current + 1); }
    else if (k === 'ArrowUp' || k === 'ArrowLeft' || k === 'k') { show(current - 1); }
    else if (k === 'Home') { show(0); }
    else if (k === 'End') { show(items.length - 1); }
    else { return; }
    ev.preventDefault();
  });
  show(items.length - 1);
})();
"""


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
    consts = " ".join(f"{k}={v}" for k, v in instance.consts.items())
    items = ['<li data-index="0"><span class="call">0. initial state</span></li>']
    previous = trace.initial
    for number, step in enumerate(trace.steps, 1):
        action = model.action(step.action)
        call = f"{number}. {step.action}({format_args(instance, action, step.args)})"
        where = where_of(step.span or action.span)
        changes = step_changes(instance, previous, step.state) or ["(no change)"]
        cls = ' class="violation"' if violated and number == n else ""
        items.append(f'<li data-index="{number}"{cls}><span class="call">{escape(call)}</span> '
                     f'<span class="where">{escape(where)}</span><div class="changes">'
                     + "".join(f"<div>{escape(c)}</div>" for c in changes) + "</div></li>")
        previous = step.state
    pictures = []
    for index in range(len(states)):
        scene = build_scene(machine, trace, violated, index)
        scene.notes = []  # the explanation below the picture says it in full
        pictures.append(f'<div class="picture" data-index="{index}">'
                        f"{scene_to_svg(scene, element_id=f'-s{index}')}</div>")
    explanation = ""
    if violated:
        lines = format_explanation(machine, violated, trace, Style(False))
        text = "\n".join(line.removeprefix("  ") for line in lines)
        explanation = '<pre id="explanation">' + escape(text) + "</pre>"
    title = f"rmapcheck: {model.name}: {verdict}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body data-step="">
<header>
<span class="keys">keys: &uarr;/&darr; or j/k step, Home/End; click a step</span>
<h1>{escape(model.name)}: <span class="verdict">{escape(verdict)}</span></h1>
<div class="doc">{escape(doc)}</div>
<div class="consts">{escape(consts)}</div>
</header>
<main>
<ol id="steps">{''.join(items)}</ol>
<section id="view">
<div id="status"></div>
{''.join(pictures)}
{explanation}
</section>
</main>
<script>{JS}</script>
</body>
</html>
"""


def write_html(machine: Any, trace: Trace, violated: str | None, path: str) -> None:
    Path(path).write_text(trace_to_html(machine, trace, violated))
