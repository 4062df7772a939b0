"""The operation sequences ``rmapcheck conform`` runs: random walks of the
model's machine, or a given sequence, one step at a time.

A walk picks an action first, by weight among those with an enabled
instance, then one of its enabled instances uniformly, as ``rmapcheck
simulate --actions`` does (``explicit.simulate.pick_weighted``, which both
call).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.simulate import pick_weighted

State = tuple[Any, ...]
Args = tuple[tuple[str, Any], ...]
ModelStep = tuple[str, Args]
# The next step from a state (its index given), with the state after it; None
# when the sequence ends there; the step and None when the model does not
# allow it (a shrunk candidate that lost a step another needed).
Chooser = Callable[[State, int], "tuple[str, Args, State | None] | None"]


def random_steps(machine: Machine, rng: random.Random,
                 weights: Mapping[str, float]) -> Chooser:
    """A random walk over the actions of ``weights`` (weight > 0). A step
    never takes a failpoint: the kernel's allocations are not made to fail."""
    def choose(state: State, index: int) -> tuple[str, Args, State | None] | None:
        options = [o for o in machine.expand(state) if not machine.fails(o[0])]
        picked = pick_weighted(machine, rng, options, weights)
        if picked is None:
            return None
        iid, after, _ = picked
        name, args = machine.describe(iid)
        return name, args, after
    return choose


def given_steps(machine: Machine, steps: Sequence[ModelStep], lenient: bool = False) -> Chooser:
    """The steps ``steps``, in order. ``lenient``: a step the model does not
    allow where it comes is passed over, not the end of the run; so a
    shrinking candidate that changed one step need not also drop the later
    steps the change disables."""
    cursor = [0]

    def choose(state: State, index: int) -> tuple[str, Args, State | None] | None:
        while cursor[0] < len(steps):
            name, args = steps[cursor[0]]
            cursor[0] += 1
            done = machine.step_full(state, name, args)
            if done is not None or not lenient:
                return name, args, None if done is None else done[0]
        return None
    return choose
