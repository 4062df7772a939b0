"""Proofs: induction with lemmas, k-induction, Spacer, and what to say when they fail.

Induction proves a set S of state properties (the invariants asked about and
every ``lemma`` of the model) together: the initial state satisfies each, and
from any well-formed state satisfying all of S, every step (every action,
every argument) leads to a state satisfying all of S. When some member fails
the step query, it is dropped from S and the query repeated (Houdini), so what
remains is inductive and proved; each dropped member gets a counterexample to
induction (CTI): the action and arguments, the state before and after, and the
conjunct and quantifier instance that breaks. BMC then looks for a real
violation of it to a modest depth.

Assertions and run-time errors are step properties: proved when no step from a
state satisfying S can fail them.

k-induction assumes S on k consecutive states of a simple path (pairwise
distinct states) and asks about the (k+1)-th, with BMC to depth k-1 as base.

A proof is trusted only when the model is not vacuous: every ``sometimes``
property must be witnessed by BMC (within ``witness_depth``); otherwise each
"proved" becomes ``Unknown`` saying so. A solver ``unknown`` (or timeout) is
never a proof.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import attrs
import z3

from rmapcheck import activity, ir
from rmapcheck.core.failing_part import failing_part
from rmapcheck.errors import InternalError, SpecError
from rmapcheck.instance import Instance
from rmapcheck.symbolic.bmc import (
    OUT_OF_TIME,
    Checker,
    Replayer,
    Search,
    Target,
    select_targets,
    unknown_reason,
)
from rmapcheck.symbolic.infer import Candidate, infer, without_lemmas
from rmapcheck.symbolic.spacer import SpacerJob, SpacerOutcome
from rmapcheck.symbolic.z3_emit import (
    ERROR_PROP,
    EVAL_ERROR,
    FALSE,
    TRUE,
    ActionEncoding,
    Encoder,
    and_,
    eq_,
    is_f,
    not_,
    or_,
)
from rmapcheck.trace import (
    Bound,
    Cti,
    Holds,
    Proved,
    Result,
    Stats,
    Unknown,
    Verdict,
    Violated,
)

Method = Literal["auto", "induction", "kinduction", "spacer"]

# How far BMC looks for a real violation of a property whose proof failed,
# and for witnesses of the ``sometimes`` properties (vacuity check).
REACH_DEPTH = 4
WITNESS_DEPTH = 6
# How far BMC looks before any proof: a property violated this early is not
# worth a proof attempt, and leaving it out spares the induction the rounds
# that would find its counterexamples to induction one by one.
EARLY_DEPTH = 3
# Spacer's share of the time when ``method='auto'`` (seconds), unless the
# caller's solver timeout is smaller.
SPACER_BUDGET = 30.0
# An induction query for one action that takes longer is split by arguments.
SPLIT_AFTER = 20.0
# RMAPCHECK_QUERY_LOG=1: each induction step query's action, answer and time
# on stderr (where a slow proof spends its time).
QUERY_LOG = bool(os.environ.get("RMAPCHECK_QUERY_LOG"))
# An action whose first parameter has at most this many values is asked
# about once per value (see ``Inductor._prefixes``).
SPLIT_FIRST_MAX = 8


# ---------------------------------------------------------------- induction


@dataclass
class _Answer:
    """What one query of the step found (a ``_Unit``), as plain data (it may
    come from a child process): unsat with the assumptions it used, sat with
    the step, or unknown with the reason; and the unsat cores of the parts
    it was split into."""

    result: Literal["sat", "unsat", "unknown"]
    core: set[str] = field(default_factory=set)
    args: tuple[tuple[str, Any], ...] = ()
    state: tuple[tuple[Any, ...], tuple[Any, ...]] | None = None
    reason: str = ""
    instances: dict[Any, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Unit:
    """One query of the induction step: the action at ``index`` with its
    first parameters set to ``prefix``, and its condition."""

    index: int
    prefix: tuple[Any, ...]
    cond: z3.BoolRef


def _fork_context() -> Any:
    try:
        return multiprocessing.get_context("fork")
    except ValueError:  # no fork here: one process does it all
        return None


class Inductor:
    """The step queries over k+1 states, one action at a time.

    The last step is asked about per action, each action in a solver of its
    own: a query then bit-blasts one action body instead of all of them, and
    what a solver learns about one action does not slow the next (on
    anon_vma_chain a solver per action takes 32 s where one shared solver
    took 107 s). An action whose query does not finish within ``SPLIT_AFTER``
    seconds is split into its parameter instances, whose keys are all
    concrete."""

    def __init__(self, enc: Encoder, k: int, solver_timeout: float | None,
                 deadline: float | None = None, workers: int = 2) -> None:
        if k < 1:
            raise SpecError("k-induction needs k >= 1", None)
        self.enc = enc
        self.k = k
        self.timeout = solver_timeout
        self.deadline = deadline
        self.workers = min(workers, os.cpu_count() or 1)
        # What the queries are for, in the progress lines.
        self.label = "induction" if k == 1 else f"{k}-induction"
        self.states = [enc.state_consts(f"i{t}") for t in range(k + 1)]
        # What every solver holds: the states are well formed, and for
        # k-induction the first k-1 steps ran normally along a simple path.
        self.base: list[z3.BoolRef] = [enc.domain(self.states[0])]
        for t in range(k - 1):
            frame = enc.step(1000 + t, self.states[t], self.states[t + 1])
            self.base += [frame.frame, frame.ok]
        if k > 1:
            # Simple path: k-induction is complete only over distinct states.
            for i in range(k + 1):
                for j in range(i + 1, k + 1):
                    self.base.append(not_(enc.equal_states(self.states[i], self.states[j])))
        tr = enc.transition()
        rename = list(zip(tr.cur, self.states[-2], strict=True))

        def sub(e: z3.ExprRef) -> z3.ExprRef:
            return z3.substitute(e, *rename)

        # Per action, over the last pre-state: (enabled, failure conditions, post == next).
        self.last: list[tuple[ActionEncoding, z3.BoolRef, dict[str, z3.BoolRef], z3.BoolRef]] = []
        for a in tr.actions:
            post = and_(*[eq_(y, sub(n)) for y, n in zip(self.states[-1], a.next, strict=True)])
            self.last.append((a, sub(and_(a.domain, a.ok)),
                              {n: sub(and_(a.domain, f)) for n, f in a.fails.items()}, post))
        self.assume_lits: dict[str, tuple[z3.BoolRef, z3.BoolRef]] = {}

    def assumption(self, prop: ir.Property) -> z3.BoolRef:
        """A literal that, when assumed, makes ``prop`` hold in states 0..k-1."""
        entry = self.assume_lits.get(prop.name)
        if entry is None:
            lit = z3.Bool(f"assume|{prop.name}")
            entry = (lit, z3.Implies(lit, and_(*[self.enc.holds_at(prop, xs)
                                                 for xs in self.states[:-1]])))
            self.assume_lits[prop.name] = entry
        return entry[0]

    def _solver(self, assumed: Sequence[ir.Property]) -> Checker:
        """A fresh solver for one action's query, knowing what the literals of
        ``assumed`` mean. Fresh for every query: the answer (its CTI, its unsat
        core) then does not depend on which process asked what before, so two
        processes give what one gives; and it costs nothing measurable (prove
        objrmap 9.0 -> 7.5 s, anon_vma_chain 33 -> 30 s, anonmm 65 -> 55 s,
        against a solver per action kept from call to call)."""
        checker = Checker(self.timeout, "QF_BV" if self.enc.iw else None, self.deadline)
        checker.add(*self.base, *[self.assume_lits[p.name][1] for p in assumed])
        return checker

    def check(self, steps: Sequence[str] | None, bad: z3.BoolRef,
              assumed: Sequence[ir.Property], settled: dict[Any, set[str]] | None = None
              ) -> tuple[z3.CheckSatResult, Cti | None, str, list[str]]:
        """Can the last step, from states satisfying ``assumed``, run normally
        into ``bad`` (``steps`` None), or fail one of the step properties
        ``steps``? Returns the answer, a CTI (prop and part left blank) when
        sat, the unknown reason, and when unsat the assumed properties the
        proof used (unsat cores).

        ``settled`` records each action (or action instance) found unsat,
        with its core, and skips those already there: the caller passes the
        same dict only while the assumptions stay and the question only
        narrows, so that an unsat answer stays one."""
        lits = [self.assumption(p) for p in assumed]
        used: set[str] = set()
        settled = {} if settled is None else settled
        units: list[_Unit] = []
        for index, (a, ok, fails, post) in enumerate(self.last):
            if a.action.name in settled:
                used |= settled[a.action.name]
                continue
            base = ok if steps is None else or_(*[fails.get(n, FALSE) for n in steps])
            if is_f(base):
                continue
            cond = and_(base, post, bad)
            for prefix in self._prefixes(a):
                key = (a.action.name, prefix)
                if prefix and key in settled:
                    used |= settled[key]
                    continue
                one = self._fix(a, cond, prefix)
                if not is_f(one):
                    units.append(_Unit(index, prefix, one))

        def ask(pos: int) -> _Answer:
            unit = units[pos]
            activity.note("prove", method=self.label, action=self.last[unit.index][0].action.name,
                          query=f"{pos + 1} of {len(units)}")
            return self._ask(unit, assumed, lits, settled)

        answers = self._answers(list(range(len(units))), ask)
        cores: dict[int, set[str]] = {}
        for pos, unit in enumerate(units):
            a = self.last[unit.index][0]
            answer = answers[pos]
            settled.update(answer.instances)
            match answer.result:
                case "sat":
                    assert answer.state is not None
                    pre, post = answer.state
                    return z3.sat, self._cti(a, answer.args, pre, post, assumed), "", []
                case "unknown":
                    return z3.unknown, None, answer.reason, []
                case "unsat":
                    if unit.prefix:
                        settled[(a.action.name, unit.prefix)] = answer.core
                    cores.setdefault(unit.index, set()).update(answer.core)
                    used |= answer.core
        for index, core in cores.items():
            settled[self.last[index][0].action.name] = core
        return z3.unsat, None, "", [p.name for p in assumed if p.name in used]

    def _prefixes(self, a: ActionEncoding) -> list[tuple[Any, ...]]:
        """The values of an action's first parameter, each a query of its own
        (``()``: the action is one query). With the process (or frame) it acts
        on concrete, the action's reads and writes of that process's maps have
        concrete keys: on anon_vma at 2,4,3 mremap takes 26.6 s as one query
        and 4.8 + 3.3 s as two, and the whole step 66 s against 38 s."""
        if not a.action.params:
            return [()]
        values = self.enc.inst.values(a.action.params[0].sort)
        if len(values) > SPLIT_FIRST_MAX:
            return [()]
        return [(v,) for v in values]

    def _fix(self, a: ActionEncoding, cond: z3.BoolRef, values: tuple[Any, ...]) -> z3.BoolRef:
        """``cond`` with the first parameters of ``a`` set to ``values``."""
        if not values:
            return cond
        fixed = [(x, leaf.to_z3(v)) for x, leaf, v
                 in zip(a.params, a.param_leaves, values, strict=False)]
        return z3.simplify(z3.substitute(cond, *fixed))

    def _args(self, a: ActionEncoding, values: tuple[Any, ...],
              m: z3.ModelRef) -> tuple[tuple[str, Any], ...]:
        """The action's arguments in a model of a query whose first
        parameters were set to ``values`` (the model does not know those)."""
        return tuple((p.name, values[i] if i < len(values)
                      else leaf.from_z3(m.eval(x, model_completion=True)))
                     for i, (p, leaf, x) in enumerate(zip(a.action.params, a.param_leaves,
                                                          a.params, strict=True)))

    def _answers(self, todo: list[int], ask: Callable[[int], _Answer]) -> dict[int, _Answer]:
        """``ask`` of the queries in ``todo``, in order, until the first answer
        that is not unsat; on both cores when there are two: this process and
        a forked child each take the next query not yet taken (one query can
        take most of the time: fork on anon_vma_chain), and an answer that
        is not unsat stops the taking past it. Every answer up to the first
        that is not unsat is returned."""
        out: dict[int, _Answer] = {}
        fork = _fork_context() if self.workers > 1 and len(todo) > 1 else None
        if fork is None:
            for index in todo:
                out[index] = ask(index)
                if out[index].result != "unsat":
                    break
            return out
        # Shared: the next position in ``todo`` to take, and the first
        # position whose answer is not unsat (len(todo) while there is none).
        taken = fork.Value("i", 0)
        stop = fork.Value("i", len(todo))

        def take() -> int | None:
            with taken.get_lock():
                pos = taken.value
                if pos >= stop.value:
                    return None
                taken.value = pos + 1
                return pos

        def answer(pos: int) -> _Answer:
            found = ask(todo[pos])
            if found.result != "unsat":
                with taken.get_lock():
                    stop.value = min(stop.value, pos)
            return found

        receive, send = fork.Pipe(duplex=False)

        def work() -> None:
            try:
                while (pos := take()) is not None:
                    send.send(("answer", pos, answer(pos)))
            except BaseException as error:  # noqa: BLE001 (handed to the parent, which raises it)
                send.send(("raise", 0, error))
            send.send(("end", 0, None))

        child = fork.Process(target=work, daemon=True)
        child.start()
        send.close()
        mine: dict[int, _Answer] = {}
        try:
            while (pos := take()) is not None:
                mine[pos] = answer(pos)
            # The child's answers before the first that is not unsat.
            while any(p not in mine for p in range(min(stop.value + 1, len(todo)))):
                kind, pos, value = receive.recv()
                if kind == "raise":
                    raise value
                if kind == "end":
                    break
                mine[pos] = value
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            receive.close()
        for pos in range(len(todo)):
            if pos not in mine:
                break
            out[todo[pos]] = mine[pos]
            if mine[pos].result != "unsat":
                break
        return out

    def _ask(self, unit: _Unit, assumed: Sequence[ir.Property],
             lits: list[z3.BoolRef], settled: dict[Any, set[str]]) -> _Answer:
        """One query: an action, or an action with its first parameter set
        (split further as ``_solve`` says)."""
        instances: dict[Any, set[str]] = {}
        answer = self._solve(self.last[unit.index][0], unit.cond, unit.prefix, len(unit.prefix),
                             assumed, lits, settled, instances)
        answer.instances = instances
        return answer

    def _solve(self, a: ActionEncoding, cond: z3.BoolRef, prefix: tuple[Any, ...], top: int,
               assumed: Sequence[ir.Property], lits: list[z3.BoolRef],
               settled: dict[Any, set[str]], instances: dict[Any, set[str]]) -> _Answer:
        """``cond``, the query of ``a`` with its first parameters set to
        ``prefix``, asked whole; if that takes longer than ``SPLIT_AFTER``
        seconds, one query per value of the next parameter, each asked the
        same way. One parameter at a time: a split straight into every
        instance once made mremap's 16 s query on anon_vma at 2,4,4 (which
        passed 20 s beside another) into 64 queries and 240 s. The unsat
        cores of the parts are recorded in ``instances``."""
        rest = a.action.params[len(prefix):]
        limit = SPLIT_AFTER if rest else None
        if self.timeout is not None:
            limit = self.timeout if limit is None else min(limit, self.timeout)
        checker = self._solver(assumed)
        asked = time.monotonic()
        result, m, reason = checker.check(cond, lits, timeout=limit)
        if QUERY_LOG:
            sys.stderr.write(f"rmapcheck: step query {a.action.name}{list(prefix)} "
                             f"{result} {time.monotonic() - asked:.1f} s (pid {os.getpid()})\n")
        if result == z3.sat:
            assert m is not None
            return _Answer("sat", args=self._args(a, prefix, m), state=self._states(m))
        if result == z3.unsat:
            return _Answer("unsat", core=self._core(checker))
        if not rest or reason == OUT_OF_TIME:
            if reason != OUT_OF_TIME and len(prefix) > top:
                reason += f" ({a.action.name}, split by arguments)"
            return _Answer("unknown", reason=reason)
        core: set[str] = set()
        for value in self.enc.inst.values(rest[0].sort):
            values = (*prefix, value)
            key = (a.action.name, values)
            if key in settled:
                core |= settled[key]
                continue
            part = self._fix(a, cond, values)
            if is_f(part):
                continue
            answer = self._solve(a, part, values, top, assumed, lits, settled, instances)
            if answer.result != "unsat":
                return answer
            instances[key] = answer.core
            core |= answer.core
        return _Answer("unsat", core=core)

    def _states(self, m: z3.ModelRef) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return (self.enc.decode_state(m, self.states[-2]),
                self.enc.decode_state(m, self.states[-1]))

    def _core(self, checker: Checker) -> set[str]:
        ids = {c.get_id() for c in checker.solver.unsat_core()}
        return {name for name, (lit, _) in self.assume_lits.items() if lit.get_id() in ids}

    def _cti(self, a: ActionEncoding, args: tuple[tuple[str, Any], ...], pre: tuple[Any, ...],
             post: tuple[Any, ...], assumed: Sequence[ir.Property]) -> Cti:
        # A CTI is shown as a fact about the model, so it is checked as one:
        # the state before satisfies what was assumed, and the action really
        # goes from it to the state after (or fails there).
        wrong = [p.name for p in assumed if not self.enc.concrete_prop(p, pre)]
        outcome, nxt, _ = self.enc.concrete_step(pre, a.action.name, [v for _, v in args])
        if wrong or (outcome == "ok" and nxt != post) or outcome == "disabled":
            raise InternalError(
                f"Z3's counterexample to induction for {a.action.name} does not hold on the "
                f"concrete model ({'it breaks ' + ', '.join(wrong) if wrong else outcome})")
        return Cti("", a.action.name, args, pre, post, None, tuple(p.name for p in assumed))

    def breaks(self, cti: Cti, prop: ir.Property) -> bool:
        return not self.enc.concrete_prop(prop, cti.post)

    def fails(self, cti: Cti, steps: Sequence[str]) -> list[str]:
        """The step properties among ``steps`` that the CTI's step fails."""
        outcome, _, failed = self.enc.concrete_step(cti.pre, cti.action,
                                                    [v for _, v in cti.args])
        names = {*failed, *([ERROR_PROP] if outcome == ERROR_PROP else [])}
        return [n for n in steps if n in names]


