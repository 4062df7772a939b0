"""The design models of models/ (issue #4): each at its bounds, by exhaustive search.

For every model this pins the verdict of every property, the length of the
shortest counterexample of each violated one (with the actions of the
rmap_complete one), the `sometimes` properties no reachable state witnesses
at those bounds, and the exact number of reachable states with and without
symmetry reduction. Every counterexample is replayed on the reference
machine. A few scenario tests check, step by step, the behaviour each model's
docstring describes.

Bounds: the vm library's constants have one default for every model
(PROCS=2, VPAGES=4, FRAMES=3, VMAS=2), at which most designs have millions
of states, and a design cannot choose its own defaults yet; so each model's
bounds are stated here (and in models/README.md). The native engine is used
when there is a C compiler (it gives the same counts, verdicts and traces as
the Python engine, which test_python_engine_agrees checks); a few counts of
millions of states run only with RMAPCHECK_SLOW=1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs
import pytest

from rmapcheck import portfolio
from rmapcheck.explicit import bfs
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.frontend.check import bundled_models
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.replay import replay_violation
from rmapcheck.resources import models_dir
from rmapcheck.trace import Holds, Result, Violated

SLOW = bool(os.environ.get("RMAPCHECK_SLOW"))


ENGINE = portfolio.fastest_engine()


def search(m: Machine, limits: SearchLimits) -> Result:
    """The fastest engine here: native when a C compiler is there."""
    return portfolio.search(m, limits, ENGINE)


def machine(name: str, **consts: int) -> Machine:
    return Machine(Instance(load_model(name), consts))


@attrs.frozen
class Expect:
    """What exhaustive search says about one model at one set of bounds."""

    model: str
    consts: dict[str, int]
    states: int  # reachable states, with symmetry reduction
    plain: int  # reachable states, without
    violated: dict[str, int] = attrs.Factory(dict)  # property -> shortest counterexample length
    first: tuple[str, ...] = ()  # the actions of the rmap_complete counterexample
    unwitnessed: tuple[str, ...] = ()  # sometimes properties no reachable state satisfies
    slow_plain: bool = False  # the count without symmetry needs RMAPCHECK_SLOW

    @property
    def id(self) -> str:
        return f"{self.model}[{','.join(f'{k}={v}' for k, v in self.consts.items())}]"


ANON = dict(PROCS=2, VPAGES=2, FRAMES=2)

EXPECT = [
    Expect("pte_chains", ANON, 24347, 96228),
    Expect("anonmm_mremap_cow", ANON, 16390, 32078),
    Expect("objrmap", dict(PROCS=2, VPAGES=2, FRAMES=2, FPAGES=2), 474373, 1820172,
           slow_plain=True),
    Expect("objrmap", dict(PROCS=2, VPAGES=2, FRAMES=2, FPAGES=1), 101828, 378568),
    Expect("objrmap_nonlinear", dict(PROCS=1, VPAGES=2, FRAMES=2, FPAGES=2), 2968, 2968,
           violated={"rmap_complete": 2, "swap_out_complete": 3, "truncate_complete": 3,
                     "wf_page_cache": 3},
           first=("mmap_file", "remap_file_pages"),
           unwitnessed=("chain_of_one",)),
    Expect("anon_vma_chain", dict(PROCS=3, VPAGES=1, FRAMES=2, ANON_VMAS=4), 55200, 14021208,
           unwitnessed=("two_vmas", "split_stays_split"), slow_plain=True),
    Expect("anon_vma_chain", dict(PROCS=3, VPAGES=1, FRAMES=2, ANON_VMAS=3), 9584, 626568,
           unwitnessed=("two_vmas", "split_stays_split")),
    Expect("inode_per_mm", dict(PROCS=2, VPAGES=2, FRAMES=2, INODES=2), 74788, 148900,
           violated={"rmap_complete": 3, "swap_out_complete": 4},
           first=("mmap", "fault", "mremap")),
    Expect("vma_offset", ANON, 17202, 67724,
           violated={"rmap_complete": 3, "swap_out_complete": 4},
           first=("mmap", "fault", "fork")),
]

SLOW_EXPECT = [
    # Split, merge, mremap and stack growth with two generations, to the end
    # (10,910,284 states without symmetry: measured, not rerun here).
    Expect("anon_vma_chain", dict(PROCS=2, VPAGES=2, FRAMES=1, ANON_VMAS=3), 1002793, 10910284),
]

DESIGNS = ["pte_chains", "objrmap", "objrmap_nonlinear", "anonmm_mremap_cow", "anon_vma_chain",
           "inode_per_mm", "vma_offset"]
LIBRARIES = ["vm", "vm_file", "vm_nonlinear"]


def test_every_model_loads() -> None:
    bundled = {p.stem for p in bundled_models(include_broken=False)}
    assert set(DESIGNS) <= bundled
    assert not set(LIBRARIES) & bundled
    for path in bundled_models():
        model = load_model(path)
        assert model.doc, path
        assert model.name == path.stem
    for name in DESIGNS:
        doc = load_model(name).doc
        assert "\nDesign: " in "\n" + doc and "\nExpected: " in doc, name


def _check(expect: Expect, result: Result, m: Machine) -> None:
    assert result.stats.states == expect.states
    witnesses = {p.name for p in m.model.witnesses}
    for name, verdict in result.verdicts:
        if name in expect.violated:
            assert isinstance(verdict, Violated), name
            assert len(verdict.trace) == expect.violated[name], name
            replay_violation(m, verdict.trace, name)
        elif name in expect.unwitnessed:
            assert name in witnesses
            assert isinstance(verdict, Violated) and len(verdict.trace) == 0, name
        else:
            assert isinstance(verdict, Holds) and verdict.bound.complete, (name, verdict)
    if expect.first:
        v = result.verdict("rmap_complete")
        assert isinstance(v, Violated)
        assert tuple(s.action for s in v.trace.steps) == expect.first


@pytest.mark.parametrize("expect", EXPECT, ids=lambda e: e.id)
def test_verdicts_and_states(expect: Expect) -> None:
    m = machine(expect.model, **expect.consts)
    _check(expect, search(m, SearchLimits(stop_at_first=False)), m)


@pytest.mark.parametrize("expect", EXPECT, ids=lambda e: e.id)
def test_states_without_symmetry(expect: Expect) -> None:
    if expect.slow_plain and not SLOW:
        pytest.skip("millions of states: set RMAPCHECK_SLOW=1")
    m = machine(expect.model, **expect.consts)
    result = search(m, SearchLimits(symmetry=False, stop_at_first=False))
    assert result.stats.states == expect.plain
    assert {n for n, v in result.verdicts if isinstance(v, Violated)} == \
        set(expect.violated) | set(expect.unwitnessed)


@pytest.mark.skipif(not SLOW, reason="a million states: set RMAPCHECK_SLOW=1")
@pytest.mark.parametrize("expect", SLOW_EXPECT, ids=lambda e: e.id)
def test_verdicts_and_states_slow(expect: Expect) -> None:
    m = machine(expect.model, **expect.consts)
    _check(expect, search(m, SearchLimits(stop_at_first=False)), m)


def test_anon_vma_chain_with_every_operation_to_depth_7() -> None:
    """Three processes and two pages (split, merge, mremap, stacks) are too many
    states to finish; every property holds for every behaviour of 7 steps, and
    every witness (a grandchild's chain, a reused anon_vma, VMAs split before
    a fork staying split) is reached by then."""
    m = machine("anon_vma_chain", PROCS=3, VPAGES=2, FRAMES=2, ANON_VMAS=4)
    result = search(m, SearchLimits(stop_at_first=False, max_depth=7))
    # 125,826 before VM_ACCOUNT: VMAs made read-only before any write now
    # differ from their neighbours in the flag, and stay apart.
    assert result.stats.states == 129438
    for name, verdict in result.verdicts:
        assert isinstance(verdict, Holds), name
        if name not in {p.name for p in m.model.witnesses}:
            assert verdict.bound.depth == 7 and not verdict.bound.complete


@pytest.mark.parametrize("name,consts", [("pte_chains", dict(PROCS=2, VPAGES=2, FRAMES=1)),
                                         ("vma_offset", dict(PROCS=2, VPAGES=2, FRAMES=1)),
                                         ("objrmap_nonlinear", dict(PROCS=1, VPAGES=2, FRAMES=2))])
def test_python_engine_agrees(name: str, consts: dict[str, int]) -> None:
    m = machine(name, **consts)
    python = bfs.search(m, SearchLimits(stop_at_first=False))
    other = search(m, SearchLimits(stop_at_first=False))
    assert python.stats.states == other.stats.states
    assert [(n, type(v).__name__) for n, v in python.verdicts] == \
        [(n, type(v).__name__) for n, v in other.verdicts]


# ------------------------------------------------------------ scenarios


def run(m: Machine, *steps: tuple[str, dict[str, Any]]) -> Any:
    state = m.initial_state()
    for action, args in steps:
        nxt = m.step(state, action, args)
        assert nxt is not None, (action, args)
        state = nxt
    return state


def decode(m: Machine, state: Any) -> dict[str, Any]:
    return m.instance.decode(state)


def test_pte_chains_direct_then_chain() -> None:
    m = machine("pte_chains", **ANON)
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)), ("fault", dict(p=0, v=0)))
    assert decode(m, s)["page"][(0,)]["direct"]
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)), ("fault", dict(p=0, v=0)),
            ("fork", dict(parent=0, child=1)), ("exit", dict(p=1)))
    d = decode(m, s)
    # Back to one pte, but still a chain: no singleton -> PageDirect.
    assert not d["page"][(0,)]["direct"] and d["chain"][(0, 0, 0)]
    assert m.holds("chain_of_one", s)


def test_anonmm_mremap_cow_copies_a_shared_page() -> None:
    m = machine("anonmm_mremap_cow", **ANON)
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)), ("fault", dict(p=0, v=0)),
            ("fork", dict(parent=0, child=1)), ("mremap", dict(p=1, a=0, n=1, t=1)))
    d = decode(m, s)
    assert d["pte"][(0, 0)] != d["pte"][(1, 1)]  # the child moved a private copy
    assert d["page"][(d["pte"][(1, 1)],)]["index"] == 1
    assert d["page"][(d["pte"][(0, 0)],)]["index"] == 0
    # Alone, the page moves and keeps its frame.
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)), ("fault", dict(p=0, v=0)),
            ("mremap", dict(p=0, a=0, n=1, t=1)))
    d = decode(m, s)
    assert d["pte"][(0, 1)] == 0 and d["page"][(0,)]["index"] == 1


def test_vma_offset_breaks_on_stack_growth_too() -> None:
    m = machine("vma_offset", **ANON)
    s = run(m, ("mmap", dict(p=0, s=1, n=1, growsdown=True)), ("fault", dict(p=0, v=1)))
    assert m.failed_invariants(s) == []
    s = m.step(s, "grow_stack", dict(p=0, a=1))
    assert s is not None and "rmap_complete" in m.failed_invariants(s)
    d = decode(m, s)
    assert d["page"][(0,)]["vma_offset"] == 0  # recorded against the old vm_start


def test_inode_per_mm_fork_shares_the_parents_inode() -> None:
    m = machine("inode_per_mm", PROCS=2, VPAGES=2, FRAMES=2, INODES=2)
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)), ("fault", dict(p=0, v=0)),
            ("fork", dict(parent=0, child=1)), ("cow", dict(p=1, v=0)))
    assert m.failed_invariants(s) == []
    d = decode(m, s)
    assert d["maps_ino"][(1, d["ino"][(0,)])] and d["ino"][(1,)] != d["ino"][(0,)]
    assert d["page"][(d["pte"][(1, 0)],)]["mapping"] == d["ino"][(1,)]


def test_objrmap_finds_a_file_page_at_two_offsets_of_the_address_space() -> None:
    """One file page mapped by two processes at different addresses, one of the
    VMAs moved by mremap: the walk computes each address from vm_pgoff."""
    m = machine("objrmap", PROCS=2, VPAGES=2, FRAMES=2, FPAGES=2)
    s = run(m, ("mmap_file", dict(p=0, s=0, n=2, x=0, o=0, shared=True)),
            ("fault_file", dict(p=0, v=1)), ("fork", dict(parent=0, child=1)),
            ("munmap", dict(p=1, s=0, n=1)), ("mremap", dict(p=1, a=1, n=1, t=0)))
    assert m.failed_invariants(s) == []
    d = decode(m, s)
    assert d["pte"][(0, 1)] == d["pte"][(1, 0)] == 0
    assert d["vma"][(1, 0)]["pgoff"] == 1
    assert m.holds("file_page_shared", s)


def test_objrmap_private_write_makes_an_anonymous_copy() -> None:
    m = machine("objrmap", PROCS=2, VPAGES=2, FRAMES=2, FPAGES=2)
    s = run(m, ("mmap_file", dict(p=0, s=0, n=1, x=0, o=0, shared=False)),
            ("fault_file", dict(p=0, v=0)), ("cow", dict(p=0, v=0)))
    d = decode(m, s)
    f = d["pte"][(0, 0)]
    assert d["page"][(f,)]["file"] is None and d["chain"][(f, 0, 0)]
    assert m.holds("private_copy", s) and m.failed_invariants(s) == []
    # Truncation zaps the copy too (even_cows).
    s = m.step(s, "truncate", dict(x=0, n=0))
    assert s is not None and decode(m, s)["pte"][(0, 0)] is None


def test_anon_vma_chain_reuses_the_exited_middle_generation() -> None:
    m = machine("anon_vma_chain", PROCS=3, VPAGES=1, FRAMES=2, ANON_VMAS=4)
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)), ("fault", dict(p=0, v=0)),
            ("fork", dict(parent=0, child=1)), ("fork", dict(parent=1, child=2)))
    d = decode(m, s)
    root, middle, young = (d["vma"][(p, 0)]["anon"] for p in range(3))
    assert len({root, middle, young}) == 3
    assert d["vma"][(2, 0)]["chain"] == {root, middle, young}
    assert m.holds("grandchild", s)
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)), ("fault", dict(p=0, v=0)),
            ("fork", dict(parent=0, child=1)), ("fork", dict(parent=1, child=2)),
            ("exit", dict(p=1)), ("fork", dict(parent=2, child=1)))
    d = decode(m, s)
    assert d["vma"][(1, 0)]["anon"] == middle  # no VMA of its own, one child: reused
    assert m.holds("reused", s) and m.failed_invariants(s) == []


def test_anon_vma_chain_split_before_fork_stays_split() -> None:
    m = machine("anon_vma_chain", PROCS=2, VPAGES=2, FRAMES=2, ANON_VMAS=4)
    s = run(m, ("mmap", dict(p=0, s=0, n=2, growsdown=False)), ("fault", dict(p=0, v=0)),
            ("mprotect", dict(p=0, s=1, n=1, writable=False)),
            ("fork", dict(parent=0, child=1)),
            ("mprotect", dict(p=1, s=1, n=1, writable=True)),
            ("mprotect", dict(p=0, s=1, n=1, writable=True)))
    d = decode(m, s)
    assert d["vma"][(0, 0)]["end"] == 2  # the parent merges back
    assert d["vma"][(1, 0)]["end"] == 1 and d["vma"][(1, 1)] is not None  # the child cannot
    assert d["vma"][(1, 0)]["anon"] != d["vma"][(1, 1)]["anon"]
    assert m.holds("split_stays_split", s)


def test_anon_vma_chain_prepare_takes_a_compatible_neighbours_anon_vma() -> None:
    m = machine("anon_vma_chain", PROCS=2, VPAGES=2, FRAMES=2, ANON_VMAS=4)
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)), ("fault", dict(p=0, v=0)),
            ("mprotect", dict(p=0, s=0, n=1, writable=False)),
            ("mmap", dict(p=0, s=1, n=1, growsdown=False)), ("fault", dict(p=0, v=1)))
    d = decode(m, s)
    # Access rights differ, so no merge, but find_mergeable_anon_vma ignores them.
    assert d["vma"][(0, 0)]["anon"] == d["vma"][(0, 1)]["anon"]


def test_anon_vma_chain_mremap_of_a_vma_that_never_faulted_resets_pgoff() -> None:
    m = machine("anon_vma_chain", PROCS=2, VPAGES=2, FRAMES=2, ANON_VMAS=4)
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)),
            ("mremap", dict(p=0, a=0, n=1, t=1)))
    assert decode(m, s)["vma"][(0, 1)]["pgoff"] == 1
    s = run(m, ("mmap", dict(p=0, s=0, n=1, growsdown=False)), ("fault", dict(p=0, v=0)),
            ("mremap", dict(p=0, a=0, n=1, t=1)))
    assert decode(m, s)["vma"][(0, 1)]["pgoff"] == 0


def test_anon_vma_chain_mprotect_drops_vm_account_of_a_vma_never_written() -> None:
    """Linux 6.7 and later (mprotect_fixup): a read-only VMA without an
    anon_vma loses VM_ACCOUNT, so it does not merge with the part that was
    written before it was made read-only; made writable again it is charged."""
    m = machine("anon_vma_chain", PROCS=1, VPAGES=2, FRAMES=1)
    steps = (("mmap", dict(p=0, s=0, n=2, growsdown=False)),
             ("mprotect", dict(p=0, s=1, n=1, writable=False)),
             ("fault", dict(p=0, v=0)),
             ("mprotect", dict(p=0, s=0, n=1, writable=False)))
    vmas = decode(m, run(m, *steps))["vma"]
    assert [(a, vmas[(0, a)]["end"], vmas[(0, a)]["unaccounted"]) for a in range(2)] == \
        [(0, 1, False), (1, 2, True)]
    again = decode(m, run(m, *steps, ("mprotect", dict(p=0, s=1, n=1, writable=True))))["vma"]
    assert again[(0, 1)]["unaccounted"] is False and again[(0, 0)]["writable"] is False


def test_anon_vma_chain_reuse_order_is_exact_below_five_anon_vmas() -> None:
    """The model orders reuse candidates by depth; with five anon_vmas two
    unrelated ones can both be candidates, and the assertion says so."""
    m = machine("anon_vma_chain", PROCS=3, VPAGES=1, FRAMES=1, ANON_VMAS=5)
    result = search(m, SearchLimits(properties=["reuse_order_exact"]))
    assert result.stats.states == 55887
    v = result.verdict("reuse_order_exact")
    assert isinstance(v, Violated) and len(v.trace) == 13
    replay_violation(m, v.trace, "reuse_order_exact")


def test_vm_file_library_models_are_not_designs() -> None:
    for name in LIBRARIES:
        assert (models_dir() / f"{name}.spec").is_file()
    assert Path(models_dir() / "README.md").is_file()
