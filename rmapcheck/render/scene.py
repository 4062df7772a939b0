"""What a picture of one state shows, independent of how it is drawn.

A ``Scene`` has the processes (each a column of VMAs, each VMA a row of page
slots), the physical pages, the other rmap objects (anon_vmas and the like),
and edges: ptes (page slot -> frame), rmap metadata (frame -> the object its
``mapping`` names; VMA -> its anon_vma), the walk's path (frame -> the address
it computed), and the missing reverse edge of a violation (frame -> the pte
the walk should have found), highlighted. ``dot.py`` draws it with Graphviz,
``svg.py`` with a small layout of its own (no Graphviz at run time).

Each box and edge also names the state entries it draws (``covers``,
``place``), and ``slot_changes`` lists what a step changed in the same terms,
so the HTML explorer can mark in the picture exactly the slots a step wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from attrs import define, field

from rmapcheck import ir
from rmapcheck.render.explain import Explanation, explain, format_value
from rmapcheck.render.text import format_key
from rmapcheck.render.vmview import VmView, reference_fields, vm_layout, vm_view
from rmapcheck.trace import State, Trace

EdgeKind = Literal["pte", "rmap", "walk", "missing", "spurious", "link"]

# An entry of a state variable, ("pte", (0, 1)), and a field path inside it,
# ("page", (0,), ("mapping",)); () is the whole entry.
Entry = tuple[str, tuple[Any, ...]]
Place = tuple[str, tuple[Any, ...], tuple[str, ...]]


@define
class Change:
    """One slot a step changed: a state entry, or one field of a record entry
    (a record that appears or disappears is one change of the whole entry)."""

    var: str
    key: tuple[Any, ...]
    path: tuple[str, ...]
    name: str  # page[f0].mapcount, as the spec writes the location
    before: str
    after: str

    def text(self) -> str:
        return f"{self.name}: {self.before} \u2192 {self.after}"


def _diff(sort: ir.Sort, old: Any, new: Any, path: tuple[str, ...],
          out: list[tuple[tuple[str, ...], ir.Sort, Any, Any]]) -> None:
    if old == new:
        return
    inner = sort.inner if isinstance(sort, ir.OptionSort) else sort
    if isinstance(inner, ir.RecordSort) and isinstance(old, dict) and isinstance(new, dict):
        for name, field_sort in inner.fields:
            _diff(field_sort, old[name], new[name], path + (name,), out)
        return
    out.append((path, sort, old, new))


def slot_changes(instance: Any, before: State, after: State) -> list[Change]:
    """Every slot whose value differs between two states, in the order of the
    model's state variables and their keys."""
    old, new = instance.decode(before), instance.decode(after)
    changes: list[Change] = []
    for var, rng in instance.layout.items():
        sort = rng.var.value
        entries = new[var].items() if rng.var.keys else [((), new[var])]
        for key, value in entries:
            was = old[var][key] if rng.var.keys else old[var]
            found: list[tuple[tuple[str, ...], ir.Sort, Any, Any]] = []
            _diff(sort, was, value, (), found)
            head = format_key(instance, var, key)
            for path, field_sort, a, b in found:
                changes.append(Change(var, key, path, head + "".join(f".{n}" for n in path),
                                      format_value(instance, field_sort, a),
                                      format_value(instance, field_sort, b)))
    return changes


def entry_changes(covers: list[Entry], changes: list[Change]) -> list[Change]:
    """The changes to any of the entries a box draws."""
    return [c for c in changes if (c.var, c.key) in covers]


def place_changes(place: Place | None, changes: list[Change]) -> list[Change]:
    """The changes to the slot an edge draws: the field itself, the record
    around it (it appeared), or a field inside it."""
    if place is None:
        return []
    var, key, path = place
    return [c for c in changes if c.var == var and c.key == key
            and (c.path[:len(path)] == path or path[:len(c.path)] == c.path)]


@define
class Slot:
    id: str  # "p0.3": process p0, page 3
    vpage: int
    frame: str | None  # "f0", or None when no pte
    wp: bool = False
    highlight: bool = False
    covers: list[Entry] = field(factory=list)


@define
class VmaBox:
    id: str  # "p0.vma1"
    title: str  # "VMA [1,2)"
    lines: list[str]  # "pgoff 0", "writable", ...
    slots: list[Slot]
    covers: list[Entry] = field(factory=list)


@define
class ProcBox:
    id: str  # "p0"
    title: str  # "mm p0"
    alive: bool
    vmas: list[VmaBox]
    lines: list[str] = field(factory=list)  # other per-process state: "family p0"
    ghosts: list[tuple[str, str]] = field(factory=list)  # (id, label): addresses in no VMA
    covers: list[Entry] = field(factory=list)


@define
class NodeBox:
    id: str  # "f0", "av0"
    title: str
    lines: list[str]
    highlight: bool = False
    covers: list[Entry] = field(factory=list)


@define
class Edge:
    src: str
    dst: str
    kind: EdgeKind
    label: str = ""
    place: Place | None = None  # the slot the edge draws (a pte, a reference field)
    # the label where space is short (the inline SVG, which has the walk listed
    # beside it); None: the label itself, "": no label
    short: str | None = None


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