@dataclass
class Outcome:
    """What one proof attempt established."""

    proved: dict[str, tuple[str, tuple[str, ...]]]  # name -> (method, lemmas used)
    ctis: dict[str, Cti]
    unknown: dict[str, str]
    violated_at_init: set[str]
    violated: dict[str, Violated]


def induction(enc: Encoder, targets: Sequence[Target], k: int = 1,
              solver_timeout: float | None = None, deadline: float | None = None,
              facts: Sequence[ir.Property] = (), workers: int = 2) -> Outcome:
    """Induction (k=1) or k-induction over ``targets`` plus every lemma.
    ``facts``: properties already proved, assumed and not asked about again.
    ``workers``: processes for the step queries (at most the cores there are)."""
    model = enc.model
    method = "induction" if k == 1 else f"k-induction (k={k})"
    out = Outcome({}, {}, {}, set(), {})
    initial = enc.initial_state()
    known = {p.name for p in facts}
    candidates: list[ir.Property] = []
    # Every invariant joins the inductive set, not only those asked about: a
    # property is rarely inductive without the others (rmap_complete needs
    # wf_vmas), and what the step breaks is dropped anyway.
    for p in model.invariants:
        if p.name in known:
            continue
        if not enc.concrete_prop(p, initial):
            out.violated_at_init.add(p.name)  # BMC at depth 0 gives the trace
            continue
        candidates.append(p)
    ind = Inductor(enc, k, solver_timeout, deadline, workers)
    # Houdini: drop every candidate the step breaks until the rest is inductive.
    used: list[str] = []
    rounds = 0
    while candidates:
        rounds += 1
        ind.label = (f"{method}, {len(candidates)} invariants together"
                     + (f" (round {rounds}, {len(model.invariants) - len(candidates)} dropped)"
                        if rounds > 1 else ""))
        bad = or_(*[not_(enc.holds_at(p, ind.states[-1])) for p in candidates])
        result, cti, reason, used = ind.check(None, bad, [*candidates, *facts])
        if result == z3.unsat:
            break
        if result == z3.unknown:
            for p in candidates:
                out.unknown[p.name] = unknown_reason(reason, f"on the {method} step")
            candidates = []
            break
        assert cti is not None
        broken = [p for p in candidates if ind.breaks(cti, p)]
        if not broken:
            raise InternalError("a sat induction query breaks no candidate")
        for p in broken:
            out.ctis[p.name] = attrs.evolve(cti, prop=p.name,
                                            part=failing_part(enc.core, p, cti.post),
                                            assumed=tuple(a for a in cti.assumed
                                                          if a != p.name))
        candidates = [p for p in candidates if p not in broken]
    # The set is proved together; the unsat cores say which members the step
    # needed (reported as the lemmas of each, itself excluded).
    for p in candidates:
        out.proved[p.name] = (method, tuple(u for u in used if u != p.name))
    # Step properties: no step from the inductive set fails them. Asked about
    # together (each pass over the actions is the expensive part), and those
    # a CTI fails are dropped until the rest are proved.
    steps = [t.name for t in targets if t.kind == "step"]
    settled: dict[Any, set[str]] = {}
    while steps:
        shown = ", ".join("run-time errors" if n == ERROR_PROP else n for n in steps)
        ind.label = f"{method}, assertions and run-time errors: {shown}"
        result, cti, reason, used = ind.check(steps, TRUE, [*candidates, *facts], settled)
        if result == z3.unsat:
            for name in steps:
                out.proved[name] = (method, tuple(used))
            break
        if result == z3.unknown:
            for name in steps:
                out.unknown[name] = unknown_reason(reason, f"on the {method} step")
            break
        assert cti is not None
        failing = ind.fails(cti, steps)
        if not failing:
            raise InternalError("a sat induction query fails no step property")
        for name in failing:
            out.ctis[name] = attrs.evolve(cti, prop=name)
        steps = [n for n in steps if n not in failing]
    if k > 1 and out.proved:
        # The base case: no violation in the first k-1 steps, for every member
        # of the inductive set (the proofs assume each other).
        base = [t for t in targets if t.name in out.proved]
        base += [Target(p.name, "state", p) for p in candidates
                 if p.name not in out.proved]
        search = Search(enc, Checker(solver_timeout, deadline=deadline), base,
                        Replayer(enc.inst))
        search.run(k - 1)
        if search.error is not None:
            raise search.error
        if search.verdicts:
            for name, v in search.verdicts.items():
                if isinstance(v, Violated):
                    out.violated[name] = v
            for name in list(out.proved):
                del out.proved[name]
                if name not in out.violated:
                    out.unknown[name] = (f"the {method} step holds, but the base case "
                                         f"(bmc to depth {k - 1}) failed for "
                                         f"{', '.join(sorted(search.verdicts))}")
    return out


