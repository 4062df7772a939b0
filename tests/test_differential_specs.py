"""The engines against each other on generated specs (a Csmith-style differential test).

``specgen.specs()`` generates random well-typed specs that use every construct
of the language, run-time faults included. Each is loaded at its default
bounds and explored breadth-first (up to ``MAX_STATES`` states; most specs
have fewer); when that is not every reachable state, Hypothesis also draws a
trace that goes past it. On every state visited, every engine must agree with
the reference, the core's interpreter, on

- the initial state and the assertions the init block violates, or that the
  init block hits a run-time error;
- every enabled action instance, with its next state and the names of the
  assertions it violates, or that running it hits a run-time error of the spec
  (with the place and message of the error, where the engine reports them);
- the value of every property, or that evaluating it hits a run-time error.

An engine that raises anything else (an internal error, a crash of generated
code) disagrees too. Each engine is an adapter (the top of this file) with one
small interface; a new engine is tested by writing one adapter class and
adding it to ``ENGINES``. Every divergence this test found has a minimal spec
in tests/specs/differential/, run as a regression test; one not fixed yet is
listed in ``KNOWN_DIVERGENCES`` (a strict xfail there, and ignored by the
random test), so the random test stays green and keeps finding new ones.

By default (and in CI) the 200 examples are fixed (``derandomize``) and the
file takes about 40 seconds on two idle cores, gcc compiles of the C engine
included (for a third of the specs). ``RMAPCHECK_DIFF_EXAMPLES=N`` runs N
examples from a random seed, printed with a failure (``RMAPCHECK_DIFF_SEED``
repeats a run).
"""

from __future__ import annotations

import itertools
import os
import random
import tempfile
import traceback
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import specgen
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st

from rmapcheck import ir
from rmapcheck.core.interp import Interpreter
from rmapcheck.errors import SpecError, SpecRuntimeError
from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.native import Unsupported, available
from rmapcheck.explicit.native.driver import ST_FAULT, NativeInstance, NativeStatus
from rmapcheck.frontend import load_model
from rmapcheck.fuzz.guards import LeafError, make_plans
from rmapcheck.fuzz.stateful import fast_properties
from rmapcheck.instance import Instance
from rmapcheck.symbolic.z3_emit import ERROR_PROP, Encoder

State = tuple[Any, ...]
Key = tuple[str, tuple[Any, ...]]  # an action instance: the action and its argument values


# ============================================================================
# Outcomes: what an engine says about a state, in a form common to all.
# ============================================================================


@dataclass(frozen=True)
class Step:
    """An enabled action instance: the next state and the names of the
    assertions the step violates (None: the engine does not compute it)."""

    state: State | None = None
    failed: frozenset[str] | None = None


@dataclass(frozen=True)
class Fault:
    """A run-time error of the spec, with its place and message when the
    engine reports them."""

    span: ir.Span | None = None
    message: str | None = None


@dataclass(frozen=True)
class Initial:
    state: State
    failed: frozenset[str]  # assertions of the init block that are false


Outcome = Step | Fault
Successors = dict[Key, Outcome]  # the enabled instances (and faulting ones), in instance order


# ============================================================================
# ENGINE ADAPTERS. One class per engine; the comparison below knows nothing else.
# ============================================================================


class Engine:
    """An engine seen through the interface the comparison needs.

    ``fault_scope`` says how much an engine reports past a run-time error:
    ``"instance"``: every action instance on its own; ``"action"``: an
    action's instances in order up to its first fault, which ends that
    action; ``"state"``: all the successors of the state, or instead the
    first fault in instance order. ``states`` bounds how many states the
    engine is asked about per spec (None: every visited state); the slow
    engines check fewer."""

    name: ClassVar[str]
    fault_scope: ClassVar[str] = "instance"
    states: ClassVar[int | None] = None

    def initial(self) -> Initial | Fault | None:
        """The initial state; None when this engine does not compute one."""
        return None

    def successors(self, state: State) -> Successors | Fault:
        raise NotImplementedError

    def prop(self, name: str, state: State) -> bool | Fault | None:
        """A property's value; None when this engine does not evaluate properties."""
        return None

    def close(self) -> None:
        pass


def _key(machine: Machine, iid: int) -> Key:
    action, args = machine.describe(iid)
    return action, tuple(value for _, value in args)


