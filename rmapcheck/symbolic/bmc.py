"""Bounded model checking: the transition relation unrolled from the initial state.

One incremental solver holds ``Init(s0) /\\ T(s0, s1) /\\ ... /\\ T(s(k-1), sk)``.
At each depth k, before ``T(s(k-1), sk)``'s "runs normally" part is asserted,
the step targets (assertions, run-time errors) are asked about the step into
sk; then the state targets (invariants, lemmas) and the witnesses
(``sometimes``) about sk. Each question is one check under a fresh assumption
literal, first for all pending targets of a kind at once (one unsat answer
settles them all), so learned clauses survive from depth to depth.

Depth by depth means the first depth at which a target is found violated is
its shortest counterexample, the same length as the explicit engine's BFS.
Every counterexample is decoded to a ``Trace`` and re-run on the explicit
machine; a disagreement is an ``InternalError``. A solver ``unknown`` or
timeout makes the targets still pending ``Unknown`` (never "holds").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import z3

from rmapcheck import activity, ir
from rmapcheck.core.failing_part import failing_part
from rmapcheck.errors import InternalError, SpecError, SpecRuntimeError
from rmapcheck.instance import Instance
from rmapcheck.symbolic.z3_emit import (
    ERROR_PROP,
    EVAL_ERROR,
    FALSE,
    Encoder,
    Frame,
    and_,
    eq_,
    not_,
    or_,
    signed,
)
from rmapcheck.trace import (
    Bound,
    Holds,
    Result,
    Stats,
    Step,
    Trace,
    Unknown,
    Verdict,
    Violated,
)

TargetKind = Literal["state", "step", "witness"]


@dataclass(frozen=True)
class Target:
    """Something BMC looks for: a state violating an invariant or lemma, a step
    failing an assertion (or hitting a run-time error), or a state witnessing
    a ``sometimes`` property."""

    name: str
    kind: TargetKind
    prop: ir.Property | None = None


def select_targets(model: ir.Model, props: Sequence[str] | None) -> list[Target]:
    """The targets for ``props`` (every property and assertion when None).
    Run-time errors are always looked for: a step that hits one is undefined."""
    assertion_names: list[str] = []
    for a in model.assertions():
        if a.name not in assertion_names:
            assertion_names.append(a.name)
    known = {p.name for p in model.properties} | set(assertion_names)
    if props is not None:
        for name in props:
            if name not in known and name != ERROR_PROP:
                hint = ", ".join(sorted(known)) or "none"
                raise SpecError(f"the model has no property or assertion {name} "
                                f"(it has: {hint})", None)
    wanted = set(props) if props is not None else None
    out: list[Target] = []
    for p in model.properties:
        if wanted is not None and p.name not in wanted:
            continue
        out.append(Target(p.name, "witness" if p.kind == "sometimes" else "state", p))
    for name in assertion_names:
        if wanted is None or name in wanted:
            out.append(Target(name, "step"))
    out.append(Target(ERROR_PROP, "step"))
    out.append(Target(EVAL_ERROR, "state"))
    return out


OUT_OF_TIME = "the time limit of the whole run was reached"
# What Z3's reason_unknown() says when SIGINT (Ctrl-C) stopped a query.
Z3_INTERRUPTED = "interrupted from keyboard"


def unknown_reason(reason: str, where: str) -> str:
    """Why a query did not settle, in words: the run's time limit, or Z3's own reason."""
    if reason == OUT_OF_TIME:
        return f"the time limit (--timeout) was reached {where}"
    return f"z3 answered unknown ({reason}) {where}"


class Checker:
    """A solver with assumption-literal queries and an honest three-valued answer."""

    def __init__(self, solver_timeout: float | None = None, logic: str | None = "QF_BV",
                 deadline: float | None = None) -> None:
        # ``deadline`` (a time.monotonic() instant) bounds every query together:
        # one slow model must not hold a whole report hostage, and a query cut
        # short by it answers unknown, never unsat.
        self.deadline = deadline
        self.logic = logic
        # Z3's "no timeout" is the largest unsigned int.
        self.timeout_ms = 4294967295 if solver_timeout is None \
            else max(1, int(solver_timeout * 1000))
        # Everything added for good, so that the solver can be rebuilt.
        self.kept: list[z3.BoolRef] = []
        self.solver = self._new_solver()
        self.checks = 0
        self.seconds = 0.0
        self.core: Any = []  # the unsat core of the last scoped query

    def _new_solver(self) -> z3.Solver:
        # QF_BV: Z3's incremental bit-blasting SAT solver (the bit-vector
        # encoding); None: the general SMT solver (needed for the Int encoding).
        solver = z3.SolverFor(self.logic) if self.logic else z3.Solver()
        solver.set("timeout", self.timeout_ms)
        solver.add(*self.kept)
        return solver

    def add(self, *constraints: z3.BoolRef) -> None:
        for c in constraints:
            if not z3.is_true(c):
                self.solver.add(c)
                self.kept.append(c)

    def check(self, cond: z3.BoolRef, extra: Sequence[z3.BoolRef] = (),
              timeout: float | None = None, scoped: bool = False
              ) -> tuple[z3.CheckSatResult, z3.ModelRef | None, str]:
        """Is ``cond`` satisfiable with what was added (and the ``extra``
        assumption literals)? Returns (result, model when sat, reason when unknown).
        ``timeout`` (seconds) overrides the solver timeout for this query.
        ``scoped``: in a push/pop scope, so that the query's clauses go away
        afterwards (for many small one-off queries)."""
        if z3.is_false(cond):
            return z3.unsat, None, ""
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return z3.unknown, None, OUT_OF_TIME
            per_query = self.timeout_ms / 1000 if timeout is None else timeout
            if left < per_query:
                timeout = left
        self.checks += 1
        if scoped:
            self.solver.push()
        lit = z3.FreshBool("q")
        self.solver.add(z3.Implies(lit, cond))
        start = time.monotonic()
        if timeout is not None:
            self.solver.set("timeout", max(1, int(timeout * 1000)))
        result = self.solver.check(lit, *extra)
        if timeout is not None:
            self.solver.set("timeout", self.timeout_ms)
        self.seconds += time.monotonic() - start
        model = self.solver.model() if result == z3.sat else None
        if result == z3.unknown:
            reason = self.solver.reason_unknown()
            if reason == Z3_INTERRUPTED:
                # Z3 takes SIGINT itself and answers unknown; Python never
                # sees it. It is the user's Ctrl-C, not the solver giving up.
                raise KeyboardInterrupt
            if self.deadline is not None and time.monotonic() >= self.deadline:
                reason = OUT_OF_TIME
            # Z3 does not vouch for a solver's answers after a query it gave up
            # on (a timeout can cut it off mid-update): go on with a fresh one.
            self.core = []
            self.solver = self._new_solver()
            return result, None, reason
        reason = ""
        if scoped:
            self.core = self.solver.unsat_core() if result == z3.unsat else []
            self.solver.pop()
            return result, model, reason
        self.core = []
        # Retire the literal: the query's clauses are now satisfied trivially.
        self.solver.add(z3.Not(lit))
        return result, model, reason


class Unrolling:
    """States s0..sk from the initial state, with frames between them."""

    def __init__(self, enc: Encoder, checker: Checker) -> None:
        self.enc = enc
        self.checker = checker
        self.states: list[list[z3.ExprRef]] = [enc.frame_consts(0)]
        self.initial = enc.initial_state()
        checker.add(enc.equal_states(self.states[0], enc.state_literal(self.initial)))
        self.frames: list[Frame] = []

    @property
    def depth(self) -> int:
        return len(self.frames)

    def extend(self) -> Frame:
        """Adds state k+1 and the frame relation into it (not yet "runs normally")."""
        t = len(self.frames)
        nxt = self.enc.frame_consts(t + 1)
        frame = self.enc.step(t, self.states[t], nxt)
        self.checker.add(frame.frame)
        self.frames.append(frame)
        self.states.append(nxt)
        return frame

    def commit(self, t: int) -> None:
        """Step t ran normally (enabled, no failure): only such steps lead on."""
        self.checker.add(self.frames[t].ok)

    def trace(self, m: z3.ModelRef, k: int) -> Trace:
        """The first ``k`` steps of the model as a trace."""
        steps: list[Step] = []
        for t in range(k):
            action, args = self.enc.decode_step(m, self.frames[t])
            state = self.enc.decode_state(m, self.states[t + 1])
            steps.append(Step(action.name, args, state, action.span))
        initial = self.enc.decode_state(m, self.states[0])
        if initial != self.initial:
            raise InternalError("the decoded initial state is not the initial state")
        return Trace(initial, tuple(steps))


# ---------------------------------------------------------------- replay


class Replayer:
    """Re-runs Z3 traces on the explicit machine (the reference semantics)."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.machine: Any = None
        try:
            from rmapcheck.explicit.machine import Machine
        except ImportError:  # no explicit engine: the self-check is all there is
            return
        self.machine = Machine(instance, symmetry=False)

    @property
    def available(self) -> bool:
        return self.machine is not None

    def check(self, trace: Trace, target: Target) -> None:
        """The trace replays and ends in the violation (or witness) of ``target``."""
        if self.machine is None:
            return
        from rmapcheck.replay import replay, replay_violation

        try:
            if target.kind == "witness":
                replay(self.machine, trace)
                if not self.machine.holds(target.name, trace.last):
                    raise InternalError(f"replay: the witness of {target.name} does not "
                                        "satisfy it")
            else:
                replay_violation(self.machine, trace, target.name)
        except InternalError as exc:
            raise InternalError(f"a BMC trace for {target.name} does not replay on the "
                                f"explicit machine: {exc}") from exc

    def runtime_error(self, trace: Trace, in_step: bool) -> SpecRuntimeError:
        """The spec run-time error the trace ends in, as the explicit engine
        reports it (with the trace to the state where it happens). ``in_step``:
        the last step raises it; else evaluating a property in the last state."""
        if self.machine is None:
            return SpecRuntimeError("a step hits a run-time error (found by bmc)", None)
        from rmapcheck.explicit.machine import TracedRuntimeError
        from rmapcheck.replay import replay

        prefix = Trace(trace.initial, trace.steps[:-1]) if in_step else trace
        try:
            replay(self.machine, prefix)
        except InternalError as exc:
            raise InternalError(f"a BMC trace to a run-time error does not replay: {exc}") \
                from exc
        try:
            if in_step:
                step = trace.steps[-1]
                self.machine.step_full(prefix.last, step.action, step.args)
            else:
                for p in self.instance.model.properties:
                    self.machine.holds(p.name, trace.last)
        except SpecRuntimeError as error:
            if in_step:
                step = trace.steps[-1]
                return TracedRuntimeError(error, prefix, step.action, step.args)
            return TracedRuntimeError(error, prefix, None, ())
        raise InternalError("bmc found a run-time error that the explicit machine does not hit")


