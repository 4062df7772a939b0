"""The one trace type and the one verdict type that every engine returns.

A ``Trace`` is an initial state and the steps after it, each step the action,
its arguments, the state after it and the spec line of the action. States are
the flat tuples of ``rmapcheck.instance``. A ``Verdict`` is exactly one of
holds-to-a-bound, proved, violated or unknown; they are never mixed up.

An engine may attach the evidence behind a verdict as data (``FailingPart``,
``Cti``) for ``rmapcheck.render`` to put in words: the engines do not word
model values themselves, so every value reads the same whichever engine
found it.

An explicit run also says what it exercised (``Coverage``): how often each
action was enabled and led to a new state, and the counts of the core's
coverage sites (hooks, branches, antecedents of properties).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
from attrs import frozen

from rmapcheck.ir import Sort, Span

State = tuple[Any, ...]


@frozen
class Step:
    action: str
    args: tuple[tuple[str, Any], ...]  # (parameter name, encoded value)
    state: State  # the state after the step
    span: Span | None = attrs.field(default=None, eq=False)


@frozen
class Trace:
    initial: State
    steps: tuple[Step, ...] = ()

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last(self) -> State:
        return self.steps[-1].state if self.steps else self.initial

    def states(self) -> list[State]:
        return [self.initial] + [s.state for s in self.steps]


@frozen
class Bound:
    """How far a search went: what a "holds" verdict is a claim about."""

    engine: str
    states: int | None = None  # distinct states explored (explicit engine)
    depth: int | None = None  # every behaviour of at most this many steps
    complete: bool = False  # the whole reachable state space was explored
    consts: tuple[tuple[str, int], ...] = ()

    def describe(self) -> str:
        parts = []
        if self.complete:
            parts.append("every reachable state")
        elif self.engine == "fuzz":
            # Random runs cover some behaviours of that length, never all of them.
            parts.append(f"random runs of up to {self.depth} steps, not every behaviour")
        elif self.depth is not None:
            parts.append(f"every behaviour up to depth {self.depth}")
        if self.states is not None:
            parts.append(f"{self.states:,} states")
        if self.consts:
            parts.append(", ".join(f"{k}={v}" for k, v in self.consts))
        return "; ".join(parts)


@frozen
class Holds:
    """No violation within ``bound``; not a proof beyond it unless complete."""

    bound: Bound


# The name of every lemma the prover infers starts so (rmapcheck.symbolic.infer).
INFERRED_PREFIX = "inferred_"


@frozen
class Proved:
    """Holds in every reachable state of the instance (or of every instance,
    for a parametric method)."""

    method: str  # "induction", "k-induction (k=3)", "spacer", "explicit fixpoint" ...
    lemmas: tuple[str, ...] = ()
    detail: str = ""

    def lemma_list(self) -> str:
        """The lemmas for a verdict line: the spec's by name, the inferred ones
        counted (their text is listed once, after the verdicts)."""
        named = [n for n in self.lemmas if not n.startswith(INFERRED_PREFIX)]
        found = len(self.lemmas) - len(named)
        if found:
            named.append(f"{found} inferred")
        return ", ".join(named)


@frozen
class FailingPart:
    """Which part of property ``prop`` is false in a state: its top-level
    conjunct number ``conjunct`` of ``conjuncts`` (at ``span``), whether
    evaluating that conjunct is a run-time error, and the first instance of
    its ``forall`` variables that fails, as (name, sort, value)."""

    prop: str
    conjunct: int
    conjuncts: int
    span: Span
    error: bool = False
    bindings: tuple[tuple[str, Sort, Any], ...] = ()


@frozen
class Cti:
    """A counterexample to induction: a step from a state satisfying the
    properties ``assumed`` to one that breaks ``prop`` (or fails it, for an
    assertion or a run-time error), with the part of ``prop`` that breaks."""

    prop: str
    action: str
    args: tuple[tuple[str, Any], ...]
    pre: State
    post: State
    part: FailingPart | None
    assumed: tuple[str, ...]

    def trace(self, span: Span | None = None) -> Trace:
        return Trace(self.pre, (Step(self.action, self.args, self.post, span),))


@frozen
class Violated:
    trace: Trace
    detail: str = ""  # the failing conjunct and its bound values, when known
    # The failing part as data, while ``detail`` waits for it to be worded.
    part: FailingPart | None = attrs.field(default=None, eq=False)


@frozen
class Unknown:
    """No verdict: a limit was reached or the solver gave up, with the reason.
    With ``cti``, the reason follows the counterexample to induction that
    stopped the proof, still to be worded in front of it."""

    reason: str
    cti: Cti | None = attrs.field(default=None, eq=False)


Verdict = Holds | Proved | Violated | Unknown


@frozen
class Stats:
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    peak_memory: int | None = None  # bytes
    extra: tuple[tuple[str, Any], ...] = ()


@frozen
class InstanceCount:
    """One instance of an action: its arguments as the spec writes them."""

    args: tuple[tuple[str, str], ...]
    enabled: int
    new: int


@frozen
class ActionCount:
    """``enabled``: successors the action computed (its guard held); ``new``:
    of those, states the run had not seen. ``instances``: per instance of
    its parameters, for an action with few."""

    name: str
    enabled: int
    new: int
    instances: tuple[InstanceCount, ...] = ()
    span: Span | None = attrs.field(default=None, eq=False)


@frozen
class SiteCount:
    """A coverage site and how often it ran: a hook's runs, a branch's, or
    for ``antecedent`` the evaluations of a property's right side of ``->``
    (its antecedent held); ``states``, where counted, the states in which it
    held for some instance. ``by_design``: the definition, or the ``if``, is
    in a file of the design (not a library)."""

    kind: Literal["hook", "hook_end", "then", "else", "antecedent"]
    name: str
    count: int
    states: int | None = None
    by_design: bool = True
    span: Span | None = attrs.field(default=None, eq=False)


@frozen
class Coverage:
    """What one explicit run exercised. ``full``: every hook and branch was
    counted (``--coverage``), not only what the default warnings need (the
    hooks the design defines, the antecedents). ``checked``: the properties
    the run evaluated; an antecedent counts only in those. ``states`` and
    ``complete`` are the run's, ``stopped`` why it stopped early, if it did."""

    actions: tuple[ActionCount, ...]
    sites: tuple[SiteCount, ...]
    full: bool
    checked: tuple[str, ...]
    states: int
    complete: bool
    stopped: str | None = None


