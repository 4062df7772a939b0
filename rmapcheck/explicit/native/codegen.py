"""Generates the C source of one instance: actions, properties, state layout.

This is a port of ``rmapcheck.explicit.compile`` to C, and that module's
decisions are the semantics: floor ``div``/``mod``, left-to-right evaluation
that stops early for ``and``/``or``/``implies`` and quantifiers, run-time
checks where compile.py emits them (a value or key outside its sort, a field
of ``none``, division by zero, a set element outside its sort), ``assert``
records a failure and execution goes on, ``requires`` disables the step,
``choose`` takes the least value, ``for`` runs in increasing order. Leading
``requires``/``let`` of an action are hoisted into its parameter loops at the
same levels, so that the locals in scope of every ``choose`` (which the
symmetry guard looks at) are the same as in the Python engine.

Every expression compiles to a list of C statements (its *prelude*, emitted
in evaluation order, with the run-time checks) and a side-effect-free C
expression per slot of its value (a scalar has one slot; a record one per
field slot). C's own evaluation order is therefore never relied upon.

Values in C are ``V`` (int64): a Bool is 0/1, a range its integer, an enum
its index, ``none`` is ``NONE_V``, a set a bit mask. The state is an array of
slot *codes* (those of ``rmapcheck.explicit.encode``: ``value - lo``, ``0`` for
none and ``code + 1`` otherwise, masks), one ``slot_t`` each.

A construct this port does not handle raises ``Unsupported``: the caller then
uses the Python engine instead (never a silently different answer).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rmapcheck import ir
from rmapcheck.explicit.encode import slot_sorts, state_slot_guards, state_slot_sorts
from rmapcheck.explicit.symmetry import mentions
from rmapcheck.instance import Instance
from rmapcheck.ir_walk import free_locals, show, stmt_exprs, walk_stmts

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# Unrolling a quantifier or loop gives constant slot addresses; bounded so the
# generated C compiles quickly.
UNROLL_MAX_VALUES = 64
UNROLL_MAX_LINES = 600
MAX_SET_ELEMS = 62
MAX_ASSERTS = 250


class Unsupported(Exception):
    """The native engine does not compile this model (the reason says why)."""


# ---------------------------------------------------------------- values


class CV:
    """A compiled value: one pure C expression per slot; ``const`` with the
    value (in the Python engine's representation) when known; ``sort`` for
    a bound local (the symmetry guard needs the locals in scope)."""

    __slots__ = ("const", "sort", "srcs", "value")

    def __init__(self, srcs: list[str], const: bool = False, value: Any = None,
                 sort: ir.Sort | None = None) -> None:
        self.srcs = srcs
        self.const = const
        self.value = value
        self.sort = sort

    @property
    def src(self) -> str:
        assert len(self.srcs) == 1, self.srcs
        return self.srcs[0]

    def __repr__(self) -> str:
        return f"CV({self.srcs!r})"


def clit(value: Any) -> str:
    """C source of a scalar value."""
    if value is None:
        return "NONE_V"
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, int):
        if not INT64_MIN < value <= INT64_MAX:
            raise Unsupported(f"the integer {value} does not fit in 64 bits")
        return f"((V){value}LL)" if value < 0 else f"((V){value})"
    raise AssertionError(value)


def K(value: Any, sort: ir.Sort | None = None) -> CV:
    if isinstance(value, tuple):
        return CV([clit(v) for v in value], True, value, sort)
    return CV([clit(value)], True, value, sort)


def bound(cv: CV, sort: ir.Sort) -> CV:
    return CV(cv.srcs, cv.const, cv.value, sort)


class Block:
    """Lines of C at one nesting level (sub-blocks are indented on splice)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def splice(self, other: Block, indent: int = 0) -> None:
        pad = "  " * indent
        self.lines.extend(pad + line for line in other.lines)

    def __len__(self) -> int:
        return len(self.lines)


# ---------------------------------------------------------------- layout


class Layout:
    """Slot sorts, codes and the symmetry tables of one instance."""

    def __init__(self, instance: Instance, symmetric: list[ir.RangeSort]) -> None:
        self.instance = instance
        self.sorts = state_slot_sorts(instance)
        self.guards = state_slot_guards(instance)
        self.n = len(self.sorts)
        self.cards = [self.card(s) for s in self.sorts]
        self.symmetric = symmetric
        self.sym_index = {s: a for a, s in enumerate(symmetric)}
        maxcode = max(self.cards, default=2) - 1
        if maxcode < 256:
            self.slot_type, self.slot_bytes = "uint8_t", 1
        elif maxcode < 65536:
            self.slot_type, self.slot_bytes = "uint16_t", 2
        elif maxcode < (1 << 32):
            self.slot_type, self.slot_bytes = "uint32_t", 4
        else:
            raise Unsupported("a state slot has more than 2**32 values")
        self.widths = [max(c - 1, 0).bit_length() for c in self.cards]
        # Packing: slots in order, none straddling a 64-bit word.
        self.pack_pos: list[tuple[int, int]] = []
        word, bit = 0, 0
        for w in self.widths:
            if bit + w > 64:
                word, bit = word + 1, 0
            self.pack_pos.append((word, bit))
            bit += w
        self.bits = word * 64 + bit
        self.words = word + 1
        self.packed_bytes = max(1, (self.bits + 7) // 8)

    def card(self, sort: ir.Sort) -> int:
        match sort:
            case ir.BoolSort():
                return 2
            case ir.RangeSort() | ir.EnumSort():
                return len(self.instance.values(sort))
            case ir.OptionSort(inner=inner):
                return self.card(inner) + 1
            case ir.SetSort(elem=elem):
                n = len(self.instance.values(elem))
                if n > MAX_SET_ELEMS:
                    raise Unsupported(f"a set over {elem} has {n} elements (the native "
                                      f"engine handles at most {MAX_SET_ELEMS})")
                return 1 << n
        raise Unsupported(f"no state slot can hold a {sort}")

    def lo(self, sort: ir.Sort) -> int:
        if isinstance(sort, ir.RangeSort):
            return self.instance.range_bounds(sort)[0]
        return 0

    # Python slot value <-> code
    def encode(self, state: tuple[Any, ...]) -> list[int]:
        return [self._enc(s, v) for s, v in zip(self.sorts, state, strict=True)]

    def _enc(self, sort: ir.Sort, v: Any) -> int:
        match sort:
            case ir.OptionSort(inner=inner):
                return 0 if v is None else self._enc(inner, v) + 1
            case ir.RangeSort():
                return v - self.lo(sort)
            case _:
                return int(v)

    def decode(self, codes: Iterable[int]) -> tuple[Any, ...]:
        return tuple(self._dec(s, c) for s, c in zip(self.sorts, codes, strict=True))

    def _dec(self, sort: ir.Sort, c: int) -> Any:
        match sort:
            case ir.OptionSort(inner=inner):
                return None if c == 0 else self._dec(inner, c - 1)
            case ir.BoolSort():
                return c != 0
            case ir.RangeSort():
                return c + self.lo(sort)
            case _:
                return c


# ---------------------------------------------------------------- the generator


class FaultSite:
    """A run-time check in the C code: what ``compile.RuntimeFault`` takes."""

    def __init__(self, span: ir.Span, template: str, sort: ir.Sort | None = None,
                 var: str | None = None, path: tuple[str, ...] = (),
                 has_value: bool = True) -> None:
        self.span = span
        self.template = template
        self.sort = sort
        self.var = var
        self.path = path
        self.has_value = has_value


class ChooseSite:
    def __init__(self, sort: ir.RangeSort, sym: int, span: ir.Span) -> None:
        self.sort = sort
        self.sym = sym
        self.span = span


class Generator:
    """C source for one instance. ``symmetric``: the sorts whose ``choose``
    goes through the symmetry guard and whose tables are generated (those the
    Python machine reduces); ``unproven_loops``: loops over them that iterate
    in an order the search may change (checked at run time);
    ``assert_index``: ``id(stmt)`` to the Python machine's assertion index."""

    def __init__(self, instance: Instance, symmetric: list[ir.RangeSort],
                 unproven_loops: frozenset[ir.For], assert_index: Mapping[int, int],
                 trusted: Any) -> None:
        self.instance = instance
        self.model = instance.model
        self.layout = Layout(instance, symmetric)
        self.symmetric = symmetric
        self.sym_index = self.layout.sym_index
        self.unproven_loops = unproven_loops
        self.assert_index = dict(assert_index)
        self.n_asserts = len(assert_index)
        self.trusted_fn = trusted
        self.faults: list[FaultSite] = []
        self.chooses: list[ChooseSite] = []
        self._counter = itertools.count()
        self._probe_counter = itertools.count(10**9)
        self._cnames: dict[str, str] = {}
        self.funcs: list[str] = []
        self.instances: list[tuple[int, tuple[Any, ...]]] = []
        self.action_base: list[int] = []
        # action index -> [(sym sort index, span)] of its loops re-run in other orders
        self.order_checks: dict[int, list[tuple[int, ir.Span]]] = {}

    # ------------------------------------------------------------ naming

    def tmp(self, prefix: str = "_t") -> str:
        return f"{prefix}{next(self._counter)}"

    def cname(self, local: ir.Local) -> str:
        name = self._cnames.get(local.name)
        if name is None:
            clean = re.sub(r"\W", "_", local.name)
            name = f"L{next(self._counter)}_{clean}"
            self._cnames[local.name] = name
        return name

    def fault(self, span: ir.Span, template: str, sort: ir.Sort | None = None,
              var: str | None = None, path: tuple[str, ...] = (), has_value: bool = True) -> int:
        self.faults.append(FaultSite(span, template, sort, var, path, has_value))
        return len(self.faults) - 1

    def fire(self, site: int, value: str = "NONE_V") -> str:
        return f"rc_fault(c, {site}, {value});"

    # ------------------------------------------------------------ sorts

    def lo(self, sort: ir.Sort) -> int:
        return self.layout.lo(sort)

    def values(self, sort: ir.Sort) -> tuple[Any, ...]:
        return self.instance.values(sort)

    def width(self, sort: ir.Sort) -> int:
        return self.instance.width(sort)

    def slot_sorts(self, sort: ir.Sort) -> tuple[ir.Sort, ...]:
        return slot_sorts(self.instance, sort)

    def index_src(self, sort: ir.Sort, src: str) -> str:
        lo = self.lo(sort)
        return src if lo == 0 else f"({src} - ({lo}))"

    def trusted(self, expr: ir.Expr, target: ir.Sort) -> bool:
        return bool(self.trusted_fn(expr, target))

    def contains_c(self, sort: ir.Sort, src: str) -> str:
        """C condition: the scalar value ``src`` belongs to ``sort``."""
        match sort:
            case ir.RangeSort():
                lo, hi = self.instance.range_bounds(sort)
                return f"({clit(lo)} <= {src} && {src} <= {clit(hi)})"
            case ir.OptionSort(inner=inner):
                return f"({src} == NONE_V || {self.contains_c(inner, src)})"
            case ir.IntSort():
                return f"({src} != NONE_V)"
            case ir.BoolSort() | ir.EnumSort() | ir.SetSort():
                # Values of these sorts are only ever built in their sort (the
                # front end never mixes them with integers).
                return "1"
        raise Unsupported(f"no run-time check for values of {sort}")

    # reading and writing slots
    def dec(self, sort: ir.Sort, code: str) -> str:
        match sort:
            case ir.OptionSort(inner=inner):
                return f"rc_dec_opt({code}, {self.lo(inner)})"
            case ir.RangeSort():
                lo = self.lo(sort)
                return f"(V){code}" if lo == 0 else f"((V){code} + ({lo}))"
            case _:
                return f"(V){code}"

    def enc(self, sort: ir.Sort, src: str) -> str:
        match sort:
            case ir.OptionSort(inner=inner):
                return f"rc_enc_opt({src}, {self.lo(inner)})"
            case ir.RangeSort():
                lo = self.lo(sort)
                return f"(slot_t)({src})" if lo == 0 else f"(slot_t)({src} - ({lo}))"
            case _:
                return f"(slot_t)({src})"

    # ------------------------------------------------------------ expressions

    def materialize(self, cv: CV, out: Block) -> CV:
        """``cv`` evaluated now into temporaries (unless constant or simple)."""
        if cv.const:
            return cv
        srcs = []
        for src in cv.srcs:
            if re.fullmatch(r"[A-Za-z_]\w*", src):
                srcs.append(src)
            else:
                name = self.tmp()
                out.emit(f"V {name} = {src};")
                srcs.append(name)
        return CV(srcs, False, None, cv.sort)

    def ex(self, e: ir.Expr, env: Mapping[str, CV], st: str, out: Block) -> CV:
        """Compiles ``e``: its checks go to ``out`` in evaluation order; the
        result is pure."""
        match e:
            case ir.BoolLit(value=value):
                return K(bool(value))
            case ir.IntLit(value=value, sort=sort):
                if isinstance(sort, ir.RangeSort) and not self.instance.contains(sort, value):
                    site = self.fault(e.span, "value {value} is outside sort {sort}", sort)
                    out.emit(self.fire(site, clit(value)))
                    return CV(["0"])
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
                cv = env.get(name)
                if cv is None:
                    raise Unsupported(f"internal: unbound local {name}")
                return cv
            case ir.StateRead() | ir.Field() if self.is_place(e):
                return self.read_place(e, env, st, out)
            case ir.StateRead():
                raise AssertionError("a state read is always a place")
            case ir.Field(base=base, name=name, sort=sort):
                cv = self.ex(base, env, st, out)
                base_sort = base.sort
                width = self.width(sort)
                if isinstance(base_sort, ir.OptionSort):
                    record = base_sort.inner
                    assert isinstance(record, ir.RecordSort)
                    offset = self.instance.field_offset(record, name)
                    if cv.const and not cv.value[0]:
                        site = self.fault(e.span, f"reading field {name} of none",
                                          has_value=False)
                        out.emit(self.fire(site))
                        return CV(["0"] * width)
                    if cv.const:
                        sl = cv.value[1 + offset:1 + offset + width]
                        return K(sl[0] if width == 1 else tuple(sl))
                    site = self.fault(e.span, f"reading field {name} of none", has_value=False)
                    cv = self.materialize(cv, out)
                    out.emit(f"if (!{cv.srcs[0]}) {self.fire(site)}")
                    return CV(cv.srcs[1 + offset:1 + offset + width])
                assert isinstance(base_sort, ir.RecordSort)
                offset = self.instance.field_offset(base_sort, name)
                if cv.const:
                    sl = cv.value[offset:offset + width]
                    return K(sl[0] if width == 1 else tuple(sl))
                return CV(cv.srcs[offset:offset + width])
            case ir.Unary(op=op, arg=arg):
                a = self.ex(arg, env, st, out)
                if op == "not":
                    return K(not a.value) if a.const else CV([f"(!{a.src})"])
                if op == "neg":
                    return K(-a.value) if a.const else CV([f"rc_sub(c, 0, {a.src})"])
                raise Unsupported(f"unary operator {op}")
            case ir.Binary():
                return self.binary(e, env, st, out)
            case ir.Ite(cond=cond, then=then, else_=else_):
                cc = self.ex(cond, env, st, out)
                if cc.const:
                    return self.ex(then if cc.value else else_, env, st, out)
                ba, bb = Block(), Block()
                a = self.ex(then, env, st, ba)
                b = self.ex(else_, env, st, bb)
                if not ba and not bb:
                    if len(a.srcs) == 1:
                        return CV([f"({cc.src} ? {a.src} : {b.src})"])
                    return CV([f"({cc.src} ? {x} : {y})"
                               for x, y in zip(a.srcs, b.srcs, strict=True)])
                names = [self.tmp() for _ in a.srcs]
                out.emit(f"V {', '.join(names)};")
                out.emit(f"if ({cc.src}) {{")
                out.splice(ba, 1)
                for n, x in zip(names, a.srcs, strict=True):
                    out.emit(f"  {n} = {x};")
                out.emit("} else {")
                out.splice(bb, 1)
                for n, y in zip(names, b.srcs, strict=True):
                    out.emit(f"  {n} = {y};")
                out.emit("}")
                return CV(names)
            case ir.Quant():
                return self.quant(e, env, st, out)
            case ir.RecordLit(sort=sort, fields=fields):
                width = self.width(sort)
                slots: list[str | None] = [None] * width
                consts: list[Any] = [None] * width
                all_const = True
                for name, field_expr in fields:
                    field_sort = sort.field_sort(name)
                    off = self.instance.field_offset(sort, name)
                    w = self.width(field_sort)
                    cv = self.ex(field_expr, env, st, out)
                    # Later fields must not change the meaning of earlier ones.
                    if not cv.const:
                        cv = self.materialize(cv, out)
                    slots[off:off + w] = cv.srcs
                    if cv.const:
                        consts[off:off + w] = list(cv.value) if w > 1 else [cv.value]
                    all_const = all_const and cv.const
                if all_const:
                    return K(tuple(consts))
                return CV([s for s in slots if s is not None])
            case ir.SetLit(sort=sort, elems=elems):
                mask = 0
                parts: list[str] = []
                lo, hi = self._elem_bounds(sort.elem)
                for elem in elems:
                    cv = self.ex(elem, env, st, out)
                    if cv.const:
                        if self.instance.contains(sort.elem, cv.value):
                            mask |= 1 << self.instance.index_of(sort.elem, cv.value)
                            continue
                        site = self.fault(elem.span, "set element {value} is outside sort "
                                          "{sort}", sort.elem)
                        out.emit(self.fire(site, clit(cv.value)))
                    elif self.trusted(elem, sort.elem):
                        parts.append(f"((V)1 << {self.index_src(sort.elem, cv.src)})")
                    else:
                        site = self.fault(elem.span, "set element {value} is outside sort "
                                          "{sort}", sort.elem)
                        x = self.materialize(cv, out).src
                        out.emit(f"if (!({clit(lo)} <= {x} && {x} <= {clit(hi)})) "
                                 f"{self.fire(site, x)}")
                        parts.append(f"((V)1 << ({x} - ({lo})))")
                if not parts:
                    return K(mask)
                if mask:
                    parts.insert(0, clit(mask))
                return CV([f"({' | '.join(parts)})"])
            case ir.Wrap(arg=arg, sort=sort):
                cv = self.ex(arg, env, st, out)
                if isinstance(sort.inner, ir.RecordSort):
                    if cv.const:
                        return K((True,) + tuple(cv.value))
                    return CV(["1"] + cv.srcs)
                return cv
            case ir.Unwrap(arg=arg, sort=sort):
                cv = self.ex(arg, env, st, out)
                site = self.fault(e.span, "this value is none, where a {sort} is needed", sort,
                                  has_value=False)
                if isinstance(sort, ir.RecordSort):
                    if cv.const:
                        if cv.value[0]:
                            return K(tuple(cv.value[1:]))
                        out.emit(self.fire(site))
                        return CV(["0"] * self.width(sort))
                    cv = self.materialize(cv, out)
                    out.emit(f"if (!{cv.srcs[0]}) {self.fire(site)}")
                    return CV(cv.srcs[1:])
                if cv.const:
                    if cv.value is not None:
                        return cv
                    out.emit(self.fire(site))
                    return CV(["0"])
                cv = self.materialize(cv, out)
                out.emit(f"if ({cv.src} == NONE_V) {self.fire(site)}")
                return CV([cv.src])
        raise Unsupported(f"expression {type(e).__name__}")

    def _elem_bounds(self, sort: ir.Sort) -> tuple[int, int]:
        values = self.values(sort)
        return (int(values[0]), int(values[-1])) if values else (0, -1)

    def binary(self, e: ir.Binary, env: Mapping[str, CV], st: str, out: Block) -> CV:
        op = e.op
        if op in ("and", "or", "implies"):
            a = self.ex(e.lhs, env, st, out)
            if op == "and" and a.const and not a.value:
                return K(False)
            if op in ("or",) and a.const and a.value:
                return K(True)
            if op == "implies" and a.const and not a.value:
                return K(True)
            bb = Block()
            b = self.ex(e.rhs, env, st, bb)
            if a.const:
                out.splice(bb)
                return b
            if op == "and" and b.const and b.value and not bb:
                return a
            if op == "or" and b.const and not b.value and not bb:
                return a
            if op == "implies" and b.const and b.value and not bb:
                return K(True)
            lhs = a.src if op != "implies" else f"(!{a.src})"
            cop = "&&" if op == "and" else "||"
            if not bb:
                return CV([f"({lhs} {cop} {b.src})"])
            r = self.tmp()
            out.emit(f"int {r} = {lhs};")
            out.emit(f"if ({'!' if cop == '||' else ''}{r}) {{")
            out.splice(bb, 1)
            out.emit(f"  {r} = {b.src};")
            out.emit("}")
            return CV([r])
        if op in ("eq", "ne"):
            presence = self.none_test(e, env, st, out)
            if presence is not None:
                return presence
        if op == "in":
            return self.member(e, env, st, out)
        a = self.ex(e.lhs, env, st, out)
        b = self.ex(e.rhs, env, st, out)
        both = a.const and b.const
        match op:
            case "iff" | "eq" | "ne":
                if both:
                    same = a.value == b.value
                    return K(same if op != "ne" else not same)
                parts = [f"({x} == {y})" for x, y in zip(a.srcs, b.srcs, strict=True)]
                eq = parts[0] if len(parts) == 1 else "(" + " && ".join(parts) + ")"
                return CV([eq if op != "ne" else f"(!{eq})"])
            case "lt" | "le" | "gt" | "ge":
                if both:
                    return K({"lt": a.value < b.value, "le": a.value <= b.value,
                              "gt": a.value > b.value, "ge": a.value >= b.value}[op])
                sym = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
                return CV([f"({a.src} {sym} {b.src})"])
            case "add" | "sub" | "mul":
                if both:
                    value = {"add": a.value + b.value, "sub": a.value - b.value,
                             "mul": a.value * b.value}[op]
                    return K(value)
                return CV([f"rc_{op}(c, {a.src}, {b.src})"])
            case "union" | "inter":
                if both:
                    return K(a.value | b.value if op == "union" else a.value & b.value)
                return CV([f"({a.src} {'|' if op == 'union' else '&'} {b.src})"])
            case "diff":
                if both:
                    return K(a.value & ~b.value)
                return CV([f"({a.src} & ~{b.src})"])
            case "div" | "mod":
                if b.const and b.value != 0:
                    if a.const:
                        return K(a.value // b.value if op == "div" else a.value % b.value)
                    return CV([f"rc_f{op}(c, {a.src}, {clit(b.value)})"])
                site = self.fault(e.span, "division by zero (dividing {value})")
                bx = self.materialize(b, out)
                ax = self.materialize(a, out)
                out.emit(f"if ({bx.src} == 0) {self.fire(site, ax.src)}")
                return CV([f"rc_f{op}(c, {ax.src}, {bx.src})"])
        raise Unsupported(f"binary operator {op}")

    def member(self, e: ir.Binary, env: Mapping[str, CV], st: str, out: Block) -> CV:
        """``x in S``; compile.py evaluates S before x when x is trusted."""
        rhs_sort = e.rhs.sort
        assert isinstance(rhs_sort, ir.SetSort)
        elem = rhs_sort.elem
        ba, bb = Block(), Block()
        a = self.ex(e.lhs, env, st, ba)
        b = self.ex(e.rhs, env, st, bb)
        if a.const:
            assert not ba
            if not self.instance.contains(elem, a.value):
                return K(False)
            bit = 1 << self.instance.index_of(elem, a.value)
            if b.const:
                out.splice(bb)
                return K(b.value & bit != 0)
            out.splice(bb)
            return CV([f"(({b.src} & {clit(bit)}) != 0)"])
        if self.trusted(e.lhs, elem):
            out.splice(bb)
            b = self.materialize(b, out)
            out.splice(ba)
            return CV([f"((({b.src}) >> {self.index_src(elem, a.src)}) & 1)"])
        lo, hi = self._elem_bounds(elem)
        out.splice(ba)
        a = self.materialize(a, out)
        out.splice(bb)
        x = a.src
        return CV([(f"(({clit(lo)} <= {x} && {x} <= {clit(hi)}) && "
                    f"((({b.src}) >> ({x} - ({lo}))) & 1))")])

    def none_test(self, e: ir.Binary, env: Mapping[str, CV], st: str, out: Block) -> CV | None:
        for side, other in ((e.lhs, e.rhs), (e.rhs, e.lhs)):
            if isinstance(other, ir.NoneLit) and isinstance(other.sort.inner, ir.RecordSort) \
                    and self.is_place(side):
                present = self.read_place(side, env, st, out, presence_only=True)
                return CV([f"(!{present.src})"]) if e.op == "eq" else CV([f"({present.src} != 0)"])
        return None

    # ------------------------------------------------------------ places

    def is_place(self, e: ir.Expr) -> bool:
        while isinstance(e, ir.Field):
            e = e.base
        return isinstance(e, ir.StateRead)

    def address(self, var: str, keys: tuple[ir.Expr, ...], env: Mapping[str, CV], st: str,
                out: Block, span: ir.Span) -> tuple[int, list[str], list[str]]:
        """First slot of ``var[keys]``: constant part and variable terms (the
        key checks go to ``out``), and each key's source."""
        rng = self.instance.layout[var]
        base = rng.offset
        terms: list[str] = []
        key_srcs: list[str] = []
        for key, key_sort, stride in zip(keys, rng.var.keys, rng.strides, strict=True):
            step = stride * rng.width
            cv = self.ex(key, env, st, out)
            if cv.const:
                key_srcs.append(clit(cv.value))
                if self.instance.contains(key_sort, cv.value):
                    base += self.instance.index_of(key_sort, cv.value) * step
                    continue
                site = self.fault(span, "key {value} is outside sort {sort} in {where}",
                                  key_sort, var)
                out.emit(self.fire(site, clit(cv.value)))
                continue
            if self.trusted(key, key_sort):
                index = self.index_src(key_sort, cv.src)
            elif isinstance(key_sort, ir.RangeSort):
                lo, hi = self.instance.range_bounds(key_sort)
                site = self.fault(span, "key {value} is outside sort {sort} in {where}",
                                  key_sort, var)
                cv = self.materialize(cv, out)
                out.emit(f"if (!({clit(lo)} <= {cv.src} && {cv.src} <= {clit(hi)})) "
                         f"{self.fire(site, cv.src)}")
                index = f"({cv.src} - ({lo}))"
            else:
                index = cv.src  # Bool and enum keys are always in their sort
            key_srcs.append(cv.src)
            terms.append(f"(int)({index})" if step == 1 else f"(int)({index})*{step}")
        return base, terms, key_srcs

    def addr(self, base: int, terms: list[str], out: Block) -> str:
        """A C expression for the address (bound to a temporary when variable)."""
        if not terms:
            return str(base)
        name = self.tmp("_a")
        out.emit(f"int {name} = {' + '.join(([str(base)] if base else []) + terms)};")
        return name

    @staticmethod
    def at(base: str, offset: int) -> str:
        if base.isdigit():
            return str(int(base) + offset)
        return f"{base} + {offset}" if offset else base

    def read_place(self, e: ir.Expr, env: Mapping[str, CV], st: str, out: Block,
                   presence_only: bool = False) -> CV:
        fields: list[ir.Field] = []
        node = e
        while isinstance(node, ir.Field):
            fields.append(node)
            node = node.base
        assert isinstance(node, ir.StateRead)
        base, terms, _ = self.address(node.var, node.keys, env, st, out, node.span)
        a = self.addr(base, terms, out)
        sort: ir.Sort = self.instance.layout[node.var].var.value
        offset = 0
        for f in reversed(fields):
            if isinstance(sort, ir.OptionSort):
                record = sort.inner
                assert isinstance(record, ir.RecordSort)
                site = self.fault(f.span, f"reading field {f.name} of none", has_value=False)
                out.emit(f"if (!{st}[{self.at(a, offset)}]) {self.fire(site)}")
                offset += 1
            else:
                record = sort
            assert isinstance(record, ir.RecordSort)
            offset += self.instance.field_offset(record, f.name)
            sort = record.field_sort(f.name)
        if presence_only:
            return CV([f"{st}[{self.at(a, offset)}]"])
        srcs = [self.dec(s, f"{st}[{self.at(a, offset + i)}]")
                for i, s in enumerate(self.slot_sorts(sort))]
        return CV(srcs)

    # ------------------------------------------------------------ quantifiers

    def quant(self, e: ir.Quant, env: Mapping[str, CV], st: str, out: Block) -> CV:
        if e.kind == "choose" and e.vars[0].sort in self.sym_index:
            return self.symmetric_choose(e, env, st, out)
        domains = [self.values(v.sort) for v in e.vars]
        size = 1
        for d in domains:
            size *= len(d)
        if size <= UNROLL_MAX_VALUES:
            probe = Block()
            inner = dict(env)
            for v in e.vars:
                inner[v.name] = CV([self.cname(v)], sort=v.sort)
            saved = (len(self.faults), len(self.chooses))
            counter = self._counter
            self._counter = self._probe_counter  # probe names never reach the output
            cv = self.ex(e.body, inner, st, probe)
            self._counter = counter
            del self.faults[saved[0]:]
            del self.chooses[saved[1]:]
            cost = len(probe) + 1 + sum(len(s) for s in cv.srcs) // 80
            if size * cost <= UNROLL_MAX_LINES:
                return self.quant_unrolled(e, env, st, out, domains)
        return self.quant_loop(e, env, st, out)

    def quant_unrolled(self, e: ir.Quant, env: Mapping[str, CV], st: str, out: Block,
                       domains: list[tuple[Any, ...]]) -> CV:
        kind = e.kind
        bodies: list[tuple[tuple[Any, ...], Block, CV]] = []
        for combo in itertools.product(*domains):
            inner = dict(env)
            for v, value in zip(e.vars, combo, strict=True):
                inner[v.name] = K(value, v.sort)
            blk = Block()
            cv = self.ex(e.body, inner, st, blk)
            bodies.append((combo, blk, cv))
            if cv.const and not blk and (
                    (kind == "forall" and not cv.value) or (kind in ("exists", "choose")
                                                            and cv.value)):
                break  # decided here: the rest is never evaluated
        if kind == "count":
            total = sum(1 for _, b, cv in bodies if cv.const and cv.value)
            if all(cv.const for _, _, cv in bodies):
                return K(total)
            r = self.tmp()
            out.emit(f"V {r} = {total};")
            for _, blk, cv in bodies:
                out.splice(blk)
                if not cv.const:
                    out.emit(f"{r} += ({cv.src}) != 0;")
            return CV([r])
        if all(not blk for _, blk, _ in bodies):
            # Pure: one C expression, which short-circuits as Python does.
            if kind in ("forall", "exists"):
                parts = []
                decided = None
                for _, _, cv in bodies:
                    if cv.const:
                        if (kind == "forall") != bool(cv.value):
                            decided = cv.value
                            break
                        continue
                    parts.append(cv.src)
                if decided is not None:
                    # Pure parts have no effect: the constant decides.
                    return K(bool(decided))
                if not parts:
                    return K(kind == "forall")
                joiner = " && " if kind == "forall" else " || "
                return CV([f"({joiner.join(parts)})"])
            # choose
            src = "NONE_V"
            result: Any = None
            all_const = True
            for combo, _, cv in reversed(bodies):
                if cv.const:
                    if cv.value:
                        src = clit(combo[0])
                        result = combo[0]
                    continue
                all_const = False
                src = f"({cv.src} ? {clit(combo[0])} : {src})"
            return K(result) if all_const else CV([src])
        # Some bodies have checks: statements with an early exit.
        label = self.tmp("_q")
        if kind in ("forall", "exists"):
            r = self.tmp()
            init = 1 if kind == "forall" else 0
            out.emit(f"int {r} = {init};")
            out.emit("do {")
            for _, blk, cv in bodies:
                out.splice(blk, 1)
                if cv.const:
                    if bool(cv.value) != bool(init):
                        out.emit(f"  {r} = {1 - init}; break;")
                        break
                    continue
                test = f"!{cv.src}" if kind == "forall" else cv.src
                out.emit(f"  if ({test}) {{ {r} = {1 - init}; break; }}")
            out.emit(f"}} while (0); /* {label} */")
            return CV([r])
        assert kind == "choose"
        r = self.tmp()
        out.emit(f"V {r} = NONE_V;")
        out.emit("do {")
        for combo, blk, cv in bodies:
            out.splice(blk, 1)
            if cv.const:
                if cv.value:
                    out.emit(f"  {r} = {clit(combo[0])}; break;")
                    break
                continue
            out.emit(f"  if ({cv.src}) {{ {r} = {clit(combo[0])}; break; }}")
        out.emit(f"}} while (0); /* {label} */")
        return CV([r])

    def loop_header(self, sort: ir.Sort, name: str) -> str:
        values = self.values(sort)
        if not values:
            return f"for (V {name} = 0; {name} < 0; {name}++)"
        lo, hi = int(values[0]), int(values[-1])
        return f"for (V {name} = {clit(lo)}; {name} <= {clit(hi)}; {name}++)"

    def quant_loop(self, e: ir.Quant, env: Mapping[str, CV], st: str, out: Block) -> CV:
        inner = dict(env)
        names = []
        for v in e.vars:
            name = self.cname(v) + "_" + str(next(self._counter))
            names.append(name)
            inner[v.name] = CV([name], sort=v.sort)
        blk = Block()
        body = self.ex(e.body, inner, st, blk)
        label = self.tmp("_Q")
        r = self.tmp()
        kind = e.kind
        init = {"forall": "1", "exists": "0", "count": "0", "choose": "NONE_V"}[kind]
        out.emit(f"V {r} = {init};")
        out.emit("{")
        depth = 0
        for v, name in zip(e.vars, names, strict=True):
            out.emit("  " * (depth + 1) + self.loop_header(v.sort, name) + " {")
            depth += 1
        pad = "  " * (depth + 1)
        out.splice(blk, depth + 1)
        match kind:
            case "forall":
                out.emit(f"{pad}if (!{body.src}) {{ {r} = 0; goto {label}; }}")
            case "exists":
                out.emit(f"{pad}if ({body.src}) {{ {r} = 1; goto {label}; }}")
            case "count":
                out.emit(f"{pad}if ({body.src}) {r}++;")
            case "choose":
                out.emit(f"{pad}if ({body.src}) {{ {r} = {names[0]}; goto {label}; }}")
        for d in range(depth, 0, -1):
            out.emit("  " * d + "}")
        out.emit(f"}} {label}: ;")
        return CV([r])

    def symmetric_choose(self, e: ir.Quant, env: Mapping[str, CV], st: str, out: Block) -> CV:
        """``choose`` over a symmetric sort: the least value, and while the
        guard is on, a check that every other value it could pick is a twin
        of it (symmetry.SymmetryGuard.choose)."""
        var = e.vars[0]
        sort = var.sort
        assert isinstance(sort, ir.RangeSort)
        a = self.sym_index[sort]
        self.chooses.append(ChooseSite(sort, a, e.span))
        site = len(self.chooses) - 1
        values = self.values(sort)
        n = len(values)
        lo = int(values[0]) if values else 0
        scoped = [cv for cv in env.values() if cv.sort is not None and mentions(cv.sort, sort)]
        x = self.cname(var) + "_" + str(next(self._counter))
        inner = dict(env)
        inner[var.name] = CV([x], sort=sort)
        blk = Block()
        body = self.ex(e.body, inner, st, blk)
        y = x + "y"
        inner_y = dict(env)
        inner_y[var.name] = CV([y], sort=sort)
        blk_y = Block()
        body_y = self.ex(e.body, inner_y, st, blk_y)
        r = self.tmp()
        ci = self.tmp("_ci")
        out.emit(f"V {r} = NONE_V;")
        out.emit("{")
        out.emit(f"  int {ci} = -1;")
        out.emit(f"  for (V {x} = {clit(lo)}; {x} < {clit(lo + n)}; {x}++) {{")
        out.splice(blk, 2)
        out.emit(f"    if ({body.src}) {{ {ci} = (int)({x} - ({lo})); break; }}")
        out.emit("  }")
        out.emit(f"  if ({ci} >= 0) {{")
        out.emit(f"    {r} = {ci} + ({lo});")
        out.emit(f"    if (c->guard_on && (c->active >> {a} & 1)) {{")
        out.emit(f"      for (int _j = {ci} + 1; _j < {n}; _j++) {{")
        out.emit(f"        V {y} = _j + ({lo});")
        fixed = self.locals_fixed(scoped, sort, lo, r, y)
        out.emit(f"        if (rc_twins(c, {st}, {a}, {ci}, _j) && {fixed}) continue;")
        out.emit("        {")
        out.emit("          jmp_buf _jb; jmp_buf *volatile _saved = c->fault_jb;")
        out.emit(f"          volatile int _vx = {ci}, _vy = _j;")
        out.emit(f"          if (setjmp(_jb)) {{ c->fault_jb = _saved; "
                 f"rc_broken_choose(c, {site}, _vx, _vy, 1); }}")
        out.emit("          c->fault_jb = &_jb;")
        out.splice(blk_y, 5)
        out.emit(f"          int _hit = ({body_y.src}) != 0;")
        out.emit("          c->fault_jb = _saved;")
        out.emit(f"          if (_hit) rc_broken_choose(c, {site}, _vx, _vy, 0);")
        out.emit("        }")
        out.emit("      }")
        out.emit("    }")
        out.emit("  }")
        out.emit("}")
        return CV([r])

    def locals_fixed(self, scoped: list[CV], target: ir.RangeSort, lo: int, x: str,
                     y: str) -> str:
        """C condition: swapping values ``x`` and ``y`` of ``target`` leaves every
        local in ``scoped`` unchanged (symmetry._fixed)."""
        conds = []
        for cv in scoped:
            sort = cv.sort
            assert sort is not None
            slots = self.slot_sorts(sort)
            parts = []
            for src, slot_sort in zip(cv.srcs, slots, strict=True):
                inner = slot_sort.inner if isinstance(slot_sort, ir.OptionSort) else slot_sort
                if inner == target:
                    parts.append(f"({src} != {x} && {src} != {y})")
                if isinstance(slot_sort, ir.SetSort) and slot_sort.elem == target:
                    parts.append(f"((({src} >> ({x} - ({lo}))) & 1) == "
                                 f"(({src} >> ({y} - ({lo}))) & 1))")
            if not parts:
                continue
            cond = " && ".join(parts)
            if isinstance(sort, ir.OptionSort) and isinstance(sort.inner, ir.RecordSort):
                cond = f"(!{cv.srcs[0]} || ({cond}))"
            conds.append(f"({cond})")
        return " && ".join(conds) if conds else "1"

    # ------------------------------------------------------------ statements

    def stmts(self, stmts: Iterable[ir.Stmt], env: Mapping[str, CV], out: Block,
              disabled: str, st: str = "t") -> None:
        env = dict(env)
        for stmt in stmts:
            self.stmt(stmt, env, out, disabled, st)

    def stmt(self, stmt: ir.Stmt, env: dict[str, CV], out: Block, disabled: str,
             st: str = "t") -> None:
        match stmt:
            case ir.Assign(target=target, value=value):
                self.assign(target, value, env, out)
            case ir.If(cond=cond, then=then, else_=else_):
                cc = self.ex(cond, env, st, out)
                if cc.const:
                    blk = Block()
                    self.stmts(then if cc.value else else_, env, blk, disabled, st)
                    out.emit("{")
                    out.splice(blk, 1)
                    out.emit("}")
                    return
                out.emit(f"if ({cc.src}) {{")
                blk = Block()
                self.stmts(then, env, blk, disabled, st)
                out.splice(blk, 1)
                if else_:
                    out.emit("} else {")
                    blk = Block()
                    self.stmts(else_, env, blk, disabled, st)
                    out.splice(blk, 1)
                out.emit("}")
            case ir.For(var=var, body=body):
                values = self.values(var.sort)
                reorderable = var.sort in self.sym_index and stmt in self.unproven_loops
                if reorderable:
                    a = self.sym_index[var.sort]  # type: ignore[index]
                    name = self.cname(var) + "_" + str(next(self._counter))
                    k = self.tmp("_k")
                    out.emit(f"for (int {k} = 0; {k} < {len(values)}; {k}++) {{")
                    out.emit(f"  V {name} = c->order[{a}][{k}];")
                    inner = dict(env)
                    inner[var.name] = CV([name], sort=var.sort)
                    blk = Block()
                    self.stmts(body, inner, blk, disabled, st)
                    out.splice(blk, 1)
                    out.emit("}")
                    return
                if len(values) <= UNROLL_MAX_VALUES:
                    blocks = []
                    total = 0
                    for value in values:
                        inner = dict(env)
                        inner[var.name] = K(value, var.sort)
                        blk = Block()
                        self.stmts(body, inner, blk, disabled, st)
                        blocks.append(blk)
                        total += len(blk)
                        if total > UNROLL_MAX_LINES:
                            break
                    if total <= UNROLL_MAX_LINES:
                        for blk in blocks:
                            out.emit("{")
                            out.splice(blk, 1)
                            out.emit("}")
                        return
                    # Too big: drop what the attempt registered? Sites stay
                    # (unused sites are harmless); compile as a loop.
                name = self.cname(var) + "_" + str(next(self._counter))
                out.emit(self.loop_header(var.sort, name) + " {")
                inner = dict(env)
                inner[var.name] = CV([name], sort=var.sort)
                blk = Block()
                self.stmts(body, inner, blk, disabled, st)
                out.splice(blk, 1)
                out.emit("}")
            case ir.Let(var=var, value=value):
                cv = self.ex(value, env, st, out)
                site_args = (stmt.span, ("value {value} is outside sort {sort} "
                                         f"in let {show(var)}"), var.sort)
                cv = self.checked(cv, value, var.sort, out, site_args, None)
                if cv.const:
                    env[var.name] = bound(cv, var.sort)
                else:
                    name = self.cname(var)
                    names = [name] if len(cv.srcs) == 1 else \
                        [f"{name}_{i}" for i in range(len(cv.srcs))]
                    for n, src in zip(names, cv.srcs, strict=True):
                        out.emit(f"V {n} = {src};")
                    env[var.name] = CV(names, sort=var.sort)
            case ir.Require(cond=cond):
                cc = self.ex(cond, env, st, out)
                if cc.const:
                    if not cc.value:
                        out.emit(disabled)
                    return
                out.emit(f"if (!{cc.src}) {disabled}")
            case ir.Assert(cond=cond):
                index = self.assert_index.get(id(stmt))
                if index is None:
                    index = self.n_asserts
                    self.assert_index[id(stmt)] = index
                    self.n_asserts += 1
                cc = self.ex(cond, env, st, out)
                if cc.const:
                    if not cc.value:
                        out.emit(f"RC_FAIL({index});")
                    return
                out.emit(f"if (!{cc.src}) RC_FAIL({index});")
            case _:
                raise Unsupported(f"statement {type(stmt).__name__}")

    def checked(self, cv: CV, value: ir.Expr, sort: ir.Sort, out: Block,
                site_args: tuple[ir.Span, str, ir.Sort | None], var: str | None,
                path: tuple[str, ...] = ()) -> CV:
        """``cv`` after a check that it belongs to ``sort`` (compile.checked)."""
        if self.trusted(value, sort):
            return cv
        width = self.width(sort)
        sorts = self.slot_sorts(sort)
        if cv.const:
            slots = cv.value if width > 1 else (cv.value,)
            if all(self.instance.contains(s, v) for s, v in zip(sorts, slots, strict=True)):
                return cv
        site = self.fault(*site_args, var=var, path=path)
        cv = self.materialize(cv, out)
        for src, s in zip(cv.srcs, sorts, strict=True):
            cond = self.contains_c(s, src)
            if cond != "1":
                out.emit(f"if (!{cond}) {self.fire(site, src)}")
        return cv

    def assign(self, target: ir.LValue, value: ir.Expr, env: Mapping[str, CV],
               out: Block) -> None:
        base, terms, _ = self.address(target.var, target.keys, env, "t", out, target.span)
        a = self.addr(base, terms, out)
        sort: ir.Sort = self.instance.layout[target.var].var.value
        offset = 0
        for depth, field in enumerate(target.path):
            if isinstance(sort, ir.OptionSort):
                record = sort.inner
                site = self.fault(target.span, "assigning to field "
                                  f"{'.'.join(target.path[:depth + 1])} of none in {{where}}",
                                  None, target.var, has_value=False)
                out.emit(f"if (!t[{self.at(a, offset)}]) {self.fire(site)}")
                offset += 1
            else:
                record = sort
            assert isinstance(record, ir.RecordSort)
            offset += self.instance.field_offset(record, field)
            sort = record.field_sort(field)
        self.store(sort, value, env, out, a, offset, target)

    def store(self, sort: ir.Sort, value: ir.Expr, env: Mapping[str, CV], out: Block,
              a: str, offset: int, target: ir.LValue) -> None:
        if isinstance(value, ir.RecordLit) and value.sort == sort:
            for name, field_value in value.fields:
                self.store(sort.field_sort(name), field_value, env, out, a,
                           offset + self.instance.field_offset(sort, name), target)
            return
        if (isinstance(value, ir.Wrap) and isinstance(sort, ir.OptionSort)
                and isinstance(sort.inner, ir.RecordSort) and isinstance(value.arg, ir.RecordLit)):
            out.emit(f"t[{self.at(a, offset)}] = 1;")
            self.store(sort.inner, value.arg, env, out, a, offset + 1, target)
            return
        cv = self.ex(value, env, "t", out)
        site_args = (target.span, ("value {value} is outside sort {sort} in assignment "
                                   "to {where}"), sort)
        cv = self.checked(cv, value, sort, out, site_args, target.var, target.path)
        sorts = self.slot_sorts(sort)
        if len(sorts) > 1 and not cv.const:
            cv = self.materialize(cv, out)  # read everything before writing
        for i, (src, s) in enumerate(zip(cv.srcs, sorts, strict=True)):
            out.emit(f"t[{self.at(a, offset + i)}] = {self.enc(s, src)};")

    # ------------------------------------------------------------ functions

    def compile_prop(self, index: int, prop: ir.Property) -> str:
        out = Block()
        cv = self.ex(prop.expr, {}, "s", out)
        lines = [f"static int prop_{index}(Ctx *c, const slot_t *s) {{"]
        lines += ["  " + line for line in out.lines]
        lines.append(f"  (void)c; (void)s; return ({cv.src}) != 0;")
        lines.append("}")
        return "\n".join(lines)

    def compile_action(self, ai: int, action: ir.Action) -> str:
        ident = f"a{ai}"
        params = action.params
        domains = [self.values(p.sort) for p in params]
        multipliers = []
        m = 1
        for d in reversed(domains):
            multipliers.append(m)
            m *= len(d)
        multipliers.reverse()
        base_iid = len(self.instances)
        self.action_base.append(base_iid)
        for combo in itertools.product(*domains):
            self.instances.append((ai, combo))

        prefix: list[ir.Stmt] = []
        for stmt in action.body:
            if isinstance(stmt, (ir.Require, ir.Let)):
                prefix.append(stmt)
            else:
                break
        rest = action.body[len(prefix):]
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

        # rest_<a>(c, s, iid, params..., lets...)
        env: dict[str, CV] = {p.name: CV([self.cname(p)], sort=p.sort) for p in params}
        let_params: list[str] = []
        for v in prefix_lets:
            w = len(self.slot_sorts(v.sort))
            names = [self.cname(v)] if w == 1 else [f"{self.cname(v)}_{i}" for i in range(w)]
            env[v.name] = CV(names, sort=v.sort)
            let_params += names
        body = Block()
        self.stmts(rest, env, body, "return;")
        sig_params = "".join(f", V {self.cname(p)}" for p in params) + \
            "".join(f", V {n}" for n in let_params)
        src = [f"static void rest_{ident}(Ctx *c, const slot_t *s, uint32_t iid{sig_params}) {{",
               "  slot_t t[NSLOTS_ALLOC]; memcpy(t, s, sizeof(slot_t) * NSLOTS);",
               "  RC_FAILED_DECL;"]
        src += ["  " + line for line in body.lines]
        src.append("  rc_emit(c, iid, t, RC_FAILED_ARGS);")
        src.append("}")

        # expand_<a>(c, s)
        loop = Block()
        env = {}
        iid_terms: list[str] = []
        placed = 0
        depth = 0
        for depth in range(len(params) + 1):
            pad = "  " * depth
            if depth > 0:
                p = params[depth - 1]
                name = self.cname(p)
                loop.emit(pad[:-2] + self.loop_header(p.sort, name) + " {")
                env[p.name] = CV([name], sort=p.sort)
                mult = multipliers[depth - 1]
                idx = self.index_src(p.sort, name)
                iid_terms.append(f"(uint32_t)({idx})" if mult == 1
                                 else f"(uint32_t)({idx})*{mult}u")
            skip = "continue;" if depth > 0 else "return;"
            while placed < len(prefix) and levels[placed] <= depth:
                stmt = prefix[placed]
                blk = Block()
                if isinstance(stmt, ir.Require):
                    cc = self.ex(stmt.cond, env, "s", blk)
                    if cc.const:
                        if not cc.value:
                            blk.emit(skip)
                    else:
                        blk.emit(f"if (!{cc.src}) {skip}")
                else:
                    self.stmt(stmt, env, blk, skip, "s")
                loop.splice(blk, depth)
                placed += 1
        iid = " + ".join([f"{base_iid}u"] + iid_terms)
        args = "".join(f", {self.cname(p)}" for p in params)
        let_args = "".join(f", {s}" for v in prefix_lets for s in env[v.name].srcs)
        loop.emit("  " * len(params) + f"rest_{ident}(c, s, {iid}{args}{let_args});")
        for d in range(len(params), 0, -1):
            loop.emit("  " * (d - 1) + "}")
        src.append(f"static void expand_{ident}(Ctx *c, const slot_t *s) {{")
        src += ["  " + line for line in loop.lines]
        src.append("}")

        for stmt in walk_stmts(action.body):
            if isinstance(stmt, ir.For) and stmt in self.unproven_loops \
                    and stmt.var.sort in self.sym_index:
                a = self.sym_index[stmt.var.sort]  # type: ignore[index]
                entries = self.order_checks.setdefault(ai, [])
                if all(x != a for x, _ in entries):
                    entries.append((a, stmt.span))
        return "\n".join(src)

    # ------------------------------------------------------------ tables

    def tables(self) -> str:
        L = self.layout
        inst = self.instance
        # per slot: (kind, sort, guard offset, [(key sort, key index, stride)], tag)
        self.slot_info: list[tuple[int, int, int, list[tuple[int, int, int]], int]] = []
        self.entries: list[tuple[int, int]] = []  # (first slot, width) of every map entry
        maxk = 1
        kinds, sorts_, goffs, nks = [], [], [], []
        kss: list[list[int]] = []
        kis: list[list[int]] = []
        ksts: list[list[int]] = []
        tags = []
        for var in self.model.state:
            rng = inst.layout[var.name]
            sym_pos = [(j, self.sym_index[k]) for j, k in enumerate(var.keys)
                       if k in self.sym_index]  # type: ignore[comparison-overlap]
            maxk = max(maxk, len(sym_pos))
        for var in self.model.state:
            rng = inst.layout[var.name]
            sym_pos = [(j, self.sym_index[k]) for j, k in enumerate(var.keys)
                       if k in self.sym_index]  # type: ignore[comparison-overlap]
            for e, key in enumerate(rng.keys):
                first = rng.offset + e * rng.width
                self.entries.append((first, rng.width))
                for o in range(rng.width):
                    i = first + o
                    s = L.sorts[i]
                    inner = s.inner if isinstance(s, ir.OptionSort) else s
                    if inner in self.sym_index:
                        kinds.append(2 if isinstance(s, ir.OptionSort) else 1)
                        sorts_.append(self.sym_index[inner])  # type: ignore[index]
                    elif isinstance(s, ir.SetSort) and s.elem in self.sym_index:
                        kinds.append(3)
                        sorts_.append(self.sym_index[s.elem])  # type: ignore[index]
                    else:
                        kinds.append(0)
                        sorts_.append(-1)
                    g = L.guards[i]
                    goffs.append(0 if g < 0 else i - g)
                    ks, ki, kst = [], [], []
                    for j, a in sym_pos:
                        ks.append(a)
                        ki.append(inst.index_of(var.keys[j], key[j]))
                        kst.append(rng.strides[j] * rng.width)
                    nks.append(len(ks))
                    pad = maxk - len(ks)
                    kss.append(ks + [0] * pad)
                    kis.append(ki + [0] * pad)
                    ksts.append(kst + [0] * pad)
                    plain_key = tuple(inst.index_of(var.keys[j], key[j])
                                      for j in range(len(key)) if j not in dict(sym_pos))
                    digest = hashlib.sha256(repr((var.name, o, plain_key)).encode()).digest()
                    tags.append(int.from_bytes(digest[:8], "little"))
                    self.slot_info.append((kinds[-1], sorts_[-1], goffs[-1],
                                           list(zip(ks, ki, kst, strict=True)), tags[-1]))
        assert len(kinds) == L.n
        sizes = [len(inst.values(s)) for s in self.symmetric]
        maxn = max(sizes, default=1)
        if maxn > 255:
            raise Unsupported("a symmetric sort has more than 255 values")

        def arr(ctype: str, name: str, values: list[Any]) -> str:
            body = ",".join(str(v) for v in values) if values else "0"
            return f"static const {ctype} {name}[] = {{{body}}};"

        def arr2(ctype: str, name: str, rows: list[list[int]], width: int) -> str:
            if not rows:
                return f"static const {ctype} {name}[1][{width}];"
            body = ",".join("{" + ",".join(str(v) for v in row) + "}" for row in rows)
            return f"static const {ctype} {name}[][{width}] = {{{body}}};"

        lines = [
            arr("int", "SYM_N", sizes or [0]),
            arr("int", "SYM_LO", [self.lo(s) for s in self.symmetric] or [0]),
        ]
        return "\n".join(lines)

    def canon_code(self) -> str:
        """Straight-line C for the symmetry reduction: one round of value
        colours (``colour_round``) and the image of a state under a
        permutation compared with a reference (``img_cmp``); runtime.c
        drives them (``canon``). A sort that is not reduced gets identity
        permutations, so the same code serves every set of reduced sorts."""
        lines: list[str] = []
        mask64 = (1 << 64) - 1

        def u64(v: int) -> str:
            return f"{v & mask64}ULL"

        def tag_k(tag: int, k: int) -> int:
            return (tag * (2 * k + 3) + 0x9E3779B97F4A7C15 * (k + 1)) & mask64

        # colour_round(c, s, col, sig)
        lines.append("static void colour_round(const Ctx *c, const slot_t *s, "
                     "uint64_t col[NSYM_ALLOC][MAXN], uint64_t sig[NSYM_ALLOC][MAXN]) {")
        lines.append("  const uint32_t act = c->active; (void)act; (void)col;")
        # The plain slots of an entry keyed by a symmetric sort: packed into
        # words, one hash per word and key (their codes are never renamed).
        widths = self.layout.widths
        for first, width in self.entries:
            _kind0, _b0, _g0, keys, tag0 = self.slot_info[first]
            if not keys:
                continue
            words: list[list[str]] = [[]]
            bit = 0
            for i in range(first, first + width):
                if self.slot_info[i][0] != 0 or widths[i] == 0:
                    continue
                if bit + widths[i] > 64:
                    words.append([])
                    bit = 0
                words[-1].append(f"((uint64_t)s[{i}] << {bit})" if bit else f"(uint64_t)s[{i}]")
                bit += widths[i]
            for wi, parts in enumerate(words):
                if not parts:
                    continue
                body = [f"uint64_t v = {' | '.join(parts)};"]
                kcs = [f"(((act >> {a}) & 1) ? col[{a}][{x}] : {u64(0x77 + x)}) + "
                       f"{u64((k + 1) * 0x1234)}" for k, (a, x, _st) in enumerate(keys)]
                for k, (a, x, _st) in enumerate(keys):
                    ctx = []
                    for k2, (a2, x2, _s2) in enumerate(keys):
                        if k2 != k:
                            diag = u64(0x8888) if (a2 == a and x2 == x) else "0"
                            ctx.append(f"H64({kcs[k2]} + {diag})")
                    ctx_src = (" + " + " + ".join(ctx)) if ctx else ""
                    wtag = tag_k(tag0 ^ (0x5157 * (wi + 1)), k)
                    body.append(f"if ((act >> {a}) & 1) sig[{a}][{x}] += "
                                f"H64({u64(wtag)} + v{ctx_src});")
                lines.append("  { " + " ".join(body) + " }")
        for i, (kind, b, goff, keys, tag) in enumerate(self.slot_info):
            if kind == 0:
                continue  # packed with its entry above
            body = [f"unsigned code = s[{i}];", "uint64_t v; int vi = -1;"]
            if kind == 0:
                body.append("v = code;")
            elif kind in (1, 2):
                cond_absent = f"!s[{i - goff}]" if goff else "0"
                none = "code == 0" if kind == 2 else "0"
                idx = "(int)code - 1" if kind == 2 else "(int)code"
                body.append(f"if (!((act >> {b}) & 1)) v = code; "
                            f"else if ({cond_absent}) v = 0xA5A5A5ULL ^ code; "
                            f"else if ({none}) v = 0x2222ULL; "
                            f"else {{ vi = {idx}; v = col[{b}][vi] + 0x1111ULL; }}")
            else:
                cond_absent = f"!s[{i - goff}]" if goff else "0"
                body.append(f"if (!((act >> {b}) & 1)) v = code; "
                            f"else if ({cond_absent}) v = 0xA5A5A5ULL ^ code; "
                            f"else {{ v = 0x3333ULL + (uint64_t)__builtin_popcountll(code); "
                            f"for (int x = 0; x < {len(self.values(self.symmetric[b]))}; x++) "
                            f"if ((code >> x) & 1) v += H64(col[{b}][x] + 0x55ULL); }}")
            kcs = []
            for k, (a, x, _st) in enumerate(keys):
                kcs.append(f"(((act >> {a}) & 1) ? col[{a}][{x}] : {u64(0x77 + x)}) + "
                           f"{u64((k + 1) * 0x1234)}")
            if len(keys) > 1:
                for k, kc in enumerate(kcs):
                    body.append(f"uint64_t kc{k} = {kc};")
            for k, (a, x, _st) in enumerate(keys):
                u = "v"
                if kind in (1, 2) and b == a:
                    u = f"(vi == {x} ? 0x5E1FULL : v)"
                elif kind == 3 and b == a:
                    u = (f"(v ^ ((((act >> {b}) & 1) && !({f'!s[{i - goff}]' if goff else '0'})) "
                         f"? ((code >> {x}) & 1) * 0x4444ULL : 0))")
                ctx = []
                for k2, (a2, x2, _s2) in enumerate(keys):
                    if k2 == k:
                        continue
                    diag = u64(0x8888) if (a2 == a and x2 == x) else "0"
                    ctx.append(f"H64(kc{k2} + {diag})")
                ctx_src = (" + " + " + ".join(ctx)) if ctx else ""
                body.append(f"if ((act >> {a}) & 1) sig[{a}][{x}] += "
                            f"H64({u64(tag_k(tag, k))} + {u}{ctx_src});")
            if kind in (1, 2, 3):
                kctx = " + ".join(f"H64(kc{k})" if len(keys) > 1 else f"H64({kcs[0]})"
                                  for k in range(len(keys))) or "0"
                if kind in (1, 2):
                    body.append(f"if (vi >= 0) sig[{b}][vi] += H64({u64(tag ^ 0xABCDEF12345)} + "
                                f"{kctx});")
                else:
                    n = len(self.values(self.symmetric[b]))
                    absent = f"!s[{i - goff}]" if goff else "0"
                    body.append(f"if (((act >> {b}) & 1) && !({absent})) {{ uint64_t t = "
                                f"H64({u64(tag ^ 0xABCDEF12345)} + {kctx}) + "
                                f"(uint64_t)__builtin_popcountll(code); "
                                f"for (int x = 0; x < {n}; x++) if ((code >> x) & 1) "
                                f"sig[{b}][x] += H64(t); }}")
            lines.append("  { " + " ".join(body) + " }")
        lines.append("}")

        # distinct_colours / places: per sort, unrolled for its size
        lines.append("static inline int distinct_colours(const Ctx *c, "
                     "uint64_t col[NSYM_ALLOC][MAXN], int *all) {")
        lines.append("  int k = 0, n = 0; (void)col;")
        for a, sort in enumerate(self.symmetric):
            n = len(self.values(sort))
            if n > 16:
                lines.append(f"  if ((c->active >> {a}) & 1) {{ n += {n}; "
                             f"for (int x = 0; x < {n}; x++) "
                             f"{{ int seen = 0; for (int y = 0; y < x; y++) seen |= col[{a}][y] == "
                             f"col[{a}][x]; k += !seen; }} }}")
                continue
            terms = ["1"]
            for x in range(1, n):
                terms.append("(" + " & ".join(f"(col[{a}][{y}] != col[{a}][{x}])"
                                                for y in range(x)) + ")")
            lines.append(f"  if ((c->active >> {a}) & 1) {{ n += {n}; k += {' + '.join(terms)}; }}")
        lines.append("  *all = n;")
        lines.append("  return k;")
        lines.append("}")
        lines.append("static inline void places(const Ctx *c, uint64_t col[NSYM_ALLOC][MAXN], "
                     "uint8_t pi[NSYM_ALLOC][MAXN], uint8_t pinv[NSYM_ALLOC][MAXN]) {")
        lines.append("  (void)col; (void)pi; (void)pinv;")
        for a, sort in enumerate(self.symmetric):
            n = len(self.values(sort))
            if n > 16:
                lines.append(f"  if ((c->active >> {a}) & 1) "
                             f"for (int x = 0; x < {n}; x++) {{ int p = 0; "
                             f"for (int y = 0; y < {n}; y++) p += (col[{a}][y] < col[{a}][x]) | "
                             f"((col[{a}][y] == col[{a}][x]) & (y < x)); pi[{a}][x] = (uint8_t)p; "
                             f"pinv[{a}][p] = (uint8_t)x; }}")
                continue
            body = []
            for x in range(n):
                terms = []
                for y in range(n):
                    if y == x:
                        continue
                    t = f"(col[{a}][{y}] < col[{a}][{x}])"
                    if y < x:
                        t = f"(col[{a}][{y}] <= col[{a}][{x}])"
                    terms.append(t)
                p_src = " + ".join(terms) if terms else "0"
                body.append(f"{{ int p = {p_src}; pi[{a}][{x}] = (uint8_t)p; "
                            f"pinv[{a}][p] = {x}; }}")
            lines.append(f"  if ((c->active >> {a}) & 1) {{ {' '.join(body)} }}")
        lines.append("}")

        # img_cmp(c, s, pinv, pi, ref, cur): the image of s, slot by slot,
        # against ref: 1 when greater (stops), 0 when equal, -1 when less
        # (then cur holds the whole image).
        n = self.layout.n
        src_exprs = []
        for i, (kind, b, goff, keys, _tag) in enumerate(self.slot_info):
            base = i - sum(x * st for _, x, st in keys)
            terms = [str(base)] + [f"(int)pinv[{a}][{x}]*{st}" for a, x, st in keys]
            src = " + ".join(terms) if keys else str(i)
            if kind == 0:
                expr = f"s[{src}]"
                src_exprs.append((f"slot_t v = {expr};", "v"))
                continue
            if kind == 1:
                ren = f"v = pi[{b}][v];"
            elif kind == 2:
                ren = f"if (v) v = (slot_t)(pi[{b}][v - 1] + 1);"
            else:
                nvals = len(self.values(self.symmetric[b]))
                ren = f"v = (slot_t)permute_mask(v, pi[{b}], {nvals});"
            if goff:
                code = (f"int _src = {src}; slot_t v = s[_src]; "
                        f"if (s[_src - {goff}]) {{ {ren} }}")
            else:
                code = f"slot_t v = s[{src}]; {ren}"
            src_exprs.append((code, "v"))
        lines.append("static int img_cmp(const slot_t *s, const Perm pinv, const Perm pi, "
                     "const slot_t *ref, slot_t *cur) {")
        lines.append("  (void)pinv; (void)pi;")
        for i, (code, v) in enumerate(src_exprs):
            lines.append(f"  {{ {code} if ({v} != ref[{i}]) {{ if ({v} > ref[{i}]) return 1; "
                         f"cur[{i}] = {v}; goto w{i + 1}; }} cur[{i}] = {v}; }}")
        lines.append("  return 0;")
        for i, (code, v) in enumerate(src_exprs):
            lines.append(f"  w{i}: ;")
            lines.append(f"  {{ {code} cur[{i}] = {v}; }}")
        lines.append(f"  w{n}: return -1;")
        lines.append("}")
        lines.append("static void img_write(const slot_t *s, const Perm pinv, const Perm pi, "
                     "slot_t *cur) {")
        lines.append("  (void)pinv; (void)pi;")
        for i, (code, v) in enumerate(src_exprs):
            lines.append(f"  {{ {code} cur[{i}] = {v}; }}")
        lines.append("}")
        return "\n".join(lines)

    def pack_code(self) -> str:
        L = self.layout
        lines = ["static inline void rc_pack(const slot_t *s, uint64_t *w) {"]
        for wd in range(L.words):
            lines.append(f"  w[{wd}] = 0;")
        for i, (wd, bit) in enumerate(L.pack_pos):
            if L.widths[i] == 0:
                continue
            lines.append(f"  w[{wd}] |= (uint64_t)s[{i}] << {bit};")
        lines.append("}")
        lines.append("static inline void rc_unpack(const uint64_t *w, slot_t *s) {")
        for i, (wd, bit) in enumerate(L.pack_pos):
            width = L.widths[i]
            if width == 0:
                lines.append(f"  s[{i}] = 0;")
                continue
            mask = (1 << width) - 1
            lines.append(f"  s[{i}] = (slot_t)((w[{wd}] >> {bit}) & {mask}ULL);")
        lines.append("}")
        return "\n".join(lines)

    # ------------------------------------------------------------ whole file

    def generate(self) -> tuple[str, str]:
        """``(defines, model code)``: the part before the runtime header and
        the part between it and the runtime."""
        model = self.model
        actions = [self.compile_action(ai, a) for ai, a in enumerate(model.actions)]
        props = [self.compile_prop(k, p) for k, p in enumerate(model.properties)]
        if self.n_asserts > MAX_ASSERTS:
            raise Unsupported(f"the model has {self.n_asserts} assertions (at most "
                              f"{MAX_ASSERTS})")
        if len(self.instances) >= (1 << 31):
            raise Unsupported("too many action instances")
        L = self.layout
        nsym = len(self.symmetric)
        sizes = [len(self.values(s)) for s in self.symmetric]
        defines = [
            ("/* generated by rmapcheck.explicit.native for model "
             f"{re.sub(r'[^A-Za-z0-9_]', '_', model.name)} */"),
            "#include <stdint.h>",
            f"#define NSLOTS {L.n}",
            f"#define NSLOTS_ALLOC {max(L.n, 1)}",
            f"#define NWORDS {L.words}",
            f"#define PACKED_BYTES {L.packed_bytes}",
            f"#define NIIDS {len(self.instances)}",
            f"#define NACTIONS {len(model.actions)}",
            f"#define NPROPS {len(model.properties)}",
            f"#define NASSERTS {max(self.n_asserts, 1)}",
            f"#define NSYM {nsym}",
            f"#define NSYM_ALLOC {max(nsym, 1)}",
            f"#define MAXN {max(sizes, default=1)}",
            f"#define NFAULTS {len(self.faults)}",
            f"typedef {L.slot_type} slot_t;",
        ]
        # The actions and properties are the bulk of the code: -O1 compiles
        # them twice as fast as -O2 for a few percent of speed; the hot
        # symmetry code (and runtime.c) asks for -O2 itself.
        parts = [self.tables(), "#pragma GCC push_options\n#pragma GCC optimize (\"O2\")",
                 self.pack_code(), self.canon_code(), "#pragma GCC pop_options"]
        parts += actions
        parts += props
        parts.append("static void (*const EXPAND[])(Ctx *, const slot_t *) = {" +
                     ", ".join(f"expand_a{i}" for i in range(len(model.actions))) +
                     ("" if model.actions else "0") + "};")
        parts.append("static int (*const PROPS[])(Ctx *, const slot_t *) = {" +
                     ", ".join(f"prop_{k}" for k in range(len(model.properties))) +
                     ("" if model.properties else "0") + "};")
        parts.append("static const int ACTION_BASE[] = {" +
                     ",".join(str(b) for b in self.action_base + [len(self.instances)]) + "};")
        # order checks: per action, the sym sorts of its reorderable loops
        checks = []
        for ai in range(len(model.actions)):
            entries = self.order_checks.get(ai, [])
            checks.append([len(entries)] + [a for a, _ in entries] + [0] * (nsym - len(entries)))
        width = nsym + 1
        body = ",".join("{" + ",".join(str(v) for v in row) + "}" for row in checks) or "{0}"
        parts.append(f"static const int ORDER_CHECKS[][{width}] = {{{body}}};")
        return "\n".join(defines) + "\n", "\n\n".join(parts) + "\n"