# ---------------------------------------------------------------- prove


@attrs.frozen
class Explored:
    """What the explicit search before the proofs settled: witnesses found
    and violations (each at its shortest), and how far it went. The planner
    (``rmapcheck.portfolio``) runs that search; a proof never does."""

    verdicts: Mapping[str, Verdict] = attrs.field(factory=dict)
    bound: Bound | None = None  # the claim a "no violation" of every target makes

    def covers(self, depth: int) -> bool:
        """Every behaviour of at most ``depth`` steps was searched."""
        b = self.bound
        return b is not None and (b.complete or (b.depth is not None and b.depth >= depth))

    @classmethod
    def of(cls, result: Result, targets: Sequence[str], witnesses: Sequence[str]) -> Explored:
        """What a breadth-first search (``result``) settled of ``targets`` and
        ``witnesses``, and the depth it checked every target to."""
        found = dict(result.verdicts)
        out: dict[str, Verdict] = {}
        bounds: list[Bound] = []
        unsettled = False
        for name in witnesses:
            verdict = found.get(name)
            if isinstance(verdict, Holds):
                steps = result.witness_steps(name, verdict)
                out[name] = Holds(Bound(result.engine, depth=steps, consts=result.consts))
        for name in targets:
            verdict = found.get(name)
            if isinstance(verdict, Violated):
                out[name] = verdict
            elif isinstance(verdict, Holds):
                bounds.append(verdict.bound)
            else:
                unsettled = True
        # The bound every target was searched to (a violation ends no search:
        # ``stop_at_first`` is off); run-time errors too, which end it by raising.
        if not bounds or unsettled:
            return cls(out, None)
        least = min(bounds, key=lambda b: (b.complete, -1 if b.depth is None else b.depth))
        return cls(out, least)

    def with_witnesses(self, more: Explored) -> Explored:
        """These verdicts and the witnesses a later search found (its bound
        says nothing of the targets, which it did not look at)."""
        return Explored({**self.verdicts, **more.verdicts}, self.bound)