def _assertions(machine: Machine, indices: Iterable[int]) -> frozenset[str]:
    return frozenset(machine.asserts[i].name for i in indices)


class PythonMachine(Engine):
    """The compiled Python machine, one action instance at a time."""

    name = "python"

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def initial(self) -> Initial | Fault:
        try:
            state = self.machine.initial_state()
        except SpecRuntimeError as error:
            return Fault(error.span, error.message)
        return Initial(state, frozenset(a.name for a in self.machine.init_failures))

    def successors(self, state: State) -> Successors:
        out: Successors = {}
        for iid in range(len(self.machine.instances)):
            try:
                result = self.machine.run(state, iid)
            except SpecRuntimeError as error:
                out[_key(self.machine, iid)] = Fault(error.span, error.message)
                continue
            if result is not None:
                out[_key(self.machine, iid)] = Step(result[0],
                                                    _assertions(self.machine, result[1]))
        return out

    def prop(self, name: str, state: State) -> bool | Fault:
        try:
            return bool(self.machine.props[name](state))
        except SpecRuntimeError as error:
            return Fault(error.span, error.message)


class CoreInterpreter(Engine):
    """The reference: the core run directly (``rmapcheck.core.interp``), one
    action instance at a time, the readable definition of the semantics."""

    name = "interp"

    def __init__(self, machine: Machine) -> None:
        self.core = machine.core
        self.interpreter = Interpreter(machine.core)

    def _names(self, indices: tuple[int, ...]) -> frozenset[str]:
        return frozenset(self.core.asserts[i].name for i in indices)

    def initial(self) -> Initial | Fault:
        try:
            state = self.interpreter.initial_state()
        except SpecRuntimeError as error:
            return Fault(error.span, error.message)
        return Initial(state, self._names(self.interpreter.init_failures))

    def successors(self, state: State) -> Successors:
        out: Successors = {}
        for plan in self.core.actions:
            for args in itertools.product(*plan.domains):
                try:
                    result = self.interpreter.run(state, plan, args)
                except SpecRuntimeError as error:
                    out[plan.name, args] = Fault(error.span, error.message)
                    continue
                if result is not None:
                    out[plan.name, args] = Step(result[0], self._names(result[1]))
        return out

    def prop(self, name: str, state: State) -> bool | Fault:
        try:
            return self.interpreter.prop(name, state)
        except SpecRuntimeError as error:
            return Fault(error.span, error.message)


class PythonSearch(Engine):
    """The Python machine's search path (``Machine.expand``: the action
    loops with the guards hoisted), which stops at the state's first fault."""

    name = "python-expand"
    fault_scope = "state"

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def successors(self, state: State) -> Successors | Fault:
        try:
            expanded = self.machine.expand(state)
        except SpecRuntimeError as error:
            return Fault(error.span, error.message)
        return {_key(self.machine, iid): Step(nxt, _assertions(self.machine, failed))
                for iid, nxt, failed in expanded}


class NativeC(Engine):
    """The C engine (no symmetry), which stops at the state's first fault."""

    name = "native"
    fault_scope = "state"

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.native = NativeInstance(machine)  # raises Unsupported for what it cannot compile
        self.ctx = self.native.new_ctx(0, False)
        self.index = {p.name: k for k, p in enumerate(machine.model.properties)}

    def _fault(self, status: NativeStatus) -> Fault:
        if status.status != ST_FAULT:
            raise AssertionError(f"the C engine stopped with status {status.status}")
        stat = self.native.lib.rc_stat
        error = self.native.fault_error(stat(self.ctx, 11), stat(self.ctx, 12), self.ctx)
        return Fault(error.span, error.message)

    def successors(self, state: State) -> Successors | Fault:
        try:
            expanded = self.native.expand(self.ctx, state)
        except NativeStatus as status:
            return self._fault(status)
        return {_key(self.machine, iid): Step(nxt, _assertions(self.machine, failed))
                for iid, nxt, failed in expanded}

    def prop(self, name: str, state: State) -> bool | Fault:
        try:
            return self.native.prop(self.ctx, self.index[name], state)
        except NativeStatus as status:
            return self._fault(status)

    def close(self) -> None:
        self.native.lib.rc_free(self.ctx)


