"""Prints the core of one instance as Python functions over flat state tuples.

The explicit engine runs every action on every reachable state, so the model
is compiled once: this module writes Python source from the nodes of
``rmapcheck.core`` and ``exec``\\ s it. Every decision about what the model
means was made by the lowering; what is decided here is only how to say it
quickly in Python:

- a read is ``t[<address>]`` (a constant address when the lowering folded the
  keys); a check is an inline conditional expression that calls the fault
  site's ``fire``; a value used twice goes through an assignment expression;
- an action becomes ``expand_<name>(s, out)``: its parameter loops, each
  guard of the plan's prefix placed in the loop of its level (unrolled over
  the parameter values when there are few, so a guard the values decide
  disappears or prunes a whole subtree), then ``rest_<name>`` for the rest of
  the body, which copies the state on its first write only;
- a quantifier or loop the lowering marked ``unroll`` is written once per
  value (``fold.substitute`` folds what the value decides), else as a loop;
- a ``choose`` over a reduced symmetric sort goes through the symmetry guard,
  and a loop over one that may depend on the order of its values iterates a
  list the machine can reorder (``explicit.symmetry``);
- a coverage mark adds one to its site's entry of ``marks`` (a list the
  machine reads): ``_COV[k] += 1`` as a statement, ``(_mark(k) and value)``
  in an expression. The init block and a symmetry check's second look at a
  ``choose`` are printed without marks: they are no step of a run.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, NoReturn, assert_never

from rmapcheck import ir
from rmapcheck.core import fold
from rmapcheck.core.faults import fault_error
from rmapcheck.core.lower import CoreModel
from rmapcheck.core.nodes import (
    ActionPlan,
    Addr,
    Arith,
    AssertStmt,
    Bit,
    BoolOp,
    Check,
    Checked,
    Cmp,
    DivMod,
    Expr,
    Fault,
    For,
    Guard,
    If,
    IsNone,
    Ite,
    Let,
    LetIn,
    Lit,
    Mark,
    Marked,
    Member,
    Neg,
    Not,
    NotNoneTest,
    Quant,
    RangeTest,
    Read,
    Require,
    SetOp,
    Some,
    Stmt,
    Stop,
    Store,
    Var,
)
from rmapcheck.explicit.symmetry import ChooseSite, SymmetryGuard

State = tuple[Any, ...]

# An action's parameter loops are unrolled up to this many combinations (and
# this much generated code for the hoisted tests).
UNROLL_MAX_COMBOS = 4096
UNROLL_MAX_EXPAND_CHARS = 400_000

_LITERAL = re.compile(r"\(?-?\d+\)?|None|True|False")
_SIMPLE = re.compile(r"[A-Za-z_]\w*|[st]\[\d+\]|\(?-?\d+\)?|None|True|False")


class Disabled(Exception):
    """Raised by a false ``requires`` where a ``return`` cannot reach (init)."""


class PyFault:
    """A fault site, as generated code calls it: ``fire`` raises its error."""

    __slots__ = ("core", "site")

    def __init__(self, core: CoreModel, site: int) -> None:
        self.core = core
        self.site = site

    def fire(self, value: Any = None, keys: tuple[Any, ...] = ()) -> NoReturn:
        raise fault_error(self.core.instance, self.core.faults[self.site], value, keys)


def _div(a: int, b: int, fault: PyFault) -> int:
    if b == 0:
        fault.fire(a)
    return a // b


def _mod(a: int, b: int, fault: PyFault) -> int:
    if b == 0:
        fault.fire(a)
    return a % b


def _member(value: int, mask: int, lo: int) -> bool:
    return (mask >> (value - lo)) & 1 == 1


def _in_range_set(value: int, mask: int, lo: int, hi: int) -> bool:
    return value.__class__ is int and lo <= value <= hi and (mask >> (value - lo)) & 1 == 1


def lit(value: Any) -> str:
    """Python source for a constant slot value (bool, int, None, tuples of them)."""
    if isinstance(value, tuple):
        inner = ", ".join(lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return f"({value})"
    return repr(value)


Copied = Literal["no", "yes", "maybe"]


def _join(a: Copied, b: Copied) -> Copied:
    return a if a == b else "maybe"


class _Body:
    """Lines of one generated function, and whether ``t`` is still ``s``."""

    def __init__(self, indent: int, copied: Copied, stop: str = "") -> None:
        self.lines: list[str] = []
        self.indent = indent
        self.copied: Copied = copied
        # What a ``stop`` does here, with {state} for the state so far.
        self.stop = stop

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)


class PythonEmitter:
    """Generates and ``exec``\\ s the Python of one instance's core.
    ``symmetric``: the sorts a search reduces (their ``choose`` goes through
    the symmetry guard, their order-dependent loops iterate ``orders``).
    ``marks``: the list the coverage marks count into, one entry per site."""

    def __init__(self, core: CoreModel, symmetric: Iterable[ir.RangeSort] = (),
                 marks: list[int] | None = None) -> None:
        self.core = core
        self.instance = core.instance
        self.model = core.model
        self.symmetric = frozenset(symmetric)
        self.guard = SymmetryGuard()
        self.orders: dict[ir.RangeSort, list[Any]] = {}
        self.marks = marks if marks is not None else [0] * len(core.coverage_sites)
        counted = self.marks

        def mark(site: int) -> bool:
            counted[site] += 1
            return True

        self.ns: dict[str, Any] = {
            "_div": _div, "_mod": _mod, "_in_range_set": _in_range_set, "_member": _member,
            "Disabled": Disabled, "_SYM": self.guard, "_COV": counted, "_mark": mark,
        }
        self._names: dict[int, str] = {}
        self._keep: list[Any] = []  # objects named in ns (their ids must stay unique)
        self._counter = itertools.count()
        self._pynames: dict[str, str] = {}
        self._faults: dict[int, str] = {}
        self.sources: list[str] = []

    @property
    def asserts(self) -> list[ir.Assert]:
        return self.core.asserts

    # ------------------------------------------------------------ naming

    def obj(self, value: Any, hint: str) -> str:
        """A global name in the generated module bound to ``value``."""
        key = id(value)
        name = self._names.get(key)
        if name is None:
            name = f"_{hint}{next(self._counter)}"
            self._names[key] = name
            self._keep.append(value)
            self.ns[name] = value
        return name

    def fault(self, site: int) -> str:
        name = self._faults.get(site)
        if name is None:
            name = self._faults[site] = self.obj(PyFault(self.core, site), "E")
        return name

    def values_name(self, values: tuple[Any, ...]) -> str:
        return self.obj(values, "V")

    def order_name(self, sort: ir.RangeSort) -> str:
        """A list of the sort's values that the machine may reorder."""
        order = self.orders.get(sort)
        if order is None:
            order = self.orders[sort] = list(self.instance.values(sort))
        return self.obj(order, "ORD")

    def pyname(self, name: str) -> str:
        found = self._pynames.get(name)
        if found is None:
            clean = re.sub(r"\W", "_", name)
            found = f"L{next(self._counter)}_{clean}"
            self._pynames[name] = found
        return found

    def tmp(self) -> str:
        return f"_t{next(self._counter)}"

    def reusable(self, src: str) -> tuple[str, str]:
        """``(use, first use)`` for evaluating ``src`` once and using it twice:
        a name or a constant is simply repeated; anything else goes through
        an assignment expression to a fresh temporary (evaluated at ``first
        use``, which must come first in evaluation order)."""
        if _SIMPLE.fullmatch(src):
            return src, src
        name = self.tmp()
        return name, f"({name} := {src})"

    # ------------------------------------------------------------ expressions

    def addr_src(self, addr: Addr, st: str) -> str:
        parts = [str(addr.base)] if addr.base or not addr.terms else []
        for term in addr.terms:
            key = self.ex(term.key, st)
            lo = term.lo
            index = key if lo == 0 else f"({key} - {lo})"
            parts.append(index if term.stride == 1 else f"{index}*{term.stride}")
        return " + ".join(parts)

    def ex(self, e: Expr, st: str) -> str:
        """Python source of ``e``; ``st`` names the state it reads."""
        match e:
            case Lit(value=value):
                return lit(value)
            case Var(name=name):
                return self.pyname(name)
            case Read(addr=addr):
                return f"{st}[{self.addr_src(addr, st)}]"
            case Not(arg=arg):
                return f"(not {self.ex(arg, st)})"
            case Neg(arg=arg):
                return f"(-{self.ex(arg, st)})"
            case Arith(op=op, lhs=a, rhs=b):
                sym = {"add": "+", "sub": "-", "mul": "*"}[op]
                return f"({self.ex(a, st)} {sym} {self.ex(b, st)})"
            case DivMod(op=op, lhs=a, rhs=b, site=site):
                x, y = self.ex(a, st), self.ex(b, st)
                if site is None:
                    return f"({x} {'//' if op == 'div' else '%'} {y})"
                return f"_{op}({x}, {y}, {self.fault(site)})"
            case Cmp(op=op, lhs=a, rhs=b):
                sym = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
                return f"({self.ex(a, st)} {sym} {self.ex(b, st)})"
            case IsNone(arg=arg):
                src = self.ex(arg, st)
                if _LITERAL.fullmatch(src):  # an unrolled choose decided here
                    return repr(src == "None")
                return f"({src} is None)"
            case Some(arg=arg):
                return self.ex(arg, st)
            case SetOp(op=op, lhs=a, rhs=b):
                x, y = self.ex(a, st), self.ex(b, st)
                return f"({x} | {y})" if op == "union" else \
                    f"({x} & {y})" if op == "inter" else f"({x} & ~{y})"
            case Bit(elem=elem, values=values):
                return f"(1 << {self._index(self.ex(elem, st), values)})"
            case Member(elem=elem, mask=mask, values=values, known_in=known_in):
                x, m = self.ex(elem, st), self.ex(mask, st)
                if known_in and fold.can_fault(elem) and fold.can_fault(mask):
                    # The element is evaluated first: its error comes first.
                    return f"_member({x}, {m}, {_lo(values)})"
                if known_in:
                    return f"(({m} >> {self._index(x, values)}) & 1 == 1)"
                lo, hi = (int(values[0]), int(values[-1])) if values else (0, -1)
                return f"_in_range_set({x}, {m}, {lo}, {hi})"
            case BoolOp(op=op, args=args):
                return "(" + f" {op} ".join(self.ex(a, st) for a in args) + ")"
            case Ite(cond=c, then=a, else_=b):
                cond = self.ex(c, st)
                return f"({self.ex(a, st)} if {cond} else {self.ex(b, st)})"
            case Checked(value=value, test=test, site=site, keys=keys):
                x, first = self.reusable(self.ex(value, st))
                fire = f"{self.fault(site)}.fire({x}{self._keys(keys, st)})"
                if _LITERAL.fullmatch(x):  # an unrolled choose decided the value here
                    return x if fold.passes(test, ast.literal_eval(x)) else fire
                match test:
                    case RangeTest(lo=lo, hi=hi, optional=optional):
                        if optional:
                            return f"({x} if {first} is None or {lo} <= {x} <= {hi} else {fire})"
                        return f"({x} if {lo} <= {first} <= {hi} else {fire})"
                    case NotNoneTest():
                        return f"({x} if {first} is not None else {fire})"
                    case _:
                        assert_never(test)
            case Guard(cond=c, site=site, body=body):
                cond = self.ex(c, st)
                return f"({self.ex(body, st)} if {cond} else {self.fault(site)}.fire())"
            case Fault(site=site, shown=shown):
                value = "" if shown is None else self.ex(shown, st)
                return f"{self.fault(site)}.fire({value})"
            case Quant():
                return self.quant(e, st)
            case LetIn(var=var, value=value, body=body):
                bound = f"({self.pyname(var.name)} := {self.ex(value, st)})"
                return f"({bound}, {self.ex(body, st)})[1]"
            case Marked(site=site, body=body):
                return f"(_mark({site}) and {self.ex(body, st)})"
            case _:
                assert_never(e)

    def _keys(self, keys: tuple[Expr, ...], st: str) -> str:
        if not keys:
            return ""
        return ", (" + "".join(f"{self.ex(k, st)}, " for k in keys) + ")"

    @staticmethod
    def _index(src: str, values: tuple[Any, ...]) -> str:
        lo = _lo(values)
        return src if lo == 0 else f"({src} - {lo})"

    def quant(self, q: Quant, st: str) -> str:
        if q.sym_sort is not None and q.sym_sort in self.symmetric:
            return self.symmetric_choose(q, st)
        if q.unroll:
            bodies = fold.instances(q)
            match q.kind:
                case "forall":
                    return self.ex(fold.and_(*(b for _, b in bodies)), st)
                case "exists":
                    return self.ex(fold.or_(*(b for _, b in bodies)), st)
                case "count":
                    total = sum(1 for _, b in bodies if fold.is_lit(b, True))
                    parts = [f"({self.ex(b, st)})" for _, b in bodies if not isinstance(b, Lit)]
                    if not parts:
                        return str(total)
                    return f"({total} + {' + '.join(parts)})"
                case "choose":
                    chosen: Expr = Lit(None, q.ty)
                    for combo, b in reversed(bodies):
                        chosen = fold.ite(b, Lit(combo[0], q.ty), chosen, q.ty)
                    return self.ex(chosen, st)
                case _:
                    assert_never(q.kind)
        names = [self.pyname(v.name) for v in q.vars]
        gen = " ".join(f"for {n} in {self.values_name(d)}"
                       for n, d in zip(names, q.domains, strict=True))
        body = self.ex(q.body, st)
        match q.kind:
            case "forall":
                return f"all({body} {gen})"
            case "exists":
                return f"any({body} {gen})"
            case "count":
                return f"sum(1 {gen} if {body})"
            case "choose":
                return f"next(({names[0]} {gen} if {body}), None)"
            case _:
                assert_never(q.kind)

    def symmetric_choose(self, q: Quant, st: str) -> str:
        """``choose`` over a reduced symmetric sort: through the guard, which
        checks during a reduced search that the least value is as good as any
        other."""
        sort = q.sym_sort
        assert sort is not None
        name = self.pyname(q.vars[0].name)
        body = self.ex(q.body, st)
        unmarked = fold.unmark(q.body)
        again = "" if unmarked == q.body else f", (lambda {name}: {self.ex(unmarked, st)})"
        site = ChooseSite(sort, q.domains[0], tuple(s.sort for s in q.scoped),
                          tuple(s.slot_sorts for s in q.scoped), q.span)
        values = []
        for local in q.scoped:
            slots = [self.ex(v, st) for v in local.slots]
            values.append(slots[0] if len(slots) == 1 else "(" + ", ".join(slots) + ",)")
        local_values = "(" + "".join(f"{v}, " for v in values) + ")"
        return (f"_SYM.choose({self.obj(site, 'CS')}, {st}, (lambda {name}: {body}), "
                f"{local_values}{again})")

    # ------------------------------------------------------------ statements

    def ensure_copy(self, out: _Body) -> None:
        if out.copied == "no":
            out.emit("t = list(s)")
        elif out.copied == "maybe":
            out.emit("if t is s: t = list(s)")
        out.copied = "yes"

    def stmts(self, stmts: Sequence[Stmt], out: _Body, disabled: str, st: str = "t") -> None:
        for stmt in stmts:
            self.stmt(stmt, out, disabled, st)

    def block(self, stmts: Sequence[Stmt], out: _Body, disabled: str, st: str = "t") -> None:
        """An indented block (``pass`` when it comes out empty)."""
        out.indent += 1
        n = len(out.lines)
        self.stmts(stmts, out, disabled, st)
        if len(out.lines) == n:
            out.emit("pass")
        out.indent -= 1

    def stmt(self, stmt: Stmt, out: _Body, disabled: str, st: str = "t") -> None:
        match stmt:
            case Let(var=var, value=value):
                out.emit(f"{self.pyname(var.name)} = {self.ex(value, st)}")
            case Store(addr=addr, values=values):
                self.store(addr, values, out)
            case Check(cond=c, site=site, keys=keys):
                out.emit(f"if {self.negated(c, st)}: {self.fault(site)}.fire(None"
                         f"{self._keys(keys, st)})")
            case If(cond=c, then=then, else_=else_):
                before = out.copied
                out.emit(f"if {self.ex(c, st)}:")
                self.block(then, out, disabled, st)
                after_then = out.copied
                out.copied = before
                if else_:
                    out.emit("else:")
                    self.block(else_, out, disabled, st)
                out.copied = _join(after_then, out.copied)
            case For():
                self.loop(stmt, out, disabled, st)
            case Require(cond=c):
                self.unless(c, disabled, out, st)
            case AssertStmt(index=index, cond=c):
                self.unless(c, f"_f += ({index},)", out, st)
            case Mark(site=site):
                out.emit(f"_COV[{site}] += 1")
            case Stop():
                assert out.stop, "a stop outside an action's body"
                out.emit(out.stop.format(state=self.final_state(out)))
            case _:
                assert_never(stmt)

    def unless(self, c: Expr, line: str, out: _Body, st: str) -> None:
        """``line`` where ``c`` is false."""
        if isinstance(c, Lit):
            if not c.value:
                out.emit(line)
            return
        out.emit(f"if {self.negated(c, st)}: {line}")

    def negated(self, c: Expr, st: str) -> str:
        """Python source of ``not c``."""
        if isinstance(c, Not):
            return self.ex(c.arg, st)
        return f"not {self.ex(c, st)}"

    def loop(self, stmt: For, out: _Body, disabled: str, st: str) -> None:
        reorderable = (stmt.sym_sort is not None and stmt.sym_sort in self.symmetric
                       and not stmt.order_free)
        if stmt.unroll and not reorderable:
            for value in stmt.values:
                self.stmts(fold.substitute_stmts(stmt.body, {stmt.var.name: Lit(
                    value, stmt.var.ty)}), out, disabled, st)
            return
        before = out.copied
        writes = _writes(stmt.body)
        if reorderable:
            assert stmt.sym_sort is not None
            domain = self.order_name(stmt.sym_sort)
        else:
            domain = self.values_name(stmt.values)
        out.emit(f"for {self.pyname(stmt.var.name)} in {domain}:")
        if writes and before != "yes":
            out.copied = "maybe"
        self.block(stmt.body, out, disabled, st)
        out.copied = before if not writes or before == "yes" else "maybe"

    def store(self, addr: Addr, values: tuple[Expr, ...], out: _Body) -> None:
        if addr.terms:
            # Computed once: the writes (and a wide value's slice) use it.
            name = self.tmp()
            out.emit(f"{name} = {self.addr_src(addr, 't')}")
            base = name
        else:
            base = str(addr.base)
        srcs = [self.ex(v, "t") for v in values]
        self.ensure_copy(out)
        if len(srcs) == 1:
            out.emit(f"t[{base}] = {srcs[0]}")
            return
        # A tuple is evaluated whole before the slice is written: the values
        # of a record stored whole see the state before the store.
        end = f"{base} + {len(srcs)}" if addr.terms else str(addr.base + len(srcs))
        out.emit(f"t[{base}:{end}] = ({', '.join(srcs)},)")

    # ------------------------------------------------------------ functions

    def exec(self, source: str) -> dict[str, Any]:
        self.sources.append(source)
        code = compile(source, f"<rmapcheck {self.model.name}>", "exec")
        exec(code, self.ns)
        return self.ns

    @staticmethod
    def final_state(out: _Body) -> str:
        return {"no": "s", "yes": "tuple(t)", "maybe": "(t if t is s else tuple(t))"}[out.copied]

    def compile_init(self) -> Callable[[list[Any]], tuple[State, tuple[int, ...]]]:
        """``init(slots) -> (state, failed assert indices)``; a false requires
        raises ``Disabled``."""
        out = _Body(1, "yes")
        out.emit("s = None")
        out.emit("_f = ()")
        self.stmts(fold.unmark_stmts(self.core.init), out, "raise Disabled()")
        out.emit("return tuple(t), _f")
        src = "def _init(t):\n" + "\n".join(out.lines) + "\n"
        return self.exec(src)["_init"]  # type: ignore[no-any-return]

    def compile_expr_fn(self, name: str, params: Sequence[Var],
                        value: Sequence[Expr]) -> Callable[..., Any]:
        """``fn(s, *params)``: the value in state ``s`` (a tuple when it has
        more than one slot)."""
        args = "".join(f", {self.pyname(p.name)}" for p in params)
        fn_name = f"_x{next(self._counter)}_{re.sub(r'[^0-9A-Za-z_]', '_', name)}"
        srcs = [self.ex(v, "s") for v in value]
        result = srcs[0] if len(srcs) == 1 else "(" + ", ".join(srcs) + ",)"
        src = f"def {fn_name}(s{args}):\n    return {result}\n"
        return self.exec(src)[fn_name]  # type: ignore[no-any-return]

    def compile_action(self, plan: ActionPlan) -> tuple[Callable[[State, list[Any]], None],
                                                        Callable[..., Any]]:
        """``expand(s, out)`` appends ``(iid, next state, failed asserts)`` for
        every enabled instance; ``one(s, *args)`` runs one instance and returns
        ``(next state, failed asserts)`` or ``None``."""
        ident = f"{re.sub(r'[^0-9A-Za-z_]', '_', plan.name)}_{plan.index}"
        args = "".join(f", {self.pyname(p.name)}" for p in plan.params)
        carried = "".join(f", {self.pyname(v.name)}" for v in plan.carried)

        # rest_<name>(s, _out, _iid, params..., carried lets...)
        body = _Body(1, "no", "_out.append((_iid, {state}, _f)); return")
        body.emit("t = s")
        body.emit("_f = ()")
        self.stmts(plan.rest, body, "return")
        body.emit(f"_out.append((_iid, {self.final_state(body)}, _f))")
        src = [f"def rest_{ident}(s, _out, _iid{args}{carried}):"] + body.lines

        # expand_<name>(s, _out): unrolled over the parameter values when
        # there are few combinations (guards the values decide fold away at
        # compile time and prune whole subtrees), else nested loops.
        loop = None
        if plan.count <= UNROLL_MAX_COMBOS:
            loop = self._expand_unrolled(ident, plan)
        if loop is None:
            loop = self._expand_loops(ident, plan, args)
        src += [f"def expand_{ident}(s, _out):"] + loop.lines

        # one_<name>(s, params...) -> (state, failed) | None
        one = _Body(1, "no", "return {state}, _f")
        one.emit("t = s")
        one.emit("_f = ()")
        self.stmts(plan.body, one, "return None")
        one.emit(f"return {self.final_state(one)}, _f")
        src += [f"def one_{ident}(s{args}):"] + one.lines
        ns = self.exec("\n".join(src) + "\n")
        return ns[f"expand_{ident}"], ns[f"one_{ident}"]

    def _expand_loops(self, ident: str, plan: ActionPlan, args: str) -> _Body:
        """The parameter loops, each prefix item at its loop level."""
        loop = _Body(1, "no")
        loop.emit("t = s")
        iid_terms = []
        placed = 0
        for depth in range(len(plan.params) + 1):
            if depth > 0:
                p = plan.params[depth - 1]
                name = self.pyname(p.name)
                domain = plan.domains[depth - 1]
                loop.emit(f"for {name} in {self.values_name(domain)}:")
                loop.indent += 1
                mult = plan.multipliers[depth - 1]
                idx = self._index(name, domain)
                iid_terms.append(idx if mult == 1 else f"{idx}*{mult}")
            skip = "continue" if depth > 0 else "return"
            while placed < len(plan.prefix) and plan.levels[placed] <= depth:
                # Prefix items read s: no write has happened yet.
                self.stmt(plan.prefix[placed], loop, skip, "s")
                placed += 1
        iid = " + ".join([str(plan.iid_base)] + iid_terms)
        carried = "".join(f", {self.pyname(v.name)}" for v in plan.carried)
        loop.emit(f"rest_{ident}(s, _out, {iid}{args}{carried})")
        return loop

    def _expand_unrolled(self, ident: str, plan: ActionPlan) -> _Body | None:
        """Straight-line code over every parameter combination: a prefix
        ``requires`` becomes an ``if`` around the subtree below it, or
        disappears (or prunes the subtree) when the parameter values decide
        it. None when the code would be too large."""
        out = _Body(1, "no")
        out.emit("t = s")
        size = [0]

        def place(depth: int, env: dict[str, Expr], placed: int, iid: int) -> None:
            opened: list[int] = []  # line counts at each opened if
            # A run of requires becomes one `if` of their conjunction, which
            # short-circuits as nested ifs would: a long conjunction split into
            # many requires must not nest past Python's 100 indentation levels.
            conds: list[str] = []

            def open_if() -> None:
                if conds:
                    src = " and ".join(conds)
                    out.emit(f"if {src}:")
                    size[0] += len(src)
                    out.indent += 1
                    opened.append(len(out.lines))
                    conds.clear()

            while placed < len(plan.prefix) and plan.levels[placed] <= depth:
                (item,) = fold.substitute_stmts((plan.prefix[placed],), env)
                placed += 1
                if isinstance(item, Require):
                    c = item.cond
                    if isinstance(c, Lit):
                        if c.value:
                            continue
                        # Never enabled below here; the requires before this
                        # one still run (their errors and coverage marks count).
                        open_if()
                        break
                    conds.append(f"({self.ex(c, 's')})")
                else:
                    open_if()
                    assert isinstance(item, Let)
                    env = dict(env)
                    if isinstance(item.value, Lit):
                        env[item.var.name] = item.value
                    else:
                        self.stmt(item, out, "pass", "s")
                        env[item.var.name] = item.var
            else:
                open_if()
                if depth == len(plan.params):
                    values = "".join(f", {self.ex(env[p.name], 's')}" for p in plan.params)
                    lets = "".join(f", {self.ex(env.get(v.name, v), 's')}"
                                   for v in plan.carried)
                    out.emit(f"rest_{ident}(s, _out, {iid}{values}{lets})")
                    size[0] += 40
                else:
                    p = plan.params[depth]
                    for index, value in enumerate(plan.domains[depth]):
                        if size[0] > UNROLL_MAX_EXPAND_CHARS:
                            return
                        inner = dict(env)
                        inner[p.name] = Lit(value, p.ty)
                        place(depth + 1, inner, placed, iid + index * plan.multipliers[depth])
            for count in reversed(opened):
                if len(out.lines) == count:
                    out.emit("pass")
                out.indent -= 1

        place(0, {}, 0, plan.iid_base)
        if size[0] > UNROLL_MAX_EXPAND_CHARS:
            return None
        return out


def _lo(values: tuple[Any, ...]) -> int:
    """The value of index 0 among ``values`` (``False`` counts as 0)."""
    return 0 if not values or isinstance(values[0], bool) else int(values[0])


def _writes(stmts: Iterable[Stmt]) -> bool:
    for s in stmts:
        match s:
            case Store():
                return True
            case If(then=then, else_=else_):
                if _writes(then) or _writes(else_):
                    return True
            case For(body=body):
                if _writes(body):
                    return True
            case Let() | Check() | Require() | AssertStmt() | Mark() | Stop():
                pass
            case _:
                assert_never(s)
    return False
