"""Breadth-first and depth-first search: verdicts, exact state counts, shortest
counterexamples, limits, interruption, run-time errors with their trace."""

from __future__ import annotations

from typing import Any

import examples
import pytest

from rmapcheck.explicit import bfs, dfs, search
from rmapcheck.explicit.machine import Machine, TracedRuntimeError
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.replay import replay, replay_violation
from rmapcheck.trace import Holds, Result, Trace, Unknown, Violated

ENGINES = [bfs.search, dfs.search]


def machine(name: str, **consts: int) -> Machine:
    return Machine(Instance(getattr(examples, name)(), consts))


def machine_of(model: Any, **consts: int) -> Machine:
    return Machine(Instance(model, consts))


def verdicts(result: Result) -> dict[str, str]:
    return {name: type(v).__name__ for name, v in result.verdicts}


# Exact reachable state counts: (example, consts, without symmetry, with symmetry).
COUNTS = [
    ("counter", {"N": 4}, 4, 4),
    ("counter", {"N": 9}, 9, 9),
    ("mutex", {"PROCS": 2}, 24, 14),  # Burnside: (24 + 4) / 2
    ("mutex", {"PROCS": 3}, 112, 30),
    ("mutex", {"PROCS": 4}, 512, 55),
    ("slots", {"PROCS": 2}, 16, 10),
    ("slots", {"PROCS": 3}, 64, 20),
    ("frames", {"PROCS": 2, "FRAMES": 3}, 121, 16),
    ("frames", {"PROCS": 3, "FRAMES": 4}, 4053, 60),
]


@pytest.mark.parametrize("name,consts,plain,reduced", COUNTS)
def test_exact_state_counts_bfs_equals_dfs(name: str, consts: dict[str, int], plain: int,
                                           reduced: int) -> None:
    m = machine(name, **consts)
    for engine in ENGINES:
        full = engine(m, SearchLimits(symmetry=False, stop_at_first=False))
        sym = engine(m, SearchLimits(symmetry=True, stop_at_first=False))
        assert (full.stats.states, sym.stats.states) == (plain, reduced), engine
        for result in (full, sym):
            assert all(isinstance(v, Holds) and v.bound.complete for _, v in result.verdicts)
            assert result.stats.transitions > 0


def test_mutex_counts_by_hand() -> None:
    """Independent count for mutex: each process idle/waiting/critical with at
    most one critical (the lock is determined), times the sets of processes
    that have been critical, which must contain the critical one and which
    are all reachable."""
    for procs in (2, 3, 4):
        total = 0
        for critical in [None, *range(procs)]:
            others = procs - (0 if critical is None else 1)
            pcs = 2 ** others
            sets = 2 ** procs if critical is None else 2 ** (procs - 1)
            total += pcs * sets
        plain = SearchLimits(symmetry=False)
        assert bfs.search(machine("mutex", PROCS=procs), plain).stats.states == total


def test_bounds_describe_complete_search() -> None:
    m = machine("counter", N=6)
    result = bfs.search(m)
    v = result.verdict("x_in_range")
    assert isinstance(v, Holds) and v.bound.complete and v.bound.depth == 5
    assert v.bound.states == 6 and v.bound.engine == "explicit-bfs"
    assert dict(v.bound.consts) == {"N": 6}
    assert result.stats.depth == 5 and result.stats.peak_memory and result.stats.peak_memory > 0
    assert dict(result.stats.extra)["packed_bits"] == 3


@pytest.mark.parametrize("procs", [2, 3, 4])
def test_shortest_counterexample_and_replay(procs: int) -> None:
    m = machine("toggles", PROCS=procs)
    for symmetry in (False, True):
        result = bfs.search(m, SearchLimits(symmetry=symmetry))
        v = result.verdict("not_all")
        assert isinstance(v, Violated)
        assert len(v.trace) == procs
        assert v.trace.initial == m.initial_state()
        assert v.trace.last == (True,) * procs
        assert [s.action for s in v.trace.steps] == ["toggle"] * procs
        replay(m, v.trace)
        replay_violation(m, v.trace, "not_all")
        assert v.detail.startswith("not (forall")


