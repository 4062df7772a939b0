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
import ctypes
import logging
import time
import zlib
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from rmapcheck import ir
from rmapcheck.errors import InternalError, SpecError, SpecRuntimeError
from rmapcheck.explicit import native
from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.search import Run, Stop, concretize, done_reason
from rmapcheck.explicit.symmetry import SymmetryBroken, SymmetryNote
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.trace import Result, State, Trace

ENGINE = "cluster-bfs"

# (parent's number, position among its successors): where the one-machine
# search discovers a state.
Place = tuple[int, int]


Key = Any  # a state's key: the packed canonical state (Python), or its C bytes (native)


def owner_of(key: Key, count: int) -> int:
    """The partition that owns a state: by a hash that is the same in every
    process (Python's hash of bytes is not)."""
    if isinstance(key, bytes):
        return zlib.crc32(key) % count
    return int(key) % count


Packed = tuple[bytes, bytes, "bytes | list[Key]"]


def pack(batch: dict[Key, tuple[Place, int]]) -> Packed:
    """A batch of successors as three flat buffers: what crosses the network
    is a few large strings, not a pickled tuple per state."""
    places = array("q")
    iids = array("I")
    for (sid, position), iid in batch.values():
        places.append(sid)
        places.append(position)
        iids.append(iid)
    keys = list(batch)
    if keys and isinstance(keys[0], bytes):
        return places.tobytes(), iids.tobytes(), b"".join(keys)
    return places.tobytes(), iids.tobytes(), keys


def unpack(packed: Packed) -> Iterator[tuple[Place, int, Key]]:
    raw_places, raw_iids, raw_keys = packed
    places, iids = array("q"), array("I")
    places.frombytes(raw_places)
    iids.frombytes(raw_iids)
    if isinstance(raw_keys, bytes):
        size = len(raw_keys) // len(iids) if iids else 0
        keys: Sequence[Key] = [raw_keys[i * size:(i + 1) * size] for i in range(len(iids))]
    else:
        keys = raw_keys
    for i, key in enumerate(keys):
        yield (places[2 * i], places[2 * i + 1]), iids[i], key


class _PythonSteps:
    """A partition's steps on the Python machine: keys are packed states."""

    def __init__(self, machine: Machine, symmetry: bool) -> None:
        self.machine = machine
        self.symmetry = symmetry
        self.key = machine.key if symmetry else machine.codec.pack

    def initial(self) -> Key:
        return self.key(self.machine.initial_state())

    def expand(self, key: Key) -> list[tuple[int, Key, tuple[int, ...]]]:
        successors = self.machine.expand(self.machine.state_of(key))
        return [(iid, self.key(nxt), failed) for iid, nxt, failed in successors]

    def holds(self, names: list[str], key: Key) -> list[bool]:
        state = self.machine.state_of(key)
        return [bool(self.machine.props[n](state)) for n in names]


class _NativeSteps:
    """A partition's steps in C (the native engine's step): states stay C
    buffers and keys are their canonical bytes, so nothing is decoded into
    Python values; what the C code stops on (a run-time error, a broken
    symmetry check) the Python machine says, on the same state."""

    def __init__(self, machine: Machine, symmetry: bool) -> None:
        self.machine = machine
        self.python = _PythonSteps(machine, symmetry)
        self.native = compiled = native.prepare(machine)
        active = compiled.active_mask(machine.symmetric_sorts) if symmetry else 0
        self.ctx = compiled.new_ctx(active, symmetry)
        self.state_type = compiled.state_type
        self.slots = compiled.layout.n
        self.size = ctypes.sizeof(self.state_type)
        count = max(len(machine.instances), 1)
        self.iids = (ctypes.c_uint32 * count)()
        self.states = (compiled.slot_ctype * (count * max(self.slots, 1)))()
        self.width = compiled.n_asserts + 1
        self.failed = (ctypes.c_int32 * (count * self.width))()
        self.canonical = self.state_type()
        self.prop_index = {p.name: k for k, p in enumerate(machine.model.properties)}

    def key_of(self, state: State) -> bytes:
        buf = self.native.encode(state)
        return self._key(ctypes.addressof(buf))

    def representative(self, state: State) -> State:
        return self._state(self.key_of(state))

    def _key(self, address: int) -> bytes:
        self.native.lib.rc_canonical(self.ctx, address, self.canonical)
        return bytes(self.canonical)

    def _state(self, key: bytes) -> State:
        return self.native.layout.decode(list(self.state_type.from_buffer_copy(key)))

    def initial(self) -> Key:
        return self.key_of(self.machine.initial_state())

    def expand(self, key: Key) -> list[tuple[int, Key, tuple[int, ...]]]:
        buf = self.state_type.from_buffer_copy(key)
        n = self.native.lib.rc_expand(self.ctx, buf, self.iids, self.states, self.failed)
        if n < 0:
            with self.machine.guarded(self.python.symmetry):
                self.machine.expand(self._state(key))  # raises what the C code met
            raise InternalError(f"native step: status {-n}, and the Python machine runs "
                                "the same state")
        base = ctypes.addressof(self.states)
        out = []
        for k in range(n):
            nf = self.failed[k * self.width]
            failed = tuple(self.failed[k * self.width + 1:k * self.width + 1 + nf])
            out.append((self.iids[k], self._key(base + k * self.size), failed))
        return out

    def holds(self, names: list[str], key: Key) -> list[bool]:
        buf = self.state_type.from_buffer_copy(key)
        out = []
        for name in names:
            r = self.native.lib.rc_prop(self.ctx, self.prop_index[name], buf)
            if r < 0:
                return self.python.holds(names, self.python.key(self._state(key)))
            out.append(bool(r))
        return out


