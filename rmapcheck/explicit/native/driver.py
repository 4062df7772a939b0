"""The Python side of the native engine: builds an instance's library, runs the
breadth-first search in C in slices, and turns what it found into the same
``Result`` the Python engine (``rmapcheck.explicit.bfs``) returns.

The C search mirrors bfs.py step for step (levels, limits, the order in which
successors are checked, what ends the search), and records violations and
witnesses as events: (property, state number, action instance). Traces are
rebuilt here from the parent links the C side keeps, by re-running the
recorded action instances on the Python machine from C's canonical
representatives (``search.concretize`` with C's canonical form as the key),
so every trace shown is a real run of the reference semantics. A run-time
error is reproduced on the Python machine from the state where C met it; one
the machine does not reproduce is an ``InternalError``. What the C search
counted for coverage (per thread, summed when its threads stop) is added to
the machine's counts, which hold what Python counted (the initial state's
properties), before the result is made.
"""

from __future__ import annotations

import ctypes
import os
import time
import weakref
from collections.abc import Collection
from typing import Any

import attrs

from rmapcheck import ir
from rmapcheck.core.faults import fault_error
from rmapcheck.core.symmetry_rules import SymmetryNote
from rmapcheck.errors import InternalError, SpecRuntimeError
from rmapcheck.explicit.machine import Machine, TracedRuntimeError
from rmapcheck.explicit.native.c_emit import CEmitter
from rmapcheck.explicit.native.c_layout import Unsupported
from rmapcheck.explicit.native.loader import CompileError, Library, assemble, build, compiler
from rmapcheck.explicit.search import Run, Stop, restarting, rss_bytes
from rmapcheck.explicit.symmetry import SymmetryBroken
from rmapcheck.limits import DEFAULT_LIMITS, SearchLimits
from rmapcheck.trace import Result

ENGINE = "native-bfs"

ST_COMPLETE, ST_PAUSED, ST_TIMEOUT, ST_DONE, ST_MAXSTATES, ST_MAXDEPTH, ST_FAULT, \
    ST_BROKEN, ST_OVERFLOW, ST_NOMEM, ST_MEMLIMIT = range(11)
EV_INVARIANT, EV_WITNESS, EV_ASSERT = 1, 2, 3
PAUSE_SECONDS = 0.1


