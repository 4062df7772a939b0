"""What the model and the kernel show, in the same terms, and where they differ.

Each side's state is read into a ``Seen``: the processes that exist, the frame
each (process, page) maps, each frame's mapcount, the VMAs in the window,
and the zero-page and exclusive flags where the spec observes them. A frame
is named by an identity that means nothing across the two sides (a model
frame number, a kernel PFN), so the comparison is of the partition into
sharing classes, carried across each step: ``Labels`` names the classes A,
B, ... so that a page present before a step keeps its letter after it on
both sides, and a new page takes the lowest letter no page had before the
step. Two sides that agree get the same letters; a copy where the other side
reused (or a move that lost the page) shows as a different letter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
from attrs import frozen

from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend.observables import OBSERVABLES
from rmapcheck.ir import Model, RangeSort, Sort

PageAt = tuple[int, int]  # (process, page of the window)


@frozen
class VmaSeen:
    """A VMA in the window, in pages; writability, growsdown and accounting are None
    where the spec does not observe them. ``flags`` is the kernel's VmFlags,
    shown next to a mismatch and never compared."""

    start: int
    end: int
    writable: bool | None = None
    growsdown: bool | None = None
    accounted: bool | None = None
    flags: str = attrs.field(default="", eq=False)

    def describe(self) -> str:
        text = f"[{self.start},{self.end})"
        if self.writable is not None:
            text += " rw" if self.writable else " r-"
        if self.growsdown:
            text += " stack"
        if self.accounted is not None:
            text += " ac" if self.accounted else " no-ac"
        return text


@frozen
class Seen:
    """One side's state in the terms of the observations."""

    processes: frozenset[int]
    pages: Mapping[PageAt, int]  # the identity of the frame each mapped page maps
    mapcounts: Mapping[int, int] | None  # identity -> mapcount; None: not observed
    vmas: Mapping[int, tuple[VmaSeen, ...]] | None  # process -> its VMAs; None: not observed
    zero_page: frozenset[PageAt] | None = None
    exclusive: frozenset[PageAt] | None = None


@frozen
class Difference:
    """One observation on which the two sides disagree, as the text shows it."""

    observation: str
    where: str
    model: str
    kernel: str
    process: int | None = None  # the process it is about, if one


@frozen
class Sorts:
    """The process and page sorts of the observations, and their values at
    the instance's bounds."""

    process: RangeSort
    page: RangeSort | None
    processes: tuple[int, ...]
    pages: tuple[int, ...]

    def name(self, p: int) -> str:
        """A process as the trace renderer names it (``p0``): the capitals of
        the sort's name, lowercase, then the number."""
        capitals = "".join(c for c in self.process.name if c.isupper()).lower()
        return f"{capitals or self.process.name[:1].lower()}{p}"


def observation_sorts(model: Model, values: Callable[[Sort], tuple[Any, ...]]) -> Sorts:
    """The process and page sorts of the observations (``values``: the
    instance's), from the first parameter of each kind; the checker made
    every parameter of a kind one sort."""
    found: dict[str, RangeSort] = {}
    for entry in OBSERVABLES:
        if entry.name in model.observed:
            params = model.function(entry.name).params
            for local, (_, kind) in zip(params, entry.params, strict=True):
                if isinstance(local.sort, RangeSort):
                    found.setdefault(kind, local.sort)
    process, page = found["process"], found.get("page")
    return Sorts(process, page, tuple(values(process)),
                 tuple(values(page)) if page is not None else ())


class ModelView:
    """The model's side: the ``observe def``s evaluated on a state."""

    def __init__(self, machine: Machine, sorts: Sorts) -> None:
        self.machine = machine
        self.sorts = sorts
        self.observed = frozenset(machine.model.observed)

    def _eval(self, name: str, state: tuple[Any, ...], *args: Any) -> Any:
        return self.machine.eval_function(name, state, args)

    def frame_of(self, state: tuple[Any, ...], p: int, v: int) -> int | None:
        value = self._eval("frame", state, p, v)
        return None if value is None else int(value)

    def seen(self, state: tuple[Any, ...]) -> Seen:
        has = self.observed.__contains__
        procs = self.sorts.processes
        pages = self.sorts.pages
        processes = frozenset(p for p in procs if self._eval("process", state, p))
        mapped: dict[PageAt, int] = {}
        if has("frame"):
            for p in procs:
                for v in pages:
                    frame = self.frame_of(state, p, v)
                    if frame is not None:
                        mapped[(p, v)] = frame
        counts = ({f: int(self._eval("page_mapcount", state, f)) for f in set(mapped.values())}
                  if has("page_mapcount") else None)
        vmas: dict[int, tuple[VmaSeen, ...]] | None = None
        if has("vma_end"):
            vmas = {}
            for p in procs:
                found = []
                for a in pages:
                    end = self._eval("vma_end", state, p, a)
                    if end is None:
                        continue
                    found.append(VmaSeen(
                        a, int(end),
                        bool(self._eval("vma_writable", state, p, a))
                        if has("vma_writable") else None,
                        bool(self._eval("vma_growsdown", state, p, a))
                        if has("vma_growsdown") else None,
                        bool(self._eval("vma_accounted", state, p, a))
                        if has("vma_accounted") else None))
                if found:
                    vmas[p] = tuple(found)
        zero = (frozenset((p, v) for p in procs for v in pages
                          if self._eval("zero_page", state, p, v))
                if has("zero_page") else None)
        exclusive = (frozenset((p, v) for p in procs for v in pages
                               if self._eval("exclusive", state, p, v))
                     if has("exclusive") else None)
        return Seen(processes, mapped, counts, vmas, zero, exclusive)


