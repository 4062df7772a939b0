"""A step of the model as the kernel operation its ``observe action`` names,
and that operation run on the driven processes.

The operation's arguments are the declaration's expressions evaluated in the
state before the step, over the step's arguments; so ``mremap(p, a,
vma[p, a].end - a, n, t)`` reads the VMA's end before the model moves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from attrs import frozen

from rmapcheck import ir
from rmapcheck.conform.driven_process import (
    F_GROWSDOWN,
    F_MOVE,
    F_WRITABLE,
    OP_EXPAND,
    OP_MMAP,
    OP_MPROTECT,
    OP_MREMAP,
    OP_MUNMAP,
    OP_PAGEOUT,
    OP_READ,
    OP_WRITE,
    Answer,
    DrivenProcess,
)
from rmapcheck.conform.kernel_view import KernelUnsuitable, KernelView, Window
from rmapcheck.conform.observation import PageAt, Seen
from rmapcheck.errors import SpecError, SpecRuntimeError
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend.observables import kernel_op

Args = tuple[tuple[str, Any], ...]


@frozen
class KernelCall:
    """A kernel operation with its arguments evaluated (by the operation's
    parameter names, in its order), for a step of ``action``."""

    action: str
    op: str
    args: tuple[tuple[str, Any], ...]
    span: ir.Span = attrs.field(default=ir.NOWHERE, eq=False)

    def arg(self, name: str) -> Any:
        return dict(self.args)[name]

    def describe(self, window: Window, name: Callable[[int], str]) -> str:
        """The system call as a kernel developer would write it; ``name``
        names a process."""
        a = dict(self.args)
        size = window.page_size

        def at(page: int) -> str:
            return hex(window.address(page))

        def prot(writable: bool) -> str:
            return "PROT_READ|PROT_WRITE" if writable else "PROT_READ"

        match self.op:
            case "mmap":
                extra = "|MAP_GROWSDOWN" if a["growsdown"] else ""
                return (f"{name(a['p'])}: mmap({at(a['start'])}, {a['pages'] * size}, "
                        f"{prot(a['writable'])}, MAP_PRIVATE|MAP_ANONYMOUS|"
                        f"MAP_FIXED_NOREPLACE{extra})")
            case "munmap":
                return f"{name(a['p'])}: munmap({at(a['start'])}, {a['pages'] * size})"
            case "mprotect":
                return (f"{name(a['p'])}: mprotect({at(a['start'])}, {a['pages'] * size}, "
                        f"{prot(a['writable'])})")
            case "mremap":
                moves = a["new"] != a["old"]
                flags = "MREMAP_MAYMOVE|MREMAP_FIXED" if moves else "0"
                tail = f", {at(a['new'])}" if moves else ""
                return (f"{name(a['p'])}: mremap({at(a['old'])}, {a['old_pages'] * size}, "
                        f"{a['new_pages'] * size}, {flags}{tail})")
            case "fork":
                return f"{name(a['parent'])}: fork() = {name(a['child'])}"
            case "exit":
                return f"{name(a['p'])}: _exit(0)"
            case "write":
                return f"{name(a['p'])}: store to {at(a['v'])}"
            case "read":
                return f"{name(a['p'])}: load from {at(a['v'])}"
            case "expand_stack":
                return (f"{name(a['p'])}: load from {at(a['v'])}, then madvise({at(a['v'])}, "
                        f"{size}, MADV_DONTNEED)")
            case "pageout":
                return f"madvise(MADV_PAGEOUT) of every page of frame {a['f']}"
        return f"{self.op}({', '.join(f'{k}={v}' for k, v in self.args)})"


def kernel_call(machine: Machine, mapping: ir.ObserveAction, state: tuple[Any, ...],
                args: Args) -> KernelCall:
    """The kernel operation of the step ``mapping.action(args)`` from ``state``."""
    op = kernel_op(mapping.op)
    assert op is not None
    # The failure parameter of an action with failpoints comes last, and no
    # observe action names it: the kernel's allocations are not made to fail.
    failure = machine.model.action(mapping.action).failure
    shown = args[:-1] if failure is not None else args
    bindings = {local.name: value for local, (_, value) in zip(mapping.params, shown,
                                                                  strict=True)}
    values = []
    for expr, (name, _) in zip(mapping.args, op.params, strict=True):
        try:
            values.append((name, machine.eval_expr(expr, state, bindings)))
        except SpecRuntimeError as err:
            raise SpecError(f"the kernel operation of {mapping.action} cannot be worked out: "
                            f"its argument {name} is {err.message}", mapping.span) from None
    return KernelCall(mapping.action, mapping.op, tuple(values), mapping.span)


class Kernel:
    """The driven processes of one run, by modelled process, and the
    operations run on them."""

    def __init__(self, zygote: DrivenProcess, view: KernelView,
                 name: Callable[[int], str]) -> None:
        self.zygote = zygote
        self.name = name
        self.view = view
        self.window = view.window
        self.procs: dict[int, DrivenProcess] = {}
        self._stores = 0

    def start(self, initial: Iterable[int]) -> None:
        """A fresh process, forked from the zygote, for each initial process."""
        for p in initial:
            child = self.zygote.fork()
            if isinstance(child, Answer):
                raise KernelUnsuitable(f"the zygote cannot fork: {child.describe()}")
            self.procs[p] = child

    def seen(self) -> Seen:
        return self.view.seen(self.procs)

    def stop(self) -> None:
        """Every process of the run exits (the zygote reaps the orphans)."""
        for proc in self.procs.values():
            proc.exit()
        self.procs.clear()

    def kill(self) -> None:
        for proc in self.procs.values():
            proc.kill()
        self.procs.clear()

    def _pages(self, call: KernelCall, start: int, count: int = 1) -> None:
        """The pages ``start`` to ``start + count`` are in the window: else the
        declaration maps the action outside what the model's pages are."""
        if start < 0 or count < 1 or start + count > self.window.pages:
            what = f"page {start}" if count == 1 else f"pages {start} .. {start + count - 1}"
            raise SpecError(f"the kernel operation of {call.action} reaches {what}, outside "
                            f"the window of pages 0 .. {self.window.pages - 1}", call.span)

    def _process(self, call: KernelCall, p: int) -> DrivenProcess | str:
        proc = self.procs.get(p)
        if proc is None:
            return f"{self.name(p)} has no driven process (it does not exist)"
        return proc

    def run(self, call: KernelCall, frame_pages: Callable[[int], list[PageAt]]) -> str | None:
        """Runs ``call``; None when the kernel did it, else what it said.
        ``frame_pages(f)``: where the model maps frame f before the step."""
        a: Mapping[str, Any] = dict(call.args)
        size = self.window.page_size
        if call.op == "fork":
            parent = self._process(call, a["parent"])
            if isinstance(parent, str):
                return parent
            if a["child"] in self.procs:
                return f"{self.name(a['child'])} exists already"
            child = parent.fork()
            if isinstance(child, Answer):
                return f"fork failed: {child.describe()}"
            self.procs[a["child"]] = child
            return None
        if call.op == "pageout":
            for p, v in frame_pages(a["f"]):
                proc = self._process(call, p)
                if isinstance(proc, str):
                    return proc
                answer = proc.call(OP_PAGEOUT, a=self.window.address(v))
                if answer.failed:
                    return f"madvise(MADV_PAGEOUT) failed: {answer.describe()}"
            return None
        proc = self._process(call, a["p"])
        if isinstance(proc, str):
            return proc
        match call.op:
            case "exit":
                proc.exit()
                del self.procs[a["p"]]
                return None
            case "mmap":
                self._pages(call, a["start"], a["pages"])
                flags = (F_WRITABLE if a["writable"] else 0) | \
                    (F_GROWSDOWN if a["growsdown"] else 0)
                answer = proc.call(OP_MMAP, flags, self.window.address(a["start"]),
                                   a["pages"] * size)
            case "munmap":
                self._pages(call, a["start"], a["pages"])
                answer = proc.call(OP_MUNMAP, 0, self.window.address(a["start"]),
                                   a["pages"] * size)
            case "mprotect":
                self._pages(call, a["start"], a["pages"])
                answer = proc.call(OP_MPROTECT, F_WRITABLE if a["writable"] else 0,
                                   self.window.address(a["start"]), a["pages"] * size)
            case "mremap":
                self._pages(call, a["old"], a["old_pages"])
                self._pages(call, a["new"], a["new_pages"])
                answer = proc.call(OP_MREMAP, F_MOVE if a["new"] != a["old"] else 0,
                                   self.window.address(a["old"]), a["old_pages"] * size,
                                   a["new_pages"] * size, self.window.address(a["new"]))
            case "write":
                self._pages(call, a["v"])
                self._stores += 1
                # A different byte each time: no two pages are ever alike, so
                # nothing that merges equal pages can tell on them.
                answer = proc.call(OP_WRITE, 0, self.window.address(a["v"]),
                                   self._stores % 255 + 1)
            case "read":
                self._pages(call, a["v"])
                answer = proc.call(OP_READ, 0, self.window.address(a["v"]))
            case "expand_stack":
                self._pages(call, a["v"])
                answer = proc.call(OP_EXPAND, 0, self.window.address(a["v"]))
            case _:
                raise AssertionError(call.op)
        if answer.failed:
            word = {"write": "the store", "read": "the load",
                    "expand_stack": "the access below the stack"}.get(call.op, call.op)
            return f"{word} failed: {answer.describe()}"
        return None