def default_workers() -> int:
    """Threads for the search: the processors this process may use, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 4))


def available() -> bool:
    """Whether a C compiler is there (else the Python engine must be used)."""
    return compiler() is not None


class NativeInstance:
    """The compiled C of one machine's instance."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        model = machine.model
        comp = machine.compiler
        self.sym_sorts = [s for s in model.sorts if s in comp.symmetric]
        start = time.monotonic()
        gen = CEmitter(machine.core, self.sym_sorts)
        defines, code = gen.generate()
        self.generate_seconds = time.monotonic() - start
        if gen.instances != machine.instances:
            raise InternalError("native engine: action instances numbered differently")
        self.gen = gen
        self.layout = gen.layout
        self.source = assemble(defines, code)
        self.library: Library = build(self.source)
        self.lib = self.lib_handle = self.library.lib
        self.slot_ctype = {1: ctypes.c_uint8, 2: ctypes.c_uint16,
                           4: ctypes.c_uint32}[self.layout.slot_bytes]
        self.state_type = self.slot_ctype * max(self.layout.n, 1)
        self.n_asserts = int(self.lib.rc_info(4))

    # ------------------------------------------------------------ states

    def encode(self, state: tuple[Any, ...]) -> Any:
        return self.state_type(*self.layout.encode(state))

    def decode(self, buf: Any) -> tuple[Any, ...]:
        return self.layout.decode(list(buf)[:self.layout.n])

    def active_mask(self, sorts: Collection[ir.RangeSort]) -> int:
        mask = 0
        for a, s in enumerate(self.sym_sorts):
            if s in sorts:
                mask |= 1 << a
        return mask

    def new_ctx(self, active: int, guard_on: bool) -> int:
        ctx = self.lib.rc_new()
        if not ctx:
            raise MemoryError("native engine: out of memory")
        self.lib.rc_set_symmetry(ctx, active, int(guard_on))
        return ctx

    def canonical(self, ctx: int, state: tuple[Any, ...]) -> tuple[Any, ...]:
        out = self.state_type()
        self.lib.rc_canonical(ctx, self.encode(state), out)
        return self.decode(out)

    def path(self, ctx: int, sid: int) -> list[int]:
        n = self.lib.rc_path(ctx, sid, None, 0)
        buf = (ctypes.c_uint32 * max(n, 1))()
        self.lib.rc_path(ctx, sid, buf, n)
        return list(buf[:n])

    def expand(self, ctx: int, state: tuple[Any, ...]) -> list[tuple[int, tuple[Any, ...],
                                                                    tuple[int, ...]]]:
        """Successors of ``state`` as ``Machine.expand`` gives them (for tests)."""
        n_iids = len(self.machine.instances)
        iids = (ctypes.c_uint32 * max(n_iids, 1))()
        states = (self.slot_ctype * (max(n_iids, 1) * max(self.layout.n, 1)))()
        width = self.n_asserts + 1
        failed = (ctypes.c_int32 * (max(n_iids, 1) * width))()
        n = self.lib.rc_expand(ctx, self.encode(state), iids, states, failed)
        if n < 0:
            raise NativeStatus(-n, ctx)
        out = []
        slots = self.layout.n
        for k in range(n):
            nf = failed[k * width]
            # a slice of a ctypes array of a simple type is a list of ints, not of
            # _SimpleCData as typeshed has it
            codes = states[k * slots:(k + 1) * slots]
            out.append((iids[k], self.layout.decode(codes),  # type: ignore[arg-type]
                        tuple(failed[k * width + 1:k * width + 1 + nf])))
        return out

    def coverage(self, ctx: int) -> tuple[list[int], list[int], list[int], list[int]]:
        """What the search counted: marks per coverage site, successors and new
        states per action instance, states per antecedent site."""
        core = self.machine.core
        arrays = [(ctypes.c_uint64 * max(n, 1))() for n in (
            len(core.coverage_sites), core.num_instances, core.num_instances,
            len(core.antecedents))]
        self.lib.rc_coverage(ctx, *arrays)
        marks, enabled, fresh, ante = (list(a) for a in arrays)
        states = [0] * len(core.coverage_sites)
        for j, site in enumerate(core.antecedents.values()):
            states[site] = ante[j]
        return marks[:len(core.coverage_sites)], enabled[:core.num_instances], \
            fresh[:core.num_instances], states

    def prop(self, ctx: int, index: int, state: tuple[Any, ...]) -> bool:
        r = self.lib.rc_prop(ctx, index, self.encode(state))
        if r < 0:
            raise NativeStatus(-r, ctx)
        return bool(r)

    # ------------------------------------------------------------ messages

    def fault_error(self, site: int, value: int, ctx: int | None = None) -> SpecRuntimeError:
        """The error of the core's fault ``site`` for ``value``; with ``ctx``,
        at the state location whose keys the C code recorded there."""
        f = self.gen.faults[site]
        shown = None if (not f.shows_value or value == -(1 << 63)) else value
        keys: list[Any] = []
        if ctx is not None:
            stat = self.lib.rc_stat
            keys = [stat(ctx, 32 + i) for i in range(stat(ctx, 27))]
        return fault_error(self.machine.instance, f, shown, keys)

    def broken_note(self, ctx: int) -> SymmetryNote:
        stat = self.lib.rc_stat
        kind = stat(ctx, 13)
        if kind == 1:
            site = self.gen.chooses[stat(ctx, 14)]
            lo = self.layout.lo(site.sort)
            x, y = stat(ctx, 15) + lo, stat(ctx, 16) + lo
            if stat(ctx, 17):
                error = self.fault_error(stat(ctx, 18), stat(ctx, 19))
                return SymmetryNote(
                    site.sort.name, f"choose picks the least {site.sort.name}, and another "
                    f"value it could pick ({y}) is not interchangeable with it here: the "
                    f"condition is an error for it ({error.message})", site.span)
            return SymmetryNote(
                site.sort.name, f"choose picks the least {site.sort.name} ({x}), and "
                f"another value it could pick ({y}) is not interchangeable with it here",
                site.span)
        a, srt = stat(ctx, 20), stat(ctx, 21)
        sort = self.sym_sorts[srt]
        span = next(sp for s, sp in self.gen.order_checks[a] if s == srt)
        action = self.machine.model.actions[a].name
        return SymmetryNote(sort.name, f"the result of {action} depends on the order in which "
                            f"its loop visits the interchangeable {sort.name} values", span)