def self_check(enc: Encoder, trace: Trace, target: Target) -> None:
    """The decoded trace is a run of the encoded actions and ends in the violation
    (independent of the solver: concrete evaluation of the encoding)."""
    state = trace.initial
    for i, step in enumerate(trace.steps):
        last = i == len(trace.steps) - 1
        status, nxt, failed = enc.concrete_step(state, step.action,
                                                tuple(v for _, v in step.args))
        if last and target.kind == "step":
            if target.name == ERROR_PROP and status == ERROR_PROP:
                return
            if status == "ok" and target.name in failed:
                return
            raise InternalError(f"BMC trace for {target.name}: the last step gives "
                                f"{status} {failed}")
        if status != "ok" or nxt != step.state:
            raise InternalError(f"BMC trace for {target.name}: step {i + 1} ({step.action}) "
                                f"gives {status}, not the decoded state")
        state = nxt
    if target.name == EVAL_ERROR:
        if not any(enc.concrete_prop(p, state) is None for p in enc.model.properties):
            raise InternalError("BMC trace to a property evaluation error: none there")
    elif target.prop is not None:
        holds = enc.concrete_prop(target.prop, state)
        if target.kind == "witness" and not holds:
            raise InternalError(f"BMC witness for {target.name} does not satisfy it")
        if target.kind == "state" and holds:
            raise InternalError(f"BMC counterexample for {target.name} satisfies it")


