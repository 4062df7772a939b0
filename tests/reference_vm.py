"""A naive reference model of the VM operations of models/vm.spec, in plain Python.

Written from the operations' meaning (DESIGN.md section 4, and what Linux does),
not from the spec's code: an address space is a sorted list of intervals, the
page tables a dict. Nothing is clever; every operation is "compute the new
list, then check the limits". ``tests/test_fuzz_reference.py`` runs it step by
step against the compiled spec (``tests/specs/vm_oracle.spec``: the VM library
with a perfect reverse map, ``finds(f, p, v) = pte[p, v] == f``).

The modelling choices it shares with the spec, by design:
- addresses are page numbers ``0 .. VPAGES-1``; a VMA is ``[start, end)``;
- a process may have at most ``VMAS`` VMAs: mmap needs fewer than ``VMAS``
  before it maps; munmap fails only when it would leave more than ``VMAS``
  (Linux: a munmap may go over the limit while it works, not when it is done;
  ``munmap_limit="splits"`` gives the spec's stricter rule instead);
  mprotect fails when its splits would need more than ``VMAS`` (Linux checks
  each split);
- two adjacent VMAs merge when their flags (growsdown, writable) are equal,
  only at the boundaries an operation touched (vma_merge), never after fork,
  munmap or stack growth; the merged VMA keeps the lower one's pgoff;
- a fresh mapping's pgoff is its start page; a split's upper part gets
  ``pgoff + (split - start)``; mremap keeps pgoff; stack growth lowers start
  and pgoff together; pgoff is bounded to ``-VPAGES .. VPAGES``, and a split
  or growth that would leave that range is not enabled (a bound of the model);
- frames are taken lowest-free-first; a frame is freed (its page reset) when
  its mapcount drops to 0;
- operations that would change nothing are not enabled (munmap of an
  unmapped range, mprotect to the same protection, mremap to the same place
  and size).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Vma:
    start: int
    end: int
    pgoff: int
    growsdown: bool
    writable: bool

    def flags(self) -> tuple[bool, bool]:
        return (self.growsdown, self.writable)

    def covers(self, v: int) -> bool:
        return self.start <= v < self.end


@dataclass
class RefVM:
    procs: int
    vpages: int
    frames: int
    max_vmas: int
    alive: list[bool] = field(default_factory=list)
    vmas: list[list[Vma]] = field(default_factory=list)  # per process, sorted by start
    pte: dict[tuple[int, int], int] = field(default_factory=dict)  # (p, v) -> frame
    wp: set[tuple[int, int]] = field(default_factory=set)  # write-protected ptes
    mapcount: list[int] = field(default_factory=list)
    used: list[bool] = field(default_factory=list)
    # How munmap applies the VMA limit: "net" (Linux: the count after the
    # munmap), or "splits" (models/vm.spec today: the count after splitting
    # at both ends, before the middle is removed; stricter, see
    # test_fuzz_reference.test_munmap_may_split_a_single_vma_at_the_vma_limit).
    munmap_limit: str = "net"

    @classmethod
    def initial(cls, procs: int, vpages: int, frames: int, max_vmas: int,
                munmap_limit: str = "net") -> RefVM:
        vm = cls(procs, vpages, frames, max_vmas, munmap_limit=munmap_limit)
        vm.alive = [p == 0 for p in range(procs)]
        vm.vmas = [[] for _ in range(procs)]
        vm.mapcount = [0] * frames
        vm.used = [False] * frames
        return vm

    def copy(self) -> RefVM:
        return RefVM(self.procs, self.vpages, self.frames, self.max_vmas,
                     list(self.alive), [list(v) for v in self.vmas], dict(self.pte),
                     set(self.wp), list(self.mapcount), list(self.used), self.munmap_limit)

    # ------------------------------------------------------------ helpers

    def vma_of(self, p: int, v: int) -> Vma | None:
        for vma in self.vmas[p]:
            if vma.covers(v):
                return vma
        return None

    def free_frame(self) -> int | None:
        for f in range(self.frames):
            if not self.used[f]:
                return f
        return None

    def zap(self, p: int, v: int) -> None:
        """Remove one pte; free the frame with its last mapping."""
        if (p, v) not in self.pte:
            return
        f = self.pte.pop((p, v))
        self.wp.discard((p, v))
        self.mapcount[f] -= 1
        if self.mapcount[f] == 0:
            self.used[f] = False

    def set_vmas(self, p: int, vmas: list[Vma]) -> None:
        self.vmas[p] = sorted(vmas, key=lambda x: x.start)

    @staticmethod
    def cut(vmas: list[Vma], lo: int, hi: int) -> list[Vma]:
        """Every VMA with the pages in [lo, hi) taken out (trimmed or split)."""
        out = []
        for x in vmas:
            if x.end <= lo or hi <= x.start:
                out.append(x)
                continue
            if x.start < lo:
                out.append(replace(x, end=lo))
            if hi < x.end:
                out.append(replace(x, start=hi, pgoff=x.pgoff + (hi - x.start)))
        return out

    @staticmethod
    def split(vmas: list[Vma], b: int) -> list[Vma]:
        out = []
        for x in vmas:
            if x.start < b < x.end:
                out.append(replace(x, end=b))
                out.append(replace(x, start=b, pgoff=x.pgoff + (b - x.start)))
            else:
                out.append(x)
        return out

    def merge_at(self, p: int, b: int) -> None:
        """vma_merge at boundary b: the VMA ending at b absorbs the one starting
        at b when their flags agree."""
        lower = [x for x in self.vmas[p] if x.end == b]
        upper = [x for x in self.vmas[p] if x.start == b]
        if lower and upper and lower[0].flags() == upper[0].flags():
            rest = [x for x in self.vmas[p] if x is not lower[0] and x is not upper[0]]
            self.set_vmas(p, rest + [replace(lower[0], end=upper[0].end)])

    def pgoff_fits(self, vmas: list[Vma]) -> bool:
        """Every pgoff inside the model's bound -VPAGES .. VPAGES (a split or
        a stack growth that would leave it is not enabled, like running out
        of frames)."""
        return all(-self.vpages <= x.pgoff <= self.vpages for x in vmas)

    def range_free(self, p: int, lo: int, hi: int) -> bool:
        return all(x.end <= lo or hi <= x.start for x in self.vmas[p])

    # ------------------------------------------------------------ operations

    def mmap(self, p: int, s: int, n: int, growsdown: bool) -> RefVM | None:
        if not self.alive[p] or s + n > self.vpages or not self.range_free(p, s, s + n):
            return None
        if len(self.vmas[p]) >= self.max_vmas:
            return None
        new = self.copy()
        new.set_vmas(p, new.vmas[p] + [Vma(s, s + n, s, growsdown, True)])
        new.merge_at(p, s)
        new.merge_at(p, s + n)
        return new

    def munmap(self, p: int, s: int, n: int) -> RefVM | None:
        if not self.alive[p] or s + n > self.vpages or self.range_free(p, s, s + n):
            return None
        remaining = self.cut(self.vmas[p], s, s + n)
        if not self.pgoff_fits(self.split(self.split(self.vmas[p], s), s + n)):
            return None
        if self.munmap_limit == "net":
            if len(remaining) > self.max_vmas:
                return None
        elif len(self.split(self.split(self.vmas[p], s), s + n)) > self.max_vmas:
            return None
        new = self.copy()
        for v in range(s, s + n):
            new.zap(p, v)
        new.set_vmas(p, remaining)
        return new

    def mprotect(self, p: int, s: int, n: int, writable: bool) -> RefVM | None:
        if not self.alive[p] or s + n > self.vpages:
            return None
        if any(self.vma_of(p, v) is None for v in range(s, s + n)):
            return None
        touched = [x for x in self.vmas[p] if x.start < s + n and s < x.end]
        if all(x.writable == writable for x in touched):
            return None
        pieces = self.split(self.split(self.vmas[p], s), s + n)
        if len(pieces) > self.max_vmas or not self.pgoff_fits(pieces):
            return None
        new = self.copy()
        new.set_vmas(p, [replace(x, writable=writable) if s <= x.start < s + n else x
                         for x in pieces])
        for b in range(s, s + n + 1):
            new.merge_at(p, b)
        return new

    def mremap(self, p: int, a: int, n: int, t: int) -> RefVM | None:
        if not self.alive[p] or t + n > self.vpages:
            return None
        old = [x for x in self.vmas[p] if x.start == a]
        if not old:
            return None
        x = old[0]
        size = x.end - x.start
        if n == size and t == a:
            return None
        new = self.copy()
        others = [y for y in self.vmas[p] if y is not x]
        if t == a:  # resize in place
            if n > size and not self.range_free(p, x.end, a + n):
                return None
            for v in range(a + n, x.end):
                new.zap(p, v)
            new.set_vmas(p, others + [replace(x, end=a + n)])
            if n > size:
                new.merge_at(p, a + n)
            return new
        if not (t + n <= a or x.end <= t) or not self.range_free(p, t, t + n):
            return None
        for i in range(min(n, size)):
            if (p, a + i) in self.pte:
                new.pte[(p, t + i)] = new.pte.pop((p, a + i))
                if (p, a + i) in new.wp:
                    new.wp.discard((p, a + i))
                    new.wp.add((p, t + i))
        for v in range(a + n, x.end):
            new.zap(p, v)
        new.set_vmas(p, others + [Vma(t, t + n, x.pgoff, x.growsdown, x.writable)])
        new.merge_at(p, t)
        new.merge_at(p, t + n)
        return new

    def fork(self, parent: int, child: int) -> RefVM | None:
        if not self.alive[parent] or self.alive[child]:
            return None
        new = self.copy()
        new.alive[child] = True
        new.vmas[child] = list(self.vmas[parent])
        for (p, v), f in self.pte.items():
            if p == parent:
                new.pte[(child, v)] = f
                new.wp.add((child, v))
                new.wp.add((parent, v))
                new.mapcount[f] += 1
        return new

    def exit(self, p: int) -> RefVM | None:
        if not self.alive[p]:
            return None
        new = self.copy()
        for v in range(self.vpages):
            new.zap(p, v)
        new.vmas[p] = []
        new.alive[p] = False
        return new

    def fault(self, p: int, v: int) -> RefVM | None:
        if not self.alive[p] or (p, v) in self.pte:
            return None
        vma = self.vma_of(p, v)
        if vma is None or not vma.writable:
            return None
        f = self.free_frame()
        if f is None:
            return None
        new = self.copy()
        new.used[f] = True
        new.mapcount[f] = 1
        new.pte[(p, v)] = f
        return new

    def cow(self, p: int, v: int) -> RefVM | None:
        if not self.alive[p] or (p, v) not in self.pte or (p, v) not in self.wp:
            return None
        vma = self.vma_of(p, v)
        assert vma is not None, "a pte outside every VMA"
        if not vma.writable:
            return None
        old = self.pte[(p, v)]
        new = self.copy()
        if self.mapcount[old] == 1:  # the only mapping: just make it writable
            new.wp.discard((p, v))
            return new
        f = self.free_frame()
        if f is None:
            return None
        new.mapcount[old] -= 1
        new.used[f] = True
        new.mapcount[f] = 1
        new.pte[(p, v)] = f
        new.wp.discard((p, v))
        return new

    def grow_stack(self, p: int, a: int) -> RefVM | None:
        if not self.alive[p] or a == 0:
            return None
        old = [x for x in self.vmas[p] if x.start == a]
        if not old or not old[0].growsdown or self.vma_of(p, a - 1) is not None:
            return None
        x = old[0]
        grown = replace(x, start=a - 1, pgoff=x.pgoff - 1)
        if not self.pgoff_fits([grown]):
            return None
        new = self.copy()
        new.set_vmas(p, [y for y in self.vmas[p] if y is not x] + [grown])
        return new

    def swap_out(self, f: int) -> RefVM | None:
        """With a perfect reverse map: unmap every pte that maps f."""
        if not self.used[f]:
            return None
        new = self.copy()
        for (p, v), g in sorted(self.pte.items()):
            if g == f:
                new.zap(p, v)
        assert not new.used[f]
        return new

    # ------------------------------------------------------------ enumeration

    def params(self) -> dict[str, list[tuple[str, range]]]:
        P, V, F = range(self.procs), range(self.vpages), range(self.frames)
        L = range(1, self.vpages + 1)
        B = range(2)
        return {
            "mmap": [("p", P), ("s", V), ("n", L), ("growsdown", B)],
            "munmap": [("p", P), ("s", V), ("n", L)],
            "mprotect": [("p", P), ("s", V), ("n", L), ("writable", B)],
            "mremap": [("p", P), ("a", V), ("n", L), ("t", V)],
            "fork": [("parent", P), ("child", P)],
            "exit": [("p", P)],
            "fault": [("p", P), ("v", V)],
            "cow": [("p", P), ("v", V)],
            "grow_stack": [("p", P), ("a", V)],
            "swap_out": [("f", F)],
        }

    def apply(self, action: str, args: dict[str, Any]) -> RefVM | None:
        values = {k: bool(v) if k in ("growsdown", "writable") else v for k, v in args.items()}
        return getattr(self, action)(**values)

    def enabled(self) -> Iterator[tuple[str, tuple[tuple[str, Any], ...]]]:
        """Every enabled (action, args) in the spec's order of parameters."""
        import itertools

        for action, params in self.params().items():
            names = [n for n, _ in params]
            for combo in itertools.product(*(r for _, r in params)):
                args = {n: (bool(c) if n in ("growsdown", "writable") else c)
                        for n, c in zip(names, combo, strict=True)}
                if self.apply(action, args) is not None:
                    yield action, tuple(args.items())

    # ------------------------------------------------------------ comparison

    def snapshot(self) -> dict[str, Any]:
        """The observable state, in the shape ``spec_snapshot`` produces."""
        return {
            "alive": tuple(self.alive),
            "vmas": tuple(tuple((x.start, x.end, x.pgoff, x.growsdown, x.writable)
                                for x in self.vmas[p]) for p in range(self.procs)),
            "pte": dict(sorted(self.pte.items())),
            "wp": frozenset(self.wp),
            "pages": tuple((self.used[f], self.mapcount[f]) for f in range(self.frames)),
        }


def spec_snapshot(instance: Any, state: tuple[Any, ...]) -> dict[str, Any]:
    """The same observable state, decoded from a state of the compiled VM spec."""
    d = instance.decode(state)
    procs = len(d["alive"])
    vmas: list[list[tuple[int, int, int, bool, bool]]] = [[] for _ in range(procs)]
    for (p, a), x in sorted(d["vma"].items()):
        if x is not None:
            vmas[p].append((a, x["end"], x["pgoff"], x["growsdown"], x["writable"]))
    pages = sorted(d["page"].items())
    return {
        "alive": tuple(d["alive"][(p,)] for p in range(procs)),
        "vmas": tuple(tuple(v) for v in vmas),
        "pte": {k: f for k, f in sorted(d["pte"].items()) if f is not None},
        "wp": frozenset(k for k, w in d["wp"].items() if w),
        "pages": tuple((page["used"], page["mapcount"]) for _, page in pages),
    }