class NativeStatus(Exception):
    """The C side stopped a single expansion (tests): a fault, overflow or a
    broken symmetry check."""

    def __init__(self, status: int, ctx: int) -> None:
        super().__init__(f"native status {status}")
        self.status = status
        self.ctx = ctx


_INSTANCES: weakref.WeakKeyDictionary[Machine, NativeInstance] = weakref.WeakKeyDictionary()


def prepare(machine: Machine) -> NativeInstance:
    """The compiled instance of ``machine`` (built once per machine)."""
    native = _INSTANCES.get(machine)
    if native is None:
        native = NativeInstance(machine)
        _INSTANCES[machine] = native
    return native


class _NativeRun(Run):
    """``Run`` whose parent links live in the C search."""

    native: NativeInstance
    ctx: int

    def path(self, sid: int) -> list[int]:
        return self.native.path(self.ctx, sid)


def search(machine: Machine, limits: SearchLimits = DEFAULT_LIMITS, *,
           fallback: bool = True) -> Result:
    """Breadth-first search in C, with the semantics, limits and verdicts of
    ``rmapcheck.explicit.bfs.search`` (engine ``native-bfs``); ``limits.workers``
    threads (None: ``default_workers()``). When the model uses something the
    native engine does not compile (or no C compiler is found) and
    ``fallback`` is true, the Python engine runs instead and the result says
    why (``native_fallback`` in its statistics)."""
    start = time.monotonic()
    try:
        if not available():
            raise Unsupported("no C compiler found (set CC)")
        native = prepare(machine)
    except (Unsupported, CompileError) as reason:
        if not fallback:
            raise
        return _fallback(machine, str(reason), limits)
    build_seconds = time.monotonic() - start
    timeout = limits.timeout
    left = None if timeout is None else max(0.0, timeout - build_seconds)
    try:
        threads = default_workers() if limits.workers is None else max(1, limits.workers)
        result = restarting(machine, attrs.evolve(limits, timeout=left),
                            lambda remaining: _attempt(machine, native, remaining, threads))
    except Unsupported as reason:
        if not fallback:
            raise
        return _fallback(machine, str(reason), attrs.evolve(limits, timeout=left))
    extra = result.stats.extra + (
        ("native_compile_seconds", native.library.compile_seconds),
        ("native_generate_seconds", native.generate_seconds),
        ("native_cached", native.library.cached),
    )
    stats = attrs.evolve(result.stats, seconds=time.monotonic() - start, extra=extra)
    return attrs.evolve(result, stats=stats)


def _fallback(machine: Machine, reason: str, limits: SearchLimits) -> Result:
    from rmapcheck.explicit import bfs

    # ``workers`` counts the native engine's threads, not processes the Python
    # engine should fork: the fallback runs on one process.
    result = bfs.search(machine, attrs.evolve(limits, workers=None))
    extra = result.stats.extra + (("native_fallback", reason),)
    return attrs.evolve(result, stats=attrs.evolve(result.stats, extra=extra))