def test_dfs_counterexample_replays_and_may_be_longer() -> None:
    m = machine("toggles", PROCS=3)
    v = dfs.search(m, SearchLimits(symmetry=False)).verdict("not_all")
    assert isinstance(v, Violated) and len(v.trace) >= 3
    replay_violation(m, v.trace, "not_all")


def test_broken_mutex_violations_are_shortest() -> None:
    m = machine_of(examples.mutex(broken=True), PROCS=3)
    for symmetry in (False, True):
        result = bfs.search(m, SearchLimits(symmetry=symmetry, stop_at_first=False))
        mutual = result.verdict("mutual_exclusion")
        held = result.verdict("lock_held")
        assert isinstance(mutual, Violated) and isinstance(held, Violated)
        assert [s.action for s in mutual.trace.steps] in (
            ["request", "request", "enter", "enter"], ["request", "enter", "request", "enter"])
        # leave by the process whose lock was taken over: 5 steps.
        assert len(held.trace) == 5 and held.trace.steps[-1].action == "leave"
        assert held.detail.startswith("assertion lock_held fails in leave(p=")
        replay_violation(m, mutual.trace, "mutual_exclusion")
        replay_violation(m, held.trace, "lock_held")
        assert isinstance(result.verdict("all_visited"), Holds)


def test_stop_at_first_stops_with_honest_bounds() -> None:
    m = machine_of(examples.mutex(broken=True), PROCS=3)
    result = bfs.search(m)
    assert dict(result.stats.extra)["stopped"] == "stopped at the first violation"
    assert isinstance(result.verdict("mutual_exclusion"), Violated)
    held = result.verdict("lock_held")
    assert isinstance(held, Holds) and not held.bound.complete and held.bound.depth == 3
    witness = result.verdict("all_visited")
    assert isinstance(witness, Unknown)


def test_assertion_violation_trace() -> None:
    m = machine("asserting")
    for engine in ENGINES:
        v = engine(m).verdict("small")
        assert isinstance(v, Violated)
        assert [s.action for s in v.trace.steps] == ["inc"] * 3
        assert v.trace.last == (3,)
        assert replay(m, v.trace) == [(), (), ("small",)]
        replay_violation(m, v.trace, "small")
        assert v.detail == "assertion small fails in inc(): x stays small"


def test_sometimes_witness_and_its_absence() -> None:
    m = machine("counter", N=5)
    result = bfs.search(m)
    assert isinstance(result.verdict("reaches_top"), Holds)
    (name, trace), = dict(result.stats.extra)["witnesses"]
    assert name == "reaches_top" and len(trace) == 4 and trace.last == (4,)
    replay(m, trace)
    # The same property on a machine where it never holds: violated with
    # only the initial state, after a complete search.
    m1 = machine("counter", N=1)
    v = bfs.search(m1).verdict("reaches_top")
    assert isinstance(v, Holds)  # N=1: x == 0 == N-1 at once
    limited = bfs.search(machine("counter", N=9), SearchLimits(max_states=3)).verdict("reaches_top")
    assert isinstance(limited, Unknown) and "no witness found" in limited.reason


def test_sometimes_never_witnessed_in_complete_search() -> None:
    base = examples.counter()
    from rmapcheck import ir
    never = ir.Property("never", "sometimes", ir.Binary(
        "lt", ir.StateRead("x", (), base.sorts[0]), ir.IntLit(0), ir.BOOL))
    model = ir.Model(base.name, "", base.consts, base.sorts, base.state, base.init,
                     base.actions, base.properties + (never,))
    m = machine_of(model, N=3)
    v = bfs.search(m).verdict("never")
    assert isinstance(v, Violated) and v.trace == Trace(m.initial_state())
    assert v.detail == "no reachable state satisfies it"
    replay_violation(m, v.trace, "never")


