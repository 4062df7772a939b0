"""A model at fixed constants, and the flat state layout every finite back end shares.

The IR keeps bounds symbolic; an ``Instance`` fixes the constants, so every
sort has a finite list of values and every state variable a fixed run of
slots. A state is a tuple with one entry per slot:

- ``Bool``: ``False``/``True``; range sorts: the integer itself; enums: the
  member's index; ``T?`` of a scalar: the value or ``None``;
- a record: its fields' slots in declaration order; ``R?`` of a record: one
  presence slot (``False``/``True``) followed by the record's slots, which
  hold the defaults while it is absent so that equal states are equal tuples;
- ``set T``: an ``int`` bit mask, bit ``i`` for the ``i``-th value of ``T``;
- a map ``K1, K2 -> V``: ``V``'s slots for each key in row-major order.

The explicit engine stores these tuples; the Z3 encoding has one solver
variable per slot, so a Z3 model decodes to exactly the tuple the explicit
engine would reach, and a trace from either replays on the other.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

from attrs import frozen

from rmapcheck import ir
from rmapcheck.errors import SpecError
from rmapcheck.waits_for import with_deadlock_property

# A bound beyond this is a mistake, not a model: the explicit engine would
# never finish, and the Z3 encoding would not fit in memory.
MAX_SORT_SIZE = 4096
MAX_STATE_SLOTS = 1 << 16


def eval_const_expr(expr: ir.Expr, consts: Mapping[str, int]) -> int:
    """Evaluates a bound: integer literals, constants and arithmetic."""
    match expr:
        case ir.IntLit(value=value):
            return value
        case ir.ConstRef(name=name):
            return consts[name]
        case ir.Unary(op="neg", arg=arg):
            return -eval_const_expr(arg, consts)
        case ir.HookValue(value=value):
            return eval_const_expr(value, consts)
        case ir.Binary(op=op, lhs=lhs, rhs=rhs) if op in ("add", "sub", "mul", "div", "mod"):
            a, b = eval_const_expr(lhs, consts), eval_const_expr(rhs, consts)
            if op == "add":
                return a + b
            if op == "sub":
                return a - b
            if op == "mul":
                return a * b
            if b == 0:
                raise SpecError("a bound divides by zero", getattr(expr, "span", None))
            return a // b if op == "div" else a % b
    raise SpecError("a sort bound must be built from numbers and constants",
                    getattr(expr, "span", None))


@frozen
class SlotRange:
    """Where one state variable lives in the state tuple."""

    var: ir.StateVar
    offset: int
    width: int  # slots per key
    keys: tuple[tuple[Any, ...], ...]  # every key tuple, in row-major order
    strides: tuple[int, ...]  # per key position, in units of entries

    @property
    def end(self) -> int:
        return self.offset + self.width * len(self.keys)


class Instance:
    """``model`` with every constant fixed; sorts enumerable, layout fixed."""

    def __init__(self, model: ir.Model, overrides: Mapping[str, int] | None = None) -> None:
        self.model = model
        consts: dict[str, int] = {}
        overrides = dict(overrides or {})
        known = {c.name: c for c in model.consts}
        for name in overrides:
            if name not in known:
                hint = ", ".join(sorted(known)) or "none"
                raise SpecError(f"--const {name}: the model has no constant {name} "
                                f"(its constants: {hint})", None)
        for const in model.consts:
            value = overrides.get(const.name, const.default)
            if not const.lo <= value <= const.hi:
                raise SpecError(
                    f"constant {const.name} = {value} is outside its declared range "
                    f"{const.lo} .. {const.hi}; choose a value in that range",
                    const.span)
            consts[const.name] = value
        self.consts: dict[str, int] = consts
        self._values: dict[ir.Sort, tuple[Any, ...]] = {}
        self._index: dict[ir.Sort, dict[Any, int]] = {}
        for sort in model.sorts:
            if ir.is_finite_scalar(sort):
                self.values(sort)
        if model.threads:
            count = sum(math.prod(len(self.values(p.sort)) for p in t.params)
                        for t in model.threads)
            self.model = model = with_deadlock_property(model, count)
        self.layout: dict[str, SlotRange] = {}
        offset = 0
        for var in model.state:
            for key in var.keys:
                if not ir.is_finite_scalar(key):
                    raise SpecError(f"state variable {var.name} is indexed by {key}, "
                                    "which is not a finite sort", var.span)
            key_values = [self.values(k) for k in var.keys]
            keys = tuple(itertools.product(*key_values))
            strides: list[int] = []
            stride = 1
            for values in reversed(key_values):
                strides.append(stride)
                stride *= len(values)
            width = self.width(var.value, var.span)
            self.layout[var.name] = SlotRange(var, offset, width, keys, tuple(reversed(strides)))
            offset += width * len(keys)
            if offset > MAX_STATE_SLOTS:
                raise SpecError(
                    f"the state needs more than {MAX_STATE_SLOTS} slots at these bounds "
                    f"(state variable {var.name} alone has {width * len(keys)}); "
                    "lower the constants", var.span)
        self.num_slots = offset

    # ------------------------------------------------------------ sorts

    def range_bounds(self, sort: ir.RangeSort) -> tuple[int, int]:
        return eval_const_expr(sort.lo, self.consts), eval_const_expr(sort.hi, self.consts)

    def values(self, sort: ir.Sort) -> tuple[Any, ...]:
        """Every value of a finite scalar sort, in increasing order."""
        cached = self._values.get(sort)
        if cached is not None:
            return cached
        match sort:
            case ir.BoolSort():
                values: tuple[Any, ...] = (False, True)
            case ir.RangeSort():
                lo, hi = self.range_bounds(sort)
                if hi - lo + 1 > MAX_SORT_SIZE:
                    raise SpecError(
                        f"sort {sort.name} has {hi - lo + 1} values at these bounds, more "
                        f"than the {MAX_SORT_SIZE} a finite back end accepts; lower the "
                        "constants", sort.span)
                values = tuple(range(lo, hi + 1))
            case ir.EnumSort():
                values = tuple(range(len(sort.members)))
            case _:
                raise SpecError(f"sort {sort} is not a finite scalar sort", None)
        self._values[sort] = values
        self._index[sort] = {v: i for i, v in enumerate(values)}
        return values

    def index_of(self, sort: ir.Sort, value: Any) -> int:
        """Position of ``value`` among ``values(sort)``; KeyError when outside."""
        if sort not in self._index:
            self.values(sort)
        return self._index[sort][value]

    def contains(self, sort: ir.Sort, value: Any) -> bool:
        """Whether an encoded scalar ``value`` belongs to ``sort``."""
        match sort:
            case ir.OptionSort(inner=inner):
                return value is None or self.contains(inner, value)
            case ir.IntSort():
                return isinstance(value, int) and not isinstance(value, bool)
            case ir.SetSort(elem=elem):
                return isinstance(value, int) and 0 <= value < (1 << len(self.values(elem)))
            case ir.BoolSort():
                return isinstance(value, bool)
            case _:
                if sort not in self._index:
                    self.values(sort)
                return not isinstance(value, bool) and value in self._index[sort]

    def width(self, sort: ir.Sort, span: ir.Span | None = None) -> int:
        """Number of slots a value of ``sort`` takes."""
        match sort:
            case ir.RecordSort(fields=fields):
                return sum(self.width(s, span) for _, s in fields)
            case ir.OptionSort(inner=ir.RecordSort() as rec):
                return 1 + self.width(rec, span)
            case ir.OptionSort(inner=inner):
                return self.width(inner, span)
            case ir.IntSort():
                raise SpecError("state must have a finite sort, not Int; use a range "
                                "such as 0 .. N", span)
            case ir.SetSort(elem=elem):
                if not ir.is_finite_scalar(elem):
                    raise SpecError(f"set elements must be of a finite sort, not {elem}", span)
                return 1
            case _:
                return 1

    def field_offset(self, record: ir.RecordSort, name: str) -> int:
        """Slot offset of field ``name`` inside a record value."""
        offset = 0
        for field_name, sort in record.fields:
            if field_name == name:
                return offset
            offset += self.width(sort)
        raise KeyError(name)

    def default(self, sort: ir.Sort) -> tuple[Any, ...]:
        """The default value of ``sort`` as its slots."""
        match sort:
            case ir.BoolSort():
                return (False,)
            case ir.RangeSort():
                lo, hi = self.range_bounds(sort)
                return (0 if lo <= 0 <= hi else lo,)
            case ir.EnumSort():
                return (0,)
            case ir.OptionSort(inner=ir.RecordSort() as rec):
                return (False,) + self.default(rec)
            case ir.OptionSort():
                return (None,)
            case ir.RecordSort(fields=fields):
                out: tuple[Any, ...] = ()
                for _, field_sort in fields:
                    out += self.default(field_sort)
                return out
            case ir.SetSort():
                return (0,)
            case ir.IntSort():
                return (0,)
        raise AssertionError(sort)

    def initial_slots(self) -> list[Any]:
        """Every state variable at its sort's default (before the init block)."""
        slots: list[Any] = []
        for var in self.model.state:
            rng = self.layout[var.name]
            slots.extend(self.default(var.value) * len(rng.keys))
        return slots

    def address(self, var: str, key: tuple[Any, ...]) -> int:
        """First slot of ``var[key]``."""
        rng = self.layout[var]
        position = 0
        for sort, value, stride in zip(rng.var.keys, key, rng.strides, strict=True):
            position += self.index_of(sort, value) * stride
        return rng.offset + position * rng.width

    # ------------------------------------------------------------ decoding

    def decode_value(self, sort: ir.Sort, slots: tuple[Any, ...] | list[Any]) -> Any:
        """A readable value: enum member names, ``None`` for none, dicts for
        records, frozensets for sets."""
        match sort:
            case ir.RecordSort(fields=fields):
                out: dict[str, Any] = {}
                pos = 0
                for name, field_sort in fields:
                    w = self.width(field_sort)
                    out[name] = self.decode_value(field_sort, slots[pos:pos + w])
                    pos += w
                return out
            case ir.OptionSort(inner=ir.RecordSort() as rec):
                return self.decode_value(rec, slots[1:]) if slots[0] else None
            case ir.OptionSort(inner=inner):
                return None if slots[0] is None else self.decode_value(inner, slots)
            case ir.EnumSort(members=members):
                return members[slots[0]]
            case ir.SetSort(elem=elem):
                values = self.values(elem)
                mask = slots[0]
                return frozenset(self.decode_value(elem, (values[i],))
                                 for i in range(len(values)) if mask >> i & 1)
            case _:
                return slots[0]

    def decode(self, state: tuple[Any, ...]) -> dict[str, Any]:
        """``{var: value}`` for scalars, ``{var: {key tuple: value}}`` for maps."""
        out: dict[str, Any] = {}
        for name, rng in self.layout.items():
            sort = rng.var.value
            if not rng.var.keys:
                out[name] = self.decode_value(sort, state[rng.offset:rng.end])
                continue
            entries: dict[tuple[Any, ...], Any] = {}
            for i, key in enumerate(rng.keys):
                start = rng.offset + i * rng.width
                entries[key] = self.decode_value(sort, state[start:start + rng.width])
            out[name] = entries
        return out

    def iter_entries(self, state: tuple[Any, ...]) -> Iterator[tuple[str, tuple[Any, ...], Any]]:
        """``(var, key, readable value)`` for every map entry and scalar."""
        for name, value in self.decode(state).items():
            if self.layout[name].var.keys:
                for key, entry in value.items():
                    yield name, key, entry
            else:
                yield name, (), value

    def format_key(self, var: str, key: tuple[Any, ...]) -> str:
        rng = self.layout[var]
        parts = [self.format_scalar(sort, value)
                 for sort, value in zip(rng.var.keys, key, strict=True)]
        return f"{var}[{', '.join(parts)}]" if parts else var

    def format_scalar(self, sort: ir.Sort, value: Any) -> str:
        match sort:
            case ir.EnumSort(members=members):
                return members[value] if isinstance(value, int) else str(value)
            case ir.BoolSort():
                return "true" if value else "false"
            case _:
                return "none" if value is None else str(value)