# ---------------------------------------------------------------- the search


@dataclass
class Search:
    """BMC state for one run: reusable by induction (base case, reachability)."""

    enc: Encoder
    checker: Checker
    targets: list[Target]
    replayer: Replayer
    unrolling: Unrolling = field(init=False)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    traces: dict[str, Trace] = field(default_factory=dict)
    first_depth: dict[str, int] = field(default_factory=dict)
    # A spec run-time error ends the search (the spec is undefined there).
    error: SpecRuntimeError | None = None
    error_depth: int = 0
    # As the explicit engine's default: the depth of the first violation is
    # searched to the end (every property violated there is reported), no further.
    stop_at_first: bool = False

    def __post_init__(self) -> None:
        self.unrolling = Unrolling(self.enc, self.checker)

    def pending(self, kind: TargetKind) -> list[Target]:
        return [t for t in self.targets if t.kind == kind and t.name not in self.verdicts]

    def run(self, depth: int) -> int:
        """Searches up to ``depth`` steps; returns the depth fully explored."""
        u = self.unrolling
        explored = -1
        for k in range(u.depth, depth + 1):
            activity.note("bmc", depth=f"{k} of {depth}",
                          properties=", ".join(t.name for t in self.targets[:4])
                          + (" ..." if len(self.targets) > 4 else ""))
            if k > 0 and u.depth < k:
                frame = u.extend()
                def step_fails(t: Target, frame: Frame = frame) -> z3.BoolRef:
                    return frame.fails.get(t.name, FALSE)

                self._resolve(self.pending("step"), k, step_fails)
                u.commit(k - 1)
                # What no step k can do is a fact about every path: telling the
                # solver prunes the deeper queries (sound: each prefix of a path
                # is itself a path of that length).
                for t in self.pending("step"):
                    self.checker.add(not_(frame.fails.get(t.name, FALSE)))
            xs = u.states[k]
            def bad_state(t: Target, xs: list[z3.ExprRef] = xs) -> z3.BoolRef:
                return self._bad_state(t, xs)

            self._resolve(self.pending("state"), k, bad_state)
            for t in self.pending("state"):
                self.checker.add(not_(self._bad_state(t, xs)))
            def holds(t: Target, xs: list[z3.ExprRef] = xs) -> z3.BoolRef:
                # a witness target always carries its property
                return self.enc.holds_at(t.prop, xs)  # type: ignore[arg-type]

            self._resolve(self.pending("witness"), k, holds)
            if self.error is not None:
                break
            explored = k
            if not any(self.pending(kind) for kind in ("state", "step", "witness")):
                break
            if self.stop_at_first and any(isinstance(v, Violated)
                                          for v in self.verdicts.values()):
                break
        return explored

    def _bad_state(self, t: Target, xs: list[z3.ExprRef]) -> z3.BoolRef:
        if t.name == EVAL_ERROR:
            return or_(*[self.enc.error_at(p.prop, xs) for p in self.targets  # type: ignore[arg-type]
                         if p.prop is not None])
        return not_(self.enc.holds_at(t.prop, xs))  # type: ignore[arg-type]

    def _resolve(self, targets: list[Target], k: int,
                 cond_of: Callable[[Target], z3.BoolRef]) -> None:
        conds = {t.name: cond_of(t) for t in targets}
        pending = [t for t in targets if not z3.is_false(conds[t.name])]
        while pending:
            group = z3.Or([conds[t.name] for t in pending]) if len(pending) > 1 \
                else conds[pending[0].name]
            result, m, reason = self.checker.check(group)
            if result == z3.unsat:
                return
            if result == z3.unknown:
                for t in pending:
                    covered = f"; no violation up to depth {k - 1}" if k > 0 else ""
                    self.verdicts[t.name] = Unknown(
                        unknown_reason(reason, f"at depth {k}") + covered)
                return
            assert m is not None
            hit = [t for t in pending if z3.is_true(m.eval(conds[t.name], model_completion=True))]
            if not hit:
                raise InternalError("a sat BMC query satisfies none of its targets")
            for t in hit:
                # Each target its own least trace: the one breadth-first
                # search meets first for that property.
                trace = self.unrolling.trace(self._least(conds[t.name], k, m), k)
                self._found(t, trace, k)
                if self.error is not None:
                    return
            pending = [t for t in pending if t not in hit]

    def _least(self, cond: z3.BoolRef, k: int, m: z3.ModelRef) -> z3.ModelRef:
        """The model of ``cond`` whose steps come first in the order the
        breadth-first search tries them (actions as declared, then each
        argument from its least value), so that both engines show the same
        counterexample. Step by step, each choice is lowered while ``cond``
        stays satisfiable; a query Z3 gives up on keeps the choice it has."""
        tr = self.enc.transition()
        fixed: list[z3.BoolRef] = []

        def lower(current: Any, candidates: Sequence[Any],
                  pick: Callable[[Any], z3.BoolRef]) -> bool:
            nonlocal m
            for value in candidates:
                if value == current:
                    break
                result, better, _ = self.checker.check(and_(cond, *fixed, pick(value)))
                if result == z3.sat:
                    assert better is not None
                    m = better
                    fixed.append(pick(value))
                    return True
                if result == z3.unknown:
                    return False
            fixed.append(pick(current))
            return True

        for t in range(k):
            frame = self.unrolling.frames[t]
            index = signed(m.eval(frame.sel, model_completion=True))
            def choose(i: int, frame: Frame = frame) -> z3.BoolRef:
                return eq_(frame.sel, self.enc.num(i))

            if not lower(index, range(len(tr.actions)), choose):
                return m
            a = tr.actions[signed(m.eval(frame.sel, model_completion=True))]
            for p, leaf, x in zip(a.action.params, a.param_leaves, frame.params[a.index],
                                  strict=True):
                current = leaf.from_z3(m.eval(x, model_completion=True))
                def pick(v: Any, x: z3.ExprRef = x, leaf: Any = leaf) -> z3.BoolRef:
                    return eq_(x, leaf.to_z3(v))

                if not lower(current, self._in_order(p.sort), pick):
                    return m
        return m

    def _in_order(self, sort: ir.Sort) -> tuple[Any, ...]:
        """A parameter's values in the order the explicit machine tries them."""
        match sort:
            case ir.OptionSort(inner=inner):
                return (None, *self.enc.inst.values(inner))
            case _:
                return self.enc.inst.values(sort)

    def _found(self, t: Target, trace: Trace, k: int) -> None:
        self_check(self.enc, trace, t)
        # A run-time error ends the check as in the explicit engine: the spec is
        # undefined there, so it is an error with its trace, not a verdict.
        if t.name == ERROR_PROP:
            self.error = self.replayer.runtime_error(trace, True)
            self.error_depth = k
            return
        if t.name == EVAL_ERROR or (t.prop is not None
                                    and self.enc.concrete_prop(t.prop, trace.last) is None):
            self.error = self.replayer.runtime_error(trace, False)
            self.error_depth = k
            return
        self.replayer.check(trace, t)
        self.traces[t.name] = trace
        self.first_depth[t.name] = k
        if t.kind == "witness":
            # As the explicit engine: a witnessed ``sometimes`` holds (the bound
            # says where the witness was found; the trace is in ``traces``).
            self.verdicts[t.name] = Holds(Bound("bmc", depth=k,
                                                consts=tuple(self.enc.inst.consts.items())))
            return
        self.verdicts[t.name] = self._violated(t, trace)

    def _violated(self, t: Target, trace: Trace) -> Violated:
        if t.kind == "state":
            # The failing conjunct goes out as data: its values are worded by
            # rmapcheck.render.proof, as every engine's are.
            assert t.prop is not None
            return Violated(trace, part=failing_part(self.enc.core, t.prop, trace.last))
        step = trace.steps[-1]
        action = self.enc.model.action(step.action)
        args = ", ".join(f"{n}={v}" for n, v in step.args)
        at = f" at {action.span}" if action.span.line > 0 else ""
        if t.name == ERROR_PROP:
            return Violated(trace, f"{step.action}({args}) hits a run-time error (a value "
                            "outside its sort, a field of none, unwrap of none, or division by "
                            f"zero){at}")
        return Violated(trace, f"assertion {t.name} fails in {step.action}({args}){at}")


