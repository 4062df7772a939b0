"""Deleting steps from a failing trace, and lowering its arguments, while it
still fails the same way.

Hypothesis shrinks the choices that produced a failure; since a choice means
"the first enabled value from here on", removing an early step can change
what every later choice does, and the shrinker can stop at a local minimum
(29 steps where 3 would do). This pass works on the trace itself, where a
step is an action with fixed arguments: it deletes chunks of steps, then single
steps, replaying the rest on the machine (steps that are no longer enabled are
dropped) and keeping any shorter trace that fails the same property, the
same assertion, or with the same run-time error (ddmin restricted to
deletions: the result is 1-minimal, no single step can be removed). Then it
lowers argument values: a value replaced by a smaller one (or the two
exchanged) in every step that uses it with the same sort (so ``fork(p0, p1);
mmap(p1, ...)`` becomes ``mmap(p0, ...)``), and each argument on its own.
A step that only relocates something (``mremap(a=0, t=1)``) is folded away:
it is deleted and, in the steps before it, its source value becomes its
target (or, in the steps after it, the target becomes the source), so
``mmap(0); mremap(0, 1); fault(1); mremap(1, 0)`` becomes ``mmap(1);
fault(1); mremap(1, 0)`` whatever order Hypothesis found. It repeats until nothing
changes; every accepted change makes the trace shorter or its arguments
smaller, so it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rmapcheck.errors import SpecError, SpecRuntimeError
from rmapcheck.fuzz.stateful import AssertionFailure, FuzzFailure, PropertyFailure, RuntimeFailure
from rmapcheck.trace import Step, Trace

Move = tuple[str, tuple[tuple[str, Any], ...]]

MAX_REPLAYS = 5_000


def minimize(machine: Any, failure: FuzzFailure,
             invariants: Sequence[tuple[str, Callable[[Any], Any]]]) -> FuzzFailure:
    """The shortest failure found by deleting steps from ``failure.trace``."""
    spans = {step.action: step.span for step in failure.trace.steps}
    replays = 0

    def run(moves: Sequence[Move]) -> FuzzFailure | None:
        """Replays ``moves`` (skipping disabled ones) up to the first failure;
        the failure if it is the same as the one being minimized."""
        nonlocal replays
        replays += 1
        state = machine.initial_state()
        steps: list[Step] = []
        for action, args in moves:
            try:
                result = machine.step_full(state, action, args)
            except SpecRuntimeError as error:
                if isinstance(failure, RuntimeFailure) and failure.action is not None \
                        and _same_error(error, failure.error):
                    return RuntimeFailure(error, Trace(failure.trace.initial, tuple(steps)),
                                          action, args)
                return None
            if result is None:
                continue
            state, failed = result
            steps.append(Step(action, args, state, spans.get(action)))
            if failed:
                names = [a.name for a in failed]
                if isinstance(failure, AssertionFailure) and names[0] == failure.name:
                    trace = Trace(failure.trace.initial, tuple(steps))
                    return AssertionFailure(failure.name, trace,
                                            _assertion_detail(failed[0], action, args))
                return None
            try:
                for name, holds in invariants:
                    if not holds(state):
                        if isinstance(failure, PropertyFailure) and name == failure.name:
                            return PropertyFailure(name, Trace(failure.trace.initial,
                                                               tuple(steps)))
                        return None
            except SpecRuntimeError as error:
                if isinstance(failure, RuntimeFailure) and failure.action is None \
                        and _same_error(error, failure.error):
                    return RuntimeFailure(error, Trace(failure.trace.initial, tuple(steps)),
                                          None, ())
                return None
        return None

    def moves_of(f: FuzzFailure) -> list[Move]:
        out = [(s.action, s.args) for s in f.trace.steps]
        if isinstance(f, RuntimeFailure) and f.action is not None:
            out.append((f.action, f.args))  # the step that raises is not in the trace
        return out

    model = machine.model
    instance = machine.instance
    sorts = {a.name: {p.name: p.sort for p in a.params} for a in model.actions}

    def values_of(sort: Any) -> tuple[Any, ...]:
        try:
            return tuple(instance.values(sort))
        except SpecError:  # not an enumerable sort: leave its values alone
            return ()

    best = failure
    moves = moves_of(best)

    def better(found: FuzzFailure | None) -> bool:
        """Shorter, or as long with smaller arguments (so the passes end)."""
        if found is None:
            return False
        new = moves_of(found)
        return (len(new), _weight(new)) < (len(moves), _weight(moves))

    def delete_steps() -> bool:
        nonlocal best, moves
        changed = False
        size = max(1, len(moves) // 2)
        while size >= 1 and replays < MAX_REPLAYS:
            i = 0
            while i < len(moves) and replays < MAX_REPLAYS:
                found = run(moves[:i] + moves[i + size:])
                if found is not None and better(found):
                    best, moves, changed = found, moves_of(found), True
                else:
                    i += size
            size //= 2
        return changed

    def renamed(part: Sequence[Move], sort: Any, mapping: dict[Any, Any]) -> list[Move]:
        """``part`` with every argument of ``sort`` renamed by ``mapping``."""
        return [(a, tuple((n, mapping.get(v, v) if sorts[a][n] == sort
                           and type(v) is int else v) for n, v in args))
                for a, args in part]

    def rename_values() -> bool:
        """One value replaced by a smaller one wherever it appears with its
        sort (p1 becomes p0 in every step: the fork that made p1 goes)."""
        nonlocal best, moves
        changed = False
        used = sorted({(str(sorts[a][n]), sorts[a][n], v) for a, args in moves
                       for n, v in args if isinstance(v, int)},
                      key=lambda t: (t[0], -int(t[2])))
        for _, sort, value in used:
            done = False
            for smaller in values_of(sort):
                if done or replays >= MAX_REPLAYS or not smaller < value:
                    break
                # value -> smaller everywhere, or the two exchanged
                for mapping in ({value: smaller}, {value: smaller, smaller: value}):
                    found = run(renamed(moves, sort, mapping))
                    if better(found):
                        assert found is not None
                        best, moves, changed, done = found, moves_of(found), True, True
                        break
        return changed

    def fold_steps() -> bool:
        """A step deleted, its source value renamed to its target before
        it, or its target to its source after it."""
        nonlocal best, moves
        i = 0
        while i < len(moves) and replays < MAX_REPLAYS:
            action, args = moves[i]
            pairs = [(sorts[action][m], x, y) for m, x in args for n, y in args
                     if m != n and type(x) is int and type(y) is int and x != y
                     and sorts[action][m] == sorts[action][n]]
            for sort, x, y in pairs:
                for candidate in (renamed(moves[:i], sort, {x: y}) + list(moves[i + 1:]),
                                  list(moves[:i]) + renamed(moves[i + 1:], sort, {y: x})):
                    found = run(candidate)
                    if better(found):
                        assert found is not None
                        best, moves = found, moves_of(found)
                        return True
            i += 1
        return False

    def lower_arguments() -> bool:
        nonlocal best, moves
        changed = False
        i = 0
        while i < len(moves) and replays < MAX_REPLAYS:
            action, args = moves[i]
            for j, (name, value) in enumerate(args):
                if not isinstance(value, int):
                    continue
                for smaller in values_of(sorts[action][name]):
                    if replays >= MAX_REPLAYS or not smaller < value:
                        break
                    new_args = args[:j] + ((name, smaller),) + args[j + 1:]
                    found = run(moves[:i] + [(action, new_args)] + moves[i + 1:])
                    if better(found):
                        assert found is not None
                        best, moves, changed = found, moves_of(found), True
                        break
                if changed and (i >= len(moves) or moves[i][1] != args):
                    break
            i += 1
        return changed

    while replays < MAX_REPLAYS:
        progress = delete_steps()
        progress = fold_steps() or progress
        progress = rename_values() or progress
        progress = lower_arguments() or progress
        if not progress:
            break
    return best


def _weight(moves: Sequence[Move]) -> int:
    return sum(int(v) for _, args in moves for _, v in args if isinstance(v, int))


def _same_error(a: SpecRuntimeError, b: SpecRuntimeError) -> bool:
    return a.message == b.message and a.span == b.span


def _assertion_detail(stmt: Any, action: str, args: tuple[tuple[str, Any], ...]) -> str:
    shown = ", ".join(f"{n.split('#')[0]}={v}" for n, v in args)
    detail = f"assertion {stmt.name} fails in {action}({shown})"
    if stmt.doc:
        detail += f": {stmt.doc}"
    return detail
