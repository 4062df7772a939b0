"""``--dot``/``--svg``/``--png``: the violating state as a Graphviz picture.

Each process is a cluster of VMAs drawn as address ranges, one slot per page;
a pte is an edge from its slot to the physical page; the rmap metadata
(``page->mapping``, a VMA's anon_vma, anonmm's family) are edges back; the
walk's path is dotted grey, and the missing reverse edge of a violation is
red and dashed, to the pte the walk should have found.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from rmapcheck.render.scene import Scene, build_scene
from rmapcheck.trace import Trace


class GraphvizMissing(Exception):
    """Graphviz's ``dot`` program is not installed."""


MISSING_DOT = ("Graphviz's 'dot' program is not installed, so no {fmt} was written "
               "(install it with 'apt-get install graphviz'; --dot FILE writes the picture's "
               "source without it)")


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _node(id_: str) -> str:
    return id_.replace(".", "_")


EDGE_STYLE = {
    "pte": 'color="#1f4e79", penwidth=1.4',
    "rmap": 'color="#2e7d32", style=solid, arrowhead=empty, constraint=false',
    "link": 'color="#6a1b9a", style=solid, arrowhead=empty, constraint=false',
    "walk": 'color="#888888", style=dotted, constraint=false',
    "missing": 'color="#d00000", style=dashed, penwidth=2.2, fontcolor="#d00000", '
               'constraint=false',
    "spurious": 'color="#d00000", style=dashed, penwidth=2.2, fontcolor="#d00000", '
                'constraint=false',
}


def scene_to_dot(scene: Scene) -> str:
    out = ["digraph rmap {",
           ("  graph [rankdir=LR, fontname=Helvetica, fontsize=11, labelloc=t, "
            f"label={_q(scene.title)}, nodesep=0.3, ranksep=1.2];"),
           "  node [fontname=Helvetica, fontsize=10];",
           "  edge [fontname=Helvetica, fontsize=9];"]
    if scene.generic is not None:
        text = "\\l".join(line.replace('"', '\\"') for line in scene.generic) + "\\l"
        out.append(f'  state [shape=box, label="{text}"];')
        out.append("}")
        return "\n".join(out) + "\n"
    # where each slot lives: VMA node and port
    port: dict[str, str] = {}
    for proc in scene.procs:
        out.append(f"  subgraph cluster_{_node(proc.id)} {{")
        style = "solid" if proc.alive else "dashed"
        out.append(f'    graph [label={_q(proc.title + ("" if proc.alive else " (exited)"))}, '
                   f'style="rounded,{style}", color="#555555"];')
        header = "<BR/>".join([f"<B>{_html(proc.title)}</B>"] + [_html(x) for x in proc.lines])
        out.append(f'    {_node(proc.id)} [shape=box, style="rounded,filled", '
                   f'fillcolor="#eeeeee", label=<{header}>];')
        for vma in proc.vmas:
            rows = [f'<TR><TD BGCOLOR="#dde7f3" COLSPAN="1"><B>{_html(vma.title)}</B><BR/>'
                    + "<BR/>".join(_html(x) for x in vma.lines) + "</TD></TR>"]
            for s in vma.slots:
                label = f"{s.vpage}: " + (s.frame or "-") + (" wp" if s.wp else "")
                colour = ' BGCOLOR="#ffd6d6"' if s.highlight else ""
                rows.append(f'<TR><TD PORT="v{s.vpage}"{colour}>{_html(label)}</TD></TR>')
                port[s.id] = f"{_node(vma.id)}:v{s.vpage}"
            out.append(f'    {_node(vma.id)} [shape=plaintext, label=<<TABLE BORDER="0" '
                       f'CELLBORDER="1" CELLSPACING="0">{"".join(rows)}</TABLE>>];')
            out.append(f"    {_node(proc.id)} -> {_node(vma.id)} [style=invis];")
        for gid, label in proc.ghosts:
            out.append(f'    {_node(gid)} [shape=box, style="dashed", color="#888888", '
                       f'fontcolor="#555555", label={_q(label)}];')
            port[gid] = _node(gid)
        out.append("  }")
    out.append("  subgraph cluster_pages {")
    out.append('    graph [label="physical pages", style=rounded, color="#555555"];')
    for f in scene.frames:
        colour = "#ffd6d6" if f.highlight else "#fff4d6"
        body = "<BR/>".join([f"<B>{_html(f.title)}</B>"] + [_html(x) for x in f.lines])
        out.append(f'    {_node(f.id)} [shape=box, style="filled", fillcolor="{colour}", '
                   f"label=<{body}>];")
    out.append("  }")
    for o in scene.objects:
        body = "<BR/>".join([f"<B>{_html(o.title)}</B>"] + [_html(x) for x in o.lines])
        out.append(f'  {_node(o.id)} [shape=ellipse, style=filled, fillcolor="#e3f2e1", '
                   f"label=<{body}>];")
    for e in scene.edges:
        src = port.get(e.src, _node(e.src))
        dst = port.get(e.dst, _node(e.dst))
        label = f", label={_q(e.label)}" if e.label else ""
        out.append(f"  {src} -> {dst} [{EDGE_STYLE[e.kind]}{label}];")
    if scene.notes:
        text = "\\l".join(n.replace('"', '\\"') for n in scene.notes) + "\\l"
        out.append(f'  notes [shape=note, fontcolor="#d00000", label="{text}"];')
    out.append("}")
    return "\n".join(out) + "\n"


def trace_to_dot(machine: Any, trace: Trace, violated: str | None,
                 index: int | None = None) -> str:
    return scene_to_dot(build_scene(machine, trace, violated, index))


def write_dot(machine: Any, trace: Trace, violated: str | None, path: str) -> None:
    Path(path).write_text(trace_to_dot(machine, trace, violated))


def render_graphviz(machine: Any, trace: Trace, violated: str | None, path: str,
                    fmt: str) -> None:
    """Runs Graphviz's ``dot -T<fmt>``; GraphvizMissing when it is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(MISSING_DOT.format(fmt=fmt.upper()))
    source = trace_to_dot(machine, trace, violated)
    done = subprocess.run([exe, f"-T{fmt}", "-o", path], input=source.encode(),
                          capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: {done.stderr.decode(errors='replace')[:300]}")
