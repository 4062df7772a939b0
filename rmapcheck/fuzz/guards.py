"""Finding the enabled argument tuples of an action without trying them all.

At the bounds fuzzing is for (PROCS=6, VPAGES=32), ``mmap`` alone has 12,288
argument tuples and ``mremap`` 36,864: trying each on the machine would cost
milliseconds per step, and drawing arguments blindly and discarding the
disabled ones would starve the search (most random ``munmap`` ranges meet no
VMA). So an ``ActionPlan`` chooses the parameters one at a time, in
declaration order, and after each choice evaluates the parts of the action's
guard that depend only on the parameters chosen so far:

- the items are the core's action plan (``core.nodes.ActionPlan``): the
  body's leading ``requires``, a conjunct each, and ``let`` statements; when
  the prefix ends with an ``if``, the requires each branch starts with are
  added as ``cond -> c`` and ``not cond -> c``;
- an item (a conjunct or a ``let``) is evaluated at the first *level* (number
  of parameters chosen) where every parameter and ``let`` it reads is known.
  An item that may raise a run-time error of the spec (a field of ``none``,
  an unwrap, a computed map key, division) is never evaluated before the items
  that precede it in the body, since they may be what guards it; an item that
  cannot raise is hoisted above the items before it that cannot raise either
  (``requires nr_vmas(p) < VMAS`` prunes every ``s, n, growsdown`` of a full
  process at once). So a false item proves that
  every completion of the partial arguments is disabled, exactly as the
  machine would decide, in the order it would decide it;
- whether an item may raise, given what the items before it established, is
  the core's raise analysis (``core.raises``); if an item raises anyway (a
  ``let`` value outside its sort among them), the plan stops pruning below
  that point and leaves the decision (and the error) to the machine.

The machine's own step function (``Machine.run``) has the last word at every
leaf: a tuple is enabled exactly when it returns a state. The search is a
depth-first walk whose order at each level is given by a ``pick`` callback: in
increasing order to decide whether the action is enabled at all, or drawn by
Hypothesis to choose one enabled tuple at random (so that shrinking moves
towards the smallest values).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from rmapcheck.core import fold
from rmapcheck.core.lower import conjuncts, free_vars
from rmapcheck.core.nodes import ActionPlan as CorePlan
from rmapcheck.core.nodes import Expr, If, Mark, Require, Var
from rmapcheck.core.raises import RaiseAnalysis, relax, reorder
from rmapcheck.errors import SpecRuntimeError

State = tuple[Any, ...]

Draw = Callable[[int], int]  # draw(k): an integer in 0 .. k
Start = tuple[dict[str, Any], bool, list[tuple[Any, bool, Any]]]


# One draw in COINCIDE sets a parameter to an earlier argument of its sort.
COINCIDE = 4


class _Taint(Exception):
    """Kept for the generated level functions' except clause (a let outside its
    sort raises the spec's run-time error itself now)."""


class LeafError(Exception):
    """The machine raised a spec run-time error running the action with
    ``values``."""

    def __init__(self, error: SpecRuntimeError, values: tuple[Any, ...]) -> None:
        super().__init__(error.message)
        self.error = error
        self.values = values


# ---------------------------------------------------------------- plans


class Item:
    """One conjunct of the plan's leading ``requires``, or one leading ``let``."""

    __slots__ = ("expr", "fn", "kind", "level", "names", "var")

    def __init__(self, kind: str, expr: Expr, fn: Callable[..., Any],
                 names: tuple[str, ...], var: Var | None, level: int) -> None:
        self.kind = kind  # "require" or "let"
        self.expr = expr
        self.fn = fn  # fn(state, *values of names)
        self.names = names
        self.var = var
        self.level = level


def _guard_items(plan: CorePlan) -> list[tuple[str, Expr, Var | None]]:
    """The plan's prefix as items, then the requires an ``if`` right after it
    starts each branch with, as ``cond -> c`` and ``not cond -> c``. Without
    coverage marks: searching the arguments is no step of the run (the
    machine's step at the leaf counts them)."""
    items: list[tuple[str, Expr, Var | None]] = []
    for stmt in plan.prefix:
        if isinstance(stmt, Require):
            items.append(("require", fold.unmark(stmt.cond), None))
        else:
            items.append(("let", fold.unmark(stmt.value), stmt.var))
    if plan.rest and isinstance(plan.rest[0], If):
        branch_if = plan.rest[0]
        cond = fold.unmark(branch_if.cond)
        for test, branch in ((cond, branch_if.then), (fold.not_(cond), branch_if.else_)):
            for guard in branch:
                if isinstance(guard, Mark):
                    continue
                if not isinstance(guard, Require):
                    break
                items.extend(("require", fold.implies(test, c), None)
                             for c in conjuncts(fold.unmark(guard.cond)))
    return items