def _attempt(machine: Machine, native: NativeInstance, limits: SearchLimits,
             workers: int) -> Result:
    run = _NativeRun(machine, ENGINE, limits)
    lib = native.lib
    active = native.active_mask(machine.symmetric_sorts) if run.symmetry else 0
    ctx = native.new_ctx(active, machine.guard.enabled and bool(active))
    lib.rc_set_workers(ctx, workers)
    lib.rc_set_coverage(ctx, int(machine.core.coverage))
    run.native = native
    run.ctx = ctx
    codec = machine.codec
    if active:
        def key(state: tuple[Any, ...]) -> int:
            return codec.pack(native.canonical(ctx, state))  # type: ignore[no-any-return]
        run.key = key
    else:
        run.key = codec.pack
    try:
        return _run(run, native, ctx, limits.max_states, limits.max_depth)
    finally:
        lib.rc_free(ctx)


def _run(run: _NativeRun, native: NativeInstance, ctx: int, max_states: int | None,
         max_depth: int | None) -> Result:
    machine = run.machine
    lib = native.lib
    stat = lib.rc_stat
    initial = machine.initial_state()
    if lib.rc_start(ctx, native.encode(initial)) != 0:
        raise MemoryError("native engine: out of memory")
    complete = interrupted = False
    seen_events = 0

    def harvest() -> None:
        nonlocal seen_events
        n = stat(ctx, 5)
        buf = (ctypes.c_int64 * 5)()
        while seen_events < n:
            lib.rc_event(ctx, seen_events, buf)
            seen_events += 1
            kind, name_id, sid, iid, aidx = list(buf)
            name = run.order[name_id]
            if kind == EV_INVARIANT:
                run._violated(name, _violated(run.trace_to(sid)), sid)
            elif kind == EV_ASSERT:
                run.check_transition(sid, iid, (aidx,))
                if name not in run.violations:
                    raise InternalError(f"native engine: assertion {name} reported failed "
                                        "but the Python machine does not confirm it")
            else:
                run.witnessed[name] = sid
                run.witnesses = [w for w in run.witnesses if w[0] != name]
                run.pending -= 1

    try:
        run.check_initial()
        run.check_state(0, initial)
        if run.done:
            raise Stop(_done_reason(run))
        if max_states is not None and max_states <= 1:
            raise Stop(f"state limit of {max_states:,} reached")
        _configure(run, native, ctx, max_states, max_depth)
        while True:
            status = lib.rc_run(ctx)
            harvest()
            if status in (ST_PAUSED, ST_TIMEOUT):
                run.tick(stat(ctx, 0), stat(ctx, 2), stat(ctx, 0) - stat(ctx, 1))
                continue
            if status == ST_COMPLETE:
                complete = True
                break
            if status == ST_DONE:
                raise Stop(_done_reason(run))
            if status == ST_MAXSTATES:
                raise Stop(f"state limit of {max_states:,} reached")
            if status == ST_MAXDEPTH:
                raise Stop(f"depth limit of {max_depth} reached")
            if status == ST_FAULT:
                raise _runtime_error(run, native, ctx)
            if status == ST_BROKEN:
                raise SymmetryBroken(native.broken_note(ctx))
            if status == ST_OVERFLOW:
                raise Unsupported("an integer overflowed 64 bits in the native engine")
            if status == ST_NOMEM:
                raise Stop("out of memory in the native engine")
            if status == ST_MEMLIMIT:
                assert run.max_memory is not None
                raise Stop(f"memory limit of {run.max_memory / 2**20:,.0f} MiB reached "
                           "(the next block of states would pass it)")
            raise InternalError(f"native engine: unknown status {status}")
    except Stop as stop:
        run.stopped = stop.reason
    except KeyboardInterrupt:
        interrupted = True
        run.stopped = "interrupted"
    count, depth, next_level = stat(ctx, 0), stat(ctx, 2), stat(ctx, 3)
    run.transitions = stat(ctx, 4)
    marks, enabled, fresh, states = native.coverage(ctx)
    run.counts.add(marks, states)
    run.counts.enabled[:] = enabled
    run.counts.fresh[:] = fresh
    run.depth = depth + (1 if count > next_level else 0)
    result = run.result(count, complete, depth, interrupted)
    table_bytes = stat(ctx, 6)
    per_state = native.layout.packed_bytes + 8 + (table_bytes / count if count else 0)
    extra = result.stats.extra + (
        ("bytes_per_state", round(per_state, 1)),
        ("packed_bytes", native.layout.packed_bytes),
        ("canonical_images", stat(ctx, 22)),
        ("concrete_hits", stat(ctx, 25)),
        ("workers", stat(ctx, 26)),
    )
    return attrs.evolve(result, stats=attrs.evolve(result.stats, extra=extra))


