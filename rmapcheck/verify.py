"""``rmapcheck verify`` with the default engine: search, then prove what is left.

Breadth-first search answers most models outright: a violation with its
shortest trace, or every reachable state checked. Some state spaces are too
big to finish (anon_vma_chain needs three processes for a grandchild, and has
tens of millions of states at its smallest bounds): there the search stops at
``AUTO_STATES`` and the Z3 prover takes the properties it did not settle, so
that the user gets a proof, or a counterexample to induction and a bound,
instead of a search that runs for an hour.
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from rmapcheck.explicit.auto import auto_search
from rmapcheck.explicit.machine import Machine
from rmapcheck.trace import Holds, Proved, Result, Unknown, Verdict

# Past this many states the default engine stops searching and proves: every
# bundled model that finishes needs fewer (anon_vma, the largest, 1,665,634),
# and the native engine stores this many in about ten seconds.
AUTO_STATES = 2_000_000


def verify(machine: Machine, kwargs: dict[str, Any]) -> Result:
    """The explicit search with the caller's limits; when the caller set none
    and it stops at ``AUTO_STATES`` without a violation, ``prove`` on the rest."""
    limited = any(kwargs.get(k) is not None for k in ("max_states", "max_depth", "timeout",
                                                      "max_memory"))
    if limited:
        return auto_search(machine, kwargs, kwargs.get("max_states"))
    start = time.monotonic()
    searched = auto_search(machine, {**kwargs, "max_states": AUTO_STATES}, AUTO_STATES)
    stopped = dict(searched.stats.extra).get("stopped", "")
    if searched.violations or "state limit" not in stopped:
        return searched
    model = machine.model
    provable = {p.name for p in model.invariants} | {a.name for a in model.assertions()}
    open_props = [name for name, v in searched.verdicts
                  if name in provable and not (isinstance(v, Holds) and v.bound.complete)]
    from rmapcheck.symbolic.induction import prove

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
                  searched.consts)
