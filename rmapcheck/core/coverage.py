"""Counting what a run exercised: the counters every engine fills the same
way, and the ``trace.Coverage`` they become.

The core says what is counted (``CoreModel.coverage_sites``, placed by the
lowering as ``Mark``/``Marked``); an engine only adds one to a site's entry
where a mark runs, and counts per action instance the successors it
computed (``enabled``) and those that were new states (``fresh``). Where
coverage is asked for (``full``), an engine also counts per antecedent site
the states whose property check reached it (``states``), from the marks'
counts before and after the check.

The init block runs once per run, before any engine has counters: its marks
are counted here, on the interpreter, when the counts become a ``Coverage``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from rmapcheck.core.interp import Interpreter
from rmapcheck.core.lower import CoreModel
from rmapcheck.trace import ActionCount, Coverage, InstanceCount, SiteCount

# An action with at most this many instances of its parameters is shown per instance.
SHORT_ACTION = 8


class Counts:
    """The counters of one run over ``core``. The lists are updated in place:
    generated code holds ``marks`` itself."""

    def __init__(self, core: CoreModel) -> None:
        n = len(core.coverage_sites)
        self.marks = [0] * n
        self.states = [0] * n  # antecedent sites only
        self.enabled = [0] * core.num_instances
        self.fresh = [0] * core.num_instances
        self.antecedents = tuple(core.antecedents.values())

    def reset(self) -> None:
        for counts in (self.marks, self.states, self.enabled, self.fresh):
            counts[:] = [0] * len(counts)

    def snapshot(self) -> list[int]:
        return list(self.marks)

    def restore(self, marks: Sequence[int]) -> None:
        """Forgets what the marks counted since ``snapshot``: an evaluation
        that is no step of the run (a trace rebuilt, a symmetry check)."""
        self.marks[:] = marks

    def count_states(self, before: Sequence[int]) -> None:
        """One state's property checks are done: each antecedent they reached
        since ``before`` (a snapshot) held in this state."""
        marks, states = self.marks, self.states
        for site in self.antecedents:
            if marks[site] != before[site]:
                states[site] += 1

    def add(self, marks: Sequence[int], states: Sequence[int] = ()) -> None:
        """Counts made elsewhere (a worker process, the native engine)."""
        for k, n in enumerate(marks):
            self.marks[k] += n
        for k, n in enumerate(states):
            self.states[k] += n


def marks_delta(counts: Counts, before: Sequence[int]) -> list[int]:
    return [now - then for now, then in zip(counts.marks, before, strict=True)]


def init_marks(core: CoreModel) -> list[int]:
    """The marks of the init block, run once on the interpreter."""
    counts = [0] * len(core.coverage_sites)
    Interpreter(core, counts).initial_state()
    return counts


def summarize(core: CoreModel, counts: Counts, *, checked: Sequence[str], states: int,
             complete: bool, stopped: str | None, per_state: bool) -> Coverage:
    """The counts of a run as data: per action (and per instance of an action
    with few), per coverage site. ``checked``: the properties the run
    evaluated; ``per_state``: the run counted ``states`` (else None)."""
    instance = core.instance
    model = core.model
    actions = []
    for plan in core.actions:
        base, end = plan.iid_base, plan.iid_base + plan.count
        rows: tuple[InstanceCount, ...] = ()
        if plan.count <= SHORT_ACTION:
            params = model.actions[plan.index].params
            rows = tuple(
                InstanceCount(tuple((p.name.split("#")[0], instance.format_scalar(p.sort, v))
                                    for p, v in zip(params, combo, strict=True)),
                              counts.enabled[base + k], counts.fresh[base + k])
                for k, combo in enumerate(itertools.product(*plan.domains)))
        actions.append(ActionCount(plan.name, sum(counts.enabled[base:end]),
                                   sum(counts.fresh[base:end]), rows, plan.span))
    init = init_marks(core)
    wanted = set(checked)
    sites = []
    for k, site in enumerate(core.coverage_sites):
        if site.kind == "antecedent" and site.name not in wanted:
            continue
        sites.append(SiteCount(site.kind, site.name, counts.marks[k] + init[k],
                               counts.states[k] if per_state and site.kind == "antecedent"
                               else None, site.by_design, site.span))
    return Coverage(tuple(actions), tuple(sites), core.coverage, tuple(checked), states,
                    complete, stopped)


__all__ = ["SHORT_ACTION", "Counts", "init_marks", "marks_delta", "summarize"]
