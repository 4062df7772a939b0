"""One fuzzing run: Hypothesis drives the state machine, a failure is shrunk
(by Hypothesis, then by deleting steps: ``minimize``), replayed on the
executable machine and returned as an ordinary ``Result``.

The run is reproducible from its seed: Hypothesis is seeded, the example
database is off, and nothing depends on the clock except the optional time
limit (which can only end a run early; a failure found before it is the same
failure with the same seed).

A run that finds nothing claims nothing beyond what it did: each invariant
``Holds`` to a ``Bound(engine="fuzz", depth=steps, complete=False)``, and the
statistics say how many examples and steps were run. The result's coverage
counts the steps of every example Hypothesis ran, shrinking included
(``minimize`` is no part of it).
"""

from __future__ import annotations

import random
import time
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from rmapcheck.core.coverage import summarize
from rmapcheck.errors import InternalError
from rmapcheck.fuzz import DEFAULT_EXAMPLES, DEFAULT_STEPS
from rmapcheck.fuzz.guards import make_plans
from rmapcheck.fuzz.minimize import minimize
from rmapcheck.fuzz.stateful import (
    BATCH,
    Counters,
    FuzzFailure,
    PropertyFailure,
    RuntimeFailure,
    fast_properties,
    state_machine_class,
)
from rmapcheck.trace import Bound, Holds, Result, Stats, Unknown, Verdict, Violated

ENGINE = "fuzz"
# Hypothesis's shrinker takes the big steps first and then spends thousands of
# examples on small ones; past this many, ``minimize`` (step deletion on the
# machine) does the rest in a fraction of the time. A count, not a time, so
# that a seed gives the same counterexample on every machine.
DEFAULT_SHRINK_EXAMPLES = 100


def new_seed() -> int:
    return random.SystemRandom().randrange(1 << 32)


