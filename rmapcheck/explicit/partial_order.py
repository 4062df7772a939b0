"""Partial-order reduction for the breadth-first search: ample sets.

In a state where a thread is in the middle of an operation, its next step is
often independent of everything every other thread and atomic action can do:
it reads and writes only what no one else touches (its own program counter,
its operation's variables, map entries keyed by its own keys). Then the
search need not try the other threads' steps before it: every interleaving
that does is equivalent to one where this step comes first. The search takes
only that thread's steps (the ample set) when all of these hold, and every
enabled step otherwise (Clarke, Grumberg, Peled, "Model Checking", ch. 10):

- C0: the ample set is not empty (the thread has an enabled step);
- C1: every step the thread can take at its program counter is independent,
  by the static footprints below, of every action of every other thread and
  of every atomic action: nothing another thread does can enable, disable or
  change it, or be changed by it;
- C2: none of the ample steps changes a state variable that an invariant,
  lemma or ``sometimes`` property reads (they are invisible), so no property
  sees a state that the full search would not also show it;
- C3: no ample step leads to a state of the level being expanded or an
  earlier one. A cycle must come back to the level it started at, so it has
  such an edge, and the state it leaves is then fully expanded: no step is
  postponed forever around a cycle (the breadth-first form of the proviso,
  Bošnački, Leue and Lluch Lafuente, "Partial-order reduction for general
  state exploring algorithms", 2009).

What is preserved: every violated invariant, lemma or ``sometimes`` witness
(C2), every failed assertion (a postponed step runs later with the same reads,
so with the same outcome), and every deadlock: a cycle of waiting threads is
stable (none of them ever moves again), and a stable property reachable in
the full graph is reachable in the reduced one; DEADLOCK_PROPERTY is therefore
not made visible, which is what lets threads' steps be reduced at all. What
is not: shortest counterexamples (the reduced graph's path may be longer), and
the number of states.

Footprints are per action, from the IR: each state variable read or written,
with the key positions that hold the acting thread's own keys. Two accesses
of one variable by different threads of one kind, both keyed by all of the
thread's own keys at the same positions, cannot touch the same entry (a
lock's holders are keyed by the lock and by the thread: a thread that takes
its own lock reads only its own lock's entries).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from attrs import frozen

from rmapcheck import ir
from rmapcheck.explicit.machine import Machine
from rmapcheck.ir_walk import walk_expr
from rmapcheck.trace import State


@frozen
class Access:
    var: str
    # Per key position, the index of the acting thread's key it holds, or None;
    # None altogether for an action outside threads.
    own: tuple[int | None, ...] | None
    write: bool


def footprint(action: ir.Action) -> frozenset[Access]:
    """The state an action may read and write, keyed where it can tell."""
    step = action.thread
    names = {name: j for j, name in enumerate(step.keys)} if step is not None else {}
    found: set[Access] = set()

    def own(keys: Iterable[ir.Expr], aliases: dict[str, int]) -> tuple[int | None, ...] | None:
        if step is None:
            return None
        return tuple(aliases.get(k.name) if isinstance(k, ir.Local) else None for k in keys)

    def reads(expr: ir.Expr, aliases: dict[str, int]) -> None:
        for node in walk_expr(expr):
            if isinstance(node, ir.StateRead):
                found.add(Access(node.var, own(node.keys, aliases), False))

    def stmts(body: Iterable[ir.Stmt], aliases: dict[str, int]) -> None:
        aliases = dict(aliases)
        for stmt in body:
            match stmt:
                case ir.Assign(target=target, value=value):
                    for key in target.keys:
                        reads(key, aliases)
                    reads(value, aliases)
                    keyed = own(target.keys, aliases)
                    found.add(Access(target.var, keyed, True))
                    if target.path:  # a field store keeps the rest of the record
                        found.add(Access(target.var, keyed, False))
                case ir.If(cond=cond, then=then, else_=else_):
                    reads(cond, aliases)
                    stmts(then, aliases)
                    stmts(else_, aliases)
                case ir.For(body=inner):
                    stmts(inner, aliases)
                case ir.Let(var=var, value=value):
                    reads(value, aliases)
                    if isinstance(value, ir.Local) and value.name in aliases:
                        aliases[var.name] = aliases[value.name]
                case ir.Require(cond=cond) | ir.Assert(cond=cond):
                    reads(cond, aliases)
                case ir.HookEntry() | ir.Stop():
                    pass

    stmts(action.body, dict(names))
    return frozenset(found)


def _apart(x: Access, y: Access, width: int) -> bool:
    """Whether accesses by two different threads of one kind touch different
    entries: every key of the thread is at one position in both, so the two
    threads' keys, which differ somewhere, make the entries differ there."""
    if x.own is None or y.own is None:
        return False
    shared = {j for j, k in zip(x.own, y.own, strict=True) if j is not None and j == k}
    return shared >= set(range(width))


