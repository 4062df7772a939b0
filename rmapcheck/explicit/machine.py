"""The executable state machine of one instance: the explicit engine's view of a model.

``Machine`` runs the init block, actions and properties of an ``Instance``,
lowered to the core and printed as Python (``python_emit``), over the flat
state tuples of ``rmapcheck.instance`` (the layout the Z3 back end shares, so
traces cross between engines). It is what the searches call; the reference
semantics is the core's interpreter (``Machine.reference``), on which every
engine's trace is replayed before it is shown (``rmapcheck.replay``).

An action instance is an action with one value for each parameter; instances
are numbered densely (``iid``) in action order, parameters in row-major order,
so a search can record "which step led here" in a few bytes.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from rmapcheck import ir
from rmapcheck.core import nodes
from rmapcheck.core.coverage import Counts
from rmapcheck.core.interp import Interpreter
from rmapcheck.core.lower import CoreModel
from rmapcheck.core.symmetry_rules import Analysis, SymmetryNote
from rmapcheck.errors import SpecError, SpecRuntimeError
from rmapcheck.explicit.codec import Codec
from rmapcheck.explicit.python_emit import Disabled, PythonEmitter
from rmapcheck.explicit.symmetry import Canonicalizer, SymmetryBroken
from rmapcheck.instance import Instance
from rmapcheck.ir_print import format_expr
from rmapcheck.ir_walk import walk_expr
from rmapcheck.trace import Trace

State = tuple[Any, ...]
Args = tuple[tuple[str, Any], ...]


class Transition(NamedTuple):
    """One enabled action instance from a state."""

    action: str
    args: Args  # (parameter name, encoded value)
    state: State  # the state after the step
    failed: tuple[ir.Assert, ...]  # assertions the step violates, in program order

    @property
    def failed_assertion(self) -> ir.Assert | None:
        return self.failed[0] if self.failed else None


class TracedRuntimeError(SpecRuntimeError):
    """A spec run-time error met during a search, with the trace that led to
    the state where it happened and the step (if any) that raised it."""

    def __init__(self, error: SpecRuntimeError, trace: Trace, action: str | None,
                 args: Args) -> None:
        where = f"while running {action}({_show_args(args)})" if action is not None \
            else "while evaluating a property"
        note = f"{where} after {len(trace)} step{'s' if len(trace) != 1 else ''}"
        super().__init__(error.message, error.span, error.note or note)
        self.trace = trace
        self.action = action
        self.action_args = args  # not .args: Exception.args must stay what pickling rebuilds from


def _plain(name: str) -> str:
    """A local's name as the spec wrote it (the front end appends ``#n``)."""
    return name.split("#")[0]


def _short(expr: ir.Expr, limit: int = 100) -> str:
    """The spec text of a (sub)formula, shortened: inlined helpers make long ones."""
    text = re.sub(r"#\d+", "", format_expr(expr))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _show_args(args: Args) -> str:
    return ", ".join(f"{name.split('#')[0]}={value}" for name, value in args)


