"""The VM library's state as processes, VMAs, ptes and pages, for the renderers.

A model built on ``models/vm.spec`` has the state variables ``vma`` (process,
start page -> VMA record with ``end`` and ``pgoff``), ``pte`` (process, page
-> frame) and ``page`` (frame -> page record); ``alive`` and ``wp`` are used
when present. ``vm_layout`` recognises them by name and sort; every renderer
falls back to a generic rendering for a model that does not have them.

Rmap metadata is found by sort, not by name: a field of a page or a VMA
whose sort is a symmetric sort (a process, an anon_vma, ...) is a reference to
that object, drawn as an edge; ``index`` and ``pgoff`` are shown as numbers.
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from rmapcheck import ir
from rmapcheck.instance import Instance
from rmapcheck.trace import State


def _unopt(sort: ir.Sort) -> ir.Sort:
    return sort.inner if isinstance(sort, ir.OptionSort) else sort


@define
class VmLayout:
    """The sorts of the VM library's state in one model."""

    proc: ir.RangeSort
    vpage: ir.RangeSort
    frame: ir.RangeSort
    vma_rec: ir.RecordSort
    page_rec: ir.RecordSort
    has_alive: bool
    has_wp: bool


def vm_layout(instance: Instance) -> VmLayout | None:
    """The VM library's state variables, or None when the model lacks them."""
    model = instance.model
    try:
        vma = model.state_var("vma")
        pte = model.state_var("pte")
        page = model.state_var("page")
    except KeyError:
        return None
    if len(vma.keys) != 2 or len(pte.keys) != 2 or len(page.keys) != 1:
        return None
    proc, vpage = vma.keys
    frame = page.keys[0]
    vma_rec = _unopt(vma.value)
    page_rec = _unopt(page.value)
    if not (isinstance(proc, ir.RangeSort) and isinstance(vpage, ir.RangeSort)
            and isinstance(frame, ir.RangeSort) and isinstance(vma_rec, ir.RecordSort)
            and isinstance(page_rec, ir.RecordSort) and pte.keys == (proc, vpage)
            and _unopt(pte.value) == frame):
        return None
    names = {n for n, _ in vma_rec.fields}
    if not {"end", "pgoff"} <= names:
        return None
    has_alive = has_wp = False
    try:
        alive = model.state_var("alive")
        has_alive = alive.keys == (proc,) and isinstance(alive.value, ir.BoolSort)
    except KeyError:
        pass
    try:
        wp = model.state_var("wp")
        has_wp = wp.keys == (proc, vpage) and isinstance(wp.value, ir.BoolSort)
    except KeyError:
        pass
    return VmLayout(proc, vpage, frame, vma_rec, page_rec, has_alive, has_wp)


@define
class Vma:
    proc: Any
    start: int
    end: int
    pgoff: int
    fields: dict[str, Any]  # every field but end and pgoff

    def range(self) -> str:
        return f"[{self.start},{self.end})"


@define
class Pte:
    proc: Any
    vpage: int
    frame: Any
    wp: bool = False


@define
class Page:
    frame: Any
    fields: dict[str, Any]

    @property
    def used(self) -> bool:
        return bool(self.fields.get("used", True))


@define
class VmView:
    """One state of a vm-library model, decoded."""

    layout: VmLayout
    procs: list[tuple[Any, bool]]  # (process, alive)
    vmas: dict[Any, list[Vma]]  # process -> VMAs sorted by start
    ptes: list[Pte]
    pages: list[Page]
    other: dict[str, Any] = field(factory=dict)  # every other state variable, decoded

    def vma_of(self, proc: Any, vpage: int) -> Vma | None:
        for v in self.vmas.get(proc, []):
            if v.start <= vpage < v.end:
                return v
        return None

    def pte_at(self, proc: Any, vpage: int) -> Pte | None:
        for p in self.ptes:
            if p.proc == proc and p.vpage == vpage:
                return p
        return None

    def page(self, frame: Any) -> Page | None:
        for p in self.pages:
            if p.frame == frame:
                return p
        return None


def vm_view(instance: Instance, layout: VmLayout, state: State) -> VmView:
    decoded = instance.decode(state)
    procs = instance.values(layout.proc)
    alive = decoded.get("alive", {}) if layout.has_alive else {}
    proc_list = [(p, bool(alive.get((p,), True))) for p in procs]
    vmas: dict[Any, list[Vma]] = {p: [] for p in procs}
    for (p, start), rec in sorted(decoded["vma"].items()):
        if rec is None:
            continue
        rest = {k: v for k, v in rec.items() if k not in ("end", "pgoff")}
        vmas[p].append(Vma(p, start, rec["end"], rec["pgoff"], rest))
    wp = decoded.get("wp", {}) if layout.has_wp else {}
    ptes = [Pte(p, v, f, bool(wp.get((p, v), False)))
            for (p, v), f in sorted(decoded["pte"].items()) if f is not None]
    pages = [Page(f, dict(rec)) for (f,), rec in sorted(decoded["page"].items())]
    other = {k: v for k, v in decoded.items()
             if k not in ("vma", "pte", "page", "alive", "wp")}
    return VmView(layout, proc_list, vmas, ptes, pages, other)


def reference_fields(record: ir.RecordSort) -> list[tuple[str, ir.RangeSort]]:
    """Fields of a record that point at an object of a symmetric sort (rmap metadata)."""
    out = []
    for name, sort in record.fields:
        inner = _unopt(sort)
        if isinstance(inner, ir.RangeSort) and inner.symmetric:
            out.append((name, inner))
    return out
