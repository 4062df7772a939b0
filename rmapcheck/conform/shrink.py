"""Delta debugging of a mismatch: fewer processes, forked children folded
into their parents, fewer steps, smaller arguments, and the processes renamed
in the order they appear, for as long as the kernel still disagrees with the
model in the same way.

``still_fails(steps)`` runs a candidate on the kernel and returns the steps
up to the mismatch it shows (which may end earlier than the candidate), or
None when the model does not allow the candidate or the kernel agrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rmapcheck.conform.walks import ModelStep

StillFails = Callable[[Sequence[ModelStep]], "list[ModelStep] | None"]


class Budget:
    """How many candidate runs shrinking may take: each is a run on the kernel."""

    def __init__(self, runs: int) -> None:
        self.left = runs

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def ddmin(steps: list[ModelStep], still_fails: StillFails, budget: Budget) -> list[ModelStep]:
    """Zeller's ddmin on complements: drop ever smaller chunks of steps."""
    chunks = 2
    while len(steps) >= 2 and budget.left > 0:
        size = -(-len(steps) // chunks)
        for start in range(0, len(steps), size):
            if not budget.take():
                return steps
            found = still_fails(steps[:start] + steps[start + size:])
            if found is not None:
                steps = found
                chunks = max(chunks - 1, 2)
                break
        else:
            if chunks >= len(steps):
                return steps
            chunks = min(len(steps), chunks * 2)
    return steps


def mentions(step: ModelStep, proc_params: Callable[[str], frozenset[str]], p: int) -> bool:
    """Whether ``step`` has process ``p`` as an argument."""
    names = proc_params(step[0])
    return any(name in names and value == p for name, value in step[1])


def drop_processes(steps: list[ModelStep], proc_params: Callable[[str], frozenset[str]],
                   initial: frozenset[int], still_fails: StillFails,
                   budget: Budget) -> list[ModelStep]:
    """Every step of a process at once (its fork, its faults, its exit): a
    chunk ddmin seldom cuts out whole, since any part of it left behind is
    not allowed without the rest."""
    changed = True
    while changed and budget.left > 0:
        changed = False
        procs = sorted({value for step in steps for name, value in step[1]
                        if name in proc_params(step[0])} - initial)
        for p in procs:
            if not budget.take():
                return steps
            found = still_fails([s for s in steps if not mentions(s, proc_params, p)])
            if found is not None:
                steps, changed = found, True
                break
    return steps


def collapse_forks(steps: list[ModelStep], proc_params: Callable[[str], frozenset[str]],
                   still_fails: StillFails, budget: Budget) -> list[ModelStep]:
    """A forked child folded into its parent: the fork dropped, the parent's
    own later steps dropped, and the child's steps run by the parent, which
    has the same address space the child started with. A mismatch that
    needs no second process then shows in one."""
    index = 0
    while index < len(steps) and budget.left > 0:
        action, args = steps[index]
        params = proc_params(action)
        named = dict(args)
        if action == "fork" and {"parent", "child"} <= params:
            parent, child = named["parent"], named["child"]
            later = []
            for step in steps[index + 1:]:
                if mentions(step, proc_params, parent):
                    continue
                later.append((step[0], tuple((name, parent if name in proc_params(step[0])
                                              and value == child else value)
                                             for name, value in step[1])))
            if not budget.take():
                return steps
            found = still_fails(steps[:index] + later)
            if found is not None:
                steps = found
                continue
        index += 1
    return steps


def simplify_arguments(steps: list[ModelStep], smaller: Callable[[str, str, Any], list[Any]],
                       still_fails: StillFails, budget: Budget) -> list[ModelStep]:
    """Each argument as small as the mismatch allows (the lowest page, the
    shortest length, false), one at a time; a step the change makes
    impossible later on is passed over by the run."""
    index = 0
    while index < len(steps) and budget.left > 0:
        action, args = steps[index]
        for position, (name, value) in enumerate(args):
            for candidate in smaller(action, name, value):
                if not budget.take():
                    return steps
                changed = args[:position] + ((name, candidate),) + args[position + 1:]
                found = still_fails(steps[:index] + [(action, changed)] + steps[index + 1:])
                if found is not None:
                    steps = found
                    break
            if index >= len(steps) or steps[index][1] != args:
                break  # the step changed or went: look at it afresh
        else:
            index += 1
    return steps


def rename_processes(steps: list[ModelStep], proc_params: Callable[[str], frozenset[str]],
                     initial: frozenset[int], still_fails: StillFails,
                     budget: Budget) -> list[ModelStep]:
    """The processes numbered in the order they first appear, after the
    initial ones: p0 forks p1, not p2. Processes are a symmetric sort, so the
    renamed run means the same; it is run again all the same."""
    order: dict[int, int] = {p: p for p in sorted(initial)}
    for action, args in steps:
        for name, value in args:
            if name in proc_params(action) and value not in order:
                order[value] = len(order)
    if all(k == v for k, v in order.items()) or not budget.take():
        return steps

    def renamed(args: tuple[tuple[str, Any], ...], action: str) -> tuple[tuple[str, Any], ...]:
        return tuple((name, order[value] if name in proc_params(action) else value)
                     for name, value in args)

    candidate = [(action, renamed(args, action)) for action, args in steps]
    found = still_fails(candidate)
    return found if found is not None else steps


def shrink(steps: Sequence[ModelStep], still_fails: StillFails,
           proc_params: Callable[[str], frozenset[str]],
           smaller: Callable[[str, str, Any], list[Any]], initial: frozenset[int],
           budget: Budget) -> list[ModelStep]:
    """The mismatch of ``steps``, shrunk (see the module's doc), until a
    round of every pass changes nothing or the budget is spent."""
    current = list(steps)
    while budget.left > 0:
        before = current
        current = drop_processes(current, proc_params, initial, still_fails, budget)
        current = collapse_forks(current, proc_params, still_fails, budget)
        current = ddmin(current, still_fails, budget)
        current = simplify_arguments(current, smaller, still_fails, budget)
        if current == before:
            break
    return rename_processes(current, proc_params, initial, still_fails, budget)
