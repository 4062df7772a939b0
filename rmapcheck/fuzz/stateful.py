"""The IR as a Hypothesis ``RuleBasedStateMachine`` over the executable machine.

``state_machine_class(machine)`` builds a class whose one rule, ``step``,
takes up to ``BATCH`` enabled transitions of the model, each one like this:

1. it draws an action together with its first argument: one position among
   all (action, value of its first parameter) pairs, in the model's order,
   from which it takes the first pair (cyclically) that the action's guard
   has not ruled out (``guards.ActionPlan``: the parts of the guard that
   depend only on the first parameter). A draw means the same pair in every
   state, so the shrinker can delete earlier steps without changing what
   later steps do, and shrinking prefers the model's first actions and the
   smallest values;
2. it draws each remaining argument as a value of the parameter's sort and
   takes the first value from there (cyclically) that the guard has not ruled
   out: a draw never lands on a disabled tuple, so the search is not starved
   by guards. When no completion of a choice is enabled, the next choice is
   tried, with the smallest completions and no further draws (draws are a
   costly part of a step);
3. it runs the action instance on the machine (``Machine.run``, the compiled
   code the explicit engine runs), records the step in a ``Trace`` and checks
   every invariant and lemma. What the machine's coverage marks count there,
   and per action instance the steps taken and those that reached a state
   not seen before, go into ``machine.counts`` (a run's coverage).

Why one rule and not one per action: with a precondition per action,
Hypothesis asks whether most actions are enabled at every step (its rule
choice filters on every precondition), which costs a complete search of each
disabled action's arguments; here an action is searched only when it is
drawn. Hypothesis's swarm testing (switching actions off for a whole run) is
kept: an ``@initialize`` rule draws whether the run switches some actions
off, and which; an action switched off is still taken when nothing else is
enabled. Where no action at all is enabled (every process exited),
``step`` does nothing. Why several transitions per rule call: see ``BATCH``.

Invariants and lemmas are checked by one ``@invariant`` (and, inside a
batch, by ``step`` itself) after every transition (one method rather than
one per property: Hypothesis's bookkeeping per invariant costs more than
evaluating most properties). The properties are compiled after
``core.raises.reorder``: the same values, cheaper. A failure is raised as a
``FuzzFailure`` carrying the trace; Hypothesis shrinks it like any other
exception, and ``minimize`` finishes the job on the trace.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import hypothesis.strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rmapcheck import ir
from rmapcheck.core.raises import RaiseAnalysis, reorder
from rmapcheck.errors import SpecRuntimeError
from rmapcheck.fuzz.guards import ActionPlan, LeafError, first, make_plans
from rmapcheck.trace import Step, Trace

State = tuple[Any, ...]
Args = tuple[tuple[str, Any], ...]

# Transitions per rule call. Hypothesis's own work per rule call (choosing the
# rule, feature flags, spans, the invariant bookkeeping: about 250 us on the
# machine this was measured on) costs as much as a transition at PROCS=6,
# VPAGES=32; taking several transitions per call, each followed by the
# invariants, takes 1,400 steps/s to 2,200 there (4,600 at PROCS=4, VPAGES=8).
# Hypothesis deletes whole calls when it shrinks; ``minimize`` then deletes
# single steps.
BATCH = 8

# Swarm testing: the share of runs that switch some actions off, and the
# chance that such a run switches off each action.
SWARM_RUNS = 0.5
SWARM_OFF = 0.3


# ---------------------------------------------------------------- failures


class FuzzFailure(Exception):
    """A violation found by fuzzing, with the steps that led to it."""

    def __init__(self, name: str, trace: Trace, detail: str = "") -> None:
        super().__init__(f"{name} is violated after {len(trace)} steps")
        self.name = name
        self.trace = trace
        self.detail = detail


class PropertyFailure(FuzzFailure):
    """An invariant or lemma is false in the last state of ``trace``."""


class AssertionFailure(FuzzFailure):
    """The last step of ``trace`` violates the assertion ``name``."""


class RuntimeFailure(FuzzFailure):
    """The spec raised a run-time error: in ``action(args)`` from the last state
    of ``trace``, or (``action`` None) while evaluating a property there."""

    def __init__(self, error: SpecRuntimeError, trace: Trace, action: str | None,
                 args: Args) -> None:
        super().__init__("a run-time error of the spec", trace, error.message)
        self.error = error
        self.action = action
        self.args = args


class OutOfTime(BaseException):
    """Ends a fuzzing run at its time limit. A BaseException, so that Hypothesis
    does not take it for a failure to shrink: it propagates out of the run."""


# ---------------------------------------------------------------- counters


class ShrinkBudget(BaseException):
    """Hypothesis has run its share of examples on shrinking: the shortest
    failure so far is minimized by ``minimize`` instead."""


class Counters:
    """What a run did, shared by every state machine instance of the run."""

    def __init__(self, deadline: float | None = None,
                 shrink_examples: int | None = None) -> None:
        self.examples = 0  # state machines created (generation and shrinking)
        self.steps = 0  # transitions taken
        self.stutters = 0  # steps where no action was enabled
        self.max_depth = 0
        self.deadline = deadline
        self.failed = False  # a failure was seen: shrinking, not bound by the deadline
        self.witnessed: dict[str, Trace] = {}
        self.actions: dict[str, int] = {}  # transitions per action
        self.seen: set[int] = set()  # hashes of the states reached (distinct states)
        self.shrink_examples = shrink_examples  # examples Hypothesis may spend shrinking
        self.first_failure_at: int | None = None  # the example that failed first
        self.best: FuzzFailure | None = None  # the shortest failure so far
        self.start = time.monotonic()
        # Why the run is being stopped, once it is: Hypothesis may report the
        # stop as a flaky test rather than let our exception through.
        self.stopping: str | None = None

    def failure(self, failure: FuzzFailure) -> FuzzFailure:
        """Records ``failure`` (to be raised by the caller)."""
        self.failed = True
        if self.first_failure_at is None:
            self.first_failure_at = self.examples
        if self.best is None or _length(failure) < _length(self.best):
            self.best = failure
        return failure

    def check_shrink_budget(self) -> None:
        if (self.first_failure_at is not None and self.shrink_examples is not None
                and self.examples - self.first_failure_at > self.shrink_examples):
            self.stopping = "shrink budget"
            raise ShrinkBudget()


def _length(failure: FuzzFailure) -> int:
    return len(failure.trace) + (1 if isinstance(failure, RuntimeFailure)
                                 and failure.action is not None else 0)


# ---------------------------------------------------------------- the class


def state_machine_class(machine: Any, counters: Counters | None = None,
                        plans: dict[str, ActionPlan] | None = None,
                        name: str | None = None,
                        props: dict[str, Any] | None = None,
                        batch: int = BATCH,
                        max_steps: int = 1 << 30) -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` subclass for ``machine`` (a compiled
    ``rmapcheck.explicit.machine.Machine``); ``counters`` collects statistics
    across its instances. Each rule call takes up to ``batch`` transitions;
    a run takes at most ``max_steps``."""
    model: ir.Model = machine.model
    plans = plans if plans is not None else make_plans(machine)
    shared: Counters = counters if counters is not None else Counters()
    initial = machine.initial_state()
    ordered_plans = [plans[a.name] for a in model.actions]
    asserts = machine.asserts
    counts = machine.counts
    per_state = machine.core.coverage
    props = props if props is not None else fast_properties(machine)
    invariants = [(p.name, props[p.name]) for p in model.invariants]
    pending_witnesses = [(p.name, props[p.name]) for p in model.witnesses]

    # Each (action, value of its first parameter) pair has a fixed position.
    offsets: dict[str, int] = {}
    sizes = [len(plan.domains[0]) if plan.params else 1 for plan in ordered_plans]
    total = 0
    for plan, size in zip(ordered_plans, sizes, strict=True):
        offsets[plan.name] = total
        total += size

    def out_of_time() -> bool:
        if (shared.deadline is not None and not shared.failed
                and time.monotonic() >= shared.deadline):
            shared.stopping = "time limit"
            return True
        return False

    class SpecStateMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.state: State = initial
            self.steps: list[Step] = []
            self.swarm_off: frozenset[str] = frozenset()
            self.checked: State | None = None
            self.dead: State | None = None  # a state where no action is enabled
            shared.examples += 1
            shared.check_shrink_budget()
            for stmt in machine.init_failures:
                raise shared.failure(AssertionFailure(
                    stmt.name, Trace(initial), f"assertion {stmt.name} fails in the init block"))

        def trace(self) -> Trace:
            return Trace(initial, tuple(self.steps))

        @initialize(data=st.data())
        def swarm(self, data: Any) -> None:
            """Which actions this run prefers to leave out (swarm testing). An
            initialize rule, so that its draws are a span of their own that
            the shrinker does not mix up with the first step's."""
            cd = getattr(data, "conjecture_data", None)
            self.swarm_off = _draw_swarm(data, cd, [p.name for p in ordered_plans])

        @rule(data=st.data())
        def step(self, data: Any) -> None:
            """Up to ``batch`` transitions, each drawn as the module docstring
            says, with every invariant checked after each of them."""
            if out_of_time():
                raise OutOfTime()
            cd = getattr(data, "conjecture_data", None)
            draw = _integer_drawer(data, cd)
            for n in range(batch):
                if len(self.steps) >= max_steps or not self._transition(draw):
                    return
                if n + 1 < batch:
                    self.invariants_hold()  # the last one is checked by Hypothesis

        def _transition(self, draw: Any) -> bool:
            """One enabled transition; False where no action is enabled."""
            state = self.state
            if state is self.dead:
                shared.stutters += 1
                return False
            # One draw chooses the action and its first argument together: a
            # position among all (action, first value) pairs, from which the
            # pairs the guards leave are tried in turn (cyclically). A plan's
            # first level is only computed when the scan reaches it.
            wanted = draw(total - 1) if total > 1 else 0
            starts: dict[str, Any] = {}

            def start_of(plan: ActionPlan) -> Any:
                if plan.name not in starts:
                    try:
                        starts[plan.name] = plan.start(state)
                    except SpecRuntimeError as err:  # pragma: no cover - items catch these
                        raise shared.failure(
                            RuntimeFailure(err, self.trace(), plan.name, ())) from None
                return starts[plan.name]

            off = self.swarm_off
            tried = False  # after a first choice fails, retries draw nothing more
            home = next(k for k, plan in enumerate(ordered_plans)
                        if offsets[plan.name] <= wanted < offsets[plan.name] + sizes[k])
            order = ([(home, True)] + [(k, None) for k in range(home + 1, len(ordered_plans))]
                     + [(k, None) for k in range(home)] + [(home, False)])
            for switched_off in (False, True):
                for k, upper in order:
                    plan = ordered_plans[k]
                    if (plan.name in off) != switched_off:
                        continue
                    begun = start_of(plan)
                    if begun is None:
                        continue
                    if not plan.params:
                        cands: list[Any] = [None] if upper is not False else []
                    else:
                        position = plan._position[0]
                        local = wanted - offsets[plan.name]
                        cands = [c for c in begun[2] if upper is None
                                 or (position[c[0]] >= local) == upper]
                    for cand in cands:
                        try:
                            found = plan.search_from(state, draw if not tried else first,
                                                     begun, cand)
                            tried = True
                        except LeafError as err:
                            raise shared.failure(RuntimeFailure(
                                err.error, self.trace(), plan.name,
                                _args(plan, err.values))) from None
                        if found is not None:
                            self._take(plan, found)
                            return True
            self.dead = state
            shared.stutters += 1
            return False

        def _take(self, plan: ActionPlan, found: Any) -> None:
            values, nxt, failed = found
            args = _args(plan, values)
            self.steps.append(Step(plan.name, args, nxt, plan.action.span))
            self.state = nxt
            shared.steps += 1
            iid = plan.plan.iid_base + sum(
                position[v] * mult for position, v, mult
                in zip(plan._position, values, plan.plan.multipliers, strict=True))
            counts.enabled[iid] += 1
            if hash(nxt) not in shared.seen:
                counts.fresh[iid] += 1
            shared.seen.add(hash(nxt))
            shared.actions[plan.name] = shared.actions.get(plan.name, 0) + 1
            shared.max_depth = max(shared.max_depth, len(self.steps))
            if failed:
                stmt = asserts[failed[0]]
                shown = ", ".join(f"{n.split('#')[0]}={v}" for n, v in args)
                detail = f"assertion {stmt.name} fails in {plan.name}({shown})"
                if stmt.doc:
                    detail += f": {stmt.doc}"
                raise shared.failure(AssertionFailure(stmt.name, self.trace(), detail))

        @invariant()
        def invariants_hold(self) -> None:
            """Every invariant and lemma of the model, in the model's order (and
            the ``sometimes`` properties not yet witnessed)."""
            nonlocal pending_witnesses
            state = self.state
            if state is self.checked:
                return
            self.checked = state
            before = counts.snapshot() if per_state else None
            try:
                for prop, holds in invariants:
                    if not holds(state):
                        raise shared.failure(PropertyFailure(prop, self.trace()))
                if pending_witnesses:
                    hits = [name for name, holds in pending_witnesses if holds(state)]
                    if hits:
                        for hit in hits:
                            shared.witnessed[hit] = self.trace()
                        pending_witnesses = [w for w in pending_witnesses if w[0] not in hits]
            except SpecRuntimeError as err:
                raise shared.failure(RuntimeFailure(err, self.trace(), None, ())) from None
            finally:
                if before is not None:
                    counts.count_states(before)

    cls_name = name or f"{_camel(model.name)}StateMachine"
    SpecStateMachine.__name__ = SpecStateMachine.__qualname__ = cls_name
    SpecStateMachine.machine = machine  # type: ignore[attr-defined]
    SpecStateMachine.plans = plans  # type: ignore[attr-defined]
    SpecStateMachine.counters = shared  # type: ignore[attr-defined]
    return SpecStateMachine