class Machine:
    """The compiled model of one instance. ``symmetry`` enables the reduction
    over the model's symmetric sorts in ``key``/``canonical`` (the sorts whose
    use is not symmetric are left out; see ``symmetry_notes``).

    The reduction is sound because of checks at two levels: statically, no
    action or property names a value of a reduced sort or orders them; at run
    time, while a search runs with the reduction (``guarded``), every
    ``choose`` over a reduced sort checks that the least value is
    interchangeable with every other it could pick, and every action with a
    loop over a reduced sort that the static check cannot prove order-free is
    re-run with the loop in every other order, and the results compared. A
    failed run-time check raises ``SymmetryBroken``; the search then leaves the
    sort out (``exclude``) and starts again.

    ``coverage``: the core marks every hook and branch of the design, not only
    what the default warnings need; ``counts`` is what the compiled code
    counted (a search resets it, ``paused`` leaves out what is no step of it)."""

    def __init__(self, instance: Instance, *, symmetry: bool = True,
                 core: CoreModel | None = None, coverage: bool = False) -> None:
        self.instance = instance
        self.model = instance.model
        self.core = core = core if core is not None else CoreModel(instance, coverage)
        self.counts = Counts(core)
        declared = list(core.declared_symmetric)
        analysis = core.symmetry if symmetry else Analysis((), frozenset(), ())
        excluded = {note.sort for note in analysis.notes}
        reduced = [s for s in declared if symmetry and s.name not in excluded]
        self.analysis = analysis
        self.compiler = compiler = PythonEmitter(core, reduced, self.counts.marks)
        self.guard = compiler.guard
        self.codec = Codec(instance)
        self._init_fn = compiler.compile_init()
        self._expanders = []
        self._ones = []
        self.instances: list[tuple[int, tuple[Any, ...]]] = []  # iid -> (action, values)
        self._action_base: dict[str, int] = {}
        for a, plan in enumerate(core.actions):
            self._action_base[plan.name] = plan.iid_base
            expand, one = compiler.compile_action(plan)
            self._expanders.append(expand)
            self._ones.append(one)
            for combo in itertools.product(*plan.domains):
                self.instances.append((a, combo))
            assert len(self.instances) == plan.iid_base + plan.count
        self.asserts: list[ir.Assert] = core.asserts
        self.props: dict[str, Any] = {}
        for prop in core.properties:
            self.props[prop.name] = compiler.compile_expr_fn(f"prop_{prop.name}", (),
                                                             (prop.expr,))
        self._functions: dict[str, tuple[Any, tuple[ir.Local, ...]]] = {}
        self._exprs: dict[tuple[ir.Expr, tuple[str, ...]], Any] = {}

        self.symmetry_notes: list[SymmetryNote] = list(analysis.notes)
        self.symmetric_sorts: list[ir.RangeSort] = reduced
        # action index -> [(sort, span of a loop over it)] for loops re-run in other orders
        self._order_checked: dict[int, list[tuple[ir.RangeSort, ir.Span]]] = {}
        for a, plan in enumerate(core.actions):
            for loop in _loops(plan.body):
                if loop.sym_sort is not None and not loop.order_free \
                        and loop.sym_sort in reduced:
                    entries = self._order_checked.setdefault(a, [])
                    if all(sort != loop.sym_sort for sort, _ in entries):
                        entries.append((loop.sym_sort, loop.span))
        self.canonicalizer: Canonicalizer | None = None
        self._rebuild_symmetry()
        self._initial: State | None = None
        self.init_failures: tuple[ir.Assert, ...] = ()
        self._reference: Interpreter | None = None

    @property
    def reference(self) -> Interpreter:
        """The core's interpreter: the reference semantics, on which every
        trace is replayed before it is shown (``rmapcheck.replay``)."""
        if self._reference is None:
            self._reference = Interpreter(self.core)
        return self._reference

    # ------------------------------------------------------------ running

    def initial_state(self) -> State:
        """The state after the init block (one initial state)."""
        if self._initial is None:
            try:
                state, failed = self._init_fn(self.instance.initial_slots())
            except Disabled:
                raise SpecError("a requires in the init block is false, so there is no "
                                "initial state", self.model.span) from None
            self._initial = state
            self.init_failures = tuple(self.asserts[i] for i in failed)
        return self._initial

    def expand(self, state: State) -> list[tuple[int, State, tuple[int, ...]]]:
        """``(iid, next state, failed assert indices)`` for every enabled
        instance: the fast path of the search."""
        out: list[tuple[int, State, tuple[int, ...]]] = []
        if self.guard.enabled and self._order_checked:
            for a, expand in enumerate(self._expanders):
                start = len(out)
                expand(state, out)
                checks = self._order_checked.get(a)
                if checks:
                    self._check_orders(state, a, checks, out[start:])
            return out
        for expand in self._expanders:
            expand(state, out)
        return out

    def _check_orders(self, state: State, a: int,
                      checks: list[tuple[ir.RangeSort, ir.Span]],
                      normal: list[tuple[int, State, tuple[int, ...]]]) -> None:
        """Re-runs action ``a`` on ``state`` with its loops over the reduced
        sorts in every other order; any difference in the steps it allows, their
        results or the assertions they violate means the loops depend on the
        order of interchangeable values, so the reduction is unsound."""
        checks = [(sort, span) for sort, span in checks if sort in self.guard.active]
        if not checks:
            return
        expected = [(iid, nxt, frozenset(failed)) for iid, nxt, failed in normal]
        lists = [self.compiler.orders[sort] for sort, _ in checks]
        originals = [tuple(order) for order in lists]
        action = self.model.actions[a].name
        counted = self.counts.snapshot()
        try:
            for combo in itertools.product(*(itertools.permutations(o) for o in originals)):
                if combo == tuple(originals):
                    continue
                for order, values in zip(lists, combo, strict=True):
                    order[:] = values
                alternative: list[tuple[int, State, tuple[int, ...]]] = []
                try:
                    self._expanders[a](state, alternative)
                    same = expected == [(iid, nxt, frozenset(failed))
                                        for iid, nxt, failed in alternative]
                except SpecRuntimeError:
                    same = False
                if not same:
                    moved = [(sort, span) for (sort, span), values, original
                             in zip(checks, combo, originals, strict=True) if values != original]
                    sort, span = moved[0]
                    raise SymmetryBroken(SymmetryNote(
                        sort.name, f"the result of {action} depends on the order in which its "
                        f"loop visits the interchangeable {sort.name} values", span))
        finally:
            self.counts.restore(counted)
            for order, original in zip(lists, originals, strict=True):
                order[:] = original

    def describe(self, iid: int) -> tuple[str, Args]:
        """The action name and arguments of instance ``iid``."""
        a, values = self.instances[iid]
        action = self.model.actions[a]
        return action.name, tuple((p.name, v) for p, v in zip(action.params, values, strict=True))

    def action_of(self, iid: int) -> ir.Action:
        return self.model.actions[self.instances[iid][0]]

    def fails(self, iid: int) -> bool:
        """Instance ``iid`` fails at a failpoint: its action's failure
        parameter (the last) is not ``nothing``, the first of its values."""
        a, values = self.instances[iid]
        failure = self.model.actions[a].failure
        return failure is not None and values[-1] != self.instance.values(failure.sort)[0]

    def run(self, state: State, iid: int) -> tuple[State, tuple[int, ...]] | None:
        """Runs instance ``iid``: ``(next state, failed assert indices)``, or
        None when it is not enabled."""
        a, values = self.instances[iid]
        return self._ones[a](state, *values)  # type: ignore[no-any-return]

    def iid(self, action: str, args: Mapping[str, Any] | Args) -> int:
        """The instance number of ``action`` with ``args`` (by parameter name)."""
        base = self._action_base.get(action)
        if base is None:
            raise KeyError(f"the model has no action {action}")
        act = self.model.action(action)
        given = dict(args)
        if set(given) != {p.name for p in act.params}:
            raise KeyError(f"action {action} takes {', '.join(p.name for p in act.params)}, "
                           f"not {', '.join(given)}")
        index = 0
        for p in act.params:
            values = self.instance.values(p.sort)
            index = index * len(values) + self.instance.index_of(p.sort, given[p.name])
        return base + index

    def successors(self, state: State) -> Iterator[Transition]:
        for iid, nxt, failed in self.expand(state):
            name, args = self.describe(iid)
            yield Transition(name, args, nxt, tuple(self.asserts[i] for i in failed))

    def step_full(self, state: State, action: str, args: Mapping[str, Any] | Args,
                  ) -> tuple[State, tuple[ir.Assert, ...]] | None:
        """One step of ``action`` with ``args``: the next state and the assertions
        it violates, or None when the action is not enabled there."""
        result = self.run(state, self.iid(action, args))
        if result is None:
            return None
        return result[0], tuple(self.asserts[i] for i in result[1])

    def step(self, state: State, action: str, args: Mapping[str, Any] | Args) -> State | None:
        result = self.step_full(state, action, args)
        return None if result is None else result[0]

    # ------------------------------------------------------------ properties

    def holds(self, prop: str, state: State) -> bool:
        return bool(self.props[prop](state))

    def failed_invariants(self, state: State) -> list[str]:
        """Invariants and lemmas false in ``state``."""
        return [p.name for p in self.model.invariants if not self.props[p.name](state)]

    def compile_ir_fn(self, name: str, params: Sequence[ir.Local],
                      expr: ir.Expr) -> Callable[..., Any]:
        """``fn(s, *params)`` for an IR expression over the locals ``params``
        (a local of several slots is passed as one tuple)."""
        variables, value = self.core.lower_expr(expr, params)
        fn = self.compiler.compile_expr_fn(name, variables, value)
        if len(variables) == len(params):
            return fn  # type: ignore[no-any-return]
        widths = [sum(1 for v in variables if v.name == p.name or v.name.startswith(
            p.name + ".")) for p in params]

        def spread(state: State, *args: Any) -> Any:
            flat: list[Any] = []
            for arg, width in zip(args, widths, strict=True):
                if width == 1:
                    flat.append(arg)
                else:
                    flat.extend(arg)
            return fn(state, *flat)

        return spread

    def eval_function(self, name: str, state: State,
                      args: Mapping[str, Any] | Sequence[Any] = ()) -> Any:
        """The value of the pure function ``name`` (from ``model.functions``)."""
        found = self._functions.get(name)
        decl = self.model.function(name)
        if found is None:
            found = self._functions[name] = (
                self.compile_ir_fn(f"fn_{name}", decl.params, decl.body), decl.params)
        fn, params = found
        values = [args[p.name] for p in params] if isinstance(args, Mapping) else list(args)
        return fn(state, *values)

    def eval_expr(self, expr: ir.Expr, state: State,
                  bindings: Mapping[str, Any] | None = None) -> Any:
        """The value of any expression in ``state``, with locals bound by name
        (encoded values)."""
        bindings = dict(bindings or {})
        names = tuple(sorted(bindings))
        fn = self._exprs.get((expr, names))
        if fn is None:
            sorts = {n.name: n.sort for n in walk_expr(expr) if isinstance(n, ir.Local)}
            params = tuple(ir.Local(n, sorts.get(n, ir.INT)) for n in names)
            fn = self.compile_ir_fn("expr", params, expr)
            self._exprs[(expr, names)] = fn
        return fn(state, *(bindings[n] for n in names))

    def explain(self, prop: str, state: State) -> str:
        """Which instance of a false property fails: the bindings of its
        outermost ``forall`` and the failing conjunct, e.g. ``for p=0, v=2:
        pte[p, v] ...``. Empty when the property holds."""
        expr = self.model.prop(prop).expr
        if self.eval_expr(expr, state):
            return ""
        return self._explain(expr, state, {})

    def _explain(self, expr: ir.Expr, state: State, bindings: dict[str, Any]) -> str:
        match expr:
            case ir.Quant(kind="forall", vars=vars_, body=body):
                domains = [self.instance.values(v.sort) for v in vars_]
                for combo in itertools.product(*domains):
                    inner = dict(bindings)
                    inner.update({v.name: value for v, value in zip(vars_, combo, strict=True)})
                    if not self.eval_expr(body, state, inner):
                        shown = ", ".join(f"{_plain(v.name)}="
                                          f"{self.instance.format_scalar(v.sort, value)}"
                                          for v, value in zip(vars_, combo, strict=True))
                        return f"for {shown}: {self._explain(body, state, inner)}"
                return ""
            case ir.Binary(op="and", lhs=lhs, rhs=rhs):
                side = lhs if not self.eval_expr(lhs, state, bindings) else rhs
                return self._explain(side, state, bindings)
            case ir.Binary(op="implies", rhs=rhs):
                return self._explain(rhs, state, bindings)
            case ir.HookValue(value=value):
                return self._explain(value, state, bindings)
            case _:
                return f"{_short(expr)} is false"

    # ------------------------------------------------------------ symmetry

    def _rebuild_symmetry(self) -> None:
        self.canonicalizer = (Canonicalizer(self.instance, self.codec, self.symmetric_sorts)
                              if self.symmetric_sorts else None)
        self.guard.canonicalizer = self.canonicalizer
        self.guard.active = {sort: i for i, sort in enumerate(self.symmetric_sorts)}

    def exclude(self, note: SymmetryNote) -> None:
        """Leaves a sort out of the reduction (a run-time check failed)."""
        self.symmetry_notes.append(note)
        self.symmetric_sorts = [s for s in self.symmetric_sorts if s.name != note.sort]
        self._rebuild_symmetry()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Runs the compiled code without counting coverage: rebuilding a
        trace, explaining a violation is no step of the search."""
        counted = self.counts.snapshot()
        try:
            yield
        finally:
            self.counts.restore(counted)

    @contextlib.contextmanager
    def guarded(self, enabled: bool = True) -> Iterator[None]:
        """Runs the symmetry checks (when ``enabled`` and a sort is reduced)
        for the duration of a search."""
        previous = self.guard.enabled
        self.guard.enabled = enabled and self.canonicalizer is not None
        try:
            yield
        finally:
            self.guard.enabled = previous

    def key(self, state: State) -> int:
        """The packed canonical form of ``state``: equal exactly for symmetric states."""
        if self.canonicalizer is None:
            return self.codec.pack(state)  # type: ignore[no-any-return]
        return self.canonicalizer.canonical(state)[0]

    def canonical(self, state: State) -> State:
        """The representative of ``state``'s orbit (``state`` itself without symmetry)."""
        if self.canonicalizer is None:
            return state
        return self.canonicalizer.canonical(state)[1]

    def state_of(self, key: int) -> State:
        """The state a packed key stands for."""
        return self.codec.unpack(key)  # type: ignore[no-any-return]


def _loops(stmts: tuple[nodes.Stmt, ...]) -> Iterator[nodes.For]:
    for s in stmts:
        match s:
            case nodes.For(body=body):
                yield s
                yield from _loops(body)
            case nodes.If(then=then, else_=else_):
                yield from _loops(then)
                yield from _loops(else_)
            case _:
                pass
