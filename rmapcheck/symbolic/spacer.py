"""Proofs by Spacer, Z3's engine for constrained Horn clauses (CHC).

The clauses, over one relation ``Reach`` with one argument per state slot:

    Reach(init)                                  (the initial state)
    Reach(X) /\\ ok(X, sel, params) /\\ Y = next(X, sel, params) -> Reach(Y)
    Reach(X) /\\ not P(X)                -> Bad    (an invariant or lemma P)
    Reach(X) /\\ fails_N(X, sel, params) -> Bad    (an assertion N, run-time errors)

``Bad`` unsatisfiable (unreachable) proves the targets: Spacer has found an
inductive invariant for ``Reach`` by itself, no lemma needed; its size (the
number of top-level conjuncts) is reported. ``Bad`` reachable means a real
violation, which BMC then finds as a trace. Spacer works in linear integer
arithmetic, so it gets the Int encoding (the same relation as the bit-vector
one, by construction of ``Encoder``). A timeout or ``unknown`` is reported as
such, never as a proof.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from rmapcheck.symbolic.bmc import Target
from rmapcheck.symbolic.z3_emit import FALSE, Encoder, is_f, not_


@dataclass
class SpacerOutcome:
    proved: dict[str, str] = field(default_factory=dict)  # name -> method text
    violated: set[str] = field(default_factory=set)
    unknown: dict[str, str] = field(default_factory=dict)
    extra: list[tuple[str, Any]] = field(default_factory=list)


def _size(formula: z3.ExprRef) -> int:
    if z3.is_and(formula):
        return formula.num_args()
    return 0 if z3.is_true(formula) else 1


class Horn:
    """The clauses of one instance, and queries on them."""

    def __init__(self, enc: Encoder) -> None:
        self.enc = enc
        tr = enc.transition()
        self.tr = tr
        self.fp = z3.Fixedpoint()
        self.fp.set(engine="spacer")
        sorts = [x.sort() for x in tr.cur]
        self.reach = z3.Function("Reach", *sorts, z3.BoolSort())
        self.fp.register_relation(self.reach)
        self.fp.declare_var(*tr.template_vars())
        init = enc.state_literal(enc.initial_state())
        self.fp.rule(self.reach(*init))
        self.fp.rule(self.reach(*tr.nxt), [self.reach(*tr.cur), tr.ok, tr.frame])
        self.bad: dict[str, z3.FuncDeclRef] = {}

    def bad_of(self, targets: Sequence[Target]) -> z3.FuncDeclRef | None:
        """A nullary relation true when some target is violated (None when no
        target can be: e.g. an assertion no action can fail)."""
        key = "|".join(sorted(t.name for t in targets))
        if key in self.bad:
            return self.bad[key]
        conds: list[z3.BoolRef] = []
        for t in targets:
            if t.kind == "state":
                assert t.prop is not None
                conds.append(not_(self.enc.prop_holds(t.prop, self.tr.cur)))
            elif t.kind == "step":
                conds.append(self.tr.fails.get(t.name, FALSE))
        conds = [c for c in conds if not is_f(c)]
        if not conds:
            return None
        rel = z3.Function(f"Bad{len(self.bad)}", z3.BoolSort())
        self.fp.register_relation(rel)
        for c in conds:
            self.fp.rule(rel(), [self.reach(*self.tr.cur), c])
        self.bad[key] = rel
        return rel

    def query(self, targets: Sequence[Target], timeout: float | None
              ) -> tuple[z3.CheckSatResult, str, int | None]:
        """(answer, reason when unknown, invariant size when unsat)."""
        rel = self.bad_of(targets)
        if rel is None:
            return z3.unsat, "", 0
        if timeout is not None:
            self.fp.set(timeout=max(1, int(timeout * 1000)))
        try:
            result = self.fp.query(rel())
        except z3.Z3Exception as exc:  # a timeout cancels the query
            return z3.unknown, exc.value.decode() if isinstance(exc.value, bytes) \
                else str(exc.value), None
        if result == z3.unknown:
            return result, self.fp.reason_unknown(), None
        size = None
        if result == z3.unsat:
            try:
                size = _size(self.fp.get_cover_delta(-1, self.reach))
            except z3.Z3Exception:
                size = None
        return result, "", size


def spacer_prove(enc: Encoder, targets: Sequence[Target], budget: float | None) -> SpacerOutcome:
    """Tries to prove the state and step ``targets`` with Spacer within
    ``budget`` seconds (None: no limit)."""
    out = SpacerOutcome()
    targets = [t for t in targets
               if t.kind == "step" or (t.kind == "state" and t.prop is not None)]
    if not targets:
        return out
    start = time.monotonic()
    horn = Horn(Encoder(enc.inst, "int"))

    def left() -> float | None:
        return None if budget is None else max(0.001, budget - (time.monotonic() - start))

    def method(size: int | None) -> str:
        return "spacer" + (f" (inductive invariant of {size} lemmas)" if size else "")

    result, reason, size = horn.query(targets, left())
    if result == z3.unsat:
        for t in targets:
            out.proved[t.name] = method(size)
    elif result == z3.unknown:
        for t in targets:
            out.unknown[t.name] = f"spacer: {reason or 'unknown'}"
    else:
        # Some target is violated: ask about each one alone.
        for t in targets:
            if budget is not None and left() <= 0.001:  # type: ignore[operator]
                out.unknown[t.name] = "spacer: time budget used up"
                continue
            result, reason, size = horn.query([t], left())
            if result == z3.unsat:
                out.proved[t.name] = method(size)
            elif result == z3.sat:
                out.violated.add(t.name)
            else:
                out.unknown[t.name] = f"spacer: {reason or 'unknown'}"
    out.extra.append(("spacer_seconds", round(time.monotonic() - start, 3)))
    return out


# How long past its budget a Spacer run may go before it is stopped.
GRACE_SECONDS = 5.0


class SpacerJob:
    """``spacer_prove`` in a child process, started at once, so that the other
    core can try induction meanwhile; the child is stopped ``GRACE_SECONDS``
    after ``budget``: Spacer does not always honour its own timeout (on
    anon_vma it ran for over 13 minutes of a 30-second budget), and a budget
    is a promise to the user. Without a budget, or where processes cannot be
    forked, it runs in this process when its result is asked for."""

    def __init__(self, enc: Encoder, targets: Sequence[Target], budget: float | None) -> None:
        self.enc = enc
        self.targets = list(targets)
        self.budget = budget
        self.start = time.monotonic()
        self.child: Any = None
        self.receive: Any = None
        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:
            return
        if budget is None:
            return
        receive, send = ctx.Pipe(duplex=False)

        def work() -> None:
            try:
                send.send(("ok", spacer_prove(enc, targets, budget)))
            except Exception as error:  # noqa: BLE001 (handed to the parent, which raises it)
                send.send(("raise", error))

        self.child = ctx.Process(target=work, daemon=True)
        self.child.start()
        send.close()
        self.receive = receive

    def result(self) -> SpacerOutcome:
        if self.child is None:
            return spacer_prove(self.enc, self.targets, self.budget)
        assert self.budget is not None
        try:
            wait = self.budget + GRACE_SECONDS - (time.monotonic() - self.start)
            if self.receive.poll(max(0.0, wait)):
                kind, value = self.receive.recv()
                if kind == "raise":
                    raise value
                outcome: SpacerOutcome = value
                return outcome
            stopped = SpacerOutcome()
            for t in self.targets:
                stopped.unknown[t.name] = (f"spacer: still running {GRACE_SECONDS:g} s past "
                                           f"its {self.budget:g} s budget, stopped")
            stopped.extra.append(("spacer_seconds", round(time.monotonic() - self.start, 3)))
            return stopped
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stops the child (if it still runs); its result is not wanted."""
        if self.child is None:
            return
        if self.child.is_alive():
            self.child.kill()
        self.child.join()
        self.receive.close()
        self.child = None


def spacer_prove_bounded(enc: Encoder, targets: Sequence[Target],
                         budget: float | None) -> SpacerOutcome:
    """``spacer_prove`` under ``budget`` (see ``SpacerJob``)."""
    return SpacerJob(enc, targets, budget).result()