def _args(plan: ActionPlan, values: Sequence[Any]) -> Args:
    return tuple(zip(plan.param_names, values, strict=True))


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))


def _integer_drawer(data: Any, cd: Any) -> Any:
    """``draw(hi)``: an integer in 0 .. hi from the test's choice sequence.

    Goes to the ConjectureData under ``data`` when there is one: a plain
    ``data.draw(st.integers(...))`` also records a printable description of
    each draw, which costs more than the rest of the step."""
    draw_integer = getattr(cd, "draw_integer", None)
    if draw_integer is not None:
        return lambda hi: draw_integer(0, hi)
    return lambda hi: data.draw(st.integers(0, hi))


def _draw_swarm(data: Any, cd: Any, names: list[str]) -> frozenset[str]:
    """The actions this run switches off (none in about half of the runs)."""
    draw_boolean = getattr(cd, "draw_boolean", None)
    if draw_boolean is None:
        def draw_boolean(p: float) -> bool:
            return bool(data.draw(st.booleans()))
    if not draw_boolean(p=SWARM_RUNS):
        return frozenset()
    return frozenset(name for name in names if draw_boolean(p=SWARM_OFF))


def fast_properties(machine: Any) -> dict[str, Any]:
    """Every property of the model compiled by the machine's compiler after
    ``core.raises.reorder``: the same value in every state, cheaper to compute."""
    analysis = RaiseAnalysis()
    return {p.name: machine.compiler.compile_expr_fn(f"fuzz_prop_{p.name}", (),
                                                     (reorder(p.expr, analysis),))
            for p in machine.core.properties}