def _violated(trace: Any) -> Any:
    from rmapcheck.trace import Violated

    return Violated(trace, "")


def _done_reason(run: Run) -> str:
    if run.stop_at_first and run.violations:
        return "stopped at the first violation"
    return "every property is decided"


def _configure(run: Run, native: NativeInstance, ctx: int, max_states: int | None,
               max_depth: int | None) -> None:
    """Hands the properties still to decide, and the limits, to the C search."""
    lib = native.lib
    machine = run.machine
    names = {name: k for k, name in enumerate(run.order)}
    prop_index = {p.name: k for k, p in enumerate(machine.model.properties)}
    inv = [(prop_index[n], names[n]) for n, _ in run.invariants]
    wit = [(prop_index[n], names[n]) for n, _ in run.witnesses]
    assert_name = [-1] * native.n_asserts
    for index, name in run.assert_names.items():
        assert_name[index] = names[name]
    decided = bytes(1 if (n in run.violations or n in run.witnessed) else 0 for n in run.order)

    def ints(values: list[int]) -> Any:
        return (ctypes.c_int * max(len(values), 1))(*values)

    ok = lib.rc_set_props(ctx, len(inv), ints([p for p, _ in inv]), ints([n for _, n in inv]),
                          len(wit), ints([p for p, _ in wit]), ints([n for _, n in wit]),
                          ints(assert_name), len(run.order), decided or b"\0", run.pending,
                          len(run.violations), int(run.stop_at_first), len(run.order))
    if not ok:
        raise MemoryError("native engine: out of memory")
    if run.max_memory is not None:
        # What the states and the table may take: the limit less what this
        # process holds besides them (Python, the compiled model).
        lib.rc_set_memory(ctx, max(0, run.max_memory - rss_bytes()))
    deadline = run.deadline if run.deadline is not None else 0.0
    lib.rc_set_limits(ctx, -1 if max_states is None else max_states,
                      -1 if max_depth is None else max_depth, deadline, PAUSE_SECONDS)


def _runtime_error(run: Run, native: NativeInstance, ctx: int) -> TracedRuntimeError:
    """The run-time error the C search met, reproduced on the Python machine."""
    stat = native.lib.rc_stat
    machine = run.machine
    phase, sid, action = stat(ctx, 8), stat(ctx, 9), stat(ctx, 10)
    site = stat(ctx, 11)
    expected = native.fault_error(site, stat(ctx, 12), ctx)
    trace = run.trace_to(sid)
    state = trace.last
    with machine.guarded(False):
        if phase == 1:
            base = native.gen.action_base[action]
            end = native.gen.action_base[action + 1] if action + 1 < len(
                native.gen.action_base) else len(machine.instances)
            for iid in range(base, end):
                try:
                    machine.run(state, iid)
                except SpecRuntimeError as again:
                    if again.span != expected.span:
                        raise InternalError(
                            f"native engine: run-time error at {expected.span} "
                            f"({expected.message}), but the Python machine raises at "
                            f"{again.span} ({again.message})") from None
                    name, args = machine.describe(iid)
                    return TracedRuntimeError(again, trace, name, args)
        else:
            try:
                for _name, holds in list(run.invariants) + list(run.witnesses):
                    holds(state)
            except SpecRuntimeError as again:
                if again.span != expected.span:
                    raise InternalError(
                        f"native engine: run-time error at {expected.span} "
                        f"({expected.message}) in a property, but the Python machine raises "
                        f"at {again.span} ({again.message})") from None
                return TracedRuntimeError(again, trace, None, ())
    raise InternalError(f"native engine: run-time error at {expected.span} "
                        f"({expected.message}) that the Python machine does not reproduce")


__all__ = ["ENGINE", "NativeInstance", "Unsupported", "available", "prepare", "search"]
