"""Random walks through a design (``rmapcheck simulate``): a way to explore it
by hand, one run at a time, where a search would look at every run.

A walk counts its coverage into ``machine.counts`` as a search does: at every
state it computes every successor (each is an enabled instance), and a step
that reaches a state no walk of ``seen`` reached is a new one.

With weights (``--actions``), a walk takes only the actions weighed, chosen
as ``rmapcheck conform``'s walks choose them (``pick_weighted``, which both
call)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from rmapcheck.explicit.machine import Machine
from rmapcheck.trace import Step, Trace

State = tuple[Any, ...]
# One enabled instance, as ``Machine.expand`` gives it: (iid, next state,
# indices of the assertions the step violates).
Option = tuple[int, State, tuple[int, ...]]


def pick_weighted(machine: Machine, rng: random.Random, options: Sequence[Option],
                  weights: Mapping[str, float]) -> Option | None:
    """One of ``options``: an action first, by its weight among the actions of
    ``weights`` (weight > 0) that have an enabled instance, then one of its
    enabled instances uniformly; None when no such action is enabled. Picking
    among all instances at once would let mprotect, with its many argument
    combinations, crowd out fork and exit."""
    by_action: dict[str, list[Option]] = {}
    for option in options:
        name = machine.action_of(option[0]).name
        if weights.get(name, 0) > 0:
            by_action.setdefault(name, []).append(option)
    if not by_action:
        return None
    # Sorted, so that a seed picks the same whatever order the actions were weighed in.
    names = sorted(by_action)
    name = rng.choices(names, [weights[n] for n in names])[0]
    return rng.choice(by_action[name])


def random_walk(machine: Machine, rng: random.Random, steps: int,
                seen: set[tuple[Any, ...]] | None = None,
                weights: Mapping[str, float] | None = None) -> tuple[Trace, list[str]]:
    """A random walk of at most ``steps`` steps from the initial state; stops
    at the first violation or when no action is enabled. Returns the trace
    and what it violates. ``seen``: the states earlier walks reached (this
    walk's are added). ``weights``: only these actions, chosen by weight
    (``pick_weighted``); None: every enabled instance equally likely."""
    seen = set() if seen is None else seen
    counts = machine.counts
    state = machine.initial_state()
    seen.add(state)
    failed = _failed_invariants(machine, state)
    taken: list[Step] = []
    model = machine.instance.model
    while not failed and len(taken) < steps:
        options = machine.expand(state)
        # Every successor was computed, so each counts as enabled, also those
        # of an action the weights leave out: the guard held.
        for iid, _, _ in options:
            counts.enabled[iid] += 1
        if weights is None:
            picked = rng.choice(options) if options else None
        else:
            picked = pick_weighted(machine, rng, options, weights)
        if picked is None:
            break
        iid, state, broken = picked
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