def hypothesis_settings(examples: int, steps: int, batch: int = 1) -> settings:
    """Settings for a reproducible, quiet run (the seed is applied separately):
    enough rule calls of ``batch`` transitions for ``steps`` transitions."""
    return settings(
        max_examples=examples,
        # the swarm @initialize rule takes one more
        stateful_step_count=-(-steps // batch) + 1,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=(Phase.generate, Phase.shrink),
        print_blob=False,
    )


def fuzz(machine: Any, *, examples: int = DEFAULT_EXAMPLES, steps: int = DEFAULT_STEPS,
         seed: int | None = None, timeout: float | None = None,
         properties: list[str] | None = None,
         shrink_examples: int | None = DEFAULT_SHRINK_EXAMPLES) -> Result:
    """Fuzzes ``machine`` (a compiled ``Machine``): ``examples`` runs of up to
    ``steps`` actions each, from ``seed`` (a fresh one when None; it is in
    ``result.stats.extra``). ``timeout`` (seconds) ends the generation early;
    shrinking a failure found before it is not cut short. Hypothesis shrinks
    a failure for at most ``shrink_examples`` examples (None: as long as it
    likes); ``minimize`` then deletes every step it can.

    Raises ``TracedRuntimeError`` when the spec raises a run-time error (as the
    explicit engine does), with the shrunk trace that leads to it."""
    if examples <= 0 or steps <= 0:
        raise ValueError("examples and steps must be positive")
    if seed is None:
        seed = new_seed()
    model = machine.model
    order = _property_order(machine)
    if properties is not None:
        unknown = set(properties) - set(order)
        if unknown:
            raise KeyError(f"no property or assertion named {', '.join(sorted(unknown))}")
    start = time.monotonic()
    machine.counts.reset()
    counters = Counters(deadline=start + timeout if timeout is not None else None,
                        shrink_examples=shrink_examples)
    counters.seen.add(hash(machine.initial_state()))  # no step reaches it anew
    plans = make_plans(machine)
    props = fast_properties(machine)
    cls = state_machine_class(machine, counters, plans, props=props, batch=BATCH,
                              max_steps=steps)
    cls = hypothesis_seed(seed)(cls)
    failure: FuzzFailure | None = None
    stopped: str | None = None
    try:
        run_state_machine_as_test(cls, settings=hypothesis_settings(examples, steps, BATCH))
    except FuzzFailure as err:
        failure = err
    except BaseException as err:
        # Our own stops (OutOfTime, ShrinkBudget) may surface as themselves or,
        # when Hypothesis was replaying a known prefix, as a flaky-data error.
        if counters.stopping == "time limit":
            stopped = f"time limit of {timeout:g} s reached"
        elif counters.stopping == "shrink budget":
            failure = counters.best
        elif isinstance(err, Flaky):  # the machine is deterministic: a bug of ours
            raise InternalError(f"fuzz: Hypothesis reports a flaky failure: {err}") from err
        else:
            raise
    hypothesis_length = len(failure.trace) if failure is not None else None
    states = len(counters.seen)
    # Every invariant is checked after every step, whichever ``properties`` are reported.
    coverage = summarize(machine.core, machine.counts, checked=order, states=states,
                         complete=False, per_state=machine.core.coverage,
                         stopped=stopped or f"{counters.examples:,} random runs of at most "
                                            f"{steps} steps")
    if failure is not None:
        with machine.paused():
            failure = minimize(machine, failure,
                               [(p.name, props[p.name]) for p in model.invariants])
    seconds = time.monotonic() - start

    consts = tuple(sorted(machine.instance.consts.items()))
    bound = Bound(ENGINE, None, steps, False, consts)
    violations: dict[str, Verdict] = {}
    if isinstance(failure, RuntimeFailure):
        from rmapcheck.explicit.machine import TracedRuntimeError
        from rmapcheck.replay import replay

        replay(machine, failure.trace)
        raise TracedRuntimeError(failure.error, failure.trace, failure.action, failure.args)
    if failure is not None:
        from rmapcheck.replay import replay_violation

        replay_violation(machine, failure.trace, failure.name)
        detail = failure.detail
        if isinstance(failure, PropertyFailure) and not detail:
            detail = machine.explain(failure.name, failure.trace.last)
        violations[failure.name] = Violated(failure.trace, detail)

    witnesses = {p.name for p in model.witnesses}
    verdicts: list[tuple[str, Verdict]] = []
    for name in order:
        if properties is not None and name not in properties:
            continue
        if name in violations:
            verdicts.append((name, violations[name]))
        elif name in witnesses:
            if name in counters.witnessed:
                verdicts.append((name, Holds(bound)))
            else:
                verdicts.append((name, Unknown(f"no witness found in {counters.examples:,} "
                                               f"random runs of up to {steps} steps")))
        else:
            verdicts.append((name, Holds(bound)))
    rate = counters.steps / seconds if seconds > 0 else 0.0
    extra: list[tuple[str, Any]] = [
        ("seed", seed),
        ("examples", counters.examples),
        ("steps_per_second", rate),
        ("examples_per_second", counters.examples / seconds if seconds > 0 else 0.0),
        ("max_examples", examples),
        ("max_steps", steps),
        ("actions", tuple(sorted(counters.actions.items()))),
    ]
    if failure is not None:
        extra.append(("shrunk_by_hypothesis_to", hypothesis_length))
        extra.append(("minimized_to", len(failure.trace)))
    if stopped:
        extra.append(("stopped", stopped))
    if counters.witnessed:
        extra.append(("witnesses", tuple(counters.witnessed.items())))
    stats = Stats(states=states, transitions=counters.steps, depth=counters.max_depth,
                  seconds=seconds, extra=tuple(extra))
    return Result(model.name, ENGINE, tuple(verdicts), stats, consts, coverage)


def _property_order(machine: Any) -> list[str]:
    """Properties, then assertions not named like a property (as the explicit
    engine orders them)."""
    order = [p.name for p in machine.model.properties]
    for stmt in machine.asserts:
        if stmt.name not in order:
            order.append(stmt.name)
    return order


def summary(result: Result) -> str:
    """One line: what the run did, and how to run it again."""
    extra = dict(result.stats.extra)
    text = (f"fuzz: {extra.get('examples', 0):,} examples, {result.stats.transitions:,} steps "
            f"in {result.stats.seconds:.1f} s ({extra.get('steps_per_second', 0.0):,.0f} "
            f"steps/s, {extra.get('examples_per_second', 0.0):,.1f} examples/s); seed "
            f"{extra.get('seed')}")
    if "stopped" in extra:
        text += f"; {extra['stopped']}"
    if not result.violations:
        text += "; random testing, not a proof"
    return text
