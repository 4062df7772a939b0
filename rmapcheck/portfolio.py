"""Which engine runs, with which limits, and what runs after it: every run
rmapcheck makes is planned here, and nowhere else.

- ``search(machine, limits, engine)``: one explicit-state search. ``auto``
  searches in Python up to ``QUICK_STATES`` and, past that, starts again in
  the native engine when a C compiler is there; ``explicit`` (Python
  breadth-first), ``native`` (the same search in C) and ``dfs`` (Python
  depth-first) are one engine each.
- ``verify(machine, limits, engine)``: ``rmapcheck verify``. The default
  portfolio: breadth-first search answers most models outright (a violation
  with its shortest trace, or every reachable state checked); where the
  state space is too big to finish (anon_vma_chain needs three processes for
  a grandchild) and the caller set no limit, the search stops at
  ``AUTO_STATES`` and the Z3 prover takes the properties it did not settle,
  so that the user gets a proof, or a counterexample to induction and a
  bound, instead of a search that runs for an hour. ``bmc`` is Z3's bounded
  model checking.
- ``prove(instance, ...)``: ``rmapcheck prove``. A proof is handed what the
  explicit search found: the caller's search, or one planned here
  (violations within ``VIOLATION_STATES`` states, ``sometimes`` witnesses
  within ``WITNESS_STATES``).
- ``report_search(machine, budget, stop_at_first)``: the search behind
  ``rmapcheck report``.

The engines themselves (``rmapcheck.explicit``, ``rmapcheck.symbolic``)
only run what they are given; the Z3 back end's evidence is put in words
here (``rmapcheck.render.proof``) before a result leaves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, assert_never

import attrs

from rmapcheck.errors import SpecRuntimeError
from rmapcheck.explicit import bfs, dfs, native
from rmapcheck.explicit.machine import Machine
from rmapcheck.instance import Instance
from rmapcheck.limits import DEFAULT_LIMITS, Progress, SearchLimits
from rmapcheck.trace import Coverage, Holds, Proved, Result, Stats, Unknown, Verdict

if TYPE_CHECKING:
    from rmapcheck.symbolic.induction import Explored, Method

__all__ = [
    "AUTO_STATES", "QUICK_STATES", "VIOLATION_STATES", "WITNESS_STATES", "Engine", "Progress",
    "SearchEngine", "SearchLimits", "bmc", "choose_engine", "fastest_engine", "prove",
    "prover_available", "report_search", "search", "verify",
]

# The Python engine answers a small state space before a C compiler could
# start; past this many states the native engine takes over from the start.
QUICK_STATES = 20_000
# Past this many states the default engine stops searching and proves: every
# bundled model that finishes needs fewer (anon_vma, the largest, 1,665,634),
# and the native engine stores this many in about ten seconds.
AUTO_STATES = 2_000_000
# How many states the explicit engine may store looking for witnesses before
# BMC takes over: a witness is a reachable state whichever engine finds it, and
# breadth-first search finds each at its shortest, mostly in a second where
# BMC to the same depth takes minutes (anon_vma_chain's ``reused`` is 6 steps).
WITNESS_STATES = 2_000_000
# How many states the search for violations stores before the proofs: enough
# to pass BMC's early depth on the bundled models (anon_vma at 2,4,3 to depth
# 5, anon_vma_chain to 6) in a second or two, and to finish the small ones.
# Searching all of WITNESS_STATES for them cost 10 s on anon_vma_chain.
VIOLATION_STATES = 200_000

SearchEngine = Literal["auto", "explicit", "native", "dfs"]
Engine = Literal["auto", "explicit", "native", "dfs", "bmc"]


# ---------------------------------------------------------------- engines


def fastest_engine() -> SearchEngine:
    """The native engine when a C compiler is there, else the Python one: the
    same states, verdicts and traces either way."""
    return "native" if native.available() else "explicit"


def choose_engine(requested: Engine, depth_first: bool,
                  partial_order: bool = False) -> tuple[Engine, str | None]:
    """The engine for ``--engine requested``, ``--dfs`` and ``--por``, and a
    note to show the user when they disagree."""
    if partial_order and requested != "bmc":
        # The ample sets are chosen in the Python breadth-first search only.
        note = None if requested in ("auto", "explicit") and not depth_first else \
            "partial-order reduction runs in the Python breadth-first search, which is used"
        return "explicit", note
    if requested == "bmc" or not depth_first:
        return requested, None
    # Only the Python engine searches depth first.
    note = ("the native engine is breadth-first; --dfs uses the Python engine"
            if requested == "native" else None)
    return "dfs", note


def search(machine: Machine, limits: SearchLimits = DEFAULT_LIMITS,
           engine: SearchEngine = "auto") -> Result:
    """One explicit-state search of ``machine`` within ``limits``."""
    match engine:
        case "auto":
            return _auto_search(machine, limits)
        case "explicit":
            return bfs.search(machine, limits)
        case "native":
            return native.search(machine, limits)
        case "dfs":
            return dfs.search(machine, limits)
        case _:
            assert_never(engine)


def _auto_search(machine: Machine, limits: SearchLimits) -> Result:
    """Breadth-first in Python up to ``QUICK_STATES``, then (when a C compiler
    is there) the whole search again in the native engine."""
    max_states = limits.max_states
    if not native.available() or (max_states is not None and max_states <= QUICK_STATES):
        return bfs.search(machine, limits)
    start = time.monotonic()
    quick = bfs.search(machine, attrs.evolve(limits, max_states=QUICK_STATES))
    # Fewer states: it finished, or another limit ended it; a violation is
    # the answer (the search stops at the first).
    if quick.stats.states < QUICK_STATES or quick.violations \
            or quick.interrupted:
        return quick
    rest = limits
    if limits.timeout is not None:
        rest = attrs.evolve(limits, timeout=max(limits.timeout - (time.monotonic() - start),
                                                0.001))
    return native.search(machine, rest)


# ---------------------------------------------------------------- verify


def verify(machine: Machine, limits: SearchLimits = DEFAULT_LIMITS, engine: Engine = "auto",
           *, bmc_depth: int = 10, solver_timeout: float | None = None) -> Result:
    """``rmapcheck verify``: ``engine`` within ``limits``. For ``bmc``, to
    ``bmc_depth`` steps with ``limits.timeout`` for the whole run; for
    ``auto`` with no limit set, the search, then proofs of what it left."""
    match engine:
        case "bmc":
            return bmc(machine.instance, bmc_depth, limits.properties,
                       solver_timeout=solver_timeout,
                       stop_at_first=limits.stop_at_first, time_limit=limits.timeout)
        case "auto":
            return _search_then_prove(machine, limits)
        case "explicit" | "native" | "dfs":
            return search(machine, limits, engine)
        case _:
            assert_never(engine)


def _search_then_prove(machine: Machine, limits: SearchLimits) -> Result:
    """The search with the caller's limits; when the caller set none and it
    stops at ``AUTO_STATES`` without a violation, ``prove`` on the rest."""
    if limits.limited:
        return _auto_search(machine, limits)
    start = time.monotonic()
    searched = _auto_search(machine, attrs.evolve(limits, max_states=AUTO_STATES))
    stopped = dict(searched.stats.extra).get("stopped", "")
    if searched.violations or "state limit" not in stopped:
        return searched
    model = machine.model
    provable = {p.name for p in model.invariants} | {a.name for a in model.assertions()}
    open_props = [name for name, v in searched.verdicts
                  if name in provable and not (isinstance(v, Holds) and v.bound.complete)]
    try:
        proof = prove(machine.instance, props=open_props, searched=searched)
    except KeyboardInterrupt:
        # Ctrl-C in the proof: what the search covered is the answer.
        cut = tuple((name, Unknown(f"interrupted while Z3 proved it; no violation in "
                                   f"{v.bound.describe()}"))
                    if name in open_props and isinstance(v, Holds) else (name, v)
                    for name, v in searched.verdicts)
        return attrs.evolve(searched, verdicts=cut)
    proved = dict(proof.verdicts)
    verdicts: list[tuple[str, Verdict]] = []
    for name, searched_verdict in searched.verdicts:
        found = proved.get(name)
        # A proof, or a witness Z3 found where the search stopped short; what
        # the proof leaves keeps the bound the search checked it to.
        better = isinstance(found, Proved) or (isinstance(found, Holds)
                                               and isinstance(searched_verdict, Unknown))
        verdicts.append((name, found if better and found is not None else searched_verdict))
    note = (f"the search stopped at {AUTO_STATES:,} states (--max-states N searches further); "
            f"Z3 took the properties it left ({proof.stats.seconds:.1f} s)")
    stats = attrs.evolve(searched.stats, seconds=time.monotonic() - start,
                         extra=searched.stats.extra + (("then proved", note),))
    return Result(searched.model, f"{searched.engine} + prove", tuple(verdicts), stats,
                  searched.consts, searched.coverage)


# ---------------------------------------------------------------- Z3


def prover_available() -> bool:
    """Whether this build has the Z3 prover (the z3-solver package)."""
    try:
        import rmapcheck.symbolic.induction  # noqa: F401
    except ImportError:
        return False
    return True


def bmc(instance: Instance, depth: int, props: Sequence[str] | None = None,
        solver_timeout: float | None = None, stop_at_first: bool = False,
        time_limit: float | None = None) -> Result:
    """Z3's bounded model checking to ``depth`` steps (``rmapcheck.symbolic.bmc.bmc``),
    its verdicts worded."""
    from rmapcheck.render.proof import worded
    from rmapcheck.symbolic.bmc import bmc as symbolic_bmc

    return worded(instance, symbolic_bmc(instance, depth, props, solver_timeout=solver_timeout,
                                         stop_at_first=stop_at_first, time_limit=time_limit))


def prove(instance: Instance, props: Sequence[str] | None = None, method: Method = "auto",
          k: int = 2, solver_timeout: float | None = None, time_limit: float | None = None,
          infer_lemmas: bool = True, spec_lemmas: bool = True,
          searched: Result | None = None, *, reach_depth: int | None = None,
          witness_depth: int | None = None, spacer_budget: float | None = None,
          coverage: bool = False) -> Result:
    """``rmapcheck prove``: proves the invariants, lemmas and assertions named
    in ``props`` (all when None) for every reachable state of ``instance``
    (``rmapcheck.symbolic.induction.prove`` says how, by ``method``).

    ``searched``: a breadth-first search of this instance the caller ran
    already (``rmapcheck verify``, ``rmapcheck report``), handed to the
    proofs; without it the search before the proofs runs here first.
    ``time_limit`` (seconds) bounds the whole call, that search included;
    what it cuts short is ``Unknown``. ``spec_lemmas`` False leaves out the
    lemmas the spec states; ``infer_lemmas`` False looks for no others.
    ``reach_depth``, ``witness_depth`` and ``spacer_budget`` (None: the
    prover's own) tune the proofs as ``induction.prove`` says. The result
    carries the coverage of the search before the proofs (``coverage``: of
    every hook and branch, not only what the default warnings need)."""
    from rmapcheck.render.proof import worded
    from rmapcheck.symbolic import induction

    start = time.monotonic()
    deadline = None if time_limit is None else start + time_limit
    goal = induction.goal(instance, props, method, spec_lemmas)
    if searched is not None:
        explored = induction.Explored.of(searched, goal.search_targets, goal.witnesses)
        covered = searched.coverage
    else:
        try:
            explored, covered = _search_before_proofs(goal.instance, goal.search_targets,
                                                      goal.witnesses, deadline, coverage)
        except KeyboardInterrupt:
            # Ctrl-C before any proof: every target is open, and says so.
            cut = tuple((t.name, Unknown("interrupted in the search before the proofs"))
                        for t in goal.targets if t.name != induction.ERROR_PROP)
            stats = Stats(seconds=time.monotonic() - start, extra=(("interrupted", True),))
            return Result(instance.model.name, "prove", cut, stats,
                          tuple(instance.consts.items()))
    result = induction.prove(
        goal, explored, k=k, solver_timeout=solver_timeout,
        reach_depth=induction.REACH_DEPTH if reach_depth is None else reach_depth,
        witness_depth=induction.WITNESS_DEPTH if witness_depth is None else witness_depth,
        spacer_budget=induction.SPACER_BUDGET if spacer_budget is None else spacer_budget,
        deadline=deadline, infer_lemmas=infer_lemmas)
    stats = attrs.evolve(result.stats, seconds=time.monotonic() - start)
    return attrs.evolve(worded(goal.instance, attrs.evolve(result, stats=stats)),
                        coverage=covered)


def _search_before_proofs(instance: Instance, targets: Sequence[str],
                          witnesses: Sequence[str], deadline: float | None,
                          coverage: bool = False) -> tuple[Explored, Coverage | None]:
    """Breadth-first search for violations of the targets (up to
    ``VIOLATION_STATES`` states) and for the ``sometimes`` witnesses (up to
    ``WITNESS_STATES``): what it finds is found at its shortest, mostly within
    a second, where BMC takes minutes to the same depth (anon_vma_chain's
    ``reused`` is 6 steps; anonmm's swap-out leak 4). With the explored, the
    coverage of the first search (the second looks only for witnesses)."""
    from rmapcheck.symbolic.induction import Explored

    nothing = Explored()
    machine = Machine(instance, coverage=coverage)

    def run(names: Sequence[str], states: int) -> Result | None:
        timeout = None if deadline is None else deadline - time.monotonic()
        if timeout is not None and timeout <= 0:
            return None
        return _auto_search(machine, SearchLimits(max_states=states, timeout=timeout,
                                                  properties=names, stop_at_first=False))

    try:
        first = run([*targets, *witnesses], VIOLATION_STATES)
        if first is None:
            return nothing, None
        if first.interrupted:
            # A search stops at Ctrl-C and returns what it covered; the
            # proofs must stop with it, not start.
            raise KeyboardInterrupt
        explored = Explored.of(first, targets, witnesses)
        missing = [w for w in witnesses if w not in explored.verdicts]
        if missing and not (explored.bound is not None and explored.bound.complete):
            # Only the witnesses now: the search stops once it has them all.
            more = run(missing, WITNESS_STATES)
            if more is not None and more.interrupted:
                raise KeyboardInterrupt
            if more is not None:
                explored = explored.with_witnesses(Explored.of(more, (), missing))
    except SpecRuntimeError:
        # Breadth-first search met a run-time error: the proof reports it
        # (or excludes it); BMC looks for the rest.
        return nothing, None
    return explored, first.coverage


# ---------------------------------------------------------------- report


def report_search(machine: Machine, budget: int, stop_at_first: bool) -> Result:
    """The explicit search ``rmapcheck report`` shows: the fastest engine, up
    to ``budget`` states (a count, not a time, so that the documents are the
    same on every machine). When it finds a violation, it searches again for
    every property's shortest counterexample, within one step more than the
    first one's (a design that fails fails early; its whole state space says
    nothing more)."""
    engine = fastest_engine()
    explicit = search(machine, SearchLimits(stop_at_first=stop_at_first, max_states=budget),
                      engine)
    if explicit.violations:
        shortest = min(len(v.trace) for _, v in explicit.violations)
        explicit = search(machine, SearchLimits(stop_at_first=False, max_states=budget,
                                                max_depth=shortest + 1), engine)
    return explicit
