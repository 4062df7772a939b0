"""The kernel's side: what /proc shows of the driven processes, read into the
same ``Seen`` as the model's, and whether this kernel can be read at all.

Per (process, page) the PFN comes from /proc/PID/pagemap (bit 63: present,
bits 0-54: the PFN, bit 56: mapped by this process alone); per PFN the
mapcount from /proc/kpagecount and the flags from /proc/kpageflags; the
VMAs from /proc/PID/smaps (its VmFlags say growsdown and VM_ACCOUNT, which
/proc/PID/maps does not) or /proc/PID/maps when neither is observed.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs
from attrs import frozen

from rmapcheck.conform.driven_process import DrivenProcess
from rmapcheck.conform.observation import PageAt, Seen, VmaSeen

PAGEMAP_PRESENT = 1 << 63
PAGEMAP_EXCLUSIVE = 1 << 56
PFN_MASK = (1 << 55) - 1
KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL, KPF_HUGE, KPF_THP, KPF_ZERO_PAGE = 15, 16, 17, 22, 24
_ENTRY = struct.Struct("<Q")


class KernelUnsuitable(Exception):
    """This kernel, or this user, cannot be held to the model: one sentence why."""


@frozen
class Window:
    """The reserved range the modelled pages live in: page v is at
    ``base + v * page_size``; ``guard`` pages of PROT_NONE on each side."""

    base: int
    pages: int
    page_size: int
    guard: int = 16

    def address(self, page: int) -> int:
        return self.base + page * self.page_size

    def page_of(self, address: int) -> int:
        return (address - self.base) // self.page_size


def check_user() -> None:
    """Linux, root, and the physical page files readable: else KernelUnsuitable."""
    if not sys.platform.startswith("linux"):
        raise KernelUnsuitable(f"rmapcheck conform runs the model on a Linux kernel, and this "
                               f"is {sys.platform}")
    if os.geteuid() != 0:
        raise KernelUnsuitable("rmapcheck conform must run as root: /proc/PID/pagemap shows "
                               "page frame numbers only to CAP_SYS_ADMIN, and /proc/kpagecount "
                               "to root")
    for name in ("kpagecount", "kpageflags"):
        if not os.access(f"/proc/{name}", os.R_OK):
            raise KernelUnsuitable(f"/proc/{name} cannot be read here (a kernel without "
                                   "CONFIG_PROC_PAGE_MONITOR, or a restricted /proc)")


def swap_is_on() -> bool:
    """Whether some swap area is active: without one MADV_PAGEOUT leaves an
    anonymous page where it is."""
    try:
        lines = Path("/proc/swaps").read_text().splitlines()
    except OSError:
        return False
    return len(lines) > 1


def thp_disabled(pid: int) -> bool | None:
    """What /proc/PID/status says of transparent huge pages for the process
    (None when the kernel does not say)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("THP_enabled:"):
            return line.split()[1] == "0"
    return None


@attrs.define
class KernelView:
    """Reads the window of the driven processes. Keeps /proc/kpagecount and
    /proc/kpageflags open for the whole run."""

    window: Window
    observed: frozenset[str]
    _counts: int = attrs.field(init=False)
    _flags: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._counts = os.open("/proc/kpagecount", os.O_RDONLY)
        self._flags = os.open("/proc/kpageflags", os.O_RDONLY)

    def close(self) -> None:
        os.close(self._counts)
        os.close(self._flags)

    def _entry(self, fd: int, pfn: int) -> int:
        data = os.pread(fd, 8, pfn * 8)
        return int(_ENTRY.unpack(data)[0]) if len(data) == 8 else 0

    def mapcount(self, pfn: int) -> int:
        return self._entry(self._counts, pfn)

    def flags(self, pfn: int) -> int:
        return self._entry(self._flags, pfn)

    def pagemap(self, pid: int) -> list[int]:
        """The pagemap entry of every page of the window."""
        window = self.window
        with open(f"/proc/{pid}/pagemap", "rb", buffering=0) as f:
            data = os.pread(f.fileno(), 8 * window.pages,
                            window.base // window.page_size * 8)
        return [e for (e,) in struct.iter_unpack("<Q", data)]

    def vmas(self, pid: int) -> tuple[VmaSeen, ...]:
        """The VMAs of the process that meet the window."""
        smaps = "vma_growsdown" in self.observed or "vma_accounted" in self.observed
        text = Path(f"/proc/{pid}/{'smaps' if smaps else 'maps'}").read_text()
        window = self.window
        low, high = window.base, window.address(window.pages)
        found: list[VmaSeen] = []
        current: tuple[int, int, bool] | None = None
        for line in text.splitlines():
            head = line.split(None, 2)
            if "-" in head[0] and len(head) > 1 and len(head[1]) == 4:
                start_text, end_text = head[0].split("-")
                start, end = int(start_text, 16), int(end_text, 16)
                current = (start, end, head[1][1] == "w") if start < high and low < end \
                    else None
                if current is not None and not smaps:
                    found.append(self._vma(current, ""))
            elif smaps and current is not None and line.startswith("VmFlags:"):
                found.append(self._vma(current, line.split(":", 1)[1].strip()))
                current = None
        return tuple(found)

    def _vma(self, seen: tuple[int, int, bool], flags: str) -> VmaSeen:
        start, end, writable = seen
        return VmaSeen(self.window.page_of(start), self.window.page_of(end),
                       writable if "vma_writable" in self.observed else None,
                       "gd" in flags.split() if "vma_growsdown" in self.observed else None,
                       "ac" in flags.split() if "vma_accounted" in self.observed else None,
                       flags)

    def seen(self, procs: Mapping[int, DrivenProcess]) -> Seen:
        """The kernel's state of the processes ``procs`` (by modelled process)."""
        has = self.observed.__contains__
        pages: dict[PageAt, int] = {}
        exclusive: set[PageAt] = set()
        for p, proc in procs.items():
            for v, entry in enumerate(self.pagemap(proc.pid)):
                if entry & PAGEMAP_PRESENT:
                    pages[(p, v)] = entry & PFN_MASK
                    if entry & PAGEMAP_EXCLUSIVE:
                        exclusive.add((p, v))
        flags = {pfn: self.flags(pfn) for pfn in set(pages.values())}
        for pfn, bits in flags.items():
            if bits & (1 << KPF_COMPOUND_HEAD | 1 << KPF_COMPOUND_TAIL | 1 << KPF_THP
                       | 1 << KPF_HUGE):
                raise KernelUnsuitable(
                    f"PFN {pfn} is part of a large folio although transparent huge pages are "
                    "off for the driven processes, so one fault maps several pages and the "
                    "model's pages are not the kernel's")
        if any(pfn == 0 for pfn in pages.values()):
            raise KernelUnsuitable("/proc/PID/pagemap shows present pages without their page "
                                   "frame numbers (a reader without CAP_SYS_ADMIN sees 0)")
        counts = {pfn: self.mapcount(pfn) for pfn in flags} if has("page_mapcount") else None
        vmas = None
        if has("vma_end"):
            vmas = {p: found for p, proc in procs.items() if (found := self.vmas(proc.pid))}
        zero = (frozenset(key for key, pfn in pages.items()
                          if flags[pfn] & 1 << KPF_ZERO_PAGE)
                if has("zero_page") else None)
        return Seen(frozenset(procs), pages, counts, vmas, zero,
                    frozenset(exclusive) if has("exclusive") else None)
