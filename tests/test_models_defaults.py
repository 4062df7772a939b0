"""Every bundled model at its own default bounds (issue #4), as `rmapcheck
verify NAME.spec` runs it.

Pins, per model: the states the breadth-first search stores with and without
symmetry reduction (to the end for a design that holds; up to the first
counterexample for one that fails), the verdict of every property, and the
first counterexample's property and actions, replayed on the reference
machine. The native engine runs here (the Python engine gives the same
counts: tests/test_native_engine.py); without a C compiler these tests are
skipped, and the counts without symmetry of more than a few million states
run only with RMAPCHECK_SLOW=1.
"""

from __future__ import annotations

import os

import attrs
import pytest

from rmapcheck.explicit import native
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.frontend.check import bundled_models
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.replay import replay_violation
from rmapcheck.trace import Holds, Proved, Violated

pytestmark = pytest.mark.skipif(not native.available(), reason="no C compiler")
SLOW = bool(os.environ.get("RMAPCHECK_SLOW"))


@attrs.frozen
class Pinned:
    states: int  # with symmetry reduction
    plain: int  # without
    first: tuple[str, tuple[str, ...]] | None = None  # a violated model's first counterexample
    slow_plain: bool = False  # the count without symmetry needs RMAPCHECK_SLOW
    depth: int | None = None  # a design searched to this depth only (too many states)


VIOLATED_3 = ("rmap_complete", ("mmap", "fault", "mremap"))

PINNED = {
    # designs that fail, refuted at the VM library's bounds (2, 4, 3)
    "anonmm": Pinned(430, 430, VIOLATED_3),
    "inode_per_mm": Pinned(321, 321, VIOLATED_3),
    "vma_offset": Pinned(279, 321, ("rmap_complete", ("mmap", "fault", "fork"))),
    "objrmap_nonlinear": Pinned(46, 57, ("rmap_complete", ("mmap_file", "remap_file_pages"))),
    # designs that hold, to the end
    "objrmap": Pinned(474_373, 1_820_172),
    "pte_chains": Pinned(719_970, 2_868_438),
    "anonmm_mremap_cow": Pinned(943_810, 5_371_970, slow_plain=True),
    # too many states to finish (the Z3 proofs cover it): every behaviour of
    # 6 steps at anon_vma's 2,4,3 (its whole space at 2 pages is pinned in
    # tests/test_explicit_models.py), of 8 at anon_vma_chain's three processes
    "anon_vma": Pinned(964_094, 2_184_745, depth=6),
    # (610,681 and 3,784,840 before VM_ACCOUNT split read-only VMAs from their neighbours)
    "anon_vma_chain": Pinned(630_224, 3_892_582, depth=8),
    # a race: mremap moving ptes beside an rmap walk (one walker and one
    # page, so no symmetric sort has two values to swap)
    "mremap_move_ptes": Pinned(13_707, 13_707),
    "broken/mremap_move_ptes_unlocked": Pinned(1_007, 1_007, ("unmap_complete", (
        "fault", "mremap", "mremap.move", "mremap.unmap", "mremap", "try_to_unmap",
        "try_to_unmap.visit", "mremap.move", "try_to_unmap.visit", "try_to_unmap.visit",
        "try_to_unmap.unlock"))),
    # broken variants
    "broken/anon_vma_merge_any_anon": Pinned(
        4_991, 8_413, ("rmap_complete", ("mmap", "mmap", "fault", "fault", "mremap"))),
    "broken/anon_vma_merge_any_pgoff": Pinned(
        805, 1_105, ("rmap_complete", ("mmap", "mmap", "fault", "mremap"))),
    "broken/anon_vma_mremap_pgoff": Pinned(136, 161, VIOLATED_3),
    "broken/anon_vma_fork_unlinked": Pinned(179, 204, ("rmap_complete", ("mmap", "fault", "fork"))),
    "broken/anon_vma_stack_pgoff": Pinned(
        498, 604, ("rmap_complete", ("mmap", "fault", "grow_stack"))),
    # the lemma that the split's missing anon_vma_clone breaks fails first
    "broken/anon_vma_chain_split_unlinked": Pinned(
        90, 180, ("chain_has_own", ("mmap", "fault", "munmap"))),
    "broken/anon_vma_chain_fork_unlinked": Pinned(
        59, 105, ("rmap_complete", ("mmap", "fault", "fork"))),
    "broken/anon_vma_chain_fork_fail_unlinks_parent": Pinned(
        60, 106, ("rmap_complete", ("mmap", "fault", "fork"))),
    "broken/anon_vma_chain_merge_no_dup": Pinned(
        128, 259, ("rmap_complete", ("mmap", "fault", "mmap"))),
    # the unlinked anon_vma breaks chain_has_own at the fork, a step before a
    # copy on write puts a page under it that the walk misses
    "broken/anon_vma_chain_fork_new_unlinked": Pinned(
        59, 105, ("chain_has_own", ("mmap", "fault", "fork"))),
}


def _name(path: object) -> str:
    from pathlib import Path

    assert isinstance(path, Path)
    return f"broken/{path.stem}" if path.parent.name == "broken" else path.stem


def test_every_bundled_model_is_pinned() -> None:
    assert {_name(p) for p in bundled_models()} == set(PINNED)


def _machine(name: str) -> Machine:
    return Machine(Instance(load_model(name), {}))


@pytest.mark.parametrize("name", sorted(PINNED))
def test_default_bounds(name: str) -> None:
    pinned = PINNED[name]
    m = _machine(name)
    result = native.search(m, SearchLimits(stop_at_first=pinned.first is not None,
                                           max_depth=pinned.depth))
    assert result.stats.states == pinned.states
    witnesses = {p.name for p in m.model.witnesses}
    if pinned.first is None:
        for prop, verdict in result.verdicts:
            assert isinstance(verdict, Holds), (prop, verdict)
            assert verdict.bound.complete == (pinned.depth is None) or prop in witnesses
        return
    prop, actions = pinned.first
    (first_name, violation), *_ = result.violations
    assert first_name == prop
    assert tuple(s.action for s in violation.trace.steps) == actions
    replay_violation(m, violation.trace, prop)
    assert all(isinstance(v, Holds) for n, v in result.verdicts
               if n not in witnesses and not isinstance(v, Violated))


@pytest.mark.parametrize("name", sorted(PINNED))
def test_default_bounds_without_symmetry(name: str) -> None:
    pinned = PINNED[name]
    if pinned.slow_plain and not SLOW:
        pytest.skip("millions of states: set RMAPCHECK_SLOW=1")
    result = native.search(_machine(name), SearchLimits(
        symmetry=False, stop_at_first=pinned.first is not None, max_depth=pinned.depth))
    assert result.stats.states == pinned.plain
    assert bool(result.violations) == (pinned.first is not None)


@pytest.mark.parametrize("name", ["anon_vma", "anon_vma_chain"])
def test_verified_at_its_defaults(name: str) -> None:
    # Too many states to finish. `rmapcheck verify` searches its budget of
    # states, then the prover takes every property, and proves each one
    # (issue #2: anon_vma at 2,4,3; issue #4: every model verifies in under a
    # minute).
    from rmapcheck.portfolio import AUTO_STATES, verify

    model = load_model(f"{name}.spec")
    result = verify(Machine(Instance(model)))
    assert result.engine == "native-bfs + prove"
    assert result.stats.states == AUTO_STATES
    kinds = {p.name: p.kind for p in model.properties}
    for name, verdict in result.verdicts:
        expected = Holds if kinds.get(name) == "sometimes" else Proved
        assert isinstance(verdict, expected), (name, verdict)
