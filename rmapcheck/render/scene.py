"""What a picture of one state shows, independent of how it is drawn.

A ``Scene`` has the processes (each a column of VMAs, each VMA a row of page
slots), the physical pages, the other rmap objects (anon_vmas and the like),
and edges: ptes (page slot -> frame), rmap metadata (frame -> the object its
``mapping`` names; VMA -> its anon_vma), the walk's path (frame -> the address
it computed), and the missing reverse edge of a violation (frame -> the pte
the walk should have found), highlighted. ``dot.py`` draws it with Graphviz,
``svg.py`` with a small layout of its own (no Graphviz at run time).
"""

from __future__ import annotations

from typing import Any, Literal

from attrs import define, field

from rmapcheck import ir
from rmapcheck.render.explain import Explanation, explain, format_value
from rmapcheck.render.vmview import reference_fields, vm_layout, vm_view
from rmapcheck.trace import State, Trace

EdgeKind = Literal["pte", "rmap", "walk", "missing", "spurious", "link"]


@define
class Slot:
    id: str  # "p0.3": process p0, page 3
    vpage: int
    frame: str | None  # "f0", or None when no pte
    wp: bool = False
    highlight: bool = False


@define
class VmaBox:
    id: str  # "p0.vma1"
    title: str  # "VMA [1,2)"
    lines: list[str]  # "pgoff 0", "writable", ...
    slots: list[Slot]


@define
class ProcBox:
    id: str  # "p0"
    title: str  # "mm p0"
    alive: bool
    vmas: list[VmaBox]
    lines: list[str] = field(factory=list)  # other per-process state: "family p0"
    ghosts: list[tuple[str, str]] = field(factory=list)  # (id, label): addresses in no VMA


@define
class NodeBox:
    id: str  # "f0", "av0"
    title: str
    lines: list[str]
    highlight: bool = False


@define
class Edge:
    src: str
    dst: str
    kind: EdgeKind
    label: str = ""


@define
class Scene:
    title: str
    procs: list[ProcBox]
    frames: list[NodeBox]
    objects: list[NodeBox]
    edges: list[Edge]
    notes: list[str] = field(factory=list)
    generic: list[str] | None = None  # a model without the VM library: state as text

    def slot(self, slot_id: str) -> Slot | None:
        for proc in self.procs:
            for vma in proc.vmas:
                for s in vma.slots:
                    if s.id == slot_id:
                        return s
        return None


def _generic_lines(instance: Any, state: State) -> list[str]:
    lines = []
    for name, value in instance.decode(state).items():
        rng = instance.layout[name]
        sort = rng.var.value
        if not rng.var.keys:
            lines.append(f"{name} = {format_value(instance, sort, value)}")
            continue
        for key, entry in value.items():
            default = instance.decode_value(sort, instance.default(sort))
            if entry == default:
                continue
            parts = [format_value(instance, s, k) for s, k in zip(rng.var.keys, key, strict=True)]
            lines.append(f"{name}[{', '.join(parts)}] = {format_value(instance, sort, entry)}")
    return lines


