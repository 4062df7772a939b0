"""The broken variants of models/broken/: each is refuted with a short trace.

Each variant changes one rule of a correct design. Breadth-first search until
the first violation of rmap_complete gives its shortest counterexample; this
pins its length, its actions and the states explored until then (with and
without symmetry), replays it, and runs the same steps on the correct design,
where rmap_complete holds all the way: the rule the variant changed is what
breaks it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rmapcheck.explicit import bfs
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.frontend.check import bundled_models
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.replay import replay_violation
from rmapcheck.trace import Violated

# A few thousand states at most: the Python engine is quicker here than
# compiling each instance for the native one.
search = bfs.search
BOUNDS = dict(PROCS=2, VPAGES=3, FRAMES=2)

# The fix of the variant whose error path is wrong: the same failpoint, with
# the kernel's error path (anon_vma_chain itself has no failpoint to replay).
FORK_FAIL_FIXED = str(Path(__file__).parent / "specs" / "failpoints" / "fork_fail_fixed.spec")

# variant: (correct design, actions of the shortest counterexample,
#           states explored with symmetry, without)
BROKEN = {
    "anon_vma_merge_any_anon": ("anon_vma", ("mmap", "mmap", "fault", "fault", "mremap"),
                                4991, 8413),
    "anon_vma_merge_any_pgoff": ("anon_vma", ("mmap", "mmap", "fault", "mremap"), 805, 1105),
    "anon_vma_mremap_pgoff": ("anon_vma", ("mmap", "fault", "mremap"), 136, 161),
    "anon_vma_fork_unlinked": ("anon_vma", ("mmap", "fault", "fork"), 179, 204),
    "anon_vma_stack_pgoff": ("anon_vma", ("mmap", "fault", "grow_stack"), 498, 604),
    "anon_vma_chain_split_unlinked": ("anon_vma_chain", ("mmap", "fault", "munmap"), 214, 261),
    "anon_vma_chain_fork_unlinked": ("anon_vma_chain", ("mmap", "fault", "fork"), 142, 167),
    "anon_vma_chain_merge_no_dup": ("anon_vma_chain", ("mmap", "fault", "mmap"), 362, 458),
    "anon_vma_chain_fork_fail_unlinks_parent": (FORK_FAIL_FIXED, ("mmap", "fault", "fork"),
                                                143, 168),
    "anon_vma_chain_fork_new_unlinked": ("anon_vma_chain", ("mmap", "fault", "fork", "cow"),
                                         822, 1207),
}


def machine(name: str) -> Machine:
    return Machine(Instance(load_model(name), BOUNDS))


# Races, not variants of the VM library: pinned in tests/test_threads.py.
RACES = {"mremap_move_ptes_unlocked"}


def test_every_broken_variant_is_pinned() -> None:
    broken = {p.stem for p in bundled_models() if p.parent.name == "broken"}
    assert broken == set(BROKEN) | RACES


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_refuted_with_a_short_trace(name: str) -> None:
    design, actions, states, plain = BROKEN[name]
    m = machine(name)
    for symmetry, count in ((True, states), (False, plain)):
        result = search(m, SearchLimits(symmetry=symmetry, properties=["rmap_complete"]))
        v = result.verdict("rmap_complete")
        assert isinstance(v, Violated)
        assert tuple(s.action for s in v.trace.steps) == actions
        assert result.stats.states == count
        replay_violation(m, v.trace, "rmap_complete")
    # The same steps on the correct design: every state keeps rmap_complete.
    good = machine(design)
    state = good.initial_state()
    for step in v.trace.steps:
        state = good.step(state, step.action, step.args)
        assert state is not None, step
        assert good.holds("rmap_complete", state), step


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_docstring_states_the_counterexample(name: str) -> None:
    doc = load_model(name).doc
    _, actions, _, _ = BROKEN[name]
    assert f"rmap_complete is violated ({len(actions)} steps" in " ".join(doc.split())
