"""Random walks through a design (``rmapcheck simulate``): a way to explore it
by hand, one run at a time, where a search would look at every run.

A walk counts its coverage into ``machine.counts`` as a search does: at every
state it computes every successor (each is an enabled instance), and a step
that reaches a state no walk of ``seen`` reached is a new one."""

from __future__ import annotations

import random
from typing import Any

from rmapcheck.explicit.machine import Machine
from rmapcheck.trace import Step, Trace


def random_walk(machine: Machine, rng: random.Random, steps: int,
                seen: set[tuple[Any, ...]] | None = None) -> tuple[Trace, list[str]]:
    """A random walk of at most ``steps`` steps from the initial state; stops
    at the first violation or when no action is enabled. Returns the trace
    and what it violates. ``seen``: the states earlier walks reached (this
    walk's are added)."""
    seen = set() if seen is None else seen
    counts = machine.counts
    state = machine.initial_state()
    seen.add(state)
    failed = _failed_invariants(machine, state)
    taken: list[Step] = []
    model = machine.instance.model
    while not failed and len(taken) < steps:
        options = machine.expand(state)
        if not options:
            break
        for iid, _, _ in options:
            counts.enabled[iid] += 1
        iid, state, broken = rng.choice(options)
        if state not in seen:
            seen.add(state)
            counts.fresh[iid] += 1
        name, args = machine.describe(iid)
        taken.append(Step(name, args, state, model.action(name).span))
        failed = [machine.asserts[i].name for i in broken] + \
            _failed_invariants(machine, state)
    return Trace(machine.initial_state(), tuple(taken)), failed


def _failed_invariants(machine: Machine, state: tuple[Any, ...]) -> list[str]:
    if not machine.core.coverage:
        return machine.failed_invariants(state)
    before = machine.counts.snapshot()
    try:
        return machine.failed_invariants(state)
    finally:
        machine.counts.count_states(before)