class ActionPlan:
    """How to enumerate the enabled argument tuples of one action lazily."""

    def __init__(self, machine: Any, plan: CorePlan, analysis: RaiseAnalysis) -> None:
        self.machine = machine
        self.plan = plan
        self.action = machine.model.actions[plan.index]
        self.name = plan.name
        self.params = plan.params
        self.param_names = tuple(p.name for p in plan.params)
        self.domains: list[tuple[Any, ...]] = list(plan.domains)
        self._position = [{v: i for i, v in enumerate(d)} for d in self.domains]
        # per parameter, the earlier parameters of the same sort
        action = self.action
        self._same_sort = [[j for j in range(i) if action.params[j].sort == p.sort]
                           for i, p in enumerate(action.params)]
        self._one = machine._ones[plan.index]
        nparams = len(self.params)
        self.by_level: list[list[Item]] = [[] for _ in range(nparams + 1)]
        self._plan_prefix(analysis)
        self._generate()

    def _plan_prefix(self, analysis: RaiseAnalysis) -> None:
        compiler = self.machine.compiler
        level_of: dict[str, int] = {p.name: i + 1 for i, p in enumerate(self.params)}
        variables: dict[str, Var] = {p.name: p for p in self.params}

        def add(kind: str, expr: Expr, var: Var | None, level: int) -> None:
            used = tuple(sorted(free_vars(expr)))
            fast = reorder(expr, analysis)
            fn = compiler.compile_expr_fn(f"guard_{self.name}",
                                          [variables[n] for n in used], (fast,))
            # Items are appended in body order, so within a level they run in
            # the order the machine would run them.
            self.by_level[level].append(Item(kind, expr, fn, used, var, level))

        barrier = 0  # the level of the latest item that may raise
        known_facts: set[Expr] = set()  # what holds once the items so far are true
        fact_level = 0  # the level by which all of known_facts are established
        for kind, expr, var in _guard_items(self.plan):
            used = free_vars(expr)
            if any(name not in level_of for name in used):  # not expected: stop here
                return
            level = max([0] + [level_of[name] for name in used])
            raises = analysis.can_raise(expr)
            if raises and not analysis.can_raise(expr, frozenset(known_facts)):
                # Safe once the earlier items are true (``a != none`` before
                # ``vma[p, a!]``): never before them, but no barrier either.
                raises = False
                level = max(level, fact_level)
            # Nothing is evaluated before an earlier item that may raise:
            # the machine would have met that item (and its error) first.
            level = max(level, barrier)
            if kind == "require" and not raises:
                # What the conjunct implies about fewer parameters prunes earlier.
                previous: Expr | None = None
                for lower in range(barrier, level):
                    known = {n for n, lv in level_of.items() if lv <= lower}
                    weaker = relax(expr, known)
                    if weaker is None or weaker == previous:
                        continue
                    if analysis.can_raise(weaker) and (
                            lower < fact_level
                            or analysis.can_raise(weaker, frozenset(known_facts))):
                        continue
                    add("require", weaker, None, lower)
                    previous = weaker
            add(kind, expr, var, level)
            if raises:
                barrier = level
            if kind == "require":
                facts = analysis.facts(expr, True)
                if facts:
                    known_facts |= facts
                    fact_level = max(fact_level, level)
            if var is not None:
                analysis.note_let(var, expr)
                level_of[var.name] = level
                variables[var.name] = var

    # ------------------------------------------------------------ generated code

    def _generate(self) -> None:
        """One Python function per level, generated once: level 0 checks the
        items that need no parameter; level ``d`` returns the values of
        parameter ``d - 1`` that pass the items of level ``d``, each with its
        ``let`` values. An item that raises (a spec run-time error, or a
        ``let`` outside its sort) marks the candidate *tainted*: it passes,
        and nothing below it is pruned, so the machine decides there."""
        ns: dict[str, Any] = {"_SRE": SpecRuntimeError, "_Taint": _Taint}
        names: dict[str, str] = {}  # local name -> Python identifier

        def py(name: str) -> str:
            if name not in names:
                names[name] = f"v{len(names)}"
            return names[name]

        self._levels: list[Any] = []
        self._inputs: list[tuple[str, ...]] = []  # earlier names each level reads
        self._outputs: list[tuple[str, ...]] = []  # let names each level defines
        defined: set[str] = set()
        for level, items in enumerate(self.by_level):
            own = {self.param_names[level - 1]} if level > 0 else set()
            lets = tuple(item.var.name for item in items if item.var is not None)
            inputs = tuple(sorted({n for item in items for n in item.names}
                                  - own - set(lets)))
            assert set(inputs) <= defined, (self.name, level, inputs)
            body: list[str] = []
            for k, item in enumerate(items):
                fn = f"_f{level}_{k}"
                ns[fn] = item.fn
                call = f"{fn}(s{''.join(', ' + py(n) for n in item.names)})"
                if item.var is not None:
                    body.append(f"{py(item.var.name)} = {call}")
                else:
                    body.append(f"if not {call}: {'continue' if level else 'return None'}")
            out_lets = "(" + "".join(py(n) + ", " for n in lets) + ")"
            args = "".join(", " + py(n) for n in inputs)
            if level == 0:
                src = [f"def _level0(s{args}):", "    try:"]
                src += ["        " + line for line in body] or ["        pass"]
                src += ["    except (_SRE, _Taint):", "        return (True, None)",
                        f"    return (False, {out_lets})"]
            else:
                p = py(self.param_names[level - 1])
                src = [f"def _level{level}(s, _D{args}):", "    out = []",
                       f"    for {p} in _D:", "        try:"]
                src += ["            " + line for line in body] or ["            pass"]
                src += ["        except (_SRE, _Taint):",
                        f"            out.append(({p}, True, None))", "            continue",
                        f"        out.append(({p}, False, {out_lets}))", "    return out"]
            exec(compile("\n".join(src) + "\n", f"<fuzz plan {self.name}>", "exec"), ns)
            self._levels.append(ns[f"_level{level}"])
            self._inputs.append(inputs)
            self._outputs.append(lets)
            defined |= own | set(lets)

    # ------------------------------------------------------------ search

    def _candidates(self, state: State, depth: int, env: dict[str, Any],
                    tainted: bool) -> list[tuple[Any, bool, Any]]:
        """``(value, tainted, let values)`` for each value of parameter ``depth``
        that passes the items of level ``depth + 1``."""
        domain = self.domains[depth]
        if tainted:
            return [(value, True, None) for value in domain]
        level = depth + 1
        return self._levels[level](state, domain, *[env[n] for n in self._inputs[level]])

    def start(self, state: State) -> Start | None:
        """The level-0 items and the candidates for the first parameter: None
        when they already show the action disabled (cheap: no draw needed)."""
        first = self._levels[0](state)
        if first is None:
            return None
        tainted, lets = first
        env: dict[str, Any] = {}
        if lets:
            env.update(zip(self._outputs[0], lets, strict=True))
        if not self.params:
            return env, tainted, []
        cands = self._candidates(state, 0, env, tainted)
        return (env, tainted, cands) if cands else None

    def search(self, state: State, draw: Draw, start: Start | None = None,
               ) -> tuple[tuple[Any, ...], State, tuple[int, ...]] | None:
        """An enabled argument tuple, with the next state and the indices of the
        assertions the step violates; None when the action is not enabled.

        At each parameter, ``draw(k)`` chooses one of the ``k + 1`` values of
        its sort (0 is the smallest); the search takes the first value from
        there on (cyclically) that the guard items leave and that has an
        enabled completion, so one draw per parameter is enough (and a draw
        of 0 finds the smallest enabled value). ``start`` is what
        ``start(state)`` returned, if known. A spec run-time error of the step
        raises ``LeafError`` with the arguments."""
        if start is None:
            start = self.start(state)
            if start is None:
                return None
        env, _, cands = start
        if not self.params:
            return self._leaf(state, [])
        return self._choose(state, 0, dict(env), cands, [], draw)

    def _leaf(self, state: State, values: list[Any],
              ) -> tuple[tuple[Any, ...], State, tuple[int, ...]] | None:
        try:
            result = self._one(state, *values)
        except SpecRuntimeError as error:
            raise LeafError(error, tuple(values)) from None
        if result is None:
            return None
        return tuple(values), result[0], result[1]

    def _choose(self, state: State, depth: int, env: dict[str, Any],
                cands: list[tuple[Any, bool, Any]], values: list[Any], draw: Draw,
                ) -> tuple[tuple[Any, ...], State, tuple[int, ...]] | None:
        # One draw picks a value of the parameter's sort; the candidates from
        # it on (cyclically) are tried in turn, so a disabled completion costs
        # no further draw. Drawing a value rather than a position among the
        # candidates keeps the meaning of a draw when the shrinker removes
        # earlier steps (which changes the candidates).
        count = len(cands)
        size = len(self.domains[depth])
        same = self._same_sort[depth]
        if same and draw is not first and draw(COINCIDE - 1) == COINCIDE - 1:
            # Coincidences (mremap to its own address, t == a) are where the
            # corner cases are: one draw in COINCIDE takes an earlier argument
            # of the same sort (shrinking moves away from it).
            earlier = same[draw(len(same) - 1)] if len(same) > 1 else same[0]
            wanted = self._position[depth].get(values[earlier], 0)
        else:
            wanted = draw(size - 1) if size > 1 else 0
        index = self._position[depth]
        start = 0
        for j, cand in enumerate(cands):
            if index[cand[0]] >= wanted:
                start = j
                break
        for j in range(count):
            # After a value with no enabled completion, the next ones are tried
            # with the smallest completions: no more draws for a retry.
            found = self._descend(state, depth, env, cands[(start + j) % count], values,
                                  draw if j == 0 else first)
            if found is not None:
                return found
        return None

    def _descend(self, state: State, depth: int, env: dict[str, Any],
                 cand: tuple[Any, bool, Any], values: list[Any], draw: Draw,
                 ) -> tuple[tuple[Any, ...], State, tuple[int, ...]] | None:
        """Parameter ``depth`` set to the candidate ``cand``; the rest drawn."""
        value, tainted, lets = cand
        values.append(value)
        if depth + 1 == len(self.params):
            found = self._leaf(state, values)
        else:
            env[self.param_names[depth]] = value
            if lets:
                env.update(zip(self._outputs[depth + 1], lets, strict=True))
            sub = self._candidates(state, depth + 1, env, tainted)
            found = self._choose(state, depth + 1, env, sub, values, draw) if sub else None
        if found is None:
            values.pop()
        return found

    def search_from(self, state: State, draw: Draw, start: Start,
                    cand: tuple[Any, bool, Any] | None,
                    ) -> tuple[tuple[Any, ...], State, tuple[int, ...]] | None:
        """``search`` with the first parameter already chosen: ``cand`` is one
        of ``start``'s candidates (None for an action without parameters)."""
        env, _, _ = start
        if cand is None:
            return self._leaf(state, [])
        return self._descend(state, 0, dict(env), cand, [], draw)

    def enabled_args(self, state: State) -> Iterator[tuple[Any, ...]]:
        """Every enabled argument tuple, in increasing order (for tests)."""
        start = self.start(state)
        if start is None:
            return
        env, _, cands = start
        if not self.params:
            if self._leaf(state, []) is not None:
                yield ()
            return
        yield from self._all(state, 0, dict(env), cands, [])

    def _all(self, state: State, depth: int, env: dict[str, Any],
             cands: list[tuple[Any, bool, Any]], values: list[Any]) -> Iterator[tuple[Any, ...]]:
        name = self.param_names[depth]
        outputs = self._outputs[depth + 1]
        for value, tainted, lets in cands:
            values.append(value)
            if depth + 1 == len(self.params):
                if self._leaf(state, values) is not None:
                    yield tuple(values)
            else:
                env[name] = value
                if lets:
                    env.update(zip(outputs, lets, strict=True))
                sub = self._candidates(state, depth + 1, env, tainted)
                yield from self._all(state, depth + 1, dict(env), sub, values)
            values.pop()


def first(k: int) -> int:
    """The ``draw`` of a deterministic search: always the smallest value."""
    return 0


def make_plans(machine: Any) -> dict[str, ActionPlan]:
    analysis = RaiseAnalysis()
    return {plan.name: ActionPlan(machine, plan, analysis) for plan in machine.core.actions}


__all__ = ["ActionPlan", "LeafError", "first", "make_plans"]