class Partition:
    """One part of the search, on a worker: the states whose key
    ``owner_of`` gives to ``index``."""

    def __init__(self, model: ir.Model, consts: dict[str, int], symmetry: bool,
                 excluded: list[SymmetryNote], index: int, count: int,
                 invariants: list[str], witnesses: list[str], use_native: bool) -> None:
        self.machine = Machine(Instance(model, consts), symmetry=symmetry)
        for note in excluded:
            if any(s.name == note.sort for s in self.machine.symmetric_sorts):
                self.machine.exclude(note)
        self.symmetry = symmetry and self.machine.canonicalizer is not None
        self.steps: _PythonSteps | _NativeSteps = _PythonSteps(self.machine, self.symmetry)
        if use_native and native.available():
            # A construct the C emitter does not take leaves the Python step.
            with contextlib.suppress(native.Unsupported):
                self.steps = _NativeSteps(self.machine, self.symmetry)
        self.index, self.count = index, count
        self.invariants, self.witnesses = invariants, witnesses
        self.visited: set[Key] = set()
        self.level: list[tuple[int, Key]] = []  # (number, key) of the states to expand
        self.candidates: dict[Key, tuple[Place, int]] = {}  # new key -> (place, iid)
        self.busy = 0.0  # seconds spent expanding, routing and checking
        self.checked: list[Key] = []  # the keys of check's answer, for commit

    def initial(self) -> Key:
        return self.steps.initial()

    def seed(self, key: Key) -> None:
        self.visited.add(key)
        self.level = [(0, key)]

    def expand(self) -> tuple[str, Any]:
        """The level's successors, grouped by owner, as (place, iid, key), and
        the failed assertions as (place, iid, failed)."""
        # Per owner, each successor once, at its least place: most successors
        # of a level are states reached before, or reached twice.
        start = time.perf_counter()
        routed: list[dict[Key, tuple[Place, int]]] = [{} for _ in range(self.count)]
        failures: list[tuple[Place, int, tuple[int, ...]]] = []
        transitions = 0
        with self.machine.guarded(self.symmetry):
            for sid, k in self.level:
                try:
                    successors = self.steps.expand(k)
                except SpecRuntimeError as error:
                    return "error", (sid, error.message, error.span)
                except SymmetryBroken as broken:
                    return "broken", broken.note
                transitions += len(successors)
                for position, (iid, nk, failed) in enumerate(successors):
                    if failed:
                        failures.append(((sid, position), iid, failed))
                    owner = owner_of(nk, self.count)
                    if owner == self.index and nk in self.visited:
                        continue
                    batch = routed[owner]
                    if nk not in batch:  # the level's states come in order of place
                        batch[nk] = ((sid, position), iid)
        self.level = []
        packed = [pack(batch) for batch in routed]
        self.busy += time.perf_counter() - start
        return "ok", (packed, failures, transitions)

    def offer(self, batches: list[Packed]) -> None:
        """Successors this partition owns: the new ones kept, at their least place."""
        start = time.perf_counter()
        for batch in batches:
            for place, iid, k in unpack(batch):
                if k in self.visited:
                    continue
                held = self.candidates.get(k)
                if held is None or place < held[0]:
                    self.candidates[k] = (place, iid)
        self.busy += time.perf_counter() - start

    def check(self) -> tuple[str, Any]:
        """The level's new states of this partition, with the invariants each
        violates and the witnesses it satisfies: (place, iid, failed, found),
        in an order ``commit`` is answered in (the keys stay here)."""
        start = time.perf_counter()
        out = []
        self.checked = []
        names = self.invariants + self.witnesses
        split = len(self.invariants)
        for k, (place, iid) in self.candidates.items():
            try:
                values = self.steps.holds(names, k)
            except SpecRuntimeError:
                return "error", place
            failed = [n for n, v in zip(self.invariants, values[:split], strict=True) if not v]
            found = [n for n, v in zip(self.witnesses, values[split:], strict=True) if v]
            out.append((place, iid, failed, found))
            self.checked.append(k)
            self.visited.add(k)
        self.candidates = {}
        self.busy += time.perf_counter() - start
        return "ok", out

    def commit(self, numbers: bytes) -> None:
        """The numbers the driver gave this partition's new states, in the
        order ``check`` gave them (-1: not numbered, the search stops): the
        next level."""
        given = array("q")
        given.frombytes(numbers)
        self.level = [(n, k) for n, k in zip(given, self.checked, strict=False) if n >= 0]
        self.checked = []

    def size(self) -> int:
        return len(self.visited)

    def seconds(self) -> float:
        return self.busy


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


