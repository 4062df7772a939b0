"""A trace file read for a spec, as ``rmapcheck replay`` and ``rmapcheck eval``
take it: of the same design (its states are the spec's and are compared), or
of another one (only its actions are matched to the spec's and run).

A trace is the same design's when it says it is a trace of the spec's model
(or says nothing of its model and has exactly the spec's variables) and every
state reads as a state of the spec at the trace's bounds. Anything else, a
broken variant's counterexample run on its fix, a trace at other bounds, a
Quint model-based-testing trace, is replayed by its actions. The bounds are
the trace's for the constants the spec has, so that its argument values mean
what they meant, unless ``--const`` says otherwise; every difference from the
spec's own bounds is said in a note.
"""

from __future__ import annotations

from typing import Any

import attrs
from attrs import frozen

from rmapcheck.errors import SpecError
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.ir import Model
from rmapcheck.render.itf import (
    ItfAction,
    Unmatched,
    is_mbt,
    itf_actions,
    match_action,
    own_vars,
    read_itf,
    shared_vars,
    trace_from_itf,
)
from rmapcheck.trace import Trace

# An action instance of the spec: the action's name and its encoded arguments.
ActionInstance = tuple[str, tuple[tuple[str, Any], ...]]


@frozen
class TraceOnSpec:
    path: str
    data: dict[str, Any] = attrs.field(eq=False, repr=False)
    machine: Machine = attrs.field(eq=False, repr=False)
    # The same design: the trace with its states, to be checked against the spec's.
    trace: Trace | None
    # Another design: what each step says it did, and the variables shared
    # with the spec (same name and shape) that its states are compared on.
    actions: tuple[ItfAction, ...] = ()
    shared: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def model(self) -> Model:
        return self.machine.model

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.data.get("#meta") or {})

    @property
    def source_model(self) -> str | None:
        """The model the trace says it is a trace of."""
        name = self.meta.get("model")
        return str(name) if name is not None else None

    @property
    def claimed(self) -> str | None:
        """What the trace says it violates (on its own design)."""
        claim = self.meta.get("violated")
        return str(claim) if claim is not None else None

    @property
    def steps(self) -> int:
        return len(self.data["states"]) - 1

    def matched(self) -> tuple[tuple[ActionInstance, ...], Unmatched | None]:
        """Another design's steps as the spec's action instances, up to the
        first that is none of them, and why that one is not."""
        out: list[ActionInstance] = []
        for step in self.actions:
            found = match_action(self.machine.instance, step)
            if isinstance(found, Unmatched):
                return tuple(out), found
            out.append(found)
        return tuple(out), None


def _consts(path: str, meta: dict[str, Any]) -> dict[str, int]:
    try:
        return {str(k): int(v) for k, v in (meta.get("consts") or {}).items()}
    except (TypeError, ValueError, AttributeError):
        raise SpecError(f"{path}: the constants in its #meta are not whole numbers",
                        None) from None


def _bound_notes(model: Model, recorded: dict[str, int], overrides: dict[str, int],
                 used: dict[str, int]) -> list[str]:
    """What differs between the bounds the trace was written at, the spec's
    own, and the ones the replay runs at."""
    def show(values: dict[str, int]) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(values.items()))

    notes = []
    defaults = {c.name: c.default for c in model.consts}
    foreign = {k: v for k, v in recorded.items() if k not in defaults}
    if foreign:
        notes.append(f"the trace was written with {show(foreign)}, which {model.name} "
                     "has no constant for")
    taken = {k: v for k, v in recorded.items()
             if k in defaults and k not in overrides and v != defaults[k]}
    if taken:
        own = {k: defaults[k] for k in taken}
        notes.append(f"the trace was written at {show(taken)}, where {model.name}'s own "
                     f"bounds are {show(own)}; replayed at the trace's")
    changed = {k: v for k, v in overrides.items() if k in recorded and recorded[k] != v}
    if changed:
        written = {k: recorded[k] for k in changed}
        notes.append(f"replayed at {show(changed)} (--const); the trace was written at "
                     f"{show(written)}")
    missing = {k: used[k] for k in defaults if recorded and k not in recorded
               and k not in overrides}
    if missing:
        notes.append(f"the trace records no {', '.join(sorted(missing))}; replayed at "
                     f"{model.name}'s {show(missing)}")
    return notes


def load_trace(path: str, spec: str, overrides: dict[str, int],
               model: Model | None = None) -> TraceOnSpec:
    """``path`` read as a trace for the spec ``spec`` (its ``model`` when the
    caller has loaded it) at the trace's bounds with ``overrides``; a
    SpecError when it cannot be read or names no actions."""
    data = read_itf(path)
    if not data["states"]:
        raise SpecError(f"{path} is an ITF trace with no states, not even an initial one",
                        None)
    meta = data.get("#meta") or {}
    recorded = _consts(path, meta)
    if model is None:
        model = load_model(spec)
    known = {c.name for c in model.consts}
    consts = {k: v for k, v in recorded.items() if k in known}
    consts.update(overrides)
    instance = Instance(model, consts)
    machine = Machine(instance)
    notes = _bound_notes(model, recorded, overrides, instance.consts)
    source = meta.get("model")
    mine = source == model.name or (
        source is None and own_vars(data) == [v.name for v in model.state])
    if mine and not is_mbt(data):
        try:
            return TraceOnSpec(path, data, machine, trace_from_itf(instance, data),
                               notes=tuple(notes))
        except SpecError:
            notes.append(f"it does not read as a trace of {model.name} at these bounds, so "
                         "only its actions are replayed")
    actions = itf_actions(data, path)
    return TraceOnSpec(path, data, machine, None, actions, shared_vars(instance, data),
                       tuple(notes))
