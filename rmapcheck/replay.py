"""Re-runs a trace on the reference semantics: every engine's before it is
shown, and a user's (``rmapcheck replay``) to see what it violates.

The trace runs on the core's interpreter (``rmapcheck.core.interp``), not on
the compiled machine that may have found it, so a trace is only shown when an
independent run of the reference semantics agrees with it: its first state is
the initial state and every step is an enabled action instance whose result
is exactly the recorded state (exact tuples, never up to symmetry: traces are
concrete). For an engine's trace any disagreement is a
bug in rmapcheck, so ``replay`` raises ``InternalError`` with the first step
that differs; ``replay_trace`` takes a trace read from a file, the user's
input, where the same disagreement is a ``SpecError``.

``replay_actions`` re-runs only the actions of a trace, by name and argument
values: a trace written for another design (the counterexample of a broken
variant, run on its fix), whose states are not this spec's. It says which
steps ran, and of the first one that does not, the ``requires`` that stops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs
from attrs import define, field, frozen

from rmapcheck.core.interp import Interpreter, iid_args
from rmapcheck.core.lower import CoreModel
from rmapcheck.core.nodes import Require, Stmt
from rmapcheck.errors import InternalError, SpecError, SpecRuntimeError
from rmapcheck.explicit.machine import Machine
from rmapcheck.trace import Step, Trace

State = tuple[Any, ...]


def replay(machine: Machine, trace: Trace) -> list[tuple[str, ...]]:
    """Checks ``trace`` step by step; returns, per step, the names of the
    assertions that step violates (so a caller can confirm an assertion
    counterexample). Raises ``InternalError`` on the first disagreement."""
    reference = _reference(machine)
    initial = reference.initial_state()
    if trace.initial != initial:
        raise InternalError("replay: the trace does not start in the initial state "
                            f"({_diff(machine, initial, trace.initial)})")
    state = initial
    failures: list[tuple[str, ...]] = []
    for n, step in enumerate(trace.steps, start=1):
        try:
            plan, args = iid_args(machine.core, machine.iid(step.action, step.args))
        except KeyError as error:
            raise InternalError(f"replay: step {n} names no action instance of the model: "
                                f"{error}") from None
        result = reference.run(state, plan, args)
        if result is None:
            raise InternalError(f"replay: step {n}, {step.action}({_args(step.args)}), is not "
                                "enabled in the state before it")
        nxt, failed = result
        if nxt != step.state:
            raise InternalError(f"replay: step {n}, {step.action}({_args(step.args)}), leads "
                                f"to a different state than recorded "
                                f"({_diff(machine, nxt, step.state)})")
        failures.append(tuple(machine.asserts[i].name for i in failed))
        state = nxt
    return failures


def _reference(machine: Machine) -> Interpreter:
    return machine.reference


def replay_violation(machine: Machine, trace: Trace, prop: str) -> None:
    """Replays ``trace`` and checks that it really violates ``prop``: an
    invariant or lemma false in the last state, an assertion violated by the
    last step, or (for a ``sometimes`` property, whose counterexample is a
    complete search without a witness) nothing beyond a valid replay."""
    failures = replay(machine, trace)
    model = machine.model
    if any(p.name == prop for p in model.invariants):
        if _reference(machine).prop(prop, trace.last):
            raise InternalError(f"replay: the trace ends in a state where {prop} holds")
        return
    if any(p.name == prop for p in model.witnesses):
        return
    if any(a.name == prop for a in machine.asserts):
        if not trace.steps:
            reference = _reference(machine)
            reference.initial_state()
            if not any(machine.asserts[i].name == prop for i in reference.init_failures):
                raise InternalError(f"replay: assertion {prop} holds in the init block")
            return
        if prop not in failures[-1]:
            raise InternalError(f"replay: the last step of the trace does not violate "
                                f"assertion {prop}")
        return
    raise InternalError(f"replay: the model has no property or assertion {prop}")


@define
class ReplayReport:
    trace: Trace  # the trace as the machine ran it (every step replayed)
    violated: list[str] = field(factory=list)  # properties the trace violates
    violated_at: int | None = None  # the step (0: the initial state)


def replay_trace(machine: Machine, trace: Trace) -> ReplayReport:
    """Re-runs ``trace`` on ``machine`` (``replay``, the check every engine's
    trace passes); a SpecError when it does not match, since a trace read
    from a file is the user's input, not an engine's claim. The report names
    what the trace violates, at the first step that violates it, and keeps
    the trace up to there."""
    try:
        assertion_failures = replay(machine, trace)
    except InternalError as err:
        text = str(err).removeprefix("replay: ")
        raise SpecError(f"the trace does not match the spec: {text}", None) from None
    report = ReplayReport(trace)
    states = trace.states()
    for index, state in enumerate(states):
        failed = list(assertion_failures[index - 1]) if index else []
        reference = _reference(machine)
        failed += [p.name for p in machine.model.invariants if not reference.prop(p.name, state)]
        if failed:
            report.violated, report.violated_at = failed, index
            report.trace = Trace(trace.initial, trace.steps[:index])
            break
    return report


@frozen
class Blocked:
    """Why a step is not allowed: its ``requires`` (the core's, one conjunct
    of the spec's statement; ``require.span`` is the statement) is false with
    the locals ``env`` (the core's names, one per slot) in ``state``, the state
    as the step's body had left it there."""

    require: Require
    env: tuple[tuple[str, Any], ...]
    state: State


@frozen
class ActionReplay:
    """What became of a trace's actions on a spec: the steps that ran (to the
    first violation, if any), and what stopped the next one, if anything did:
    a ``requires`` (``blocked``) or a run-time error of the spec (``error``)."""

    trace: Trace
    violated: tuple[str, ...] = ()  # the properties and assertions violated
    violated_at: int | None = None  # the step that violates them (0: the initial state)
    blocked: Blocked | None = None
    error: SpecRuntimeError | None = attrs.field(default=None, eq=False)
    # True: the error is the next step's; False: a property's, in the last state
    error_in_step: bool = False

    @property
    def outcome(self) -> Outcome:
        """How the run ended: the first of what happened along it."""
        if self.violated:
            return "violated"
        if self.blocked is not None:
            return "blocked"
        if self.error is not None:
            return "error in step" if self.error_in_step else "error in property"
        return "end"


Outcome = Literal["end", "violated", "blocked", "error in step", "error in property"]


class _Explaining(Interpreter):
    """The reference interpreter, keeping the ``requires`` that disables a step."""

    def __init__(self, core: CoreModel) -> None:
        super().__init__(core)
        self.blocked: Blocked | None = None

    def stmt(self, stmt: Stmt, env: dict[str, Any], t: list[Any], failed: list[int]) -> None:
        # Evaluated twice when false: a requires is pure, so only the time differs.
        if isinstance(stmt, Require) and not self.eval(stmt.cond, env, t):
            self.blocked = Blocked(stmt, tuple(env.items()), tuple(t))
        super().stmt(stmt, env, t, failed)


def replay_actions(machine: Machine, steps: Sequence[tuple[str, tuple[tuple[str, Any], ...]]],
                   judge: bool = True) -> ActionReplay:
    """Runs ``steps`` (action names and encoded arguments by parameter name,
    each an instance of ``machine``'s model) from the initial state on the
    reference interpreter, checking the invariants, lemmas and assertions
    after each; stops at the first violation, the first step that is not
    enabled, or the first run-time error of the spec. Without ``judge`` no
    property is checked (and none stops the run): the states alone."""
    reference = _Explaining(machine.core)
    done: list[Step] = []

    def stop(**outcome: Any) -> ActionReplay:
        return ActionReplay(Trace(initial, tuple(done)), **outcome)

    def false_invariants(state: State) -> list[str]:
        if not judge:
            return []
        return [p.name for p in machine.model.invariants if not reference.prop(p.name, state)]

    initial = state = reference.initial_state()
    try:
        violated = [machine.asserts[i].name for i in reference.init_failures if judge]
        violated += false_invariants(state)
    except SpecRuntimeError as err:
        return stop(error=err)
    if violated:
        return stop(violated=tuple(violated), violated_at=0)
    for action, args in steps:
        plan, values = iid_args(machine.core, machine.iid(action, args))
        reference.blocked = None
        try:
            result = reference.run(state, plan, values)
        except SpecRuntimeError as err:
            return stop(error=err, error_in_step=True)
        if result is None:
            assert reference.blocked is not None
            return stop(blocked=reference.blocked)
        state, failed = result
        done.append(Step(action, args, state, plan.span))
        try:
            violated = [machine.asserts[i].name for i in failed if judge]
            violated += false_invariants(state)
        except SpecRuntimeError as err:
            return stop(error=err)
        if violated:
            return stop(violated=tuple(violated), violated_at=len(done))
    return stop()


def _args(args: tuple[tuple[str, Any], ...]) -> str:
    return ", ".join(f"{name.split('#')[0]}={value}" for name, value in args)


def _diff(machine: Machine, got: State, recorded: State) -> str:
    """The first few slots where two states differ, by variable and key."""
    if len(got) != len(recorded):
        return f"the recorded state has {len(recorded)} slots, the model {len(got)}"
    out = []
    for name, rng in machine.instance.layout.items():
        for e, key in enumerate(rng.keys):
            start = rng.offset + e * rng.width
            a, b = got[start:start + rng.width], recorded[start:start + rng.width]
            if a != b:
                where = machine.instance.format_key(name, key)
                out.append(f"{where}: machine {machine.instance.decode_value(rng.var.value, a)}"
                           f", trace {_decode(machine, rng.var.value, b)}")
                if len(out) == 3:
                    return "; ".join(out) + "; ..."
    return "; ".join(out) or "no slot differs"


def _decode(machine: Machine, sort: Any, slots: tuple[Any, ...]) -> Any:
    try:
        return machine.instance.decode_value(sort, slots)
    except (KeyError, IndexError, TypeError):
        return slots
