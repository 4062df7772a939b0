"""What breadth-first and depth-first search share: checking properties on new
states, recording the first violation of each, limits, progress, and turning
the compact search records back into concrete traces.

**Stored per state.** The visited set holds each canonical state once, as the
packed integer of ``encode`` (typically 20-40 bytes of payload). States are
numbered in discovery order; two parallel ``array('i')`` hold, per number, the
parent's number and the action instance (``iid``) that led from the parent's
representative to this state: 8 bytes. No state tuple is kept.

**Traces.** A trace is rebuilt from the parent links by re-running the
recorded action instances from the representative of the initial state (which
reproduces the representatives the search saw), and then, from the concrete
initial state, picking at each step a successor whose canonical form is the
next representative. With symmetry on, the concrete trace may permute the ids
of the search's representatives, but it is a real run of the machine: every
step is an enabled action instance and every state is exactly its result.

**Coverage.** A run counts into ``machine.counts`` (reset when it starts):
per action instance the successors computed and the new states among them,
and what the compiled code's coverage marks counted; rebuilding a trace is
no step of the search and counts nothing (``Machine.paused``). ``result``
turns the counts into the result's ``Coverage``. Where the machine marks
everything (``--coverage``), the properties of a new state are checked on
its canonical representative, as the native engine checks them, so that the
counts inside the properties are the same in both engines.

**Multiprocessing (later).** The packed keys are deterministic integers, so a
frontier can be split between processes by ``key % workers`` with each process
owning the visited set of its share; nothing here depends on Python's string
hashing.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import time
from array import array
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from rmapcheck import activity
from rmapcheck.core.coverage import summarize
from rmapcheck.errors import InternalError, SpecRuntimeError
from rmapcheck.explicit.machine import Machine, TracedRuntimeError
from rmapcheck.explicit.symmetry import SymmetryBroken
from rmapcheck.limits import SearchLimits
from rmapcheck.trace import Bound, Holds, Result, Stats, Step, Trace, Unknown, Verdict, Violated

State = tuple[Any, ...]

PROGRESS_SECONDS = 0.5
CHECK_EVERY = 64  # expansions between clock readings


def rss_bytes() -> int:
    """Resident memory now (Linux /proc), else the peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