def search(machine: Machine, limits: SearchLimits, client: Any,
           use_native: bool = True) -> Result:
    """One attempt of the breadth-first search on the cluster of ``client``
    (see ``bfs.search``): the same states, verdicts and traces. The workers
    take the native engine's step where they can compile it (``use_native``)."""
    run = _ClusterRun(machine, ENGINE, limits)
    if use_native and native.available():
        # The workers key states by the C code's canonical form: traces are
        # rebuilt through the same representatives.
        with contextlib.suppress(native.Unsupported):
            run.native = _NativeSteps(machine, run.symmetry)
    max_states, max_depth = limits.max_states, limits.max_depth
    workers = max(1, len(client.scheduler_info()["workers"]))
    names = [n for n, _ in run.invariants], [n for n, _ in run.witnesses]
    notes = list(machine.symmetry_notes)
    parts = [client.submit(Partition, machine.model, dict(machine.instance.consts),
                           run.symmetry, notes, i, workers, *names, use_native,
                           actor=True, pure=False).result()
             for i in range(workers)]
    initial = machine.initial_state()
    first = parts[0].initial().result()
    parts[owner_of(first, workers)].seed(first).result()
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
    result = run.result(states, complete, depth, interrupted)
    # How busy the workers were, beside the wall time: what the driver and
    # the network cost is the difference.
    busy = [p.seconds().result() for p in parts]
    return attrs.evolve(result, stats=attrs.evolve(result.stats, extra=result.stats.extra + (
        ("workers", workers), ("worker_seconds", tuple(round(b, 2) for b in busy)))))


class _ClusterRun(Run):
    """``Run`` whose traces follow the representatives the workers expanded."""

    native: _NativeSteps | None = None

    def trace_to(self, sid: int, final: tuple[int, int] | None = None) -> Trace:
        steps = self.native
        if steps is None:
            return super().trace_to(sid, final)
        with self.machine.paused():
            return concretize(self.machine, steps.key_of, self.path(sid), final,
                              representative=steps.representative)


def _level(run: Run, parts: list[Any], workers: int, max_states: int | None) -> int | None:
    """Expands one level; the number of new states (None: the state limit
    stopped it). A violation that ends the search raises ``Stop``."""
    results = [p.expand() for p in parts]
    routed: list[list[Packed]] = [[] for _ in range(workers)]
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
    # (place, iid, failed, found, owner, index in the owner's answer)
    found: list[tuple[Place, int, list[str], list[str], int, int]] = []
    numbers: list[array[int]] = []
    for owner, future in enumerate([p.check() for p in parts]):
        status, value = future.result()
        if status == "error":
            raise run.runtime_error(SpecRuntimeError("a property fails to evaluate", None),
                                    value[0])
        found.extend((place, iid, bad, good, owner, i)
                     for i, (place, iid, bad, good) in enumerate(value))
        numbers.append(array("q", [-1]) * len(value))
    # The one-machine search's order: by place, a transition's assertions
    # before the state it reaches.
    found.sort(key=lambda item: item[0])
    failures.sort(key=lambda item: item[0])
    limited = False
    new = 0
    f = 0
    pending = {name for name, _ in run.witnesses}
    for place, iid, bad, good, owner, index in found:
        while f < len(failures) and failures[f][0] <= place:
            _assertions(run, failures[f])
            f += 1
        nid = run.add(place[0], iid)
        run.counts.fresh[iid] += 1
        if bad or pending.intersection(good):
            run.record_checks(nid, bad, good)
            pending = {name for name, _ in run.witnesses}
            if run.done:
                raise Stop(done_reason(run))
        numbers[owner][index] = nid
        new += 1
        if max_states is not None and nid + 1 >= max_states:
            limited = True
            break
    if not limited:
        for failure in failures[f:]:
            _assertions(run, failure)
    for future in [p.commit(numbers[i].tobytes()) for i, p in enumerate(parts)]:
        future.result()
    return None if limited else new


def _assertions(run: Run, failure: tuple[Place, int, tuple[int, ...]]) -> None:
    (sid, _), iid, failed = failure
    run.check_transition(sid, iid, failed)
    if run.done:
        raise Stop(done_reason(run))