def letter(n: int) -> str:
    """A, B, ..., Z, AA, AB, ...: the name of the n-th sharing class."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("A") + r) + out
    return out


@frozen
class Labels:
    """The letters of the frames present in one state, on each side."""

    model: Mapping[int, str] = attrs.field(factory=dict)
    kernel: Mapping[int, str] = attrs.field(factory=dict)

    def carry(self, model: Seen, kernel: Seen) -> tuple[dict[PageAt, str], dict[PageAt, str],
                                                       Labels]:
        """The letter of every mapped page after a step, on each side, and
        the labels of the state after it."""
        out: list[tuple[dict[PageAt, str], dict[int, str]]] = []
        for before, seen in ((self.model, model), (self.kernel, kernel)):
            present = set(seen.pages.values())
            kept = {ident: name for ident, name in before.items() if ident in present}
            # Not the letter of a page the step freed: a copy that frees the
            # page it copied is a new page, never the one a reuse keeps.
            taken = set(before.values())
            pages: dict[PageAt, str] = {}
            for key in sorted(seen.pages):
                ident = seen.pages[key]
                if ident not in kept:
                    n = 0
                    while letter(n) in taken:
                        n += 1
                    kept[ident] = letter(n)
                    taken.add(kept[ident])
                pages[key] = kept[ident]
            out.append((pages, kept))
        (model_pages, model_ids), (kernel_pages, kernel_ids) = out
        return model_pages, kernel_pages, Labels(model_ids, kernel_ids)


def compare(model: Seen, kernel: Seen, model_pages: Mapping[PageAt, str],
            kernel_pages: Mapping[PageAt, str], name: Callable[[int], str]) -> list[Difference]:
    """Every observation on which ``model`` and ``kernel`` disagree, given the
    letters ``Labels.carry`` gave their pages; ``name`` names a process."""
    _proc = name
    out: list[Difference] = []
    for p in sorted(model.processes ^ kernel.processes):
        out.append(Difference("process", _proc(p), _exists(p in model.processes),
                              _exists(p in kernel.processes), p))
    for key in sorted(set(model_pages) | set(kernel_pages)):
        mine, theirs = model_pages.get(key, "-"), kernel_pages.get(key, "-")
        if mine != theirs:
            out.append(Difference("frame", f"{_proc(key[0])} page {key[1]}",
                                  _frame_text(mine), _frame_text(theirs), key[0]))
    if model.mapcounts is not None and kernel.mapcounts is not None:
        model_ids = {name: ident for ident, name in _idents(model, model_pages).items()}
        kernel_ids = {name: ident for ident, name in _idents(kernel, kernel_pages).items()}
        for label in sorted(set(model_ids) & set(kernel_ids), key=lambda n: (len(n), n)):
            mine_count = model.mapcounts.get(model_ids[label])
            theirs_count = kernel.mapcounts.get(kernel_ids[label])
            if mine_count != theirs_count:
                out.append(Difference("page_mapcount", f"frame {label}", str(mine_count),
                                      str(theirs_count)))
    if model.vmas is not None and kernel.vmas is not None:
        for p in sorted(set(model.vmas) | set(kernel.vmas)):
            mine_vmas, theirs_vmas = model.vmas.get(p, ()), kernel.vmas.get(p, ())
            if mine_vmas == theirs_vmas:
                continue
            bounds = [(v.start, v.end) for v in mine_vmas] != \
                [(v.start, v.end) for v in theirs_vmas]
            what = "vma_end" if bounds else next(
                name for name, field in (("vma_writable", "writable"),
                                         ("vma_growsdown", "growsdown"),
                                         ("vma_accounted", "accounted"))
                if [getattr(v, field) for v in mine_vmas]
                != [getattr(v, field) for v in theirs_vmas])
            out.append(Difference(what, f"{_proc(p)} VMAs", vmas_text(mine_vmas),
                                  vmas_text(theirs_vmas), p))
    for what, mine_set, theirs_set in (("zero_page", model.zero_page, kernel.zero_page),
                                       ("exclusive", model.exclusive, kernel.exclusive)):
        if mine_set is None or theirs_set is None:
            continue
        for key in sorted(mine_set ^ theirs_set):
            out.append(Difference(what, f"{_proc(key[0])} page {key[1]}",
                                  _yes(key in mine_set), _yes(key in theirs_set), key[0]))
    return out


def _idents(seen: Seen, pages: Mapping[PageAt, str]) -> dict[int, str]:
    return {seen.pages[key]: name for key, name in pages.items()}


def _exists(flag: bool) -> str:
    return "exists" if flag else "does not exist"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _frame_text(name: str) -> str:
    return "not mapped" if name == "-" else f"frame {name}"


def vmas_text(vmas: tuple[VmaSeen, ...]) -> str:
    return " ".join(v.describe() for v in vmas) if vmas else "none"
