"""Breadth-first search on several processes.

Level by level: worker processes expand chunks of the current level and
return, for each state, its successors as packed canonical keys (the
expensive part: running the actions and canonicalising); the parent process
keeps the visited set and the parent links and takes the results chunk by
chunk in order, so it numbers states exactly as the one-process search does.
Then the workers check the properties on chunks of the level's new states.
Limits, verdicts, traces and run-time errors go through the same ``Run`` as
the one-process search, and the results are the same (only a search stopped
at a limit or at the first violation may have discovered a few more states).

Workers are forked (Linux), so they inherit the compiled machine instead of
compiling it again; Ctrl-C is handled by the parent only.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from collections.abc import Iterator
from typing import Any

from rmapcheck.core.coverage import marks_delta
from rmapcheck.errors import SpecRuntimeError
from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.search import Run, Stop, done_reason
from rmapcheck.explicit.symmetry import SymmetryBroken
from rmapcheck.limits import SearchLimits
from rmapcheck.trace import Result

ENGINE = "explicit-bfs"
# States per task: at least this many, and few tasks per worker and level,
# because every task costs two process wake-ups (slow on a busy machine).
MIN_CHUNK = 256
TASKS_PER_WORKER = 4

# The machine of the search, inherited by the forked workers.
_machine: Machine | None = None
_symmetry = True


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    # The cyclic collector would walk (and so copy, page by page) every object
    # inherited from the parent; the workers create no reference cycles.
    gc.disable()


def _expand_chunk(keys: list[int]) -> tuple[str, Any]:
    """Successors ``(iid, key, failed asserts)`` of each state and what the
    coverage marks counted, or what went wrong."""
    machine = _machine
    assert machine is not None
    key = machine.key if _symmetry else machine.codec.pack
    before = machine.counts.snapshot()
    out = []
    for index, k in enumerate(keys):
        try:
            successors = machine.expand(machine.state_of(k))
            out.append([(iid, key(nxt), failed) for iid, nxt, failed in successors])
        except SpecRuntimeError as error:
            return "error", (index, error.message, error.span)
        except SymmetryBroken as broken:
            return "broken", broken.note
    return "ok", (out, marks_delta(machine.counts, before))


def _check_chunk(task: tuple[list[int], list[str], list[str]]) -> tuple[str, Any]:
    """Per state: the invariants it violates and the witnesses it satisfies;
    and what the coverage marks counted, and per antecedent in how many states."""
    keys, invariants, witnesses = task
    machine = _machine
    assert machine is not None
    counts = machine.counts
    before = counts.snapshot()
    states_before = list(counts.states)
    per_state = machine.core.coverage
    out = []
    for index, k in enumerate(keys):
        state = machine.state_of(k)
        seen = counts.snapshot() if per_state else before
        try:
            failed = [name for name in invariants if not machine.props[name](state)]
            found = [name for name in witnesses if machine.props[name](state)]
        except SpecRuntimeError:
            return "error", index
        except SymmetryBroken as broken:
            return "broken", broken.note
        if per_state:
            counts.count_states(seen)
        out.append((failed, found))
    states = [now - then for now, then in zip(counts.states, states_before, strict=True)]
    return "ok", (out, marks_delta(counts, before), states)


def _chunks(items: list[int], workers: int) -> Iterator[list[int]]:
    size = max(MIN_CHUNK, -(-len(items) // (workers * TASKS_PER_WORKER)))
    for start in range(0, len(items), size):
        yield items[start:start + size]


def search(machine: Machine, limits: SearchLimits) -> Result:
    """One attempt of the parallel breadth-first search (see ``bfs.search``),
    on ``limits.workers`` processes."""
    # the workers are forked and inherit the machine through these globals rather
    # than have it pickled into every task
    global _machine, _symmetry  # noqa: PLW0603
    workers = limits.workers or 1
    max_states, max_depth = limits.max_states, limits.max_depth
    run = Run(machine, ENGINE, limits)
    _machine, _symmetry = machine, run.symmetry
    context = multiprocessing.get_context("fork")
    gc.freeze()  # inherited objects stay out of the workers' collections
    try:
        pool = context.Pool(workers, initializer=_init_worker)
    finally:
        gc.unfreeze()
    initial = machine.initial_state()
    first = run.key(initial)
    visited = {first}
    run.add_root()
    level = [first]
    level_start = 0  # number of the first state of the level
    depth = 0
    complete = interrupted = False
    try:
        run.begin(initial, len(visited))
        while level:
            if max_depth is not None and depth >= max_depth:
                raise Stop(f"depth limit of {max_depth} reached")
            new: list[int] = []
            new_start = len(visited)
            limit: str | None = None
            sid = level_start
            for status, value in pool.imap(_expand_chunk, _chunks(level, workers)):
                if status == "broken":
                    raise SymmetryBroken(value)
                if status == "error":
                    index, message, span = value
                    raise run.runtime_error(SpecRuntimeError(message, span), sid + index)
                expanded, marks = value
                run.counts.add(marks)
                for successors in expanded:
                    run.transitions += len(successors)
                    for iid, k, failed in successors:
                        run.counts.enabled[iid] += 1
                        if failed:
                            run.check_transition(sid, iid, failed)
                            if run.done:
                                raise Stop(done_reason(run))
                        if k in visited:
                            continue
                        visited.add(k)
                        nid = run.add(sid, iid)
                        run.counts.fresh[iid] += 1
                        new.append(k)
                        if max_states is not None and nid + 1 >= max_states:
                            limit = f"state limit of {max_states:,} reached"
                            break
                    sid += 1
                    if limit:
                        break
                run.tick(len(visited), depth)
                if limit:
                    break
            _check_level(run, pool, machine, new, new_start, workers)
            if limit:
                raise Stop(limit)
            level_start = new_start
            level = new
            depth += 1
        depth -= 1  # the last level had no new successors: the deepest is the one before
        complete = True
    except Stop as stop:
        run.stopped = stop.reason
    except KeyboardInterrupt:
        interrupted = True
        run.stopped = "interrupted"
    finally:
        pool.terminate()
        pool.join()
        _machine = None
    # States beyond the level being expanded belong to the next one.
    beyond = not complete and len(visited) > level_start + len(level)
    run.depth = depth + 1 if beyond else depth
    return run.result(len(visited), complete, depth, interrupted)


def _check_level(run: Run, pool: Any, machine: Machine, new: list[int], start: int,
                 workers: int) -> None:
    """Checks the properties of a level's new states on the workers, in order."""
    if not new or not (run.invariants or run.witnesses):
        return
    tasks = [(chunk, [n for n, _ in run.invariants], [n for n, _ in run.witnesses])
             for chunk in _chunks(new, workers)]
    sid = start
    for status, value in pool.imap(_check_chunk, tasks):
        if status == "broken":
            raise SymmetryBroken(value)
        if status == "error":
            # Evaluate again here, where the error gets its trace.
            index = value
            run.check_state(sid + index, machine.state_of(new[sid + index - start]))
            raise AssertionError("a property raised on a worker but not here")
        checked, marks, states = value
        run.counts.add(marks, states)
        for failed, found in checked:
            run.record_checks(sid, failed, found)
            if run.done:
                raise Stop(done_reason(run))
            sid += 1
