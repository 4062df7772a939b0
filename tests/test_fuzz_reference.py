"""The compiled VM library against a naive Python reference, step by step.

``tests/specs/vm_oracle.spec`` is models/vm.spec with a perfect reverse map
(``finds(f, p, v) = pte[p, v] == f``); ``tests/reference_vm.py`` implements the
same operations as lists of intervals and a dict of ptes. A Hypothesis state
machine takes random enabled steps on both and checks after every step that
they agree on every VMA (start, end, pgoff, flags), pte, write-protect bit,
page (in use, mapcount) and live process, and on the complete set of enabled
action instances; every invariant of the spec holds and no assertion fails.
"""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from reference_vm import RefVM, spec_snapshot

from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance

ORACLE = Path(__file__).parent / "specs" / "vm_oracle.spec"

# models/vm.spec checks munmap's VMA limit on the count munmap leaves, as Linux
# does (see the test at the end).
SPEC_MUNMAP_LIMIT = "net"

# Small enough that the complete enabled set is compared at every step, large
# enough for three VMAs per process, partial munmap/mprotect and fork trees.
BOUNDS = [
    {"PROCS": 2, "VPAGES": 5, "FRAMES": 3, "VMAS": 3},
    {"PROCS": 3, "VPAGES": 6, "FRAMES": 4, "VMAS": 2},
]


_MACHINES: dict[tuple[tuple[str, int], ...], Machine] = {}


def oracle_machine(consts: dict[str, int]) -> Machine:
    key = tuple(sorted(consts.items()))
    if key not in _MACHINES:
        _MACHINES[key] = Machine(Instance(load_model(str(ORACLE), consts), consts))
    return _MACHINES[key]


def spec_enabled(machine: Machine, state: tuple) -> dict[tuple, tuple]:
    """(action, args) -> (next state, failed assertions) for every enabled instance."""
    return {(t.action, t.args): (t.state, t.failed) for t in machine.successors(state)}


def agreement_machine(consts: dict[str, int]) -> type[RuleBasedStateMachine]:
    machine = oracle_machine(consts)
    instance = machine.instance

    class VmAgreement(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.state = machine.initial_state()
            self.ref = RefVM.initial(consts["PROCS"], consts["VPAGES"], consts["FRAMES"],
                                     consts["VMAS"], munmap_limit=SPEC_MUNMAP_LIMIT)
            self.history: list[str] = []

        def where(self) -> str:
            return " ; ".join(self.history) or "the initial state"

        @rule(data=st.data())
        def step(self, data: st.DataObject) -> None:
            spec = spec_enabled(machine, self.state)
            ref = set(self.ref.enabled())
            assert set(spec) == ref, (
                f"after {self.where()}: enabled only in the spec: "
                f"{sorted(set(spec) - ref)[:5]}; only in the reference: "
                f"{sorted(ref - set(spec))[:5]}")
            if not spec:
                return
            action, args = data.draw(st.sampled_from(sorted(spec)), label="step")
            nxt, failed = spec[(action, args)]
            self.history.append(f"{action}({', '.join(f'{k}={v}' for k, v in args)})")
            assert not failed, f"after {self.where()}: assertions fail: {failed}"
            new_ref = self.ref.apply(action, dict(args))
            assert new_ref is not None
            self.state, self.ref = nxt, new_ref

        @invariant()
        def same_state(self) -> None:
            got, want = spec_snapshot(instance, self.state), self.ref.snapshot()
            for part in want:
                assert got[part] == want[part], (
                    f"after {self.where()}: {part} differs:\n  spec      {got[part]}\n"
                    f"  reference {want[part]}")

        @invariant()
        def invariants_hold(self) -> None:
            assert machine.failed_invariants(self.state) == [], self.where()

    return VmAgreement


@pytest.mark.parametrize("consts", BOUNDS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_vm_library_agrees_with_reference(consts: dict[str, int]) -> None:
    run_state_machine_as_test(
        agreement_machine(consts),
        settings=settings(max_examples=40, stateful_step_count=25, deadline=None,
                          database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck)))


def test_reference_enumerates_the_spec_initial_state() -> None:
    consts = BOUNDS[0]
    machine = oracle_machine(consts)
    ref = RefVM.initial(consts["PROCS"], consts["VPAGES"], consts["FRAMES"], consts["VMAS"],
                        munmap_limit=SPEC_MUNMAP_LIMIT)
    assert set(spec_enabled(machine, machine.initial_state())) == set(ref.enabled())
    assert spec_snapshot(machine.instance, machine.initial_state()) == ref.snapshot()


def test_munmap_may_split_a_single_vma_at_the_vma_limit() -> None:
    """Linux lets munmap split the one VMA of an mm whose map_count is one
    below the limit; only the count after the munmap is checked."""
    consts = {"PROCS": 1, "VPAGES": 4, "FRAMES": 1, "VMAS": 2}
    machine = oracle_machine(consts)
    state = machine.step(machine.initial_state(), "mmap",
                         {"p": 0, "s": 0, "n": 3, "growsdown": False})
    assert state is not None
    after = machine.step(state, "munmap", {"p": 0, "s": 1, "n": 1})
    assert after is not None, "munmap of the middle page of the only VMA is refused"
    assert spec_snapshot(machine.instance, after)["vmas"][0] == (
        (0, 1, 0, False, True), (2, 3, 2, False, True))


def test_pgoff_bound_disables_the_split_that_would_leave_it() -> None:
    """mremap keeps vm_pgoff, so a VMA moved down and grown in place carries a
    large pgoff into its upper pages; a split whose upper part would get a
    pgoff above VPAGES is not enabled (in the spec and the reference alike)."""
    consts = {"PROCS": 1, "VPAGES": 4, "FRAMES": 1, "VMAS": 2}
    machine = oracle_machine(consts)
    ref = RefVM.initial(1, 4, 1, 2, munmap_limit=SPEC_MUNMAP_LIMIT)
    state = machine.initial_state()
    for action, args in [("mmap", {"p": 0, "s": 3, "n": 1, "growsdown": False}),
                         ("mremap", {"p": 0, "a": 3, "n": 1, "t": 0}),
                         ("mremap", {"p": 0, "a": 0, "n": 4, "t": 0})]:
        state, ref = machine.step(state, action, args), ref.apply(action, args)
        assert state is not None and ref is not None
        assert spec_snapshot(machine.instance, state) == ref.snapshot()
    # [0, 4) with pgoff 3: splitting at 1 gives pgoff 4 (fits), at 2 gives 5
    fits = {"p": 0, "s": 0, "n": 1}
    assert machine.step(state, "munmap", fits) is not None
    assert ref.apply("munmap", fits) is not None
    too_far = {"p": 0, "s": 0, "n": 2}
    assert machine.step(state, "munmap", too_far) is None
    assert ref.apply("munmap", too_far) is None
