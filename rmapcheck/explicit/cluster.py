"""Breadth-first search over a Dask cluster: the visited set partitioned by
state hash, level by level.

Each partition is a Dask actor on a worker: it compiles the model itself,
owns the states whose key hashes to it (its part of the visited set, and the
states of the current level it must expand), expands them, and checks the
properties of the new states it receives. The driver (this process) routes
each level's successors to their owners and keeps only what a trace needs:
the parent and the action of every state, in arrays.

The driver numbers the new states of a level in the order the one-machine
search would discover them, by (parent's number, position among the
parent's successors): each owner keeps, of the copies of a new state it is
sent, the one with the least such place. Events (a failed assertion on a
transition, a violated invariant on a new state) are taken in that order
too. So the states, their numbers, the verdicts and the counterexamples are
those of ``bfs.search``: the shortest, and the same one.

Dask rather than Ray: Dask's distributed scheduler is a pure-Python package
(pip installs it anywhere Python runs, and the package index of this machine
has it), its actors keep per-worker state across calls, which is what a
partition is, and ``LocalCluster`` starts worker processes on one machine in
a second or two, so CI can run the same code a cluster runs. Ray would bring
a large native runtime (raylet, object store) for no gain at this scale.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from rmapcheck import ir
from rmapcheck.errors import SpecError, SpecRuntimeError
from rmapcheck.explicit import native
from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.native.driver import NativeStatus
from rmapcheck.explicit.search import Run, Stop, done_reason
from rmapcheck.explicit.symmetry import SymmetryBroken, SymmetryNote
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.trace import Result, State

ENGINE = "cluster-bfs"

# (parent's number, position among its successors): where the one-machine
# search discovers a state.
Place = tuple[int, int]


class Partition:
    """One part of the search, on a worker: the states whose key hashes to
    ``index`` modulo ``count``."""

    def __init__(self, model: ir.Model, consts: dict[str, int], symmetry: bool,
                 excluded: list[SymmetryNote], index: int, count: int,
                 invariants: list[str], witnesses: list[str]) -> None:
        self.machine = Machine(Instance(model, consts), symmetry=symmetry)
        for note in excluded:
            if any(s.name == note.sort for s in self.machine.symmetric_sorts):
                self.machine.exclude(note)
        self.symmetry = symmetry and self.machine.canonicalizer is not None
        self.key = self.machine.key if self.symmetry else self.machine.codec.pack
        # The native engine's step where a C compiler is there: the actions
        # run in C; what it cannot say (a run-time error, a broken symmetry
        # check) the Python machine says, on the same state.
        self.native: Any = None
        self.ctx = 0
        if native.available():
            try:
                self.native = native.prepare(self.machine)
            except native.Unsupported:
                self.native = None  # a construct the C emitter does not take
            else:
                active = self.native.active_mask(self.machine.symmetric_sorts) \
                    if self.symmetry else 0
                self.ctx = self.native.new_ctx(active, self.symmetry)
        self.index, self.count = index, count
        self.invariants, self.witnesses = invariants, witnesses
        self.visited: set[int] = set()
        self.level: list[tuple[int, int]] = []  # (number, key) of the states to expand
        self.candidates: dict[int, tuple[Place, int]] = {}  # new key -> (place, iid)

    def seed(self, key: int) -> None:
        self.visited.add(key)
        self.level = [(0, key)]

    def _successors(self, state: State) -> list[tuple[int, State, tuple[int, ...]]]:
        if self.native is not None:
            try:
                return self.native.expand(self.ctx, state)  # type: ignore[no-any-return]
            except NativeStatus:
                pass
        return self.machine.expand(state)

    def expand(self) -> tuple[str, Any]:
        """The level's successors, grouped by owner, as (place, iid, key), and
        the failed assertions as (place, iid, failed)."""
        # Per owner, each successor once, at its least place: most successors
        # of a level are states reached before, or reached twice.
        routed: list[dict[int, tuple[Place, int]]] = [{} for _ in range(self.count)]
        failures: list[tuple[Place, int, tuple[int, ...]]] = []
        transitions = 0
        with self.machine.guarded(self.symmetry):
            for sid, k in self.level:
                try:
                    successors = self._successors(self.machine.state_of(k))
                except SpecRuntimeError as error:
                    return "error", (sid, error.message, error.span)
                except SymmetryBroken as broken:
                    return "broken", broken.note
                transitions += len(successors)
                for position, (iid, nxt, failed) in enumerate(successors):
                    try:
                        nk = self.key(nxt)
                    except SymmetryBroken as broken:
                        return "broken", broken.note
                    if failed:
                        failures.append(((sid, position), iid, failed))
                    owner = nk % self.count
                    if owner == self.index and nk in self.visited:
                        continue
                    batch = routed[owner]
                    if nk not in batch:  # the level's states come in order of place
                        batch[nk] = ((sid, position), iid)
        self.level = []
        return "ok", ([[(place, iid, k) for k, (place, iid) in batch.items()]
                       for batch in routed], failures, transitions)

    def offer(self, batches: list[list[tuple[Place, int, int]]]) -> None:
        """Successors this partition owns: the new ones kept, at their least place."""
        for batch in batches:
            for place, iid, k in batch:
                if k in self.visited:
                    continue
                held = self.candidates.get(k)
                if held is None or place < held[0]:
                    self.candidates[k] = (place, iid)

    def check(self) -> tuple[str, Any]:
        """The level's new states of this partition, with the invariants each
        violates and the witnesses it satisfies: (place, iid, key, failed, found)."""
        out = []
        for k, (place, iid) in self.candidates.items():
            state = self.machine.state_of(k)
            try:
                failed = [n for n in self.invariants if not self.machine.props[n](state)]
                found = [n for n in self.witnesses if self.machine.props[n](state)]
            except SpecRuntimeError:
                return "error", place
            out.append((place, iid, k, failed, found))
            self.visited.add(k)
        self.candidates = {}
        return "ok", out

    def commit(self, numbered: list[tuple[int, int]]) -> None:
        """The numbers the driver gave this partition's new states: the next level."""
        self.level = numbered

    def size(self) -> int:
        return len(self.visited)


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """A Dask client: ``local:N`` starts N worker processes on this machine
    (and stops them after), anything else is a scheduler's address."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SpecError("--cluster needs Dask's distributed scheduler: pip install "
                        "'rmapcheck[cluster]' (or 'distributed')", None) from None
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or not 1 <= int(count) <= 64:
            raise SpecError(f"--cluster {address}: local:N starts N workers on this machine, "
                            "N from 1 to 64", None)
        try:
            cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        except (OSError, RuntimeError, TimeoutError) as error:
            raise SpecError(f"--cluster {address}: the local Dask workers did not start "
                            f"({error})", None) from None
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError, ValueError) as error:
        raise SpecError(f"--cluster {address}: no Dask scheduler answers there ({error})",
                        None) from None
    with client:
        yield client


def search(machine: Machine, limits: SearchLimits, client: Any) -> Result:
    """One attempt of the breadth-first search on the cluster of ``client``
    (see ``bfs.search``): the same states, verdicts and traces."""
    run = Run(machine, ENGINE, limits)
    max_states, max_depth = limits.max_states, limits.max_depth
    workers = max(1, len(client.scheduler_info()["workers"]))
    names = [n for n, _ in run.invariants], [n for n, _ in run.witnesses]
    notes = list(machine.symmetry_notes)
    parts = [client.submit(Partition, machine.model, dict(machine.instance.consts),
                           run.symmetry, notes, i, workers, *names, actor=True,
                           pure=False).result()
             for i in range(workers)]
    initial = machine.initial_state()
    first = run.key(initial)
    parts[first % workers].seed(first).result()
    run.add_root()
    states, depth = 1, 0
    complete = False
    with run.searching():
        run.begin(initial, states)
        while True:
            if max_depth is not None and depth >= max_depth:
                raise Stop(f"depth limit of {max_depth} reached")
            new = _level(run, parts, workers, max_states)
            states = len(run.parents)
            run.tick(states, depth)
            if new is None:
                raise Stop(f"state limit of {max_states:,} reached")
            if not new:
                break
            depth += 1
        complete = True
    interrupted = run.interrupted
    states = len(run.parents)
    run.depth = depth + (0 if complete else 1)
    return run.result(states, complete, depth, interrupted)


def _level(run: Run, parts: list[Any], workers: int, max_states: int | None) -> int | None:
    """Expands one level; the number of new states (None: the state limit
    stopped it). A violation that ends the search raises ``Stop``."""
    results = [p.expand() for p in parts]
    routed: list[list[list[tuple[Place, int, int]]]] = [[] for _ in range(workers)]
    failures: list[tuple[Place, int, tuple[int, ...]]] = []
    for future in results:
        status, value = future.result()
        if status == "broken":
            raise SymmetryBroken(value)
        if status == "error":
            sid, message, span = value
            raise run.runtime_error(SpecRuntimeError(message, span), sid)
        batches, failed, transitions = value
        run.transitions += transitions
        for owner, batch in enumerate(batches):
            routed[owner].append(batch)
        failures.extend(failed)
    for future in [p.offer(routed[i]) for i, p in enumerate(parts)]:
        future.result()
    found: list[tuple[Place, int, int, list[str], list[str], int]] = []
    for owner, future in enumerate([p.check() for p in parts]):
        status, value = future.result()
        if status == "error":
            raise run.runtime_error(SpecRuntimeError("a property fails to evaluate", None),
                                    value[0])
        found.extend((place, iid, k, bad, good, owner) for place, iid, k, bad, good in value)
    # The one-machine search's order: by place, a transition's assertions
    # before the state it reaches.
    found.sort(key=lambda item: item[0])
    failures.sort(key=lambda item: item[0])
    numbered: list[list[tuple[int, int]]] = [[] for _ in range(workers)]
    limited = False
    f = 0
    for place, iid, k, bad, good, owner in found:
        while f < len(failures) and failures[f][0] <= place:
            _assertions(run, failures[f])
            f += 1
        nid = run.add(place[0], iid)
        run.counts.fresh[iid] += 1
        if bad or good:
            run.record_checks(nid, bad, good)
            if run.done:
                raise Stop(done_reason(run))
        numbered[owner].append((nid, k))
        if max_states is not None and nid + 1 >= max_states:
            limited = True
            break
    if not limited:
        for failure in failures[f:]:
            _assertions(run, failure)
    for future in [p.commit(numbered[i]) for i, p in enumerate(parts)]:
        future.result()
    return None if limited else sum(len(n) for n in numbered)


def _assertions(run: Run, failure: tuple[Place, int, tuple[int, ...]]) -> None:
    (sid, _), iid, failed = failure
    run.check_transition(sid, iid, failed)
    if run.done:
        raise Stop(done_reason(run))