def bmc(instance: Instance, depth: int, props: Sequence[str] | None = None,
        solver_timeout: float | None = None, stop_at_first: bool = False,
        time_limit: float | None = None) -> Result:
    """Bounded model checking to ``depth`` steps.

    Every property and assertion named in ``props`` (all when None) gets a
    verdict: ``Violated`` with the shortest trace, ``Holds`` to ``depth``,
    ``Unknown`` when Z3 gave up (``solver_timeout`` seconds per query), and for
    a ``sometimes`` property ``Proved`` (witnessed) or ``Unknown`` (not
    witnessed within ``depth``). ``__runtime_error__`` appears when a step can
    hit a run-time error (or when that could not be decided). ``time_limit``
    (seconds) bounds the whole search: what it did not reach is ``Unknown``.
    A violated invariant or lemma carries its failing part as data
    (``Violated.part``, detail empty): ``rmapcheck.portfolio.bmc`` returns it
    worded."""
    start = time.monotonic()
    deadline = None if time_limit is None else start + time_limit
    enc = Encoder(instance)
    targets = select_targets(instance.model, props)
    search = Search(enc, Checker(solver_timeout, deadline=deadline), targets,
                    Replayer(instance), stop_at_first=stop_at_first)
    enc.transition()
    encode_seconds = time.monotonic() - start
    explored = search.run(depth)
    consts = tuple(instance.consts.items())
    if search.error is not None and not any(isinstance(v, Violated)
                                            for v in search.verdicts.values()):
        raise search.error  # as the explicit engine: an error with its trace
    verdicts: list[tuple[str, Verdict]] = []
    for t in targets:
        v = search.verdicts.get(t.name)
        if v is None:
            if t.name in (ERROR_PROP, EVAL_ERROR):
                continue
            if search.error is not None:
                v = Unknown(f"search stopped at depth {search.error_depth} by a spec "
                            f"run-time error: {search.error.message}")
            elif t.kind == "witness":
                v = Unknown(f"not witnessed within {explored} steps (bmc)")
            else:
                v = Holds(Bound("bmc", depth=explored, consts=consts))
        verdicts.append((t.name, v))
    stats = Stats(depth=max(explored, 0), seconds=time.monotonic() - start,
                  extra=(("encode_seconds", round(encode_seconds, 3)),
                         ("solver_checks", search.checker.checks),
                         ("solver_seconds", round(search.checker.seconds, 3)),
                         ("replayed", search.replayer.available)))
    return Result(instance.model.name, "bmc", tuple(verdicts), stats, consts)