def independent(a: ir.Action, b: ir.Action, fa: frozenset[Access],
                fb: frozenset[Access]) -> bool:
    """Whether a step of ``a`` by one thread and a step of ``b`` by another
    (or by an atomic action) never touch the same state with one writing."""
    same_kind = a.thread is not None and b.thread is not None \
        and a.thread.thread == b.thread.thread
    width = len(a.thread.keys) if a.thread is not None else 0
    for x in fa:
        for y in fb:
            if x.var != y.var or not (x.write or y.write):
                continue
            if same_kind and _apart(x, y, width):
                continue
            return False
    return True


class AmpleSets:
    """The reduction for one machine: which steps are independent of the
    rest (C1), which state is visible (C2), and the choice in a state."""

    def __init__(self, machine: Machine, checked: Iterable[str]) -> None:
        self.machine = machine
        model = machine.model
        prints = [footprint(a) for a in model.actions]
        # C1, per action: a later step of a thread, independent of every
        # action of every other thread and of every atomic action.
        self.free = [a.thread is not None and a.thread.step is not None
                     and all(independent(a, b, prints[i], prints[j])
                             for j, b in enumerate(model.actions))
                     for i, a in enumerate(model.actions)]
        wanted = set(checked)
        visible: set[str] = set()
        for prop in model.properties:
            if prop.name in wanted and prop.name != ir.DEADLOCK_PROPERTY:
                visible |= {n.var for n in walk_expr(prop.expr) if isinstance(n, ir.StateRead)}
        layout = machine.instance.layout
        self.visible = [(layout[v].offset, layout[v].end) for v in sorted(visible)]
        # iid -> (action index, the thread that takes it) for the later steps
        self.thread_of: list[tuple[int, tuple[str, tuple[Any, ...]]] | None] = []
        for a, values in machine.instances:
            action = model.actions[a]
            step = action.thread
            if step is None or step.step is None:
                self.thread_of.append(None)
                continue
            by_name = {p.name: v for p, v in zip(action.params, values, strict=True)}
            self.thread_of.append((a, (step.thread, tuple(by_name[k] for k in step.keys))))
        self.reduced = 0  # states expanded with an ample set smaller than all

    @property
    def useful(self) -> bool:
        return any(self.free)

    def _invisible(self, state: State, nxt: State) -> bool:
        return all(state[lo:hi] == nxt[lo:hi] for lo, hi in self.visible)

    def choose(self, state: State, successors: list[tuple[int, State, tuple[int, ...]]],
               closes_cycle: Callable[[State], bool]
               ) -> list[tuple[int, State, tuple[int, ...]]]:
        """The successors to explore from ``state``: one thread's steps when
        they form an ample set, every successor otherwise."""
        groups: dict[tuple[str, tuple[Any, ...]], list[int]] = {}
        blocked: set[tuple[str, tuple[Any, ...]]] = set()
        for index, (iid, _, _) in enumerate(successors):
            owner = self.thread_of[iid]
            if owner is None:
                continue
            a, thread = owner
            if not self.free[a]:
                blocked.add(thread)
            groups.setdefault(thread, []).append(index)
        for thread, indexes in groups.items():
            if thread in blocked or len(indexes) == len(successors):
                continue
            chosen = [successors[i] for i in indexes]
            if all(self._invisible(state, nxt) and not closes_cycle(nxt)
                   for _, nxt, _ in chosen):
                self.reduced += 1
                return chosen
        return successors
