"""Finding the enabled argument tuples of an action without trying them all.

At the bounds fuzzing is for (PROCS=6, VPAGES=32), ``mmap`` alone has 12,288
argument tuples and ``mremap`` 36,864: trying each on the machine would cost
milliseconds per step, and drawing arguments blindly and discarding the
disabled ones would starve the search (most random ``munmap`` ranges meet no
VMA). So an ``ActionPlan`` chooses the parameters one at a time, in
declaration order, and after each choice evaluates the parts of the action's
guard that depend only on the parameters chosen so far:

- the *prefix* of the body is its leading ``requires`` and ``let`` statements
  (the part before the first assignment, ``if``, ``for`` or ``assert``);
  each ``requires`` is split into its conjuncts;
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
- if an item raises anyway, or a ``let`` value falls outside its sort, the
  plan stops pruning below that point and leaves the decision (and the error)
  to the machine.

The machine's own step function (``Machine.run``) has the last word at every
leaf: a tuple is enabled exactly when it returns a state. The search is a
depth-first walk whose order at each level is given by a ``pick`` callback: in
increasing order to decide whether the action is enabled at all, or drawn by
Hypothesis to choose one enabled tuple at random (so that shrinking moves
towards the smallest values).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from rmapcheck import ir
from rmapcheck.errors import SpecRuntimeError
from rmapcheck.explicit.compile import free_locals
from rmapcheck.fuzz.rewrite import CostModel, RaiseAnalysis, relax, reorder

State = tuple[Any, ...]

# A let whose value is unknown (it raised, or fell outside its sort): every
# item that reads it is treated as true.
UNKNOWN = object()

Draw = Callable[[int], int]  # draw(k): an integer in 0 .. k
Start = tuple[dict[str, Any], bool, list[tuple[Any, bool]]]


class LeafError(Exception):
    """The machine raised a spec run-time error running the action with
    ``values``."""

    def __init__(self, error: SpecRuntimeError, values: tuple[Any, ...]) -> None:
        super().__init__(error.message)
        self.error = error
        self.values = values


# ---------------------------------------------------------------- plans


class Item:
    """One conjunct of a leading ``requires``, or one leading ``let``."""

    __slots__ = ("kind", "expr", "fn", "names", "var", "level", "check")

    def __init__(self, kind: str, expr: ir.Expr, fn: Callable[..., Any],
                 names: tuple[str, ...], var: ir.Local | None, level: int,
                 check: Callable[[Any], bool] | None) -> None:
        self.kind = kind  # "require" or "let"
        self.expr = expr
        self.fn = fn  # fn(state, *values of names)
        self.names = names
        self.var = var
        self.level = level
        self.check = check  # for a let: is the value inside its sort (None: no check needed)


def _conjuncts(expr: ir.Expr) -> list[ir.Expr]:
    if isinstance(expr, ir.Binary) and expr.op == "and":
        return _conjuncts(expr.lhs) + _conjuncts(expr.rhs)
    return [expr]


class ActionPlan:
    """How to enumerate the enabled argument tuples of one action lazily."""

    def __init__(self, machine: Any, action: ir.Action, analysis: RaiseAnalysis,
                 costs: CostModel) -> None:
        self.machine = machine
        self.action = action
        self.name = action.name
        self.params = action.params
        self.param_names = tuple(p.name for p in action.params)
        instance = machine.instance
        self.domains: list[tuple[Any, ...]] = [instance.values(p.sort) for p in action.params]
        self._one = machine._ones[machine.model.actions.index(action)]
        compiler = machine.compiler
        nparams = len(self.params)

        level_of: dict[str, int] = {p.name: i + 1 for i, p in enumerate(action.params)}
        local_sorts: dict[str, ir.Sort] = {p.name: p.sort for p in action.params}
        self.by_level: list[list[Item]] = [[] for _ in range(nparams + 1)]

        def add(kind: str, expr: ir.Expr, var: ir.Local | None, level: int,
                check: Callable[[Any], bool] | None) -> None:
            used = tuple(sorted(free_locals([expr])))
            params = tuple(ir.Local(name, local_sorts[name]) for name in used)
            fast = reorder(expr, analysis, costs)
            fn = compiler.compile_expr_fn(f"guard_{self.name}", params, fast)
            # Items are appended in body order, so within a level they run in
            # the order the machine would run them.
            self.by_level[level].append(Item(kind, expr, fn, used, var, level, check))

        self._plan_prefix(action, analysis, costs, add, level_of, local_sorts)
        self.lets = [any(item.var is not None for item in items) for items in self.by_level]

    def _plan_prefix(self, action: ir.Action, analysis: RaiseAnalysis, costs: CostModel,
                     add: Callable[..., None], level_of: dict[str, int],
                     local_sorts: dict[str, ir.Sort]) -> None:
        compiler = self.machine.compiler
        instance = self.machine.instance
        barrier = 0  # the level of the latest item that may raise
        known_facts: set[ir.Expr] = set()  # not none once the items so far are true
        fact_level = 0  # the level by which all of known_facts are established
        for stmt in action.body:
            if isinstance(stmt, ir.Require):
                parts: list[tuple[str, ir.Expr, ir.Local | None]] = [
                    ("require", c, None) for c in _conjuncts(stmt.cond)]
            elif isinstance(stmt, ir.Let):
                parts = [("let", stmt.value, stmt.var)]
            else:
                break
            for kind, expr, var in parts:
                used = free_locals([expr])
                if any(name not in level_of for name in used):  # not expected: stop here
                    return
                level = max([0] + [level_of[name] for name in used])
                raises = analysis.can_raise(expr)
                if raises and not analysis.can_raise(expr, frozenset(known_facts)):
                    # Safe once the earlier items are true (``a != none`` before
                    # ``vma[p, a!]``): never before them, but no barrier either.
                    raises = False
                    level = max(level, fact_level)
                check: Any = None
                if var is not None:
                    check = _sort_check(compiler, instance, expr, var.sort)
                    if check is not None:  # a value outside the let's sort is an error
                        raises = True
                    if check is False:  # ... and one we cannot check here
                        check = None
                # Nothing is evaluated before an earlier item that may raise:
                # the machine would have met that item (and its error) first.
                level = max(level, barrier)
                if kind == "require" and not raises:
                    # What the conjunct implies about fewer parameters prunes earlier.
                    previous: ir.Expr | None = None
                    for lower in range(barrier, level):
                        known = {n for n, lv in level_of.items() if lv <= lower}
                        weaker = relax(expr, known)
                        if weaker is None or weaker == previous:
                            continue
                        if analysis.can_raise(weaker) and (
                                lower < fact_level
                                or analysis.can_raise(weaker, frozenset(known_facts))):
                            continue
                        add("require", weaker, None, lower, None)
                        previous = weaker
                add(kind, expr, var, level, check)
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
                    local_sorts[var.name] = var.sort

    # ------------------------------------------------------------ search

    def _level_ok(self, state: State, level: int, env: dict[str, Any],
                  tainted: bool) -> tuple[bool, bool]:
        """Evaluates the items of ``level``: (no item is false, tainted)."""
        for item in self.by_level[level]:
            if tainted:
                if item.var is not None:
                    env[item.var.name] = UNKNOWN
                continue
            values = [env[name] for name in item.names]
            if any(v is UNKNOWN for v in values):
                tainted = True
                if item.var is not None:
                    env[item.var.name] = UNKNOWN
                continue
            try:
                value = item.fn(state, *values)
            except SpecRuntimeError:
                tainted = True
                if item.var is not None:
                    env[item.var.name] = UNKNOWN
                continue
            if item.var is not None:
                if item.check is not None and not item.check(value):
                    tainted = True
                    value = UNKNOWN
                env[item.var.name] = value
            elif not value:
                return False, tainted
        return True, tainted

    def start(self, state: State) -> Start | None:
        """The level-0 items and the candidates for the first parameter: None
        when they already show the action disabled (cheap: no draw needed)."""
        env: dict[str, Any] = {}
        ok, tainted = self._level_ok(state, 0, env, False)
        if not ok:
            return None
        if not self.params:
            return env, tainted, []
        cands = self._candidates(state, 0, env, tainted)
        return (env, tainted, cands) if cands else None

    def _candidates(self, state: State, depth: int, env: dict[str, Any],
                    tainted: bool) -> list[tuple[Any, bool]]:
        """The values of parameter ``depth`` that pass the items of the next
        level, each with whether evaluation got tainted on the way."""
        name = self.param_names[depth]
        out = []
        for value in self.domains[depth]:
            env[name] = value
            ok, sub = self._level_ok(state, depth + 1, env, tainted)
            if ok:
                out.append((value, sub))
        return out

    def search(self, state: State, draw: Draw, start: Start | None = None,
               ) -> tuple[tuple[Any, ...], State, tuple[int, ...]] | None:
        """An enabled argument tuple, with the next state and the indices of the
        assertions the step violates; None when the action is not enabled.

        At each parameter, ``draw(k)`` chooses among the ``k + 1`` values the
        guard items leave (0 is the smallest); a value whose completions are
        all disabled is dropped and the choice made again. ``start`` is what
        ``start(state)`` returned, if known. A spec run-time error of the step
        raises ``LeafError`` with the arguments."""
        if start is None:
            start = self.start(state)
            if start is None:
                return None
        env, tainted, cands = start
        env = dict(env)
        if not self.params:
            return self._leaf(state, [])
        return self._choose(state, 0, env, list(cands), [], draw)

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
                cands: list[tuple[Any, bool]], values: list[Any], draw: Draw,
                ) -> tuple[tuple[Any, ...], State, tuple[int, ...]] | None:
        name = self.param_names[depth]
        last = depth + 1 == len(self.params)
        relet = bool(self.lets[depth + 1])
        while cands:
            value, tainted = cands.pop(draw(len(cands) - 1) if len(cands) > 1 else 0)
            env[name] = value
            if relet:  # the candidates' pass left the last value's lets in env
                self._level_ok(state, depth + 1, env, tainted)
            values.append(value)
            if last:
                found = self._leaf(state, values)
            else:
                sub = self._candidates(state, depth + 1, env, tainted)
                found = self._choose(state, depth + 1, env, sub, values, draw) if sub else None
            if found is not None:
                return found
            values.pop()
        return None

    def enabled_args(self, state: State) -> Iterator[tuple[Any, ...]]:
        """Every enabled argument tuple, in increasing order (for tests)."""
        yield from self._all(state, 0, {}, False, [])

    def _all(self, state: State, depth: int, env: dict[str, Any], tainted: bool,
             values: list[Any]) -> Iterator[tuple[Any, ...]]:
        ok, tainted = self._level_ok(state, depth, env, tainted)
        if not ok:
            return
        if depth == len(self.params):
            if self._one(state, *values) is not None:
                yield tuple(values)
            return
        name = self.param_names[depth]
        for value in self.domains[depth]:
            env[name] = value
            values.append(value)
            yield from self._all(state, depth + 1, dict(env), tainted, values)
            values.pop()


def first(k: int) -> int:
    """The ``draw`` of a deterministic search: always the smallest value."""
    return 0


def _sort_check(compiler: Any, instance: Any, expr: ir.Expr, sort: ir.Sort) -> Any:
    """None when every value of ``expr`` belongs to ``sort``; else a predicate
    over the value; False when the value is not a single slot."""
    if compiler.trusted(expr, sort):
        return None
    if instance.width(sort) != 1:
        return False
    return lambda value: instance.contains(sort, value)


def make_plans(machine: Any) -> dict[str, ActionPlan]:
    analysis = RaiseAnalysis(machine.model)
    costs = CostModel(machine.instance)
    return {a.name: ActionPlan(machine, a, analysis, costs) for a in machine.model.actions}


__all__ = ["ActionPlan", "LeafError", "first", "make_plans"]