@frozen
class Result:
    """What one engine run says about each property it was asked about; an
    explicit run adds its ``coverage``."""

    model: str
    engine: str
    verdicts: tuple[tuple[str, Verdict], ...]
    stats: Stats = Stats()
    consts: tuple[tuple[str, int], ...] = ()
    coverage: Coverage | None = attrs.field(default=None, eq=False)

    def verdict(self, prop: str) -> Verdict:
        for name, verdict in self.verdicts:
            if name == prop:
                return verdict
        raise KeyError(prop)

    @property
    def violations(self) -> list[tuple[str, Violated]]:
        return [(n, v) for n, v in self.verdicts if isinstance(v, Violated)]

    @property
    def interrupted(self) -> bool:
        """Ctrl-C stopped the run (the verdicts say what it covered)."""
        return bool(dict(self.stats.extra).get("interrupted"))

    @property
    def unknowns(self) -> list[tuple[str, Unknown]]:
        return [(n, v) for n, v in self.verdicts if isinstance(v, Unknown)]

    def witness_steps(self, prop: str, verdict: Holds) -> int | None:
        """How many steps reached the witnessed ``sometimes`` property: the
        length of its trace where the engine keeps one, else the depth its
        bound stops at (BMC's bound is the depth where it found the witness)."""
        traces = dict(dict(self.stats.extra).get("witnesses", ()))
        return len(traces[prop]) if prop in traces else verdict.bound.depth
