"""Re-runs a trace from any engine on the executable machine before it is shown.

The machine is the reference semantics: a trace is only shown when its first
state is the machine's initial state and every step is an enabled action
instance whose result is exactly the recorded state (exact tuples, never up to
symmetry: traces are concrete). Any disagreement is a bug in rmapcheck, so it
raises ``InternalError`` with the first step that differs.
"""

from __future__ import annotations

from typing import Any

from rmapcheck.errors import InternalError
from rmapcheck.explicit.machine import Machine
from rmapcheck.trace import Trace

State = tuple[Any, ...]


def replay(machine: Machine, trace: Trace) -> list[tuple[str, ...]]:
    """Checks ``trace`` step by step; returns, per step, the names of the
    assertions that step violates (so a caller can confirm an assertion
    counterexample). Raises ``InternalError`` on the first disagreement."""
    initial = machine.initial_state()
    if trace.initial != initial:
        raise InternalError("replay: the trace does not start in the initial state "
                            f"({_diff(machine, initial, trace.initial)})")
    state = initial
    failures: list[tuple[str, ...]] = []
    for n, step in enumerate(trace.steps, start=1):
        try:
            result = machine.step_full(state, step.action, step.args)
        except KeyError as error:
            raise InternalError(f"replay: step {n} names no action instance of the model: "
                                f"{error}") from None
        if result is None:
            raise InternalError(f"replay: step {n}, {step.action}({_args(step.args)}), is not "
                                "enabled in the state before it")
        nxt, failed = result
        if nxt != step.state:
            raise InternalError(f"replay: step {n}, {step.action}({_args(step.args)}), leads "
                                f"to a different state than recorded "
                                f"({_diff(machine, nxt, step.state)})")
        failures.append(tuple(a.name for a in failed))
        state = nxt
    return failures


def replay_violation(machine: Machine, trace: Trace, prop: str) -> None:
    """Replays ``trace`` and checks that it really violates ``prop``: an
    invariant or lemma false in the last state, an assertion violated by the
    last step, or (for a ``sometimes`` property, whose counterexample is a
    complete search without a witness) nothing beyond a valid replay."""
    failures = replay(machine, trace)
    model = machine.model
    if any(p.name == prop for p in model.invariants):
        if machine.holds(prop, trace.last):
            raise InternalError(f"replay: the trace ends in a state where {prop} holds")
        return
    if any(p.name == prop for p in model.witnesses):
        return
    if any(a.name == prop for a in machine.asserts):
        if not trace.steps:
            if not any(a.name == prop for a in machine.init_failures):
                raise InternalError(f"replay: assertion {prop} holds in the init block")
            return
        if prop not in failures[-1]:
            raise InternalError(f"replay: the last step of the trace does not violate "
                                f"assertion {prop}")
        return
    raise InternalError(f"replay: the model has no property or assertion {prop}")


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