def test_state_limit_gives_holds_to_the_last_full_level() -> None:
    m = machine("mutex", PROCS=3)
    result = bfs.search(m, SearchLimits(max_states=20, symmetry=False))
    v = result.verdict("mutual_exclusion")
    assert isinstance(v, Holds) and not v.bound.complete
    assert v.bound.states == 20 == result.stats.states
    assert dict(result.stats.extra)["stopped"] == "state limit of 20 reached"
    # Every state up to the claimed depth was checked, and the claim is the
    # level being expanded when the limit hit (at most one level short).
    levels = _levels(m)
    depth = v.bound.depth
    assert depth is not None
    assert sum(levels[:depth + 1]) <= 20 < sum(levels[:depth + 3])


def _levels(m: Machine) -> list[int]:
    """States per BFS level, computed directly from the machine."""
    frontier = [m.initial_state()]
    seen = set(frontier)
    levels = []
    while frontier:
        levels.append(len(frontier))
        nxt = []
        for s in frontier:
            for t in m.successors(s):
                if t.state not in seen:
                    seen.add(t.state)
                    nxt.append(t.state)
        frontier = nxt
    return levels


def test_depth_limit() -> None:
    m = machine("mutex", PROCS=3)
    levels = _levels(m)
    for engine in ENGINES:
        result = engine(m, SearchLimits(max_depth=3, symmetry=False))
        v = result.verdict("mutual_exclusion")
        assert isinstance(v, Holds) and not v.bound.complete and v.bound.depth == 3
        assert result.stats.states == sum(levels[:4]), engine
        assert "depth limit of 3" in dict(result.stats.extra)["stopped"]
        deep = engine(m, SearchLimits(max_depth=len(levels) + 5, symmetry=False))
        w = deep.verdict("mutual_exclusion")
        assert isinstance(w, Holds) and w.bound.complete


def test_dfs_depth_limit_revisits_states_found_deeper_first() -> None:
    """With a depth limit, DFS re-expands a state reached again by a shorter
    path, so it visits exactly the states within the limit."""
    m = machine("frames", PROCS=2, FRAMES=3)
    levels = _levels(m)
    for depth in range(len(levels)):
        result = dfs.search(m, SearchLimits(max_depth=depth, symmetry=False))
        assert result.stats.states == sum(levels[:depth + 1])


def test_timeout_and_memory_limits() -> None:
    m = machine("frames", PROCS=3, FRAMES=4)
    result = bfs.search(m, SearchLimits(timeout=0.0, symmetry=False))
    assert "time limit" in dict(result.stats.extra)["stopped"]
    v = result.verdict("mapcount_exact")
    assert isinstance(v, Holds) and not v.bound.complete
    tiny = bfs.search(m, SearchLimits(max_memory=1, symmetry=False))
    assert "memory limit" in dict(tiny.stats.extra)["stopped"]
    assert isinstance(tiny.verdict("mapcount_exact"), Holds)
    with pytest.raises(ValueError):
        bfs.search(m, SearchLimits(max_states=-1))


def test_progress_and_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(search, "CHECK_EVERY", 1)
    m = machine("frames", PROCS=3, FRAMES=4)
    calls: list[tuple[int, int, float, int]] = []
    for engine in ENGINES:
        calls.clear()
        result = engine(m, SearchLimits(symmetry=False, progress=lambda *a: calls.append(a)))
        assert calls and all(c[0] <= result.stats.states for c in calls)
        assert all(isinstance(c[2], float) and c[3] > 0 for c in calls)

        def interrupt(states: int, depth: int, rate: float, rss: int) -> None:
            if states > 50:
                raise KeyboardInterrupt

        result = engine(m, SearchLimits(symmetry=False, progress=interrupt))
        v = result.verdict("mapcount_exact")
        assert isinstance(v, Unknown) and v.reason.startswith("interrupted after")
        assert dict(result.stats.extra)["interrupted"] is True
        assert result.stats.states > 50


