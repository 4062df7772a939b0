"""The explicit engine on the bundled models (through the front end)."""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest

from rmapcheck.explicit import bfs, dfs, native
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.replay import replay, replay_violation
from rmapcheck.trace import Holds, Violated

State = tuple[Any, ...]
SLOW = bool(os.environ.get("RMAPCHECK_SLOW"))  # tens of millions of states

SAFETY = ["rmap_complete", "rmap_sound", "mapcount", "wf_ptes_in_vmas", "wf_vmas",
          "wf_page_in_use", "swap_out_sound", "swap_out_complete"]


def machine(name: str, **consts: int) -> Machine:
    return Machine(Instance(load_model(f"{name}.spec", consts), consts))


def test_anonmm_mremap_counterexample() -> None:
    m = machine("anonmm")
    for symmetry in (True, False):
        result = bfs.search(m, SearchLimits(symmetry=symmetry))
        v = result.verdict("rmap_complete")
        assert isinstance(v, Violated)
        assert [s.action for s in v.trace.steps] == ["mmap", "fault", "mremap"]
        replay_violation(m, v.trace, "rmap_complete")
        assert v.detail.startswith("for p=0, v=")
        # Everything else holds up to the depth before the violation.
        for name in SAFETY[1:6]:
            bound = result.verdict(name)
            assert isinstance(bound, Holds) and bound.bound.depth == 2


def test_anonmm_swap_out_leaks_after_mremap() -> None:
    m = machine("anonmm")
    result = bfs.search(m, SearchLimits(stop_at_first=False, max_depth=4))
    leak = result.verdict("swap_out_complete")
    assert isinstance(leak, Violated)
    assert [s.action for s in leak.trace.steps] == ["mmap", "fault", "mremap", "swap_out"]
    replay_violation(m, leak.trace, "swap_out_complete")


@pytest.mark.parametrize("consts", [{"PROCS": 2, "VPAGES": 1, "FRAMES": 2},
                                    {"PROCS": 1, "VPAGES": 2, "FRAMES": 2}])
def test_anon_vma_holds_completely_at_small_bounds(consts: dict[str, int]) -> None:
    m = machine("anon_vma", **consts)
    sym = bfs.search(m, SearchLimits(stop_at_first=False))
    plain = bfs.search(m, SearchLimits(symmetry=False, stop_at_first=False))
    assert sym.stats.states < plain.stats.states
    for result in (sym, plain):
        for name in SAFETY + ["anon_vma_allocated"]:
            v = result.verdict(name)
            assert isinstance(v, Holds) and v.bound.complete, name
    # DFS explores the same states.
    assert dfs.search(m, SearchLimits(stop_at_first=False)).stats.states == sym.stats.states
    assert dfs.search(m, SearchLimits(symmetry=False, stop_at_first=False)).stats.states == \
        plain.stats.states


def test_anon_vma_holds_to_a_depth_at_default_bounds() -> None:
    m = machine("anon_vma")
    result = bfs.search(m, SearchLimits(max_depth=3, stop_at_first=False))
    for name in SAFETY + ["anon_vma_allocated"]:
        v = result.verdict(name)
        assert isinstance(v, Holds) and v.bound.depth == 3 and not v.bound.complete
    (name, trace), = [w for w in dict(result.stats.extra)["witnesses"] if w[0] == "two_vmas"]
    replay(m, trace)
    assert m.holds("two_vmas", trace.last)


def test_anon_vma_states_at_default_bounds_bfs_equals_dfs() -> None:
    # 2,4,3 has too many states to finish (over 100 million at 3 pages): the
    # states within 4 steps, which DFS with a depth limit visits exactly.
    m = machine("anon_vma")
    assert (m.instance.consts["PROCS"], m.instance.consts["VPAGES"],
            m.instance.consts["FRAMES"]) == (2, 4, 3)
    for symmetry, states in ((True, 17_398), (False, 28_800)):
        for engine in (bfs.search, dfs.search):
            result = engine(m, SearchLimits(max_depth=4, symmetry=symmetry, stop_at_first=False))
            assert result.stats.states == states, (engine, symmetry)
            assert not result.violations


@pytest.mark.skipif(not native.available(), reason="no C compiler")
def test_anon_vma_whole_space_at_two_pages() -> None:
    # Every operation, two pages: the search finishes.
    m = machine("anon_vma", VPAGES=2)
    result = native.search(m, SearchLimits(stop_at_first=False))
    assert result.stats.states == 1_665_634
    for name in SAFETY + ["anon_vma_allocated"]:
        v = result.verdict(name)
        assert isinstance(v, Holds) and v.bound.complete, name
    if SLOW:
        plain = native.search(m, SearchLimits(symmetry=False, stop_at_first=False))
        assert plain.stats.states == 29_223_036


def _orbit_key(m: Machine, state: State) -> State:
    """The least image of ``state`` over every permutation of the reduced
    sorts, computed by brute force (an independent check of the canonical form)."""
    canon = m.canonicalizer
    assert canon is not None
    sizes = [len(m.instance.values(s)) for s in m.symmetric_sorts]
    best = None
    for pis in itertools.product(*(itertools.permutations(range(n)) for n in sizes)):
        image = canon.apply(state, pis)
        code = m.codec.pack(image)
        best = code if best is None or code < best else best
    assert best is not None
    return m.state_of(best)


def test_anon_vma_reduction_is_exact() -> None:
    """At a small bound: the reduced search (which runs the run-time symmetry
    checks of choose and of swap-out's loop) visits exactly one state per orbit
    of the unreduced reachable set."""
    m = machine("anon_vma", PROCS=2, VPAGES=1, FRAMES=2)
    todo = [m.initial_state()]
    seen = set(todo)
    while todo:
        s = todo.pop()
        for t in m.successors(s):
            if t.state not in seen:
                seen.add(t.state)
                todo.append(t.state)
    orbits = {_orbit_key(m, s) for s in seen}
    result = bfs.search(m, SearchLimits(stop_at_first=False))
    assert dict(result.stats.extra)["symmetry"] == ("Proc", "Frame", "AnonVma")
    assert "symmetry_restarts" not in dict(result.stats.extra)
    assert result.stats.states == len(orbits)
    # The engine's representative is the least image over the permutations
    # its partition allows (not over all): a different canonical form of the
    # same orbits, so it must correspond one to one.
    pairs = {(m.canonical(s), _orbit_key(m, s)) for s in seen}
    assert len(pairs) == len(orbits) == len({rep for rep, _ in pairs})


def test_parallel_search_on_a_bundled_model() -> None:
    m = machine("anon_vma", PROCS=2, VPAGES=1, FRAMES=2)
    one = bfs.search(m, SearchLimits(stop_at_first=False))
    two = bfs.search(m, SearchLimits(stop_at_first=False, workers=2))
    assert (two.stats.states, two.verdicts) == (one.stats.states, one.verdicts)