class Z3Encoding(Engine):
    """The Z3 encoding run on concrete states. It reports that a step or a
    property hits a run-time error, not where."""

    name = "z3"
    states = 12  # a concrete step is a Z3 simplification: milliseconds each

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.encoder = Encoder(instance)

    def initial(self) -> Initial | Fault:
        try:
            state = self.encoder.initial_state()
        except SpecRuntimeError:
            return Fault()
        return Initial(state, frozenset(self.encoder.init_failures))

    def successors(self, state: State) -> Successors:
        out: Successors = {}
        for action in self.instance.model.actions:
            domains = [self.instance.values(p.sort) for p in action.params]
            for args in itertools.product(*domains):
                status, nxt, failed = self.encoder.concrete_step(state, action.name, args)
                if status == ERROR_PROP:
                    out[action.name, args] = Fault()
                elif status == "ok":
                    out[action.name, args] = Step(nxt, frozenset(failed))
        return out

    def prop(self, name: str, state: State) -> bool | Fault:
        value = self.encoder.concrete_prop(self.instance.model.prop(name), state)
        return Fault() if value is None else value


class FuzzGuards(Engine):
    """The fuzzer: its guard plans must enumerate exactly the enabled
    argument tuples (an action's first faulting tuple ends it, as
    ``LeafError``), and its reordered properties must keep their values."""

    name = "fuzz"
    fault_scope = "action"

    def __init__(self, machine: Machine) -> None:
        self.plans = make_plans(machine)
        self.props = fast_properties(machine)

    def successors(self, state: State) -> Successors:
        out: Successors = {}
        for name, plan in self.plans.items():
            try:
                for args in plan.enabled_args(state):
                    out[name, args] = Step()
            except LeafError as error:
                out[name, error.values] = Fault(error.error.span, error.error.message)
        return out

    def prop(self, name: str, state: State) -> bool | Fault:
        try:
            return bool(self.props[name](state))
        except SpecRuntimeError as error:
            return Fault(error.span, error.message)


# How each engine is built for a spec; the first is the reference. ``native``
# compiles with gcc (about a second), so only some examples use it.
ENGINES: dict[str, Callable[[Machine], Engine]] = {
    "interp": CoreInterpreter,
    "python": PythonMachine,
    "python-expand": PythonSearch,
    "native": NativeC,
    "z3": lambda machine: Z3Encoding(machine.instance),
    "fuzz": FuzzGuards,
}


# ============================================================================
# The comparison.
# ============================================================================


@dataclass(frozen=True)
class Divergence:
    engine: str
    what: str  # "initial state", "successors", "successor ACTION(ARGS)", "property NAME", ...
    state: State | None
    expected: Any
    got: Any

    def __str__(self) -> str:
        where = "" if self.state is None else f" in state {self.state}"
        return (f"{self.engine} disagrees on the {self.what}{where}:\n"
                f"    reference: {self.expected}\n    {self.engine}: {self.got}")


def _typed(value: Any) -> Any:
    """States compare slot by slot with their Python types (True is not 1)."""
    if isinstance(value, tuple):
        return tuple((type(v).__name__, v) for v in value)
    return value


def same(expected: Any, got: Any) -> bool:
    """``got`` says what ``expected`` says, as far as it says anything."""
    if isinstance(expected, Fault) and isinstance(got, Fault):
        return (got.span is None or got.span == expected.span) and \
            (got.message is None or got.message == expected.message)
    if isinstance(expected, Step) and isinstance(got, Step):
        return (got.state is None or _typed(got.state) == _typed(expected.state)) and \
            (got.failed is None or got.failed == expected.failed)
    if isinstance(expected, Initial) and isinstance(got, Initial):
        return _typed(got.state) == _typed(expected.state) and got.failed == expected.failed
    if isinstance(expected, bool) and isinstance(got, bool):
        return expected == got
    return False


def expected_view(reference: Successors, scope: str) -> Successors | Fault:
    """What an engine of ``scope`` must report, given the reference's
    outcome for every instance (in instance order)."""
    if scope == "instance":
        return reference
    if scope == "state":
        return next((o for o in reference.values() if isinstance(o, Fault)), reference)
    out: Successors = {}
    ended: set[str] = set()
    for key, outcome in reference.items():
        if key[0] not in ended:
            out[key] = outcome
            if isinstance(outcome, Fault):
                ended.add(key[0])
    return out


