"""Depth-first search: the same verdicts as breadth-first search, usually less
memory for the frontier, but counterexamples are not shortest.

Without a depth limit, a state is expanded once, when first reached. With
``max_depth``, a state first reached deep may later be reached by a shorter
path; it is then expanded again from the shorter depth, so that every state
within ``max_depth`` steps is visited and the claim "every behaviour up to
depth N" stays true (this keeps a depth per state, 4 more bytes, and a map from
key to state number instead of a set).
"""

from __future__ import annotations

from array import array

import attrs

from rmapcheck.errors import SpecRuntimeError
from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.search import CHECK_EVERY, Run, Stop, done_reason, restarting
from rmapcheck.limits import DEFAULT_LIMITS, SearchLimits
from rmapcheck.trace import Result

ENGINE = "explicit-dfs"


def search(machine: Machine, limits: SearchLimits = DEFAULT_LIMITS) -> Result:
    """Explores the reachable states depth first; limits and verdicts as
    ``rmapcheck.explicit.bfs.search``. An incomplete depth-first search makes
    no depth claim unless ``max_depth`` was the only limit reached. It runs on
    one process: ``limits.workers`` is accepted and noted in the statistics."""
    result = restarting(machine, limits, lambda left: _attempt(machine, left))
    if limits.workers is not None and limits.workers > 1:
        extra = result.stats.extra + (("workers", "depth-first search runs on one process"),)
        result = attrs.evolve(result, stats=attrs.evolve(result.stats, extra=extra))
    return result


def _attempt(machine: Machine, limits: SearchLimits) -> Result:
    run = Run(machine, ENGINE, limits)
    max_states, max_depth = limits.max_states, limits.max_depth
    key = run.key
    state_of = machine.state_of
    expand = machine.expand
    enabled, fresh = run.counts.enabled, run.counts.fresh
    check_canonical = run.check_canonical
    initial = machine.initial_state()
    first = key(initial)
    # With a depth limit: key -> state number, and the least depth seen per state.
    numbers: dict[int, int] = {first: 0}
    visited: set[int] = {first}
    depths = array("i", [0])
    bounded = max_depth is not None
    run.add_root()
    stack_keys = [first]
    stack_ids = array("i", [0])
    stack_depths = array("i", [0])
    expansions = 0
    deepest = 0
    complete = interrupted = False
    limit_reason: str | None = None
    try:
        run.check_initial()
        run.check_state(0, initial)
        if run.done:
            raise Stop(done_reason(run))
        if max_states is not None and len(visited) >= max_states:
            raise Stop(f"state limit of {max_states:,} reached")
        while stack_keys:
            current = stack_keys.pop()
            sid = stack_ids.pop()
            depth = stack_depths.pop()
            if bounded:
                if depth > depths[sid]:
                    continue  # reached again by a shorter path since it was pushed
                if depth >= max_depth:  # type: ignore[operator]
                    continue
            expansions += 1
            if not expansions % CHECK_EVERY:
                run.tick(len(visited), depth, len(stack_keys))
            try:
                successors = expand(state_of(current))
            except SpecRuntimeError as error:
                raise run.runtime_error(error, sid) from None
            run.transitions += len(successors)
            for iid, nxt, failed in successors:
                enabled[iid] += 1
                if failed:
                    run.check_transition(sid, iid, failed)
                    if run.done:
                        raise Stop(done_reason(run))
                k = key(nxt)
                if k in visited:
                    if bounded:
                        known = numbers[k]
                        if depth + 1 < depths[known]:
                            # A shorter path: adopt it and expand the state again.
                            depths[known] = depth + 1
                            run.parents[known] = sid
                            run.via[known] = iid
                            stack_keys.append(k)
                            stack_ids.append(known)
                            stack_depths.append(depth + 1)
                    continue
                visited.add(k)
                nid = run.add(sid, iid)
                fresh[iid] += 1
                if bounded:
                    numbers[k] = nid
                    depths.append(depth + 1)
                deepest = max(deepest, depth + 1)
                if run.invariants or run.witnesses:
                    run.check_state(nid, state_of(k) if check_canonical else nxt)
                    if run.done:
                        raise Stop(done_reason(run))
                stack_keys.append(k)
                stack_ids.append(nid)
                stack_depths.append(depth + 1)
                if max_states is not None and nid + 1 >= max_states:
                    raise Stop(f"state limit of {max_states:,} reached")
        # A state whose least depth is the limit was never expanded: it may
        # have successors not yet seen, as in breadth-first search.
        cut = bounded and any(d >= max_depth for d in depths)  # type: ignore[operator]
        complete = not cut
        if cut:
            limit_reason = f"depth limit of {max_depth} reached"
    except Stop as stop:
        run.stopped = stop.reason
    except KeyboardInterrupt:
        interrupted = True
        run.stopped = "interrupted"
    if limit_reason:
        run.stopped = limit_reason
    run.depth = deepest
    # Only a finished search backs a depth claim: complete, or cut at max_depth.
    claimed: int | None = None
    if complete:
        claimed = deepest
    elif limit_reason is not None:
        claimed = max_depth
    return run.result(len(visited), complete, claimed, interrupted)