class Stop(Exception):
    """Ends a search early; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Run:
    """The state of one search: property verdicts so far, parent links, limits."""

    def __init__(self, machine: Machine, engine: str, limits: SearchLimits) -> None:
        self.machine = machine
        self.model = model = machine.model
        self.engine = engine
        self.symmetry = limits.symmetry and machine.canonicalizer is not None
        self.key: Callable[[State], int] = machine.key if self.symmetry else machine.codec.pack
        self.max_states = limits.max_states
        self.max_memory = limits.max_memory
        self.progress = limits.progress
        self.stop_at_first = limits.stop_at_first
        self.start = time.monotonic()
        timeout = limits.timeout
        self.deadline = self.start + timeout if timeout is not None else None
        self.next_tick = self.start  # the first tick reports (and checks memory) at once
        self.ticks = 0
        self.transitions = 0
        self.depth = 0  # deepest state discovered
        self.parents = array("i")
        self.via = array("i")

        properties = limits.properties
        wanted = set(properties) if properties is not None else None
        assert_names: list[str] = []
        for stmt in machine.asserts:
            if stmt.name not in assert_names and stmt.name not in {p.name for p in
                                                                   model.properties}:
                assert_names.append(stmt.name)
        self.order = [p.name for p in model.properties] + assert_names
        if wanted is not None:
            unknown = wanted - set(self.order)
            if unknown:
                raise KeyError(f"no property or assertion named {', '.join(sorted(unknown))}")
            self.order = [n for n in self.order if n in wanted]
        checked = set(self.order)
        self.invariants: list[tuple[str, Callable[[State], Any]]] = [
            (p.name, machine.props[p.name]) for p in model.invariants if p.name in checked]
        self.witnesses: list[tuple[str, Callable[[State], Any]]] = [
            (p.name, machine.props[p.name]) for p in model.witnesses if p.name in checked]
        self.assert_names = {i: a.name for i, a in enumerate(machine.asserts)
                             if a.name in checked}
        self.violations: dict[str, Verdict] = {}
        self.witnessed: dict[str, int] = {}  # sometimes property -> state number
        self.pending = len(self.order)
        self.stopped: str | None = None
        self.interrupted = False
        self.counts = machine.counts
        self.counts.reset()
        self.per_state = machine.core.coverage
        if self.per_state:
            # Only --coverage counts per state: the default check stays one plain call.
            self.check_state = self._check_state_counted  # type: ignore[method-assign]
        # The representative is what the native engine checks: see the module docstring.
        self.check_canonical = self.per_state and self.symmetry

    # ------------------------------------------------------------ recording

    def add_root(self) -> None:
        self.parents.append(-1)
        self.via.append(-1)

    def add(self, parent: int, iid: int) -> int:
        self.parents.append(parent)
        self.via.append(iid)
        return len(self.parents) - 1

    @property
    def done(self) -> bool:
        """Every property is decided, or the first violation ends the search."""
        if self.stop_at_first and self.violations:
            return True
        return bool(self.order) and self.pending == 0

    def _check_state_counted(self, sid: int, state: State) -> None:
        """``check_state``, and the antecedents it reached counted for this state."""
        before = self.counts.snapshot()
        try:
            Run.check_state(self, sid, state)
        finally:
            self.counts.count_states(before)

    def check_state(self, sid: int, state: State) -> None:
        """Properties on a newly discovered state (its number is ``sid``)."""
        try:
            for name, holds in self.invariants:
                if not holds(state):
                    self._violated(name, Violated(self.trace_to(sid), ""), sid)
            for name, holds in self.witnesses:
                if holds(state):
                    self.witnessed[name] = sid
                    self.witnesses = [w for w in self.witnesses if w[0] != name]
                    self.pending -= 1
        except SpecRuntimeError as error:
            if isinstance(error, TracedRuntimeError):
                raise
            raise TracedRuntimeError(error, self.trace_to(sid), None, ()) from None

    def record_checks(self, sid: int, failed: list[str], witnessed: list[str]) -> None:
        """Property results for state ``sid`` computed elsewhere (a worker)."""
        for name in failed:
            if any(n == name for n, _ in self.invariants):
                self._violated(name, Violated(self.trace_to(sid), ""), sid)
        for name in witnessed:
            if any(n == name for n, _ in self.witnesses):
                self.witnessed[name] = sid
                self.witnesses = [w for w in self.witnesses if w[0] != name]
                self.pending -= 1

    def _violated(self, name: str, verdict: Violated, sid: int) -> None:
        detail = verdict.detail
        if not detail and name in self.machine.props:
            detail = self.machine.explain(name, verdict.trace.last)
        self.violations[name] = Violated(verdict.trace, detail)
        self.invariants = [i for i in self.invariants if i[0] != name]
        self.assert_names = {i: n for i, n in self.assert_names.items() if n != name}
        self.pending -= 1

    def check_transition(self, sid: int, iid: int, failed: tuple[int, ...]) -> None:
        """Assertions violated by the step ``iid`` from state ``sid``."""
        for index in failed:
            name = self.assert_names.get(index)
            if name is None:
                continue
            stmt = self.machine.asserts[index]
            trace = self.trace_to(sid, final=(iid, index))
            last = trace.steps[-1]
            shown = ", ".join(f"{n.split('#')[0]}={v}" for n, v in last.args)
            detail = f"assertion {name} fails in {last.action}({shown})"
            if stmt.doc:
                detail += f": {stmt.doc}"
            self._violated(name, Violated(trace, detail), sid)

    @contextlib.contextmanager
    def searching(self) -> Iterator[None]:
        """Ends the search at a ``Stop`` (saying why) or at Ctrl-C."""
        try:
            yield
        except Stop as stop:
            self.stopped = stop.reason
        except KeyboardInterrupt:
            self.interrupted = True
            self.stopped = "interrupted"

    def begin(self, initial: State, states: int) -> None:
        """Checks the initial state (``states``: how many the search holds);
        raises ``Stop`` when that already ends the search."""
        self.check_initial()
        self.check_state(0, initial)
        if self.done:
            raise Stop(done_reason(self))
        if self.max_states is not None and states >= self.max_states:
            raise Stop(f"state limit of {self.max_states:,} reached")

    def check_initial(self) -> None:
        for stmt in self.machine.init_failures:
            if stmt.name in self.order and stmt.name not in self.violations:
                trace = Trace(self.machine.initial_state())
                self._violated(stmt.name, Violated(trace, f"assertion {stmt.name} fails in "
                                                   "the init block"), 0)

    def runtime_error(self, error: SpecRuntimeError, sid: int) -> TracedRuntimeError:
        """``error`` raised while expanding state ``sid``, with the concrete trace
        to that state and the action instance that raises it there."""
        if isinstance(error, TracedRuntimeError):
            return error
        trace = self.trace_to(sid)
        for iid in range(len(self.machine.instances)):
            try:
                self.machine.run(trace.last, iid)
            except SpecRuntimeError as again:
                if again.span == error.span and again.message == error.message:
                    name, args = self.machine.describe(iid)
                    return TracedRuntimeError(again, trace, name, args)
        for iid in range(len(self.machine.instances)):
            try:
                self.machine.run(trace.last, iid)
            except SpecRuntimeError as again:
                name, args = self.machine.describe(iid)
                return TracedRuntimeError(again, trace, name, args)
        return TracedRuntimeError(error, trace, None, ())

    # ------------------------------------------------------------ limits

    def tick(self, states: int, depth: int, queue: int | None = None) -> None:
        """Called every few expansions: progress, time and memory limits.
        ``queue``: the states found but not expanded yet, where the engine
        knows it."""
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            raise Stop(f"time limit of {now - self.start:.0f} s reached")
        if now < self.next_tick:
            return
        self.next_tick = now + PROGRESS_SECONDS
        rss = rss_bytes()
        rate = states / max(now - self.start, 1e-9)
        activity.note_search(states, depth, rate, queue, rss)
        if self.progress is not None:
            self.progress(states, depth, rate, rss)
        if self.max_memory is not None and rss >= self.max_memory:
            raise Stop(f"memory limit of {self.max_memory / 2**20:,.0f} MiB reached "
                       f"({rss / 2**20:,.0f} MiB resident)")

    # ------------------------------------------------------------ traces

    def path(self, sid: int) -> list[int]:
        """The action instances from the initial state to state ``sid``."""
        iids = []
        while self.parents[sid] >= 0:
            iids.append(self.via[sid])
            sid = self.parents[sid]
        iids.reverse()
        return iids

    def trace_to(self, sid: int, final: tuple[int, int] | None = None) -> Trace:
        """The concrete trace to state ``sid``; with ``final = (iid, assert
        index)``, one more step that violates that assertion."""
        with self.machine.paused():
            return concretize(self.machine, self.key, self.path(sid), final)

    # ------------------------------------------------------------ result

    def result(self, states: int, complete: bool, depth: int | None,
               interrupted: bool = False) -> Result:
        consts = tuple(sorted(self.machine.instance.consts.items()))
        bound = Bound(self.engine, states, depth, complete, consts)
        coverage = summarize(self.machine.core, self.counts, checked=self.order, states=states,
                             complete=complete, stopped=self.stopped,
                             per_state=self.per_state)
        verdicts: list[tuple[str, Verdict]] = []
        for name in self.order:
            if name in self.violations:
                verdicts.append((name, self.violations[name]))
                continue
            is_witness = any(p.name == name for p in self.model.witnesses)
            if interrupted and not (is_witness and name in self.witnessed):
                where = f"depth {depth}" if depth is not None else "an incomplete depth"
                verdicts.append((name, Unknown(f"interrupted after {states:,} states, {where}")))
            elif is_witness and name not in self.witnessed:
                if complete:
                    trace = Trace(self.machine.initial_state())
                    verdicts.append((name, Violated(trace, "no reachable state satisfies it")))
                else:
                    verdicts.append((name, Unknown(f"no witness found within {bound.describe()}"
                                                   + (f" ({self.stopped})" if self.stopped
                                                      else ""))))
            else:
                verdicts.append((name, Holds(bound)))
        seconds = time.monotonic() - self.start
        extra: list[tuple[str, Any]] = [
            ("symmetry", tuple(s.name for s in self.machine.symmetric_sorts)
             if self.symmetry else ()),
            ("states_per_second", states / seconds if seconds > 0 else 0.0),
            ("packed_bits", self.machine.codec.bits),
        ]
        if self.machine.symmetry_notes:
            extra.append(("symmetry_notes", tuple(self.machine.symmetry_notes)))
        if self.stopped:
            extra.append(("stopped", self.stopped))
        if interrupted:
            extra.append(("interrupted", True))
        if self.witnessed:
            extra.append(("witnesses", tuple((name, self.trace_to(sid))
                                             for name, sid in self.witnessed.items())))
        stats = Stats(states=states, transitions=self.transitions, depth=self.depth,
                      seconds=seconds, peak_memory=peak_rss_bytes(), extra=tuple(extra))
        return Result(self.model.name, self.engine, tuple(verdicts), stats, consts, coverage)


def concretize(machine: Machine, key: Callable[[State], Any], iids: list[int],
               final: tuple[int, int] | None = None,
               representative: Callable[[State], State] | None = None) -> Trace:
    """A concrete trace following the representatives the search reached
    through ``iids`` (see the module docstring). ``representative``: the
    representative of a state's class, when the search did not take it from
    ``key`` (the cluster's native step keys states by its own canonical form)."""
    initial = machine.initial_state()
    rep = representative(initial) if representative else machine.state_of(key(initial))
    targets: list[Any] = []
    for iid in iids:
        result = machine.run(rep, iid)
        if result is None:
            raise InternalError(f"rebuilding a trace: step {len(targets) + 1} "
                                f"({machine.describe(iid)[0]}) is not enabled on the "
                                "representative it was recorded from")
        targets.append(key(result[0]))
        rep = representative(result[0]) if representative else machine.state_of(targets[-1])
    state = initial
    steps: list[Step] = []
    for n, (iid, target) in enumerate(zip(iids, targets, strict=True)):
        chosen = _matching_step(machine, key, state, iid, target, None)
        if chosen is None:
            raise InternalError(f"rebuilding a trace: no step from the concrete state "
                                f"{n} reaches the recorded state {n + 1}")
        chosen_iid, state = chosen
        name, args = machine.describe(chosen_iid)
        steps.append(Step(name, args, state, machine.action_of(chosen_iid).span))
    if final is not None:
        iid, index = final
        # The failing step: an instance from the concrete last state that
        # violates the same assertion and leads to a symmetric state.
        result = machine.run(rep, iid)
        assert result is not None
        target = key(result[0])
        chosen = _matching_step(machine, key, state, iid, target, index)
        if chosen is None:
            raise InternalError("rebuilding a trace: no step from the concrete last state "
                                "violates the recorded assertion")
        chosen_iid, state = chosen
        name, args = machine.describe(chosen_iid)
        steps.append(Step(name, args, state, machine.action_of(chosen_iid).span))
    return Trace(initial, tuple(steps))


def _matching_step(machine: Machine, key: Callable[[State], Any], state: State, iid: int,
                   target: Any, assert_index: int | None) -> tuple[int, State] | None:
    """An action instance from ``state`` whose result has canonical form
    ``target`` (and violates assertion ``assert_index``, when given); the
    recorded instance ``iid`` first, as it is the one without symmetry."""
    result = machine.run(state, iid)
    if result is not None and key(result[0]) == target and (
            assert_index is None or assert_index in result[1]):
        return iid, result[0]
    for other, nxt, failed in machine.expand(state):
        if key(nxt) == target and (assert_index is None or assert_index in failed):
            return other, nxt
    return None


def done_reason(run: Run) -> str:
    if run.stop_at_first and run.violations:
        return "stopped at the first violation"
    return "every property is decided"


def restarting(machine: Machine, limits: SearchLimits,
               attempt: Callable[[SearchLimits], Result]) -> Result:
    """Runs ``attempt`` (with ``limits``, its timeout the time left) with the
    symmetry checks on; when one finds the model treating a reduced sort's
    values differently, the sort is left out of the reduction and the search
    starts again (the note says why)."""
    start = time.monotonic()
    restarts = 0
    timeout = limits.timeout
    while True:
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - start))
        try:
            with machine.guarded(limits.symmetry):
                result = attempt(attrs.evolve(limits, timeout=left))
        except SymmetryBroken as broken:
            machine.exclude(broken.note)
            restarts += 1
            continue
        if restarts:
            extra = result.stats.extra + (("symmetry_restarts", restarts),)
            result = attrs.evolve(result, stats=attrs.evolve(
                result.stats, seconds=time.monotonic() - start, extra=extra))
        return result