def compare_successors(engine: str, state: State, expected: Successors | Fault,
                       got: Successors | Fault) -> list[Divergence]:
    if isinstance(expected, Fault) or isinstance(got, Fault):
        return [] if same(expected, got) else \
            [Divergence(engine, "successors", state, expected, got)]
    out = []
    for key in dict.fromkeys(list(expected) + list(got)):
        want, have = expected.get(key, "disabled"), got.get(key, "disabled")
        if want == "disabled" and have == "disabled":
            continue
        if want == "disabled" or have == "disabled" or not same(want, have):
            out.append(Divergence(engine, f"successor {key[0]}{key[1]}", state, want, have))
    return out


def crash(error: Exception) -> str:
    """An engine's exception, with where it was raised: enough to tell two
    crashes apart (an assert has no message)."""
    frame = traceback.extract_tb(error.__traceback__)[-1]
    return (f"{type(error).__name__}: {error} [raised in {frame.name}, "
            f"{Path(frame.filename).name}: {frame.line}]")


class Comparison:
    """Runs the engines on one spec and collects where they disagree with the reference."""

    def __init__(self, machine: Machine, engines: list[Engine]) -> None:
        self.machine = machine
        self.reference, self.others = engines[0], engines[1:]
        self.properties = [p.name for p in machine.model.properties]
        self.checked: dict[State, Successors] = {}  # the reference's successors of each state
        self.asked = {e.name: 0 for e in self.others}
        self.divergences: list[Divergence] = []

    def _ask(self, engine: Engine, what: str, state: State | None,
             call: Callable[[], Any]) -> Any:
        """``call()``, or None when the engine crashes (reference included),
        which is a divergence."""
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - an engine that crashes disagrees
            self.divergences.append(Divergence(engine.name, what, state, "(an answer)",
                                               crash(error)))
            return None

    def initial(self) -> State | None:
        """Compares the initial states; the reference's, or None when it faults."""
        expected = self._ask(self.reference, "initial state", None, self.reference.initial)
        if expected is None:
            return None
        for engine in self.others:
            got = self._ask(engine, "initial state", None, engine.initial)
            if got is not None and not same(expected, got):
                self.divergences.append(Divergence(engine.name, "initial state", None,
                                                   expected, got))
        return expected.state if isinstance(expected, Initial) else None

    def check(self, state: State) -> Successors:
        """Compares everything about ``state``; returns the reference's successors."""
        known = self.checked.get(state)
        if known is not None:
            return known
        reference = self._ask(self.reference, "successors", state,
                              lambda: self.reference.successors(state))
        if reference is None:  # the reference crashed: nothing to compare with
            self.checked[state] = {}
            return {}
        self.checked[state] = reference
        engines = [e for e in self.others if e.states is None or self.asked[e.name] < e.states]
        for engine in engines:
            self.asked[engine.name] += 1
            got = self._ask(engine, "successors", state, lambda e=engine: e.successors(state))
            if got is not None:
                self.divergences += compare_successors(
                    engine.name, state, expected_view(reference, engine.fault_scope), got)
        for name in self.properties:
            expected = self._ask(self.reference, f"property {name}", state,
                                 lambda n=name: self.reference.prop(n, state))
            if expected is None:
                continue
            for engine in engines:
                got = self._ask(engine, f"property {name}", state,
                                lambda e=engine, n=name: e.prop(n, state))
                if got is not None and not same(expected, got):
                    self.divergences.append(Divergence(engine.name, f"property {name}", state,
                                                       expected, got))
        return reference

    def explore(self, initial: State, max_states: int) -> bool:
        """Breadth-first from the initial state, up to ``max_states`` states;
        whether that was every reachable state."""
        queue = deque([initial])
        seen = {initial}
        while queue and len(self.checked) < max_states:
            for outcome in self.check(queue.popleft()).values():
                if isinstance(outcome, Step) and outcome.state not in seen:
                    assert outcome.state is not None
                    seen.add(outcome.state)
                    queue.append(outcome.state)
        return not queue

    def walk(self, initial: State, choose: Callable[[int], int], steps: int) -> None:
        """A trace from the initial state: ``choose(n)`` picks one of the n
        successors at each step."""
        state = initial
        for _ in range(steps):
            nexts = [o.state for o in self.check(state).values()
                     if isinstance(o, Step) and o.state is not None]
            if not nexts:
                return
            state = nexts[choose(len(nexts))]

    def close(self) -> None:
        for engine in [self.reference, *self.others]:
            engine.close()


