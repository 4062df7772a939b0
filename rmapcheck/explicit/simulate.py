"""Random walks through a design (``rmapcheck simulate``): a way to explore it
by hand, one run at a time, where a search would look at every run."""

from __future__ import annotations

import random

from rmapcheck.explicit.machine import Machine
from rmapcheck.trace import Step, Trace


def random_walk(machine: Machine, rng: random.Random, steps: int) -> tuple[Trace, list[str]]:
    """A random walk of at most ``steps`` steps from the initial state; stops
    at the first violation or when no action is enabled. Returns the trace
    and what it violates."""
    state = machine.initial_state()
    failed = list(machine.failed_invariants(state))
    taken: list[Step] = []
    model = machine.instance.model
    while not failed and len(taken) < steps:
        options = list(machine.successors(state))
        if not options:
            break
        move = rng.choice(options)
        state = move.state
        taken.append(Step(move.action, move.args, state, model.action(move.action).span))
        failed = [a.name for a in move.failed] + list(machine.failed_invariants(state))
    return Trace(machine.initial_state(), tuple(taken)), failed
