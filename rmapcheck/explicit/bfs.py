"""Breadth-first search: every state is first reached by a shortest path, so
every counterexample is a shortest one, and stopping early still gives an
exact claim ("every behaviour up to depth N").

States are numbered in discovery order, so the frontier is just the queue of
packed keys: the number of the state being expanded is a running counter, and
the level boundaries are two numbers.
"""

from __future__ import annotations

from collections import deque

import attrs

from rmapcheck.errors import SpecRuntimeError
from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.partial_order import AmpleSets
from rmapcheck.explicit.search import CHECK_EVERY, Run, Stop, done_reason, restarting
from rmapcheck.limits import DEFAULT_LIMITS, SearchLimits
from rmapcheck.trace import Result, State

ENGINE = "explicit-bfs"


def search(machine: Machine, limits: SearchLimits = DEFAULT_LIMITS) -> Result:
    """Explores the reachable states of ``machine`` breadth first and returns a
    verdict for every property (all of them, or the names in
    ``limits.properties``).

    Limits end the search with ``Holds`` to the depth whose every state was
    checked (``complete=False``); a ``sometimes`` property without a witness is
    then ``Unknown``. Ctrl-C ends it with ``Unknown`` verdicts that say how far
    it got. A spec run-time error raises ``TracedRuntimeError`` with the trace.
    With ``limits.workers`` > 1 the levels are expanded by that many processes
    (``rmapcheck.explicit.parallel``), with the same results.
    """
    if limits.workers is not None and limits.workers > 1 and not limits.partial_order:
        from rmapcheck.explicit import parallel

        return restarting(machine, limits, lambda left: parallel.search(machine, left))
    return restarting(machine, limits, lambda left: _attempt(machine, left))


def _attempt(machine: Machine, limits: SearchLimits) -> Result:
    run = Run(machine, ENGINE, limits)
    ample = AmpleSets(machine, run.order) if limits.partial_order else None
    if ample is not None and not ample.useful:
        ample = None  # no step is independent of the rest: nothing to reduce
    max_states, max_depth = limits.max_states, limits.max_depth
    key = run.key
    state_of = machine.state_of
    expand = machine.expand
    enabled, fresh = run.counts.enabled, run.counts.fresh
    check_canonical = run.check_canonical
    initial = machine.initial_state()
    first = key(initial)
    visited = {first}
    # With partial-order reduction: the level of every state, for the proviso
    # (an edge to a state of this level or an earlier one may close a cycle).
    level: dict[int, int] = {first: 0}

    def closes_cycle(nxt: State) -> bool:
        return level.get(key(nxt), depth + 1) <= depth

    run.add_root()
    frontier = deque([first])
    popleft, append, add = frontier.popleft, frontier.append, visited.add
    depth = 0  # the level being expanded: every state up to it has been checked
    next_level = 1  # number of the first state of the next level
    sid = -1
    complete = False
    with run.searching():
        run.begin(initial, len(visited))
        while frontier:
            current = popleft()
            sid += 1
            if sid == next_level:
                depth += 1
                next_level = len(visited)
                if max_depth is not None and depth >= max_depth:
                    raise Stop(f"depth limit of {max_depth} reached")
            if not sid % CHECK_EVERY:
                run.tick(len(visited), depth, len(frontier))
            state = state_of(current)
            try:
                successors = expand(state)
            except SpecRuntimeError as error:
                raise run.runtime_error(error, sid) from None
            if ample is not None:
                successors = ample.choose(state, successors, closes_cycle)
            run.transitions += len(successors)
            for iid, nxt, failed in successors:
                enabled[iid] += 1
                if failed:
                    run.check_transition(sid, iid, failed)
                    if run.done:
                        raise Stop(done_reason(run))
                k = key(nxt)
                if k in visited:
                    continue
                add(k)
                if ample is not None:
                    level[k] = depth + 1
                nid = run.add(sid, iid)
                fresh[iid] += 1
                if run.invariants or run.witnesses:
                    run.check_state(nid, state_of(k) if check_canonical else nxt)
                    if run.done:
                        raise Stop(done_reason(run))
                append(k)
                if max_states is not None and nid + 1 >= max_states:
                    raise Stop(f"state limit of {max_states:,} reached")
        complete = True
    interrupted = run.interrupted
    run.depth = depth + (1 if len(visited) > next_level else 0)
    result = run.result(len(visited), complete, depth, interrupted)
    if limits.partial_order:
        reduced = ample.reduced if ample is not None else 0
        result = attrs.evolve(result, stats=attrs.evolve(
            result.stats, extra=result.stats.extra + (("partial_order", reduced),)))
    return result