def build_engines(machine: Machine, names: list[str],
                  ) -> tuple[list[Engine], list[str], list[Divergence]]:
    """The engines called ``names`` (the reference first), why any is left
    out, and the engines that crash on the spec."""
    engines: list[Engine] = []
    skipped = []
    crashed = []
    for name in names:
        try:
            engines.append(ENGINES[name](machine))
        except Unsupported as reason:
            skipped.append(f"{name}: {reason}")
        except Exception as error:  # noqa: BLE001 - an engine that cannot take the spec disagrees
            crashed.append(Divergence(name, "spec (building the engine)", None,
                                      "(an engine)", crash(error)))
    return engines, skipped, crashed


# ============================================================================
# Known divergences, not fixed yet: each has a minimal spec in
# tests/specs/differential/, whose regression test below is a strict xfail.
# The random test ignores exactly the divergences each one's ``matches``
# accepts, so that it keeps finding new ones. A fixed one leaves this list
# (its spec stays, as a regression test).
# ============================================================================


@dataclass(frozen=True)
class Known:
    spec: str  # tests/specs/differential/<spec>.spec
    reason: str  # one sentence: which engines disagree, and how
    matches: Callable[[Divergence], bool]


# None open: every divergence found so far is fixed, and its spec is a
# regression test below.
KNOWN_DIVERGENCES: list[Known] = []


def unexplained(divergences: list[Divergence]) -> list[Divergence]:
    return [d for d in divergences if not any(k.matches(d) for k in KNOWN_DIVERGENCES)]


# ============================================================================
# The tests.
# ============================================================================

DIFF_EXAMPLES = os.environ.get("RMAPCHECK_DIFF_EXAMPLES")
EXAMPLES = int(DIFF_EXAMPLES) if DIFF_EXAMPLES else 200
SEED = int(os.environ.get("RMAPCHECK_DIFF_SEED") or random.randrange(1 << 32)) \
    if DIFF_EXAMPLES else 0
MAX_STATES = 300  # the breadth-first part of each spec's exploration
TRACE_STEPS = 30  # a trace goes past the breadth-first part, so it only runs when there is one
NATIVE_SHARE = 3  # one spec in this many also runs the C engine (a gcc compile each, ~0.5 s)
NATIVE = available()

ALL_ENGINES = list(ENGINES)


class Session:
    """The engines on one spec at its default bounds, with the states
    compared so far: the breadth-first part at once, traces on demand."""

    def __init__(self, path: Path, engine_names: list[str], max_states: int = MAX_STATES,
                 ) -> None:
        machine = Machine(self.load(path), symmetry=False)
        engines, self.skipped, crashed = build_engines(machine, engine_names)
        self.comparison = Comparison(machine, engines)
        self.comparison.divergences += crashed
        self.initial = self.comparison.initial()
        self.complete = self.initial is None or self.comparison.explore(self.initial,
                                                                         max_states)

    def load(self, path: Path) -> Instance:
        return Instance(load_model(str(path)))

    def walk(self, choose: Callable[[int], int]) -> None:
        """A trace beyond the breadth-first part (none when that was every state)."""
        if self.initial is not None and not self.complete:
            self.comparison.walk(self.initial, choose, TRACE_STEPS)

    @property
    def divergences(self) -> list[Divergence]:
        return self.comparison.divergences

    def close(self) -> None:
        self.comparison.close()


def run_spec(path: Path, engine_names: list[str], choose: Callable[[int], int] | None = None,
             max_states: int = MAX_STATES) -> tuple[list[Divergence], list[str]]:
    """The divergences on the spec at ``path``, and the engines left out
    because they cannot run it."""
    session = Session(path, engine_names, max_states)
    try:
        if choose is not None:
            session.walk(choose)
    finally:
        session.close()
    return session.divergences, session.skipped


class GeneratedSession(Session):
    """A session on a generated spec, written to a directory of its own."""

    def __init__(self, spec: specgen.GeneratedSpec, engine_names: list[str],
                 max_states: int = MAX_STATES) -> None:
        self.spec = spec
        self.directory = tempfile.TemporaryDirectory()
        try:
            super().__init__(spec.write(Path(self.directory.name)), engine_names, max_states)
        except BaseException:
            self.directory.cleanup()
            raise

    def load(self, path: Path) -> Instance:
        try:
            return super().load(path)
        except SpecError as error:
            raise AssertionError(f"the generator made a spec the front end rejects:\n"
                                 f"{error.render()}\n\n{self.spec}") from None

    def close(self) -> None:
        super().close()
        self.directory.cleanup()