def _describe_objects(instance: Any, model: ir.Model, view: VmView,
                      objects: dict[str, NodeBox],
                      object_values: dict[str, tuple[ir.RangeSort, Any]],
                      ref_id: Callable[[ir.RangeSort, Any], str], edges: list[Edge]) -> None:
    """The state of each rmap object in the picture (anon_vma_chain's ``av``:
    its parent and depth; ``av_used``): lines on its box, and its own
    references (the parent) as edges, which may bring further objects in."""
    done: set[str] = set()
    while len(done) < len(objects):
        oid = next(o for o in objects if o not in done)
        done.add(oid)
        sort, raw = object_values[oid]
        box = objects[oid]
        for var in model.state:
            if var.keys != (sort,) or var.name not in view.other:
                continue
            value = view.other[var.name].get((raw,))
            box.covers.append((var.name, (raw,)))
            inner = var.value.inner if isinstance(var.value, ir.OptionSort) else var.value
            if isinstance(inner, ir.RecordSort) and value is not None:
                for name, field_sort in inner.fields:
                    ref = field_sort.inner if isinstance(field_sort, ir.OptionSort) else field_sort
                    if isinstance(ref, ir.RangeSort) and ref.symmetric:
                        if value[name] is not None:
                            edges.append(Edge(oid, ref_id(ref, value[name]), "link", name,
                                              place=(var.name, (raw,), (name,))))
                        continue
                    box.lines.append(f"{name} {format_value(instance, field_sort, value[name])}")
            elif isinstance(inner, ir.RangeSort) and inner.symmetric:
                if value is not None:
                    edges.append(Edge(oid, ref_id(inner, value), "link", var.name,
                                      place=(var.name, (raw,), ())))
            else:
                box.lines.append(f"{var.name} {format_value(instance, var.value, value)}")


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
    object_values: dict[str, tuple[ir.RangeSort, Any]] = {}

    def ref_id(sort: ir.RangeSort, value: Any) -> str:
        text = format_value(instance, sort, value)
        if sort == layout.proc:
            return text
        # named by sort too: a File f0 and the frame f0 are two boxes
        oid = f"{sort.name}_{text}"
        if oid not in objects:
            objects[oid] = NodeBox(oid, f"{sort.name} {text}", [])
            object_values[oid] = (sort, value)
        return oid

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
                covers: list[Entry] = [("pte", (p, v))]
                if layout.has_wp:
                    covers.append(("wp", (p, v)))
                slots.append(Slot(f"{pid}.{v}", v, ff(pte.frame) if pte else None,
                                  bool(pte and pte.wp), covers=covers))
            boxes.append(VmaBox(vid, f"VMA {vma.range()}", lines, slots,
                                covers=[("vma", (p, vma.start))]))
            for name, sort in vma_refs:
                value = vma.fields[name]
                if value is not None:
                    edges.append(Edge(vid, ref_id(sort, value), "rmap", name,
                                      place=("vma", (p, vma.start), (name,))))
        procs.append(ProcBox(pid, f"mm {pid}", alive, boxes,
                             covers=[("alive", (p,))] if layout.has_alive else []))
    # ptes outside any VMA (a well-formedness violation): shown as ghosts
    by_id = {box.id: box for box in procs}
    for p, v in ptes:
        if view.vma_of(p, v) is None and fp(p) in by_id:
            gid = f"{fp(p)}.{v}"
            by_id[fp(p)].ghosts.append((gid, f"page {v} (no VMA)"))
    for (p, v), pte in sorted(ptes.items()):
        # the slot itself says wp, so the inline SVG leaves the edge unlabelled
        edges.append(Edge(f"{fp(p)}.{v}", ff(pte.frame), "pte", "wp" if pte.wp else "",
                          place=("pte", (p, v), ()), short=""))
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
                by_id[fp(p)].covers.append((var.name, (p,)))
                if inner.symmetric and inner != layout.proc:
                    edges.append(Edge(fp(p), ref_id(inner, value), "link", var.name,
                                      place=(var.name, (p,), ())))
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
        frames.append(NodeBox(fid, f"page {fid}", lines, covers=[("page", (page.frame,))]))
        for name, sort in page_refs:
            value = page.fields[name]
            if value is not None:
                target = ref_id(sort, value)
                if sort == layout.proc and target not in by_id:
                    continue
                edges.append(Edge(fid, target, "rmap", name,
                                  place=("page", (page.frame,), (name,))))
    _describe_objects(instance, model, view, objects, object_values, ref_id, edges)
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
                              f"walk looks at {w.address}" + (": found" if w.found else ""),
                              short="walk: found" if w.found else "walk"))
        if ex.missed is not None:
            p, v, _ = ex.missed
            sid = f"{fp(p)}.{v}"
            edges.append(Edge(fid, sid, "missing",
                              "missing rmap edge: the walk never finds this pte",
                              short="missing rmap edge"))
        if ex.spurious is not None:
            p, v, _ = ex.spurious
            sid = f"{fp(p)}.{v}"
            edges.append(Edge(fid, sid, "spurious",
                              "the walk finds this pte, which maps another frame",
                              short="found, maps another frame"))
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
