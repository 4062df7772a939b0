"""Swarm runs over a Dask cluster: many seeds and strategies at once, for
``rmapcheck fuzz --cluster`` and ``rmapcheck simulate --cluster``.

Random testing finds a bug by trying many runs; runs are independent, so
they spread over workers with no coordination. Each task has its own seed
and, for random walks, its own strategy, as swarm testing does (Groce,
Zhang, Eide, Chen and Regehr, "Swarm testing", ISSTA 2012): most tasks keep
a random half of the operations with random weights, so that a run is not
always the same mix of everything, and one task in four keeps them all. A
task compiles the model once per worker process and keeps it for the next.

The answer is the violation of the first task (by number, so the seed
reproduces it) that found one: replayed on this machine, shrunk (``fuzz``
shrinks in the worker; a walk is shrunk here with the fuzzer's
``minimize``), and shown as any counterexample.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from attrs import frozen

from rmapcheck import ir
from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.simulate import random_walk
from rmapcheck.fuzz.minimize import minimize
from rmapcheck.fuzz.run import fuzz
from rmapcheck.fuzz.stateful import AssertionFailure, FuzzFailure, PropertyFailure
from rmapcheck.instance import Instance
from rmapcheck.trace import Holds, Result, Stats, Trace, Unknown, Verdict, Violated

# Tasks per worker: more than one, so that a slow task does not hold the others up.
TASKS_PER_WORKER = 4

# The machines a worker process built, by the run's key.
_MACHINES: dict[str, Machine] = {}


@frozen
class Strategy:
    """A task's seed and its mix of operations (None: every enabled step
    alike); the weight of an operation is the weight of each of its steps."""

    seed: int
    weights: tuple[tuple[str, float], ...] | None = None


def operations(model: ir.Model) -> dict[str, list[str]]:
    """Operation -> its actions: a threaded operation's steps go together."""
    out: dict[str, list[str]] = {}
    for action in model.actions:
        name = action.thread.operation if action.thread is not None else action.name
        out.setdefault(name, []).append(action.name)
    return out


def strategies(model: ir.Model, seed: int, count: int) -> list[Strategy]:
    ops = operations(model)
    names = sorted(ops)
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if i % 4 == 0:
            out.append(Strategy(seed + i))
            continue
        kept = [n for n in names if rng.random() < 0.5] or [rng.choice(names)]
        weights = [(a, float(w)) for n in kept for w in [rng.randint(1, 4)] for a in ops[n]]
        out.append(Strategy(seed + i, tuple(weights)))
    return out


def _machine(key: str, model: ir.Model, consts: dict[str, int]) -> Machine:
    machine = _MACHINES.get(key)
    if machine is None:
        machine = _MACHINES[key] = Machine(Instance(model, consts), symmetry=False)
    return machine


def _fuzz_task(key: str, model: ir.Model, consts: dict[str, int], examples: int, steps: int,
               seed: int) -> Result:
    return fuzz(_machine(key, model, consts), examples=examples, steps=steps, seed=seed)


def _walk_task(key: str, model: ir.Model, consts: dict[str, int], strategy: Strategy,
               walks: int, steps: int) -> tuple[list[tuple[str, Any]] | None, list[str], int]:
    """(the moves of the first violating walk, what it violates, steps taken)."""
    machine = _machine(key, model, consts)
    rng = random.Random(strategy.seed)
    weights = dict(strategy.weights) if strategy.weights is not None else None
    taken = 0
    for _ in range(walks):
        trace, failed = random_walk(machine, rng, steps, None, weights)
        taken += len(trace)
        if failed:
            return [(s.action, s.args) for s in trace.steps], failed, taken
    return None, [], taken


def _tasks(client: Any) -> int:
    return max(1, len(client.scheduler_info()["workers"])) * TASKS_PER_WORKER


def swarm_fuzz(machine: Machine, client: Any, *, examples: int, steps: int,
               seed: int) -> Result:
    """``fuzz`` with ``examples`` runs spread over the cluster, task i from
    seed + i."""
    tasks = _tasks(client)
    each = max(1, -(-examples // tasks))
    key = f"{machine.model.name}:{seed}:{random.random()}"
    consts = dict(machine.instance.consts)
    futures = [client.submit(_fuzz_task, key, machine.model, consts, each, steps, seed + i,
                             pure=False) for i in range(tasks)]
    results: list[Result] = client.gather(futures)
    found = next((r for r in results if r.violations), None)
    chosen = found if found is not None else results[0]
    verdicts: list[tuple[str, Verdict]] = []
    for name, verdict in chosen.verdicts:
        if isinstance(verdict, Violated):
            from rmapcheck.replay import replay_violation

            replay_violation(machine, verdict.trace, name)
        # A witness any task found is a witness.
        found_by = [r.verdict(name) for r in results if isinstance(r.verdict(name), Holds)]
        verdicts.append((name, found_by[0] if isinstance(verdict, Unknown) and found_by
                         else verdict))
    extra = dict(chosen.stats.extra)
    extra.update(examples=sum(dict(r.stats.extra)["examples"] for r in results),
                 seed=seed, swarm_tasks=tasks)
    stats = Stats(states=max(r.stats.states or 0 for r in results),
                  transitions=sum(r.stats.transitions or 0 for r in results),
                  depth=max(r.stats.depth or 0 for r in results),
                  seconds=max(r.stats.seconds for r in results),
                  extra=tuple(extra.items()))
    return Result(chosen.model, "fuzz-swarm", tuple(verdicts), stats, chosen.consts,
                  chosen.coverage)


def swarm_walks(machine: Machine, client: Any, *, runs: int, steps: int,
                seed: int) -> tuple[Trace | None, list[str], dict[str, Any]]:
    """``runs`` random walks spread over the cluster with swarm strategies:
    the first violating walk (by task), shrunk, what it violates, and figures."""
    tasks = _tasks(client)
    each = max(1, -(-runs // tasks))
    key = f"{machine.model.name}:{seed}:{random.random()}"
    consts = dict(machine.instance.consts)
    plans = strategies(machine.model, seed, tasks)
    futures = [client.submit(_walk_task, key, machine.model, consts, plan, each, steps,
                             pure=False) for plan in plans]
    results = client.gather(futures)
    figures: dict[str, Any] = {"tasks": tasks, "walks": each * tasks,
                               "steps": sum(r[2] for r in results),
                               "violating_tasks": sum(1 for r in results if r[0] is not None)}
    index = next((i for i, r in enumerate(results) if r[0] is not None), None)
    if index is None:
        return None, [], figures
    moves, failed, _ = results[index]
    figures["task"] = index
    figures["strategy"] = plans[index]
    trace = _replayed(machine, moves)
    failure = _failure(machine, trace, failed)
    with machine.paused():
        failure = minimize(machine, failure, [(p.name, machine.props[p.name])
                                              for p in machine.model.invariants])
    return failure.trace, [failure.name], figures


def _replayed(machine: Machine, moves: Sequence[tuple[str, Any]]) -> Trace:
    from rmapcheck.replay import replay_actions

    return replay_actions(machine, [(a, tuple(args)) for a, args in moves]).trace


def _failure(machine: Machine, trace: Trace, failed: list[str]) -> FuzzFailure:
    """The walk's violation, as the fuzzer's minimizer takes it: the first
    assertion of the last step, else the first invariant of the last state."""
    asserts = {a.name for a in machine.asserts}
    name = failed[0]
    if name in asserts:
        return AssertionFailure(name, trace)
    return PropertyFailure(name, trace)