def run_generated(spec: specgen.GeneratedSpec, engine_names: list[str],
                  choose: Callable[[int], int] | None = None, max_states: int = MAX_STATES,
                  ) -> tuple[list[Divergence], list[str]]:
    session = GeneratedSession(spec, engine_names, max_states)
    try:
        if choose is not None:
            session.walk(choose)
    finally:
        session.close()
    return session.divergences, session.skipped


# Hypothesis often draws a spec again with other trace choices (it varies the
# end of an example more than its start): the last few specs keep their
# engines and the states already compared, so a repeated spec costs only its
# new trace states, and a C compile is not repeated.
_SESSIONS: dict[str, GeneratedSession] = {}
SESSIONS_KEPT = 8


def session_for(spec: specgen.GeneratedSpec) -> GeneratedSession:
    text = str(spec)
    session = _SESSIONS.pop(text, None)
    if session is None:
        if len(_SESSIONS) >= SESSIONS_KEPT:
            _SESSIONS.pop(next(iter(_SESSIONS))).close()
        # The C engine on a share of the specs, chosen by the spec itself so
        # that a repeated spec gets the same engines.
        native = NATIVE and zlib.crc32(text.encode()) % NATIVE_SHARE == 0
        session = GeneratedSession(spec, [n for n in ALL_ENGINES if n != "native" or native])
    _SESSIONS[text] = session
    return session


@pytest.fixture(scope="module", autouse=True)
def _close_sessions() -> Iterator[None]:
    yield
    while _SESSIONS:
        _SESSIONS.popitem()[1].close()


def _settings() -> Callable[[Any], Any]:
    common = dict(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), print_blob=True)
    if DIFF_EXAMPLES:
        return lambda test: seed(SEED)(settings(**common)(test))  # type: ignore[arg-type]
    return settings(derandomize=True, **common)  # type: ignore[arg-type]


@_settings()
@given(st.data())
def test_engines_agree_on_generated_specs(data: st.DataObject) -> None:
    if DIFF_EXAMPLES:
        note(f"RMAPCHECK_DIFF_SEED={SEED}")
    spec = data.draw(specgen.specs(), label="spec")
    session = session_for(spec)
    session.walk(lambda n: data.draw(st.integers(0, n - 1), label="step"))
    new = unexplained(session.divergences)
    assert not new, "\n".join(map(str, new[:6])) + f"\n\n{spec}"


def test_generator_reaches_every_construct() -> None:
    """A few hundred specs (generated only) use every construct the
    generator is meant to reach."""
    seen: set[str] = set()
    for number in range(400):
        generator = specgen.Generator(random.Random(number).randint)
        seen |= generator.spec().features
        if seen >= specgen.EXPECTED_FEATURES:
            break
    assert sorted(specgen.EXPECTED_FEATURES - seen) == []


REGRESSIONS = Path(__file__).parent / "specs" / "differential"


def _regressions() -> list[Any]:
    known = {k.spec: k for k in KNOWN_DIVERGENCES}
    missing = set(known) - {p.stem for p in REGRESSIONS.glob("*.spec")}
    assert not missing, f"known divergences without a spec: {sorted(missing)}"
    out = []
    for path in sorted(REGRESSIONS.glob("*.spec")):
        if path.read_text().lstrip().startswith("library"):
            continue  # used by a spec beside it
        entry = known.get(path.stem)
        marks = [pytest.mark.xfail(strict=True, reason=entry.reason)] if entry else []
        out.append(pytest.param(path, id=path.stem, marks=marks))
    return out


@pytest.mark.parametrize("path", _regressions())
def test_divergences_found_here_stay_fixed(path: Path) -> None:
    """The minimal spec of each divergence this test found: the engines must
    agree on it. One not fixed yet is a strict xfail (``KNOWN_DIVERGENCES``),
    so this test fails when an engine is fixed and the entry should go."""
    names = [n for n in ALL_ENGINES if n != "native" or NATIVE]
    divergences, _ = run_spec(path, names)
    assert not divergences, "\n".join(map(str, divergences[:6]))