@attrs.frozen(eq=False)
class Goal:
    """What a proof is asked about, fixed (and checked: the method, the
    property names, the initial state) before anything is searched. The
    explicit search before the proofs looks for ``search_targets`` and
    ``witnesses`` on ``instance``."""

    instance: Instance  # without the spec's lemmas when they are left out
    method: Method
    targets: tuple[Target, ...]
    enc: Encoder

    @property
    def search_targets(self) -> list[str]:
        return [t.name for t in self.targets if t.name != ERROR_PROP]

    @property
    def witnesses(self) -> list[str]:
        return [p.name for p in self.instance.model.witnesses]


def goal(instance: Instance, props: Sequence[str] | None = None, method: Method = "auto",
         spec_lemmas: bool = True) -> Goal:
    """The goal of proving ``props`` (every invariant, lemma and assertion
    when None) on ``instance`` by ``method``; ``spec_lemmas`` False leaves
    out the lemmas the spec states. A spec error is raised here, before any
    search or claim."""
    if method not in ("auto", "induction", "kinduction", "spacer"):
        raise SpecError(f"unknown proof method {method!r}", None)
    if not spec_lemmas:
        instance = without_lemmas(instance)
    targets = [t for t in select_targets(instance.model, props)
               if t.kind != "witness" and t.name != EVAL_ERROR]
    enc = Encoder(instance)
    enc.initial_state()  # a spec error (no initial state) before any claim
    return Goal(instance, method, tuple(targets), enc)