def build_scene(machine: Any, trace: Trace, violated: str | None,
                index: int | None = None, explanation: Explanation | None = None) -> Scene:
    """The picture of the state after step ``index`` (default: the last), with
    the violation's missing edge when it is the last state of a counterexample."""
    instance = machine.instance
    model = instance.model
    states = trace.states()
    index = len(states) - 1 if index is None else index
    state = states[index]
    last = index == len(states) - 1
    title = f"{model.name}: " + ("initial state" if index == 0 else
                                 f"after step {index}, {trace.steps[index - 1].action}")
    if last and violated:
        title += f" ({violated} violated)"
    layout = vm_layout(instance)
    if layout is None:
        return Scene(title, [], [], [], [], generic=_generic_lines(instance, state))
    ex = explanation
    if last and violated and ex is None:
        try:
            ex = explain(machine, violated, trace)
        except Exception:  # noqa: BLE001 - the picture without an explanation, not a crash
            ex = None
    if not last:
        ex = None
    view = vm_view(instance, layout, state)
    def fp(p):
        return format_value(instance, layout.proc, p)
    def ff(f):
        return format_value(instance, layout.frame, f)
    edges: list[Edge] = []
    objects: dict[str, NodeBox] = {}

    def ref_id(sort: ir.RangeSort, value: Any) -> str:
        text = format_value(instance, sort, value)
        if sort == layout.proc:
            return text
        if text not in objects:
            objects[text] = NodeBox(text, f"{sort.name} {text}", [])
        return text

    # processes and their VMAs
    procs: list[ProcBox] = []
    ptes = {(p.proc, p.vpage): p for p in view.ptes}
    vma_refs = reference_fields(layout.vma_rec)
    for p, alive in view.procs:
        if not alive and not view.vmas[p]:
            continue
        pid = fp(p)
        boxes = []
        for vma in view.vmas[p]:
            vid = f"{pid}.vma{vma.start}"
            lines = [f"pgoff {vma.pgoff}"]
            for name, sort in layout.vma_rec.fields:
                if name in ("end", "pgoff") or any(name == r for r, _ in vma_refs):
                    continue
                value = vma.fields[name]
                if isinstance(sort, ir.BoolSort):
                    if value:
                        lines.append(name)
                elif value is not None:
                    lines.append(f"{name} {format_value(instance, sort, value)}")
            slots = []
            for v in range(vma.start, vma.end):
                pte = ptes.get((p, v))
                slots.append(Slot(f"{pid}.{v}", v, ff(pte.frame) if pte else None,
                                  bool(pte and pte.wp)))
            boxes.append(VmaBox(vid, f"VMA {vma.range()}", lines, slots))
            for name, sort in vma_refs:
                value = vma.fields[name]
                if value is not None:
                    edges.append(Edge(vid, ref_id(sort, value), "rmap", name))
        procs.append(ProcBox(pid, f"mm {pid}", alive, boxes))
    # ptes outside any VMA (a well-formedness violation): shown as ghosts
    by_id = {box.id: box for box in procs}
    for p, v in ptes:
        if view.vma_of(p, v) is None and fp(p) in by_id:
            gid = f"{fp(p)}.{v}"
            by_id[fp(p)].ghosts.append((gid, f"page {v} (no VMA)"))
    for (p, v), pte in sorted(ptes.items()):
        edges.append(Edge(f"{fp(p)}.{v}", ff(pte.frame), "pte", "wp" if pte.wp else ""))
    # other per-process maps (anonmm's family): Proc -> symmetric sort
    for var in model.state:
        if var.name in ("vma", "pte", "page", "alive", "wp"):
            continue
        inner = var.value.inner if isinstance(var.value, ir.OptionSort) else var.value
        if var.keys == (layout.proc,) and isinstance(inner, ir.RangeSort):
            values = view.other[var.name]
            for (p,), value in values.items():
                if fp(p) not in by_id or value is None:
                    continue
                by_id[fp(p)].lines.append(f"{var.name} {format_value(instance, var.value, value)}")
                if inner.symmetric and inner != layout.proc:
                    edges.append(Edge(fp(p), ref_id(inner, value), "link", var.name))
    # pages
    frames: list[NodeBox] = []
    page_refs = reference_fields(layout.page_rec)
    for page in view.pages:
        fid = ff(page.frame)
        mapped = any(pte.frame == page.frame for pte in view.ptes)
        if not page.used and not mapped:
            continue
        lines = []
        for name, sort in layout.page_rec.fields:
            if name == "used":
                continue
            lines.append(f"{name} {format_value(instance, sort, page.fields[name])}")
        frames.append(NodeBox(fid, f"page {fid}", lines))
        for name, sort in page_refs:
            value = page.fields[name]
            if value is not None:
                target = ref_id(sort, value)
                if sort == layout.proc and target not in by_id:
                    continue
                edges.append(Edge(fid, target, "rmap", name))
    # the violation: the walk's path and the missing (or wrong) reverse edge
    notes: list[str] = []
    if ex is not None and ex.frame is not None:
        fid = ff(ex.frame)
        for box in frames:
            if box.id == fid:
                box.highlight = True
        for w in ex.walk or []:
            pid = fp(w.proc)
            target = f"{pid}.{w.address}"
            if view.vma_of(w.proc, w.address) is None:
                gid = f"{pid}.ghost{w.address}"
                if pid in by_id and all(g[0] != gid for g in by_id[pid].ghosts):
                    by_id[pid].ghosts.append((gid, f"address {w.address} (no VMA)"))
                target = gid
            edges.append(Edge(fid, target, "walk",
                              f"walk looks at {w.address}" + (": found" if w.found else "")))
        if ex.missed is not None:
            p, v, _ = ex.missed
            sid = f"{fp(p)}.{v}"
            edges.append(Edge(fid, sid, "missing",
                              "missing rmap edge: the walk never finds this pte"))
        if ex.spurious is not None:
            p, v, _ = ex.spurious
            sid = f"{fp(p)}.{v}"
            edges.append(Edge(fid, sid, "spurious",
                              "the walk finds this pte, which maps another frame"))
        for proc in procs:
            for vbox in proc.vmas:
                for s in vbox.slots:
                    if ex.missed and s.id == f"{fp(ex.missed[0])}.{ex.missed[1]}":
                        s.highlight = True
                    if ex.spurious and s.id == f"{fp(ex.spurious[0])}.{ex.spurious[1]}":
                        s.highlight = True
    if ex is not None:
        notes.extend(ex.diagnosis)
    return Scene(title, procs, frames, list(objects.values()), edges, notes)