def test_runtime_error_carries_the_trace() -> None:
    m = machine_of(examples.counter(wrap=False), N=4)
    for engine in ENGINES:
        with pytest.raises(TracedRuntimeError) as info:
            engine(m)
        error = info.value
        assert error.message == "value 4 is outside sort Val (0 .. 3) in assignment to x"
        assert error.span.line == 3
        assert error.action == "inc" and error.action_args == ()
        assert len(error.trace) == 3 and error.trace.last == (3,)
        replay(m, error.trace)


def test_runtime_error_in_a_record_field_with_symmetry() -> None:
    m = machine_of(examples.slots(safe=False), PROCS=2)
    with pytest.raises(TracedRuntimeError) as info:
        bfs.search(m)
    error = info.value
    assert error.message.startswith("value 3 is outside sort Cnt (0 .. 2) in assignment to slot[")
    assert [s.action for s in error.trace.steps] == ["create", "bump", "bump"]
    assert error.action == "bump"
    replay(m, error.trace)
    p = error.trace.steps[0].args[0][1]
    assert error.action_args == (("p", p),)


def test_properties_filter() -> None:
    m = machine_of(examples.mutex(broken=True), PROCS=2)
    result = bfs.search(m, SearchLimits(properties=["lock_held"]))
    assert [name for name, _ in result.verdicts] == ["lock_held"]
    assert isinstance(result.verdict("lock_held"), Violated)
    with pytest.raises(KeyError):
        bfs.search(m, SearchLimits(properties=["nope"]))


def test_model_without_properties_counts_states() -> None:
    m = machine("loops")
    result = bfs.search(m, SearchLimits(symmetry=False))
    assert result.verdicts == () and result.stats.states == 372


@pytest.mark.parametrize("name,consts", [("frames", {"PROCS": 3, "FRAMES": 4}),
                                         ("mutex", {"PROCS": 4})])
def test_parallel_search_gives_the_same_results(name: str, consts: dict[str, int]) -> None:
    m = machine(name, **consts)
    for symmetry in (False, True):
        one = bfs.search(m, SearchLimits(symmetry=symmetry, stop_at_first=False))
        two = bfs.search(m, SearchLimits(symmetry=symmetry, stop_at_first=False, workers=2))
        assert two.stats.states == one.stats.states
        assert two.stats.transitions == one.stats.transitions
        assert two.stats.depth == one.stats.depth
        assert two.verdicts == one.verdicts


def test_parallel_search_violations_limits_and_errors() -> None:
    m = machine_of(examples.mutex(broken=True), PROCS=3)
    one = bfs.search(m, SearchLimits(stop_at_first=False))
    two = bfs.search(m, SearchLimits(stop_at_first=False, workers=2))
    assert [(n, v.trace) for n, v in two.violations] == [(n, v.trace) for n, v in one.violations]
    limited = bfs.search(machine("frames", PROCS=3, FRAMES=4),
                         SearchLimits(symmetry=False, max_states=500, workers=2))
    v = limited.verdict("mapcount_exact")
    assert isinstance(v, Holds) and not v.bound.complete and limited.stats.states == 500
    deep = bfs.search(machine("mutex", PROCS=3),
                      SearchLimits(symmetry=False, max_depth=3, workers=2))
    assert deep.stats.states == sum(_levels(machine("mutex", PROCS=3))[:4])
    with pytest.raises(TracedRuntimeError) as info:
        bfs.search(machine_of(examples.counter(wrap=False), N=4), SearchLimits(workers=2))
    assert len(info.value.trace) == 3 and info.value.action == "inc"
    restarted = bfs.search(machine("loops"), SearchLimits(workers=2))
    assert dict(restarted.stats.extra)["symmetry_restarts"] == 1
    assert restarted.stats.states == 372


def test_dfs_accepts_workers() -> None:
    result = dfs.search(machine("mutex", PROCS=2), SearchLimits(workers=2))
    assert dict(result.stats.extra)["workers"] == "depth-first search runs on one process"
