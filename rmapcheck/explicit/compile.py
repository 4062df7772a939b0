"""Compiles the IR of one instance to Python functions over flat state tuples.

The explicit engine runs every action on every reachable state, so it must not
walk the IR tree per state. Instead this module generates Python source once
per instance and ``exec``s it:

- every state read becomes ``t[<address>]``, where the address is folded to a
  constant when its keys are literals, constants or unrolled quantifier
  variables, and otherwise is ``base + key*stride`` with precomputed numbers;
- a quantifier over a small domain is unrolled into ``a and b and ...`` with its
  variable bound to constants (so the reads inside fold to constant slots);
  a large one becomes a generator expression over a precomputed value tuple;
- an action becomes ``expand_<name>(s, out)``: nested loops over its parameters,
  with every leading ``requires``/``let`` hoisted to the outermost loop whose
  parameters it uses (so ``requires alive[p]`` prunes all the other parameter
  combinations at once), calling ``rest_<name>`` for the remaining body, which
  copies the state on its first write only;
- checks that the semantics needs (a value stored outside its sort, a key
  outside its sort, a field of ``none``, division by zero) are emitted only
  where the static sort does not already guarantee them.

Semantics decided here (the reference semantics of every engine):
- ``div``/``mod`` are floor division and modulo, as Python's ``//`` and ``%``
  (``-7 div 2 = -4``, ``-7 mod 2 = 1``); a zero divisor is a spec run-time error;
- ``x in S`` for an integer ``x`` outside the element sort is false;
- a set literal with an element outside the element sort is a run-time error;
- quantifiers, ``and``/``or``/``implies`` evaluate left to right and stop early,
  so a run-time error in a part that is not needed is not reported;
- within an action, ``assert`` records a violation and execution goes on; a
  later ``requires`` that is false still disables the step (no step, no
  violation).
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, NoReturn, assert_never

from rmapcheck import ir
from rmapcheck.errors import SpecError, SpecRuntimeError
from rmapcheck.explicit.symmetry import ChooseSite, SymmetryGuard, mentions
from rmapcheck.instance import Instance
from rmapcheck.ir_walk import free_locals, show, stmt_exprs, walk_stmts

State = tuple[Any, ...]

# Unrolling a quantifier or loop copies its body once per value: worth it for
# the small domains of a model (it turns every read into a constant slot), but
# bounded so that generated code stays small enough to compile quickly.
UNROLL_MAX_VALUES = 64
UNROLL_MAX_CHARS = 12_000
# An action's parameter loops are unrolled up to this many combinations (and
# this much generated code for the hoisted tests).
UNROLL_MAX_COMBOS = 4096
UNROLL_MAX_EXPAND_CHARS = 400_000


# ---------------------------------------------------------------- compiled code


class Code:
    """A compiled expression: Python source, and its value when known at compile
    time; a bound local also carries its sort (the symmetry guard needs the
    locals in scope of each ``choose``)."""

    __slots__ = ("const", "sort", "src", "value")

    def __init__(self, src: str, const: bool = False, value: Any = None,
                 sort: ir.Sort | None = None) -> None:
        self.src = src
        self.const = const
        self.value = value
        self.sort = sort

    def __repr__(self) -> str:
        return f"Code({self.src!r})"


def _conjuncts(expr: ir.Expr) -> list[ir.Expr]:
    """``a and b and c`` as ``[a, b, c]`` (left to right)."""
    if isinstance(expr, ir.Binary) and expr.op == "and":
        return _conjuncts(expr.lhs) + _conjuncts(expr.rhs)
    return [expr]


def lit(value: Any) -> str:
    """Python source for a constant slot value (bool, int, None, tuples of them)."""
    if isinstance(value, tuple):
        inner = ", ".join(lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return f"({value})"
    return repr(value)


def K(value: Any, sort: ir.Sort | None = None) -> Code:
    return Code(lit(value), True, value, sort)


def bound(code: Code, sort: ir.Sort) -> Code:
    """``code`` as the value of a local of ``sort``."""
    return Code(code.src, code.const, code.value, sort)


# ---------------------------------------------------------------- run-time errors


class RuntimeFault:
    """One place in the spec where a run-time error can happen; generated code
    calls ``fire`` with the offending value (and key values, for the message)."""

    def __init__(self, instance: Instance, span: ir.Span, template: str,
                 sort: ir.Sort | None = None, var: str | None = None,
                 path: tuple[str, ...] = ()) -> None:
        self.instance = instance
        self.span = span
        self.template = template
        self.sort = sort
        self.var = var
        self.path = path

    def describe_sort(self) -> str:
        sort = self.sort
        if isinstance(sort, ir.OptionSort):
            sort = sort.inner
        if isinstance(sort, ir.RangeSort):
            lo, hi = self.instance.range_bounds(sort)
            return f"{sort.name} ({lo} .. {hi})"
        return str(sort)

    def fire(self, value: Any = None, keys: tuple[Any, ...] = ()) -> NoReturn:
        where = ""
        if self.var is not None:
            # Keys are passed where computing them costs nothing on the normal
            # path (an assignment's check); a bad key itself is shown as the value.
            if keys:
                try:
                    where = self.instance.format_key(self.var, tuple(keys))
                except (KeyError, IndexError):
                    where = f"{self.var}[{', '.join(map(_show_value, keys))}]"
            else:
                where = self.var
            where += "".join(f".{p}" for p in self.path)
        message = self.template.format(value=_show_value(value), sort=self.describe_sort(),
                                       where=where)
        raise SpecRuntimeError(message, self.span)


def _show_value(value: Any) -> str:
    if value is None:
        return "none"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _div(a: int, b: int, fault: RuntimeFault) -> int:
    if b == 0:
        fault.fire(a)
    return a // b


def _mod(a: int, b: int, fault: RuntimeFault) -> int:
    if b == 0:
        fault.fire(a)
    return a % b


def _unwrap_rec(value: tuple[Any, ...], fault: RuntimeFault) -> tuple[Any, ...]:
    if not value[0]:
        fault.fire()
    return value[1:]


def _field_opt(value: tuple[Any, ...], offset: int, width: int,
               fault: RuntimeFault) -> Any:
    """Field at ``offset`` of an optional record value (presence slot first)."""
    if not value[0]:
        fault.fire()
    return value[1 + offset] if width == 1 else value[1 + offset:1 + offset + width]


def _bit(value: int, lo: int, hi: int, fault: RuntimeFault) -> int:
    if value.__class__ is int and lo <= value <= hi:
        return 1 << (value - lo)
    fault.fire(value)


def _in_range_set(value: int, mask: int, lo: int, hi: int) -> bool:
    return lo <= value <= hi and (mask >> (value - lo)) & 1 == 1


def _check_slots(value: tuple[Any, ...], slot_sorts: tuple[ir.Sort, ...], instance: Instance,
                 fault: RuntimeFault, keys: tuple[Any, ...]) -> None:
    """A record-shaped value whose fields may be outside their sorts."""
    for slot, sort in zip(value, slot_sorts, strict=True):
        if not instance.contains(sort, slot):
            fault.fire(slot, keys)


class Disabled(Exception):
    """Raised by a compiled ``requires`` where a ``return`` cannot reach (init)."""


# ---------------------------------------------------------------- the compiler


Copied = Literal["no", "yes", "maybe"]

_SIMPLE = re.compile(r"[A-Za-z_]\w*|[st]\[\d+\]")

_OPERATORS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "lt": ("<", operator.lt), "le": ("<=", operator.le), "gt": (">", operator.gt),
    "ge": (">=", operator.ge), "add": ("+", operator.add), "sub": ("-", operator.sub),
    "mul": ("*", operator.mul), "union": ("|", operator.or_), "inter": ("&", operator.and_),
}


def _join(a: Copied, b: Copied) -> Copied:
    return a if a == b else "maybe"


class _Body:
    """Lines of one generated function, and whether ``t`` is still ``s``."""

    def __init__(self, indent: int, copied: Copied) -> None:
        self.lines: list[str] = []
        self.indent = indent
        self.copied: Copied = copied

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)


class Compiler:
    """Generates and ``exec``s the code of one instance. Used by ``Machine``."""

    def __init__(self, instance: Instance, symmetric: Iterable[ir.RangeSort] = (),
                 unproven_loops: frozenset[ir.For] = frozenset()) -> None:
        """``symmetric``: the sorts whose ``choose`` goes through the symmetry
        guard; ``unproven_loops``: loops over them that iterate in an order
        the machine can change (to check that the order does not matter)."""
        self.instance = instance
        self.model = instance.model
        self.symmetric = frozenset(symmetric)
        self.unproven_loops = unproven_loops
        self.guard = SymmetryGuard()
        self.orders: dict[ir.RangeSort, list[Any]] = {}
        self.ns: dict[str, Any] = {
            "_div": _div, "_mod": _mod,
            "_unwrap_rec": _unwrap_rec, "_field_opt": _field_opt, "_bit": _bit,
            "_in_range_set": _in_range_set, "_check_slots": _check_slots,
            "_INSTANCE": instance, "Disabled": Disabled, "_SYM": self.guard,
        }
        self._names: dict[int, str] = {}
        self._keep: list[Any] = []  # objects named in ns (their ids must stay unique)
        self._counter = itertools.count()
        self._pynames: dict[str, str] = {}
        self.asserts: list[ir.Assert] = []
        self._assert_index: dict[int, int] = {}
        self.sources: list[str] = []

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

    def values_name(self, sort: ir.Sort) -> str:
        values = self.instance.values(sort)
        return self.obj(values, "V")

    def order_name(self, sort: ir.RangeSort) -> str:
        """A list of the sort's values that the machine may reorder."""
        order = self.orders.get(sort)
        if order is None:
            order = self.orders[sort] = list(self.instance.values(sort))
        return self.obj(order, "ORD")

    def fault(self, span: ir.Span, template: str, sort: ir.Sort | None = None,
              var: str | None = None, path: tuple[str, ...] = ()) -> str:
        return self.obj(RuntimeFault(self.instance, span, template, sort, var, path), "E")

    def pyname(self, local: ir.Local) -> str:
        name = self._pynames.get(local.name)
        if name is None:
            clean = re.sub(r"\W", "_", local.name)
            name = f"L{next(self._counter)}_{clean}"
            self._pynames[local.name] = name
        return name

    def tmp(self) -> str:
        return f"_t{next(self._counter)}"

    def assert_index(self, stmt: ir.Assert) -> int:
        index = self._assert_index.get(id(stmt))
        if index is None:
            index = len(self.asserts)
            self.asserts.append(stmt)
            self._assert_index[id(stmt)] = index
            self._keep.append(stmt)
        return index

    # ------------------------------------------------------------ sorts

    def lo(self, sort: ir.Sort) -> int:
        if isinstance(sort, ir.RangeSort):
            return self.instance.range_bounds(sort)[0]
        return 0

    def index_src(self, sort: ir.Sort, src: str) -> str:
        """Source for the position of a value among ``values(sort)``."""
        lo = self.lo(sort)
        return src if lo == 0 else f"({src} - {lo})"

    def slot_sorts(self, sort: ir.Sort) -> tuple[ir.Sort, ...]:
        """The scalar sort of every slot of a value of ``sort``."""
        match sort:
            case ir.RecordSort(fields=fields):
                out: tuple[ir.Sort, ...] = ()
                for _, field_sort in fields:
                    out += self.slot_sorts(field_sort)
                return out
            case ir.OptionSort(inner=ir.RecordSort() as rec):
                return (ir.BOOL,) + self.slot_sorts(rec)
            case _:
                return (sort,)

    def trusted(self, expr: ir.Expr, target: ir.Sort) -> bool:
        """Whether every value ``expr`` can have belongs to ``target``, so that
        storing it needs no run-time check."""
        match target:
            case ir.IntSort() | ir.BoolSort() | ir.EnumSort() | ir.SetSort():
                # Enum and set values are only built by enum literals and set
                # operations (set literals check their elements), and the
                # front end never mixes these with integers.
                return True
            case _:
                pass
        match expr:
            case ir.IntLit(value=value):
                return self.instance.contains(target, value)
            case ir.ConstRef(name=name):
                return self.instance.contains(target, self.instance.consts[name])
            case ir.NoneLit():
                return isinstance(target, ir.OptionSort)
            case ir.Wrap(arg=arg):
                return isinstance(target, ir.OptionSort) and self.trusted(arg, target.inner)
            case ir.Unwrap(arg=arg):
                return self.trusted(arg, ir.OptionSort(target))
            case ir.Ite(then=then, else_=else_):
                return self.trusted(then, target) and self.trusted(else_, target)
            case ir.RecordLit(sort=sort, fields=fields):
                return sort == target and all(
                    self.trusted(value, sort.field_sort(name)) for name, value in fields)
            case ir.Field(base=base):
                return expr.sort == target and self.trusted(base, base.sort)
            case ir.Unary() | ir.Binary():
                # Arithmetic is Int whatever the front end labels it; only its
                # Bool-valued forms are trivially in their sort (handled above).
                return False
            case ir.Quant(kind=kind, vars=vars_):
                return kind == "choose" and target == ir.OptionSort(vars_[0].sort)
            case ir.StateRead() | ir.Local() | ir.BoolLit() | ir.EnumLit() | ir.SetLit():
                return expr.sort == target
            case _:
                assert_never(expr)

    def contains_src(self, sort: ir.Sort, src: str) -> str:
        """Source for "``src`` (a scalar) belongs to ``sort``"."""
        match sort:
            case ir.RangeSort():
                lo, hi = self.instance.range_bounds(sort)
                # Values reaching here are ints: the front end never mixes
                # Bool into integer positions.
                return f"({lo} <= {src} <= {hi})"
            case ir.OptionSort(inner=inner):
                return f"({src} is None or {self.contains_src(inner, src)})"
            case _:
                return f"_INSTANCE.contains({self.obj(sort, 'S')}, {src})"

    # ------------------------------------------------------------ expressions

    def expr(self, e: ir.Expr, env: Mapping[str, Code], st: str) -> Code:
        """Compiles ``e``; ``env`` maps local names to code, ``st`` names the state."""
        match e:
            case ir.BoolLit(value=value):
                return K(bool(value))
            case ir.IntLit(value=value, sort=sort):
                if isinstance(sort, ir.RangeSort) and not self.instance.contains(sort, value):
                    fault = self.fault(e.span, "value {value} is outside sort {sort}", sort)
                    return Code(f"{fault}.fire({value})")
                return K(value)
            case ir.EnumLit():
                return K(e.index)
            case ir.NoneLit(sort=sort):
                if isinstance(sort.inner, ir.RecordSort):
                    return K(self.instance.default(sort))
                return K(None)
            case ir.ConstRef(name=name):
                return K(self.instance.consts[name])
            case ir.Local(name=name):
                code = env.get(name)
                if code is None:
                    raise SpecError(f"internal: unbound local {name}", e.span)
                return code
            case ir.StateRead() | ir.Field() if self.is_place(e):
                return self.read_place(e, env, st)
            case ir.StateRead():
                raise AssertionError("a state read is always a place")
            case ir.Field(base=base, name=name, sort=sort):
                code = self.expr(base, env, st)
                base_sort = base.sort
                width = self.instance.width(sort)
                if isinstance(base_sort, ir.OptionSort):
                    record = base_sort.inner
                    assert isinstance(record, ir.RecordSort)
                    offset = self.instance.field_offset(record, name)
                    if code.const and not code.value[0]:
                        fault = self.fault(e.span, f"reading field {name} of none")
                        return Code(f"{fault}.fire()")
                    if code.const:
                        sl = code.value[1 + offset:1 + offset + width]
                        return K(sl[0] if width == 1 else sl)
                    fault = self.fault(e.span, f"reading field {name} of none")
                    return Code(f"_field_opt({code.src}, {offset}, {width}, {fault})")
                assert isinstance(base_sort, ir.RecordSort)
                offset = self.instance.field_offset(base_sort, name)
                if code.const:
                    sl = code.value[offset:offset + width]
                    return K(sl[0] if width == 1 else sl)
                if width == 1:
                    return Code(f"{code.src}[{offset}]")
                return Code(f"{code.src}[{offset}:{offset + width}]")
            case ir.Unary(op=op, arg=arg):
                a = self.expr(arg, env, st)
                if op == "not":
                    return K(not a.value) if a.const else Code(f"(not {a.src})")
                if op == "neg":
                    return K(-a.value) if a.const else Code(f"(-{a.src})")
                assert_never(op)
            case ir.Binary():
                return self.binary(e, env, st)
            case ir.Ite(cond=cond, then=then, else_=else_):
                c = self.expr(cond, env, st)
                if c.const:
                    return self.expr(then if c.value else else_, env, st)
                a = self.expr(then, env, st)
                b = self.expr(else_, env, st)
                return Code(f"({a.src} if {c.src} else {b.src})")
            case ir.Quant():
                return self.quant(e, env, st)
            case ir.RecordLit(sort=sort, fields=fields):
                parts = []
                consts: list[Any] = []
                all_const = True
                for name, field_expr in fields:
                    field_sort = sort.field_sort(name)
                    code = self.expr(field_expr, env, st)
                    if self.instance.width(field_sort) == 1:
                        parts.append(code.src)
                        consts.append(code.value)
                    else:
                        parts.append(f"*{code.src}")
                        if code.const:
                            consts.extend(code.value)
                    all_const = all_const and code.const
                if all_const:
                    return K(tuple(consts))
                return Code(f"({', '.join(parts)},)")
            case ir.SetLit(sort=sort, elems=elems):
                mask = 0
                parts = []
                lo, hi = self._elem_bounds(sort.elem)
                for elem in elems:
                    code = self.expr(elem, env, st)
                    if code.const:
                        if self.instance.contains(sort.elem, code.value):
                            mask |= 1 << self.instance.index_of(sort.elem, code.value)
                            continue
                        fault = self.fault(elem.span, "set element {value} is outside sort {sort}",
                                           sort.elem)
                        parts.append(f"{fault}.fire({code.src})")
                    elif self.trusted(elem, sort.elem):
                        parts.append(f"(1 << {self.index_src(sort.elem, code.src)})")
                    else:
                        fault = self.fault(elem.span, "set element {value} is outside sort {sort}",
                                           sort.elem)
                        parts.append(f"_bit({code.src}, {lo}, {hi}, {fault})")
                if not parts:
                    return K(mask)
                if mask:
                    parts.insert(0, str(mask))
                return Code(f"({' | '.join(parts)})")
            case ir.Wrap(arg=arg, sort=sort):
                code = self.expr(arg, env, st)
                if isinstance(sort.inner, ir.RecordSort):
                    if code.const:
                        return K((True,) + tuple(code.value))
                    return Code(f"(True, *{code.src})")
                return code
            case ir.Unwrap(arg=arg, sort=sort):
                code = self.expr(arg, env, st)
                fault = self.fault(e.span, "this value is none, where a {sort} is needed",
                                   sort)
                if isinstance(sort, ir.RecordSort):
                    if code.const:
                        if code.value[0]:
                            return K(tuple(code.value[1:]))
                        return Code(f"{fault}.fire()")
                    return Code(f"_unwrap_rec({code.src}, {fault})")
                if code.const:
                    if code.value is not None:
                        return code
                    return Code(f"{fault}.fire()")
                # Inline: unwraps are frequent (every let of an optional id).
                x, bind = self.reusable(code.src)
                return Code(f"({x} if {bind} is not None else {fault}.fire())")
            case _:
                assert_never(e)

    def reusable(self, src: str) -> tuple[str, str]:
        """``(use, first use)`` for evaluating ``src`` once and using it twice:
        a name or a constant slot read is simply repeated; anything else goes
        through an assignment expression to a fresh temporary (evaluated at
        ``first use``, which must come first in evaluation order)."""
        if _SIMPLE.fullmatch(src):
            return src, src
        name = self.tmp()
        return name, f"({name} := {src})"

    def _elem_bounds(self, sort: ir.Sort) -> tuple[int, int]:
        values = self.instance.values(sort)
        return (values[0], values[-1]) if values else (0, -1)

    def binary(self, e: ir.Binary, env: Mapping[str, Code], st: str) -> Code:
        op = e.op
        a = self.expr(e.lhs, env, st)
        # Short-circuit operators fold before compiling the right side, which
        # may not be needed at all.
        if op == "and":
            if a.const and not a.value:
                return K(False)
            b = self.expr(e.rhs, env, st)
            if a.const:
                return b
            if b.const and b.value:
                return a
            return Code(f"({a.src} and {b.src})")
        if op == "or":
            if a.const and a.value:
                return K(True)
            b = self.expr(e.rhs, env, st)
            if a.const:
                return b
            if b.const and not b.value:
                return a
            return Code(f"({a.src} or {b.src})")
        if op == "implies":
            if a.const and not a.value:
                return K(True)
            b = self.expr(e.rhs, env, st)
            if a.const:
                return b
            if b.const and b.value:
                return K(True)
            return Code(f"(not {a.src} or {b.src})")
        if op in ("eq", "ne"):
            presence = self.none_test(e, env, st)
            if presence is not None:
                return presence
        b = self.expr(e.rhs, env, st)
        both = a.const and b.const
        match op:
            case "iff" | "eq":
                if both:
                    return K(a.value == b.value)
                if b.const and b.value is None:
                    return Code(f"({a.src} is None)")
                if a.const and a.value is None:
                    return Code(f"({b.src} is None)")
                return Code(f"({a.src} == {b.src})")
            case "ne":
                if both:
                    return K(a.value != b.value)
                if b.const and b.value is None:
                    return Code(f"({a.src} is not None)")
                if a.const and a.value is None:
                    return Code(f"({b.src} is not None)")
                return Code(f"({a.src} != {b.src})")
            case "lt" | "le" | "gt" | "ge" | "add" | "sub" | "mul" | "union" | "inter":
                sym, fn = _OPERATORS[op]
                if both:
                    return K(fn(a.value, b.value))
                return Code(f"({a.src} {sym} {b.src})")
            case "diff":
                if both:
                    return K(a.value & ~b.value)
                return Code(f"({a.src} & ~{b.src})")
            case "div" | "mod":
                if b.const and b.value != 0:
                    if a.const:
                        return K(a.value // b.value if op == "div" else a.value % b.value)
                    return Code(f"({a.src} {'//' if op == 'div' else '%'} {b.src})")
                fault = self.fault(e.span, "division by zero (dividing {value})")
                return Code(f"_{op}({a.src}, {b.src}, {fault})")
            case "in":
                rhs_sort = e.rhs.sort
                assert isinstance(rhs_sort, ir.SetSort)
                elem = rhs_sort.elem
                if a.const:
                    if not self.instance.contains(elem, a.value):
                        return K(False)
                    bit = 1 << self.instance.index_of(elem, a.value)
                    if b.const:
                        return K(b.value & bit != 0)
                    return Code(f"({b.src} & {bit} != 0)")
                if self.trusted(e.lhs, elem):
                    return Code(f"(({b.src} >> {self.index_src(elem, a.src)}) & 1 == 1)")
                lo, hi = self._elem_bounds(elem)
                return Code(f"_in_range_set({a.src}, {b.src}, {lo}, {hi})")
            case "and" | "or" | "implies":
                raise AssertionError(op)
            case _:
                assert_never(op)

    def none_test(self, e: ir.Binary, env: Mapping[str, Code], st: str) -> Code | None:
        """``r == none`` / ``r != none`` for an optional record stored in the
        state: one read of its presence slot instead of comparing all slots."""
        for side, other in ((e.lhs, e.rhs), (e.rhs, e.lhs)):
            if isinstance(other, ir.NoneLit) and isinstance(other.sort.inner, ir.RecordSort) \
                    and self.is_place(side):
                present = self.read_place(side, env, st, presence_only=True)
                return Code(f"(not {present.src})" if e.op == "eq" else present.src)
        return None

    # ------------------------------------------------------------ places

    def is_place(self, e: ir.Expr) -> bool:
        """A state read, possibly with fields: compiled to direct slot addresses."""
        while isinstance(e, ir.Field):
            e = e.base
        return isinstance(e, ir.StateRead)

    def address(self, var: str, keys: tuple[ir.Expr, ...], env: Mapping[str, Code], st: str,
                fault_span: ir.Span) -> tuple[int, list[str], list[str]]:
        """First slot of ``var[keys]``: a constant part, variable terms, and the
        source of each key (for error messages)."""
        rng = self.instance.layout[var]
        base = rng.offset
        terms: list[str] = []
        key_srcs: list[str] = []
        codes = [self.expr(key, env, st) for key in keys]
        for key, key_sort, stride, code in zip(keys, rng.var.keys, rng.strides, codes, strict=True):
            step = stride * rng.width
            key_srcs.append(code.src)
            if code.const:
                if self.instance.contains(key_sort, code.value):
                    base += self.instance.index_of(key_sort, code.value) * step
                    continue
                fault = self.fault(fault_span, "key {value} is outside sort {sort} in {where}",
                                   key_sort, var)
                terms.append(f"{fault}.fire({code.src})")
                continue
            if self.trusted(key, key_sort):
                index = self.index_src(key_sort, code.src)
            elif isinstance(key_sort, ir.RangeSort):
                lo, hi = self.instance.range_bounds(key_sort)
                fault = self.fault(fault_span, "key {value} is outside sort {sort} in {where}",
                                   key_sort, var)
                x, bind = self.reusable(code.src)
                index = f"(({x} - {lo}) if {lo} <= {bind} <= {hi} else {fault}.fire({x}))"
            else:
                index = code.src  # Bool and enum keys are always in their sort
            terms.append(index if step == 1 else f"{index}*{step}")
        return base, terms, key_srcs

    @staticmethod
    def addr_src(base: int, terms: list[str], extra: int = 0) -> str:
        total = base + extra
        if not terms:
            return str(total)
        parts = ([str(total)] if total else []) + terms
        return " + ".join(parts)

    def read_place(self, e: ir.Expr, env: Mapping[str, Code], st: str,
                   presence_only: bool = False) -> Code:
        """Reads a state location; ``presence_only`` reads just the presence
        slot of an optional record."""
        fields: list[ir.Field] = []
        node = e
        while isinstance(node, ir.Field):
            fields.append(node)
            node = node.base
        assert isinstance(node, ir.StateRead)
        base, terms, _ = self.address(node.var, node.keys, env, st, node.span)
        sort: ir.Sort = self.instance.layout[node.var].var.value
        offset = 0
        checks: list[tuple[int, ir.Field]] = []  # presence slots to test, outermost first
        for f in reversed(fields):
            if isinstance(sort, ir.OptionSort):
                record = sort.inner
                assert isinstance(record, ir.RecordSort)
                checks.append((offset, f))
                offset += 1
            else:
                record = sort
            assert isinstance(record, ir.RecordSort)
            offset += self.instance.field_offset(record, f.name)
            sort = record.field_sort(f.name)
        width = 1 if presence_only else self.instance.width(sort)
        addr = self.addr_src(base, terms, offset)
        if width == 1:
            src = f"{st}[{addr}]"
        elif terms:
            src = f"tuple({st}[{addr}:{self.addr_src(base, terms, offset + width)}])"
        else:
            src = f"tuple({st}[{base + offset}:{base + offset + width}])"
        for check_offset, f in reversed(checks):
            fault = self.fault(f.span, f"reading field {f.name} of none")
            src = f"({src} if {st}[{self.addr_src(base, terms, check_offset)}] else {fault}.fire())"
        return Code(src)

    # ------------------------------------------------------------ quantifiers

    def quant(self, e: ir.Quant, env: Mapping[str, Code], st: str) -> Code:
        if e.kind == "choose" and e.vars[0].sort in self.symmetric:
            return self.symmetric_choose(e, env, st)
        domains = [self.instance.values(v.sort) for v in e.vars]
        size = 1
        for d in domains:
            size *= len(d)
        if size <= UNROLL_MAX_VALUES:
            probe_env = dict(env)
            for v in e.vars:
                probe_env[v.name] = Code(self.pyname(v), sort=v.sort)
            probe = self.expr(e.body, probe_env, st)
            if size * len(probe.src) <= UNROLL_MAX_CHARS:
                return self.quant_unrolled(e, env, st, domains)
        return self.quant_loop(e, env, st)

    def quant_unrolled(self, e: ir.Quant, env: Mapping[str, Code], st: str,
                       domains: list[tuple[Any, ...]]) -> Code:
        bodies: list[tuple[tuple[Any, ...], Code]] = []
        for combo in itertools.product(*domains):
            inner = dict(env)
            for v, value in zip(e.vars, combo, strict=True):
                inner[v.name] = K(value, v.sort)
            bodies.append((combo, self.expr(e.body, inner, st)))
        match e.kind:
            case "forall":
                if any(c.const and not c.value for _, c in bodies):
                    # A constant false conjunct decides, but the ones before it
                    # still run (left to right), as the loop form would.
                    parts = []
                    for _, c in bodies:
                        if c.const and not c.value:
                            break
                        if not c.const:
                            parts.append(c.src)
                    return Code(f"({' and '.join(parts)} and False)") if parts else K(False)
                parts = [c.src for _, c in bodies if not c.const]
                return Code(f"({' and '.join(parts)})") if parts else K(True)
            case "exists":
                parts = []
                for _, c in bodies:
                    if c.const and c.value:
                        return Code(f"({' or '.join(parts)} or True)") if parts else K(True)
                    if not c.const:
                        parts.append(c.src)
                return Code(f"({' or '.join(parts)})") if parts else K(False)
            case "count":
                total = sum(1 for _, c in bodies if c.const and c.value)
                parts = [f"({c.src})" for _, c in bodies if not c.const]
                if not parts:
                    return K(total)
                return Code(f"({total} + {' + '.join(parts)})")
            case "choose":
                src = "None"
                all_const = True
                result: Any = None
                for combo, c in reversed(bodies):
                    if c.const:
                        if c.value:
                            src = lit(combo[0])
                            result = combo[0]
                        continue
                    all_const = False
                    src = f"({lit(combo[0])} if {c.src} else {src})"
                return K(result) if all_const else Code(src)
            case _:
                assert_never(e.kind)

    def quant_loop(self, e: ir.Quant, env: Mapping[str, Code], st: str) -> Code:
        inner = dict(env)
        loops = []
        for v in e.vars:
            name = self.pyname(v)
            inner[v.name] = Code(name, sort=v.sort)
            loops.append(f"for {name} in {self.values_name(v.sort)}")
        body = self.expr(e.body, inner, st)
        gen = " ".join(loops)
        match e.kind:
            case "forall":
                return Code(f"all({body.src} {gen})")
            case "exists":
                return Code(f"any({body.src} {gen})")
            case "count":
                return Code(f"sum(1 {gen} if {body.src})")
            case "choose":
                return Code(f"next(({self.pyname(e.vars[0])} {gen} if {body.src}), None)")
            case _:
                assert_never(e.kind)

    def symmetric_choose(self, e: ir.Quant, env: Mapping[str, Code], st: str) -> Code:
        """``choose`` over a symmetric sort: through the guard, which checks
        during a reduced search that the least value is as good as any other."""
        var = e.vars[0]
        assert isinstance(var.sort, ir.RangeSort)
        name = self.pyname(var)
        inner = dict(env)
        inner[var.name] = Code(name, sort=var.sort)
        body = self.expr(e.body, inner, st)
        scoped = [c for c in env.values() if c.sort is not None and mentions(c.sort, var.sort)]
        site = ChooseSite(var.sort, self.instance.values(var.sort),
                          tuple(c.sort for c in scoped if c.sort is not None),
                          tuple(self.slot_sorts(c.sort) for c in scoped if c.sort is not None),
                          e.span)
        site_name = self.obj(site, "CS")
        local_values = "(" + "".join(f"{c.src}, " for c in scoped) + ")"
        return Code(f"_SYM.choose({site_name}, {st}, (lambda {name}: {body.src}), "
                    f"{local_values})")

    # ------------------------------------------------------------ statements

    def stmts(self, stmts: Iterable[ir.Stmt], env: dict[str, Code], out: _Body,
              disabled: str) -> None:
        """Compiles statements into ``out``; the state is ``t``, its original ``s``;
        ``disabled`` is the line a false ``requires`` runs."""
        env = dict(env)
        for stmt in stmts:
            self.stmt(stmt, env, out, disabled)

    def ensure_copy(self, out: _Body) -> None:
        if out.copied == "no":
            out.emit("t = list(s)")
        elif out.copied == "maybe":
            out.emit("if t is s: t = list(s)")
        out.copied = "yes"

    def stmt(self, stmt: ir.Stmt, env: dict[str, Code], out: _Body, disabled: str) -> None:
        match stmt:
            case ir.Assign(target=target, value=value):
                self.assign(target, value, env, out)
            case ir.If(cond=cond, then=then, else_=else_):
                c = self.expr(cond, env, "t")
                if c.const:
                    self.stmts(then if c.value else else_, env, out, disabled)
                    return
                before = out.copied
                out.emit(f"if {c.src}:")
                out.indent += 1
                n = len(out.lines)
                self.stmts(then, env, out, disabled)
                if len(out.lines) == n:
                    out.emit("pass")
                after_then = out.copied
                out.indent -= 1
                out.copied = before
                if else_:
                    out.emit("else:")
                    out.indent += 1
                    n = len(out.lines)
                    self.stmts(else_, env, out, disabled)
                    if len(out.lines) == n:
                        out.emit("pass")
                    out.indent -= 1
                out.copied = _join(after_then, out.copied)
            case ir.For(var=var, body=body):
                values = self.instance.values(var.sort)
                writes = any(isinstance(s, ir.Assign) for s in walk_stmts(body))
                reorderable = var.sort in self.symmetric and stmt in self.unproven_loops
                if len(values) <= UNROLL_MAX_VALUES and not reorderable:
                    probe = _Body(0, out.copied)
                    probe_env = dict(env)
                    probe_env[var.name] = Code(self.pyname(var), sort=var.sort)
                    self.stmts(body, probe_env, probe, disabled)
                    if len(values) * sum(len(line) for line in probe.lines) <= UNROLL_MAX_CHARS:
                        for value in values:
                            inner = dict(env)
                            inner[var.name] = K(value, var.sort)
                            self.stmts(body, inner, out, disabled)
                        return
                before = out.copied
                name = self.pyname(var)
                if reorderable:
                    assert isinstance(var.sort, ir.RangeSort)
                    domain = self.order_name(var.sort)
                else:
                    domain = self.values_name(var.sort)
                out.emit(f"for {name} in {domain}:")
                out.indent += 1
                if writes and before != "yes":
                    out.copied = "maybe"
                inner = dict(env)
                inner[var.name] = Code(name, sort=var.sort)
                n = len(out.lines)
                self.stmts(body, inner, out, disabled)
                if len(out.lines) == n:
                    out.emit("pass")
                out.indent -= 1
                out.copied = before if not writes or before == "yes" else "maybe"
            case ir.Let(var=var, value=value):
                code = self.expr(value, env, "t")
                code = self.checked(code, value, var.sort, out,
                                    self.fault(stmt.span, "value {value} is outside sort {sort} "
                                               f"in let {show(var)}", var.sort), "()")
                if code.const:
                    env[var.name] = bound(code, var.sort)
                else:
                    name = self.pyname(var)
                    out.emit(f"{name} = {code.src}")
                    env[var.name] = Code(name, sort=var.sort)
            case ir.Require(cond=cond):
                c = self.expr(cond, env, "t")
                if c.const:
                    if not c.value:
                        out.emit(disabled)
                    return
                out.emit(f"if not {c.src}: {disabled}")
            case ir.Assert(cond=cond):
                index = self.assert_index(stmt)
                c = self.expr(cond, env, "t")
                if c.const:
                    if not c.value:
                        out.emit(f"_f += ({index},)")
                    return
                out.emit(f"if not {c.src}: _f += ({index},)")
            case _:
                assert_never(stmt)

    def checked(self, code: Code, value: ir.Expr, sort: ir.Sort, out: _Body, fault: str,
                keys: str) -> Code:
        """``code`` after a check (emitted into ``out``) that it belongs to ``sort``."""
        if self.trusted(value, sort):
            return code
        width = self.instance.width(sort)
        if code.const:
            slots = code.value if width > 1 else (code.value,)
            if all(self.instance.contains(s, v)
                   for s, v in zip(self.slot_sorts(sort), slots, strict=True)):
                return code
        name = self.tmp()
        out.emit(f"{name} = {code.src}")
        if width == 1:
            out.emit(f"if not {self.contains_src(sort, name)}: {fault}.fire({name}, {keys})")
        else:
            sorts = self.obj(self.slot_sorts(sort), "SS")
            out.emit(f"_check_slots({name}, {sorts}, _INSTANCE, {fault}, {keys})")
        return Code(name)

    def assign(self, target: ir.LValue, value: ir.Expr, env: dict[str, Code],
               out: _Body) -> None:
        base, terms, key_srcs = self.address(target.var, target.keys, env, "t", target.span)
        keys = "(" + "".join(f"{k}, " for k in key_srcs) + ")"
        if terms:
            # Compute a variable address once: the value and checks may use it.
            name = self.tmp()
            out.emit(f"{name} = {self.addr_src(base, terms)}")
            base_src = name
        else:
            base_src = str(base)

        def at(offset: int) -> str:
            if base_src == str(base):
                return str(base + offset)
            return f"{base_src} + {offset}" if offset else base_src

        sort: ir.Sort = self.instance.layout[target.var].var.value
        offset = 0
        for depth, field in enumerate(target.path):
            if isinstance(sort, ir.OptionSort):
                record = sort.inner
                fault = self.fault(target.span, "assigning to field "
                                   f"{'.'.join(target.path[:depth + 1])} of none in {{where}}",
                                   None, target.var)
                out.emit(f"if not t[{at(offset)}]: {fault}.fire(None, {keys})")
                offset += 1
            else:
                record = sort
            assert isinstance(record, ir.RecordSort)
            offset += self.instance.field_offset(record, field)
            sort = record.field_sort(field)
        self.store(sort, value, env, out, at, offset, target, keys)

    def store(self, sort: ir.Sort, value: ir.Expr, env: dict[str, Code], out: _Body,
              at: Callable[[int], str], offset: int, target: ir.LValue, keys: str) -> None:
        """Writes ``value`` (of ``sort``) at slot ``at(offset)``, field by field
        for record literals so that each field is checked against its own sort."""
        width = self.instance.width(sort)
        if isinstance(value, ir.RecordLit) and value.sort == sort:
            for name, field_value in value.fields:
                self.store(sort.field_sort(name), field_value, env, out, at,
                           offset + self.instance.field_offset(sort, name), target, keys)
            return
        if (isinstance(value, ir.Wrap) and isinstance(sort, ir.OptionSort)
                and isinstance(sort.inner, ir.RecordSort) and isinstance(value.arg, ir.RecordLit)):
            self.ensure_copy(out)
            out.emit(f"t[{at(offset)}] = True")
            self.store(sort.inner, value.arg, env, out, at, offset + 1, target, keys)
            return
        code = self.expr(value, env, "t")
        fault = self.fault(target.span, "value {value} is outside sort {sort} in assignment "
                           "to {where}", sort, target.var, target.path)
        code = self.checked(code, value, sort, out, fault, keys)
        self.ensure_copy(out)
        if width == 1:
            out.emit(f"t[{at(offset)}] = {code.src}")
        else:
            out.emit(f"t[{at(offset)}:{at(offset + width)}] = {code.src}")

    # ------------------------------------------------------------ functions

    def exec(self, source: str) -> dict[str, Any]:
        self.sources.append(source)
        code = compile(source, f"<rmapcheck {self.model.name}>", "exec")
        exec(code, self.ns)
        return self.ns

    def final_state(self, out: _Body) -> str:
        return {"no": "s", "yes": "tuple(t)", "maybe": "(t if t is s else tuple(t))"}[out.copied]

    def compile_init(self) -> Callable[[list[Any]], tuple[State, tuple[int, ...]]]:
        """``init(slots) -> (state, failed assert indices)``; a false requires
        raises ``Disabled``."""
        out = _Body(1, "yes")
        out.emit("s = None")
        out.emit("_f = ()")
        self.stmts(self.model.init, {}, out, "raise Disabled()")
        out.emit("return tuple(t), _f")
        src = "def _init(t):\n" + "\n".join(out.lines) + "\n"
        return self.exec(src)["_init"]  # type: ignore[no-any-return]

    def compile_expr_fn(self, name: str, params: tuple[ir.Local, ...],
                        body: ir.Expr) -> Callable[..., Any]:
        """``fn(s, *params)``: the value of ``body`` in state ``s``."""
        env = {p.name: Code(self.pyname(p), sort=p.sort) for p in params}
        code = self.expr(body, env, "s")
        args = "".join(f", {self.pyname(p)}" for p in params)
        fn_name = f"_x{next(self._counter)}_{re.sub(r'[^0-9A-Za-z_]', '_', name)}"
        src = f"def {fn_name}(s{args}):\n    return {code.src}\n"
        return self.exec(src)[fn_name]  # type: ignore[no-any-return]

    def _expand_loops(self, ident: str, params: tuple[ir.Local, ...], multipliers: list[int],
                      iid_base: int, prefix: list[ir.Stmt], levels: list[int],
                      prefix_lets: list[ir.Local], args: str) -> _Body:
        """The parameter loops, each hoisted statement at its loop level."""
        loop = _Body(1, "no")
        loop.emit("t = s")  # hoisted lets are compiled as statements, which read t
        env: dict[str, Code] = {}
        iid_terms = []
        placed = 0
        for depth in range(len(params) + 1):
            if depth > 0:
                p = params[depth - 1]
                name = self.pyname(p)
                loop.emit(f"for {name} in {self.values_name(p.sort)}:")
                loop.indent += 1
                env[p.name] = Code(name, sort=p.sort)
                mult = multipliers[depth - 1]
                idx = self.index_src(p.sort, name)
                iid_terms.append(idx if mult == 1 else f"{idx}*{mult}")
            skip = "continue" if depth > 0 else "return"
            while placed < len(prefix) and levels[placed] <= depth:
                # Prefix statements read s: no write has happened yet.
                stmt = prefix[placed]
                if isinstance(stmt, ir.Require):
                    c = self.expr(stmt.cond, env, "s")
                    if c.const:
                        if not c.value:
                            loop.emit(skip)
                    else:
                        loop.emit(f"if not {c.src}: {skip}")
                else:
                    self.stmt(stmt, env, loop, skip)
                placed += 1
        iid = " + ".join([str(iid_base)] + iid_terms) if iid_terms else str(iid_base)
        let_srcs = "".join(f", {env[v.name].src}" for v in prefix_lets)
        loop.emit(f"rest_{ident}(s, _out, {iid}{args}{let_srcs})")
        return loop

    def _expand_unrolled(self, ident: str, params: tuple[ir.Local, ...],
                         domains: list[tuple[Any, ...]], multipliers: list[int], iid_base: int,
                         prefix: list[ir.Stmt], levels: list[int],
                         prefix_lets: list[ir.Local]) -> _Body | None:
        """Straight-line code over every parameter combination: a hoisted
        requires becomes an ``if`` around the subtree below it, or disappears
        (or prunes the subtree) when the parameters decide it. None when the
        code would be too large."""
        out = _Body(1, "no")
        out.emit("t = s")
        size = [0]

        def place(depth: int, env: dict[str, Code], placed: int, iid: int) -> None:
            opened: list[int] = []  # line counts at each opened if
            while placed < len(prefix) and levels[placed] <= depth:
                stmt = prefix[placed]
                placed += 1
                if isinstance(stmt, ir.Require):
                    c = self.expr(stmt.cond, env, "s")
                    if c.const:
                        if c.value:
                            continue
                        break  # never enabled below here
                    out.emit(f"if {c.src}:")
                    size[0] += len(c.src)
                    out.indent += 1
                    opened.append(len(out.lines))
                else:
                    env = dict(env)
                    self.stmt(stmt, env, out, "pass")
            else:
                if depth == len(params):
                    values = "".join(f", {env[p.name].src}" for p in params)
                    lets = "".join(f", {env[v.name].src}" for v in prefix_lets)
                    out.emit(f"rest_{ident}(s, _out, {iid}{values}{lets})")
                    size[0] += 40
                else:
                    p = params[depth]
                    for index, value in enumerate(domains[depth]):
                        if size[0] > UNROLL_MAX_EXPAND_CHARS:
                            return
                        inner = dict(env)
                        inner[p.name] = K(value, p.sort)
                        place(depth + 1, inner, placed, iid + index * multipliers[depth])
            for count in reversed(opened):
                if len(out.lines) == count:
                    out.emit("pass")
                out.indent -= 1

        place(0, {}, 0, iid_base)
        if size[0] > UNROLL_MAX_EXPAND_CHARS:
            return None
        return out

    def compile_action(self, action: ir.Action, iid_base: int,
                       ) -> tuple[Callable[[State, list[Any]], None], Callable[..., Any], int]:
        """``expand(s, out)`` appends ``(iid, next state, failed asserts)`` for
        every enabled instance; ``one(s, *args)`` runs one instance and returns
        ``(next state, failed asserts)`` or ``None``. Also returns the number
        of instances (parameter combinations)."""
        ident = re.sub(r"\W", "_", action.name)
        params = action.params
        domains = [self.instance.values(p.sort) for p in params]
        multipliers = []
        m = 1
        for d in reversed(domains):
            multipliers.append(m)
            m *= len(d)
        multipliers.reverse()
        count = m

        # The leading requires/let statements are hoisted into the parameter
        # loops, each conjunct of a requires separately (order is kept, so
        # this changes nothing but where each test runs).
        prefix: list[ir.Stmt] = []
        for stmt in action.body:
            if isinstance(stmt, ir.Require):
                prefix.extend(ir.Require(c, stmt.span) for c in _conjuncts(stmt.cond))
            elif isinstance(stmt, ir.Let):
                prefix.append(stmt)
            else:
                break
        rest = action.body[sum(1 for _ in itertools.takewhile(
            lambda x: isinstance(x, (ir.Require, ir.Let)), action.body)):]
        level_of = {p.name: i + 1 for i, p in enumerate(params)}
        levels = []
        level = 0
        prefix_lets: list[ir.Local] = []
        for stmt in prefix:
            used = free_locals(stmt_exprs(stmt))
            level = max([level] + [level_of.get(name, 0) for name in used])
            levels.append(level)
            if isinstance(stmt, ir.Let):
                level_of[stmt.var.name] = level
                prefix_lets.append(stmt.var)

        # rest_<name>(s, _out, _iid, params..., lets...)
        env: dict[str, Code] = {p.name: Code(self.pyname(p), sort=p.sort) for p in params}
        env.update({v.name: Code(self.pyname(v), sort=v.sort) for v in prefix_lets})
        body = _Body(1, "no")
        body.emit("t = s")
        body.emit("_f = ()")
        self.stmts(rest, env, body, "return")
        body.emit(f"_out.append((_iid, {self.final_state(body)}, _f))")
        args = "".join(f", {self.pyname(p)}" for p in params)
        let_args = "".join(f", {self.pyname(v)}" for v in prefix_lets)
        src = [f"def rest_{ident}(s, _out, _iid{args}{let_args}):"] + body.lines

        # expand_<name>(s, _out): unrolled over the parameter values when
        # there are few combinations (parameter-only tests then fold away at
        # compile time and prune whole subtrees), else nested loops.
        loop = None
        if count <= UNROLL_MAX_COMBOS:
            loop = self._expand_unrolled(ident, params, domains, multipliers, iid_base, prefix,
                                         levels, prefix_lets)
        if loop is None:
            loop = self._expand_loops(ident, params, multipliers, iid_base, prefix, levels,
                                      prefix_lets, args)
        src += [f"def expand_{ident}(s, _out):"] + loop.lines

        # one_<name>(s, params...) -> (state, failed) | None
        env = {p.name: Code(self.pyname(p), sort=p.sort) for p in params}
        one = _Body(1, "no")
        one.emit("t = s")
        one.emit("_f = ()")
        self.stmts(action.body, env, one, "return None")
        one.emit(f"return {self.final_state(one)}, _f")
        src += [f"def one_{ident}(s{args}):"] + one.lines
        ns = self.exec("\n".join(src) + "\n")
        return ns[f"expand_{ident}"], ns[f"one_{ident}"], count
