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

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import z3

from rmapcheck import ir
from rmapcheck.errors import InternalError, SpecError
from rmapcheck.instance import Instance
from rmapcheck.render.text import format_args, state_changes
from rmapcheck.symbolic.bmc import (
    OUT_OF_TIME,
    Checker,
    Replayer,
    Search,
    Target,
    select_targets,
    unknown_reason,
)
from rmapcheck.symbolic.encode import (
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
from rmapcheck.symbolic.explain import failing_part
from rmapcheck.symbolic.infer import Candidate, infer, without_lemmas
from rmapcheck.symbolic.spacer import SpacerJob, SpacerOutcome
from rmapcheck.trace import Holds, Proved, Result, Stats, Step, Trace, Unknown, Verdict, Violated

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
SPLIT_AFTER = 5.0


@dataclass(frozen=True)
class Cti:
    """A counterexample to induction: a step from a state satisfying the
    assumed properties to one that breaks ``prop``."""

    prop: str
    action: str
    args: tuple[tuple[str, Any], ...]
    pre: tuple[Any, ...]
    post: tuple[Any, ...]
    part: str  # the failing conjunct / instance, in words
    assumed: tuple[str, ...]

    def trace(self, span: ir.Span | None = None) -> Trace:
        return Trace(self.pre, (Step(self.action, self.args, self.post, span),))

    def describe(self, inst: Instance) -> str:
        action = inst.model.action(self.action)
        call = f"{self.action}({format_args(inst, action, self.args)})"
        changes = list(state_changes(inst, self.pre, self.post))
        what = f"breaks {self.prop}" if self.prop != ERROR_PROP else "hits a run-time error"
        if self.prop in {a.name for a in inst.model.assertions()}:
            what = f"fails assertion {self.prop}"
        text = f"not inductive: {call} {what}"
        if self.part:
            text += f" ({self.part})"
        if self.assumed:
            text += f" from a state satisfying {', '.join(self.assumed)}"
        if changes:
            text += "; the step does " + "; ".join(changes)
        return text


# ---------------------------------------------------------------- induction


class Inductor:
    """The step queries over k+1 states, one action at a time.

    The last step is asked about per action: each query then bit-blasts one
    action body instead of all of them. An action whose query does not finish
    within ``SPLIT_AFTER`` seconds is split into its parameter instances, whose
    keys are all concrete (on the VM models, mremap's query times out whole
    but its 128 instances take seconds together)."""

    def __init__(self, enc: Encoder, k: int, solver_timeout: float | None,
                 deadline: float | None = None) -> None:
        if k < 1:
            raise SpecError("k-induction needs k >= 1", None)
        self.enc = enc
        self.k = k
        self.timeout = solver_timeout
        self.checker = Checker(solver_timeout, "QF_BV" if enc.iw else None, deadline)
        self.states = [enc.state_consts(f"i{t}") for t in range(k + 1)]
        self.checker.add(enc.domain(self.states[0]))
        for t in range(k - 1):
            frame = enc.step(1000 + t, self.states[t], self.states[t + 1])
            self.checker.add(frame.frame, frame.ok)
        if k > 1:
            # Simple path: k-induction is complete only over distinct states.
            for i in range(k + 1):
                for j in range(i + 1, k + 1):
                    self.checker.add(not_(enc.equal_states(self.states[i], self.states[j])))
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
        self.assume_lits: dict[str, z3.BoolRef] = {}

    def assumption(self, prop: ir.Property) -> z3.BoolRef:
        """A literal that, when assumed, makes ``prop`` hold in states 0..k-1."""
        lit = self.assume_lits.get(prop.name)
        if lit is None:
            lit = z3.Bool(f"assume|{prop.name}")
            self.checker.add(z3.Implies(lit, and_(*[self.enc.holds_at(prop, xs)
                                                     for xs in self.states[:-1]])))
            self.assume_lits[prop.name] = lit
        return lit

    def check(self, steps: Sequence[str] | None, bad: z3.BoolRef,
              assumed: Sequence[ir.Property], settled: dict[Any, set[int]] | None = None
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
        used: set[int] = set()
        settled = {} if settled is None else settled
        first_try = SPLIT_AFTER if self.timeout is None else min(SPLIT_AFTER, self.timeout)
        for a, ok, fails, post in self.last:
            if a.action.name in settled:
                used |= settled[a.action.name]
                continue
            base = ok if steps is None else or_(*[fails.get(n, FALSE) for n in steps])
            if is_f(base):
                continue
            cond = and_(base, post, bad)
            result, m, reason = self.checker.check(cond, lits, timeout=first_try)
            if result == z3.sat:
                assert m is not None
                args = tuple((p.name, leaf.from_z3(m.eval(x, model_completion=True)))
                             for p, leaf, x in zip(a.action.params, a.param_leaves, a.params,
                                                   strict=True))
                return result, self._cti(m, a, args, assumed), "", []
            if result == z3.unsat:
                settled[a.action.name] = self._core()
                used |= settled[a.action.name]
                continue
            # Too slow whole: one query per parameter instance (concrete keys).
            instance_cores: set[int] = set()
            for values in itertools.product(*[self.enc.inst.values(p.sort)
                                              for p in a.action.params]):
                key = (a.action.name, values)
                if key in settled:
                    instance_cores |= settled[key]
                    continue
                inst_sub = [(x, leaf.to_z3(v)) for x, leaf, v
                            in zip(a.params, a.param_leaves, values, strict=True)]
                one = z3.simplify(z3.substitute(cond, *inst_sub)) if inst_sub else cond
                if is_f(one):
                    continue
                # (Not in a push/pop scope: Z3's incremental SAT solver can give
                # up on bit-vector atoms first added inside a scope.)
                result, m, reason = self.checker.check(one, lits)
                if result == z3.sat:
                    assert m is not None
                    args = tuple((p.name, v) for p, v in zip(a.action.params, values, strict=True))
                    return result, self._cti(m, a, args, assumed), "", []
                if result == z3.unknown:
                    if reason != OUT_OF_TIME:
                        reason += f" ({a.action.name}, split by arguments)"
                    return result, None, reason, []
                settled[key] = self._core()
                instance_cores |= settled[key]
            settled[a.action.name] = instance_cores
            used |= instance_cores
        names = [p.name for p, lit in zip(assumed, lits, strict=True) if lit.get_id() in used]
        return z3.unsat, None, "", names

    def _core(self) -> set[int]:
        return {c.get_id() for c in self.checker.solver.unsat_core()}

    def _cti(self, m: z3.ModelRef, a: ActionEncoding, args: tuple[tuple[str, Any], ...],
             assumed: Sequence[ir.Property]) -> Cti:
        pre = self.enc.decode_state(m, self.states[-2])
        post = self.enc.decode_state(m, self.states[-1])
        # A CTI is shown as a fact about the model, so it is checked as one:
        # the state before satisfies what was assumed, and the action really
        # goes from it to the state after (or fails there).
        wrong = [p.name for p in assumed if not self.enc.concrete_prop(p, pre)]
        outcome, nxt, _ = self.enc.concrete_step(pre, a.action.name, [v for _, v in args])
        if wrong or (outcome == "ok" and nxt != post) or outcome == "disabled":
            raise InternalError(
                f"Z3's counterexample to induction for {a.action.name} does not hold on the "
                f"concrete model ({'it breaks ' + ', '.join(wrong) if wrong else outcome})")
        return Cti("", a.action.name, args, pre, post, "", tuple(p.name for p in assumed))

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
              facts: Sequence[ir.Property] = ()) -> Outcome:
    """Induction (k=1) or k-induction over ``targets`` plus every lemma.
    ``facts``: properties already proved, assumed and not asked about again."""
    model = enc.model
    method = "induction" if k == 1 else f"k-induction (k={k})"
    out = Outcome({}, {}, {}, set(), {})
    initial = enc.initial_state()
    state_targets = {t.name for t in targets if t.kind == "state"}
    known = {p.name for p in facts}
    candidates: list[ir.Property] = []
    for p in model.invariants:
        if (p.name not in state_targets and p.kind != "lemma") or p.name in known:
            continue
        if not enc.concrete_prop(p, initial):
            out.violated_at_init.add(p.name)  # BMC at depth 0 gives the trace
            continue
        candidates.append(p)
    ind = Inductor(enc, k, solver_timeout, deadline)
    # Houdini: drop every candidate the step breaks until the rest is inductive.
    used: list[str] = []
    while candidates:
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
            out.ctis[p.name] = replace(cti, prop=p.name,
                                       part=failing_part(enc, p, cti.post),
                                       assumed=tuple(a for a in cti.assumed if a != p.name))
        candidates = [p for p in candidates if p not in broken]
    # The set is proved together; the unsat cores say which members the step
    # needed (reported as the lemmas of each, itself excluded).
    for p in candidates:
        out.proved[p.name] = (method, tuple(u for u in used if u != p.name))
    # Step properties: no step from the inductive set fails them. Asked about
    # together (each pass over the actions is the expensive part), and those
    # a CTI fails are dropped until the rest are proved.
    steps = [t.name for t in targets if t.kind == "step"]
    settled: dict[Any, set[int]] = {}
    while steps:
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
            out.ctis[name] = replace(cti, prop=name)
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


def _witness_search(enc: Encoder, model: ir.Model, depth: int,
                    solver_timeout: float | None, deadline: float | None) -> dict[str, Verdict]:
    witnesses = [Target(p.name, "witness", p) for p in model.witnesses]
    if not witnesses:
        return {}
    search = Search(enc, Checker(solver_timeout, deadline=deadline), witnesses,
                    Replayer(enc.inst))
    search.run(depth)
    if search.error is not None:
        raise search.error
    return {t.name: search.verdicts.get(t.name,
                                        Unknown(f"not witnessed within {depth} steps (bmc)"))
            for t in witnesses}


def prove(instance: Instance, props: Sequence[str] | None = None, method: Method = "auto",
          k: int = 2, solver_timeout: float | None = None, reach_depth: int = REACH_DEPTH,
          witness_depth: int = WITNESS_DEPTH, spacer_budget: float = SPACER_BUDGET,
          time_limit: float | None = None, infer_lemmas: bool = True,
          spec_lemmas: bool = True) -> Result:
    """Proves the invariants, lemmas and assertions named in ``props`` (all
    when None) for every reachable state of the instance.

    ``method``: ``induction`` (with the model's lemmas), ``kinduction`` (k
    states), ``spacer`` (Z3's CHC engine: finds the inductive invariant
    itself), or ``auto`` (Spacer within ``spacer_budget`` seconds, then
    induction with lemmas, then k-induction, for what is left). A property
    whose proof fails gets its CTI in the reason (and in ``stats.extra`` as
    ``("cti", ((name, Trace),...))``) and, when BMC finds a violation within
    ``reach_depth`` steps, ``Violated`` with the trace. ``time_limit``
    (seconds) bounds the whole call; what it cuts short is ``Unknown``.

    ``infer_lemmas``: induction also assumes the candidate lemmas of
    ``rmapcheck.symbolic.infer`` (proved with the rest, or dropped); those a
    proof used are in ``stats.extra`` as ``("inferred lemmas", texts)``.
    ``spec_lemmas`` False leaves out the lemmas the spec states."""
    start = time.monotonic()
    deadline = None if time_limit is None else start + time_limit
    if method not in ("auto", "induction", "kinduction", "spacer"):
        raise SpecError(f"unknown proof method {method!r}", None)
    if not spec_lemmas:
        instance = without_lemmas(instance)
    model = instance.model
    targets = [t for t in select_targets(model, props)
               if t.kind != "witness" and t.name != EVAL_ERROR]
    inferred: dict[str, Candidate] = {}
    enc = Encoder(instance)
    enc.initial_state()  # a spec error (no initial state) before any claim
    # The witnesses first: under a time limit, what the proofs leave of it
    # must not decide whether their result is trusted.
    witness = _witness_search(enc, model, witness_depth, solver_timeout, deadline)
    verdicts: dict[str, Verdict] = {}
    ctis: dict[str, Cti] = {}
    methods_tried: list[str] = []
    pending = list(targets)
    extra: list[tuple[str, Any]] = []

    notes: dict[str, str] = {}  # why a pending target is not proved, besides a CTI

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
        notes.update(outcome.unknown)
        pending = [t for t in pending if t.name not in verdicts]

    # One BMC run serves both ends: first the shallow violations, then (for
    # what no method proves) a look deeper.
    base = k - 1 if method == "kinduction" else 0
    depth = max(reach_depth, base)
    search = Search(enc, Checker(solver_timeout, deadline=deadline), list(pending),
                    Replayer(instance))
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

    spacer: SpacerJob | None = None
    if method in ("spacer", "auto") and pending:
        budget = spacer_budget if method == "auto" else solver_timeout
        if method == "auto" and solver_timeout is not None:
            budget = min(spacer_budget, solver_timeout)
        if deadline is not None:
            left = max(0.001, deadline - time.monotonic())
            budget = left if budget is None else min(budget, left)
        # Spacer runs in a child process: under ``auto``, induction runs here
        # meanwhile, on the other core, and whichever proves a property first
        # proves it.
        spacer = SpacerJob(enc, pending, budget)
        methods_tried.append("spacer")
        if method == "spacer":
            sp = spacer.result()
            take_spacer(sp)
            # Only the refuted ones go on to BMC, for their trace.
            for t in pending:
                if t.name not in sp.violated:
                    verdicts[t.name] = Unknown(notes.get(t.name, "spacer gave no answer"))
            pending = [t for t in pending if t.name in sp.violated]
    if method in ("induction", "auto") and pending:
        first = induction(enc, pending, 1, solver_timeout, deadline)
        settle(first)
        methods_tried.append("induction")
        if infer_lemmas and any(name in first.ctis for name in (t.name for t in pending)):
            # Inferred lemmas only where the spec's were not enough: each one
            # makes every query bigger. What is proved already is a fact now.
            widened, inferred = infer(instance)
            if inferred:
                facts = [p for p in model.invariants if p.name in first.proved]
                settle(induction(Encoder(widened), pending, 1, solver_timeout, deadline,
                                 facts=facts))
                methods_tried.append("induction with inferred lemmas")
    if method == "auto" and spacer is not None:
        if pending:
            take_spacer(spacer.result())
        else:
            spacer.cancel()  # induction proved everything first
    if method in ("kinduction", "auto") and pending and (method == "kinduction" or k > 1):
        settle(induction(enc, pending, max(k, 1), solver_timeout, deadline))
        methods_tried.append(f"k-induction (k={k})")

    # What is still pending: look for a real violation, else say why not proved.
    if pending:
        reach = [t for t in targets if t.name in {p.name for p in pending}]
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
            cti = ctis.get(t.name)
            tried = ", ".join(methods_tried)
            if cti is not None:
                reason = cti.describe(instance)
            elif t.name in notes:
                reason = notes[t.name]
            else:
                reason = f"not proved by {tried}"
            if isinstance(found, Unknown):
                reason += f"; BMC: {found.reason}"
            else:
                reason += f"; no violation within {depth} steps (bmc)"
            verdicts[t.name] = Unknown(reason)

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