def _witness_search(enc: Encoder, model: ir.Model, depth: int, explored: Explored,
                    solver_timeout: float | None, deadline: float | None) -> dict[str, Verdict]:
    witnesses = [Target(p.name, "witness", p) for p in model.witnesses]
    if not witnesses:
        return {}
    found = {t.name: explored.verdicts[t.name] for t in witnesses
             if t.name in explored.verdicts}
    rest = [t for t in witnesses if t.name not in found]
    if rest:
        search = Search(enc, Checker(solver_timeout, deadline=deadline), rest,
                        Replayer(enc.inst))
        search.run(depth)
        if search.error is not None:
            raise search.error
        found.update(search.verdicts)
    return {t.name: found.get(t.name, Unknown(f"not witnessed within {depth} steps (bmc)"))
            for t in witnesses}


def prove(goal: Goal, searched: Explored, k: int = 2, solver_timeout: float | None = None,
          reach_depth: int = REACH_DEPTH, witness_depth: int = WITNESS_DEPTH,
          spacer_budget: float = SPACER_BUDGET, deadline: float | None = None,
          infer_lemmas: bool = True) -> Result:
    """Proves the invariants, lemmas and assertions of ``goal`` for every
    reachable state of its instance, given what the explicit search before
    the proofs settled (``searched``: its violations are the answer for those
    properties, its witnesses make a proof trusted, and its depth spares BMC
    the depths it covered).

    ``goal.method``: ``induction`` (with the model's lemmas), ``kinduction``
    (k states), ``spacer`` (Z3's CHC engine: finds the inductive invariant
    itself), or ``auto`` (induction with the spec's lemmas, then with
    inferred ones, then Spacer within ``spacer_budget`` seconds, then
    k-induction, each for what is left). A property whose proof fails is
    ``Unknown`` with its CTI as data (``Unknown.cti``, worded by
    ``rmapcheck.render.proof``; the traces also in ``stats.extra`` as
    ``("cti", ((name, Trace),...))``) and, when the search or BMC (to
    ``reach_depth`` steps) finds a violation, ``Violated`` with the shortest
    trace. ``deadline`` (``time.monotonic()``) bounds the whole call; what it
    cuts short is ``Unknown``.

    ``infer_lemmas``: induction also assumes the candidate lemmas of
    ``rmapcheck.symbolic.infer`` (proved with the rest, or dropped); those a
    proof used are in ``stats.extra`` as ``("inferred lemmas", texts)``."""
    start = time.monotonic()
    instance, method, enc = goal.instance, goal.method, goal.enc
    model = instance.model
    targets = list(goal.targets)
    inferred: dict[str, Candidate] = {}
    # The witnesses first: under a time limit, what the proofs leave of it
    # must not decide whether their result is trusted. The search before the
    # proofs found the shallow violations, each with its shortest trace.
    verdicts: dict[str, Verdict] = {t.name: searched.verdicts[t.name] for t in targets
                                    if isinstance(searched.verdicts.get(t.name), Violated)}
    ctis: dict[str, Cti] = {}
    methods_tried: list[str] = []
    pending = list(targets)
    extra: list[tuple[str, Any]] = []

    notes: dict[str, str] = {}  # why a pending target is not proved, besides a CTI
    witness: dict[str, Verdict] = {}
    try:
        witness = _witness_search(enc, model, witness_depth, searched, solver_timeout, deadline)

        def settle(outcome: Outcome) -> None:
            nonlocal pending
            names = {t.name for t in pending}
            for name, (how, lemmas) in outcome.proved.items():
                if name in names:
                    verdicts[name] = Proved(how, lemmas)
            for name, v in outcome.violated.items():
                if name in names:
                    verdicts[name] = v
            for name, cti in outcome.ctis.items():
                ctis.setdefault(name, cti)
            for name, why in outcome.unknown.items():
                # Each method's reason stays: the first is often the telling one.
                notes[name] = f"{notes[name]}; then {why}" if name in notes else why
            pending = [t for t in pending if t.name not in verdicts]

        pending = [t for t in pending if t.name not in verdicts]
        # One BMC run serves both ends: first the shallow violations, then (for
        # what no method proves) a look deeper; each only where the explicit
        # search did not already cover that depth.
        base = k - 1 if method == "kinduction" else 0
        depth = max(reach_depth, base)
        search = Search(enc, Checker(solver_timeout, deadline=deadline), list(pending),
                        Replayer(instance))
        if not searched.covers(min(EARLY_DEPTH, depth)):
            search.run(min(EARLY_DEPTH, depth))
            if search.error is not None:
                raise search.error
            for name, v in search.verdicts.items():
                if isinstance(v, Violated):
                    verdicts[name] = v
            pending = [t for t in pending if t.name not in verdicts]

        def take_spacer(sp: SpacerOutcome) -> None:
            nonlocal pending
            extra.extend(sp.extra)
            names = {t.name for t in pending}
            for name, how in sp.proved.items():
                if name in names:
                    verdicts[name] = Proved(how)
            notes.update((n, why) for n, why in sp.unknown.items() if n not in notes)
            for name in sp.violated:
                notes[name] = "spacer: a violation is reachable"
            pending = [t for t in pending if t.name not in verdicts]

        def start_spacer() -> SpacerJob:
            budget = spacer_budget if method == "auto" else solver_timeout
            if method == "auto" and solver_timeout is not None:
                budget = min(spacer_budget, solver_timeout)
            if deadline is not None:
                left = max(0.001, deadline - time.monotonic())
                budget = left if budget is None else min(budget, left)
            methods_tried.append("spacer")
            activity.note("prove", method="spacer", properties=", ".join(t.name for t in pending),
                          budget=None if budget is None else f"{budget:.0f} s")
            return SpacerJob(enc, pending, budget)

        if method == "spacer" and pending:
            sp = start_spacer().result()
            take_spacer(sp)
            # Only the refuted ones go on to BMC, for their trace.
            for t in pending:
                if t.name not in sp.violated:
                    verdicts[t.name] = Unknown(notes.get(t.name, "spacer gave no answer"))
            pending = [t for t in pending if t.name in sp.violated]
        if method in ("induction", "auto") and pending:
            # Induction with the spec's lemmas first, on both cores: it settles the
            # bundled models. What it leaves goes to induction with inferred
            # lemmas, on both cores, and what that leaves to Spacer, which needs
            # no lemma. (Spacer used to run beside the inferred lemmas' induction,
            # a core each: it never converged on a bundled model, and the
            # induction it slowed is what proves them.)
            methods_tried.append("induction")
            first = induction(enc, pending, 1, solver_timeout, deadline)
            settle(first)
            if infer_lemmas and any(name in first.ctis for name in (t.name for t in pending)):
                # Inferred lemmas only where the spec's were not enough: each one
                # makes every query bigger. What is proved already is a fact now.
                activity.note("prove", method="looking for lemmas the spec does not state")
                widened, inferred = infer(instance)
                if inferred:
                    facts = [p for p in model.invariants if p.name in first.proved]
                    methods_tried.append("induction with inferred lemmas")
                    settle(induction(Encoder(widened), pending, 1, solver_timeout, deadline,
                                     facts=facts))
            if method == "auto" and pending:
                take_spacer(start_spacer().result())
        if method in ("kinduction", "auto") and pending and (method == "kinduction" or k > 1):
            methods_tried.append(f"k-induction (k={k})")
            settle(induction(enc, pending, max(k, 1), solver_timeout, deadline))

        # What is still pending: look for a real violation, else say why not proved.
        if pending:
            reach = [t for t in targets if t.name in {p.name for p in pending}]
            # Deeper than the explicit search went, BMC looks for a violation.
            if not searched.covers(depth):
                search.targets = reach
                for t in reach:
                    if isinstance(search.verdicts.get(t.name), Unknown):
                        del search.verdicts[t.name]  # gave up early; try again
                search.run(depth)
                if search.error is not None:
                    raise search.error
            for t in pending:
                found = search.verdicts.get(t.name)
                if isinstance(found, Violated):
                    verdicts[t.name] = found
                    continue
                if method == "auto" and searched.bound is not None and searched.bound.complete:
                    # No method found an inductive invariant, but the search saw
                    # every reachable state: for this instance that is the proof.
                    verdicts[t.name] = Proved(
                        "exhaustive search",
                        detail=f"every reachable state; {searched.bound.states:,} states")
                    continue
                if isinstance(found, Unknown):
                    rest = f"BMC: {found.reason}"
                elif searched.covers(depth) and searched.bound is not None:
                    rest = f"no violation in {searched.bound.describe()} (explicit search)"
                else:
                    rest = f"no violation within {depth} steps (bmc)"
                cti = ctis.get(t.name)
                if cti is not None:
                    # The CTI goes out as data: its values are worded (in front of
                    # the rest) by rmapcheck.render.proof, as every engine's are.
                    verdicts[t.name] = Unknown(rest, cti=cti)
                    continue
                reason = notes.get(t.name, f"not proved by {', '.join(methods_tried)}")
                verdicts[t.name] = Unknown(f"{reason}; {rest}")

    except KeyboardInterrupt:
        # Ctrl-C: what is proved stays proved, and the rest is said to be
        # open, so that minutes of proofs are not lost with the run.
        tried = ", ".join(methods_tried)
        when = f"during {tried}" if tried else "during the witness search"
        for t in targets:
            if t.name not in verdicts:
                verdicts[t.name] = Unknown(f"interrupted {when}; not proved")
        for p in model.witnesses:
            witness.setdefault(p.name, Unknown("interrupted before it was witnessed"))
        extra.append(("interrupted", True))

    # Vacuity: a proof counts only if every sometimes property is witnessed.
    unwitnessed = [n for n, v in witness.items() if not isinstance(v, Holds)]
    if unwitnessed:
        for name, v in list(verdicts.items()):
            if isinstance(v, Proved):
                verdicts[name] = Unknown(
                    f"{v.method} proves it, but the proof is not trusted: "
                    f"{', '.join(unwitnessed)} not witnessed within {witness_depth} steps, "
                    "so the model may be vacuous")
    verdicts.update(witness)

    ordered: list[tuple[str, Verdict]] = []
    for t in targets:
        got = verdicts.get(t.name)
        if got is None:
            raise InternalError(f"no verdict for {t.name}")
        if t.name == ERROR_PROP and isinstance(got, Proved):
            continue  # shown only when run-time errors could not be excluded
        ordered.append((t.name, got))
    ordered.extend((n, v) for n, v in witness.items())
    if ctis:
        span_of = {a.name: a.span for a in model.actions}
        extra.append(("cti", tuple((n, c.trace(span_of.get(c.action)))
                                   for n, c in ctis.items())))
    # Run-time errors excluded by a proof are not listed, but their lemmas count.
    used = {lemma for v in verdicts.values() if isinstance(v, Proved) for lemma in v.lemmas}
    texts = tuple(c.text for name, c in inferred.items() if name in used)
    if texts:
        extra.append(("inferred lemmas", texts))
    extra.append(("methods", tuple(methods_tried)))
    stats = Stats(seconds=time.monotonic() - start, extra=tuple(extra))
    return Result(model.name, "prove", tuple(ordered), stats, tuple(instance.consts.items()))
