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
"""

from __future__ import annotations

from typing import Any

from attrs import define, field

from rmapcheck.core.interp import Interpreter, iid_args
from rmapcheck.errors import InternalError, SpecError
from rmapcheck.explicit.machine import Machine
from rmapcheck.trace import Trace

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
