"""The slots of a value and of the state: their sorts, kinds and codes.

``rmapcheck.instance`` fixes where each state variable lives; this module says
what each slot holds. It is the one place that turns a slot value into the
code a compact store keeps and back (``SlotKind.code``/``value``): the Python
engine's packed states, the C engine's slot arrays and the Z3 encoding's
literals all go through it.
"""

from __future__ import annotations

from typing import assert_never

from rmapcheck import ir
from rmapcheck.core.nodes import BOOL_T, INT_T, MaskT, OptT, SlotKind, Ty
from rmapcheck.instance import Instance


def slot_sorts(instance: Instance, sort: ir.Sort) -> tuple[ir.Sort, ...]:
    """The scalar sort of every slot of a value of ``sort`` (a presence slot is Bool)."""
    match sort:
        case ir.RecordSort(fields=fields):
            out: tuple[ir.Sort, ...] = ()
            for _, field_sort in fields:
                out += slot_sorts(instance, field_sort)
            return out
        case ir.OptionSort(inner=ir.RecordSort() as rec):
            return (ir.BOOL,) + slot_sorts(instance, rec)
        case ir.BoolSort() | ir.IntSort() | ir.RangeSort() | ir.EnumSort() | ir.OptionSort() \
                | ir.SetSort():
            return (sort,)
        case _:
            assert_never(sort)


def slot_guards(instance: Instance, sort: ir.Sort, start: int = 0,
                guard: int = -1) -> list[int]:
    """For each slot of a value of ``sort`` starting at slot ``start``: the slot
    of the presence flag of the innermost optional record around it, or
    ``guard`` (-1: none). An absent record's fields hold defaults and mean
    nothing, which the symmetry reduction must respect."""
    match sort:
        case ir.RecordSort(fields=fields):
            out: list[int] = []
            for _, field_sort in fields:
                out += slot_guards(instance, field_sort, start + len(out), guard)
            return out
        case ir.OptionSort(inner=ir.RecordSort() as rec):
            return [guard] + slot_guards(instance, rec, start + 1, start)
        case _:
            return [guard]


def state_slot_guards(instance: Instance) -> list[int]:
    """``slot_guards`` for every slot of the state."""
    out: list[int] = []
    for var in instance.model.state:
        rng = instance.layout[var.name]
        for e in range(len(rng.keys)):
            out += slot_guards(instance, var.value, rng.offset + e * rng.width)
    return out


def state_slot_sorts(instance: Instance) -> list[ir.Sort]:
    """The scalar sort of every slot of the state, in layout order."""
    out: list[ir.Sort] = []
    for var in instance.model.state:
        rng = instance.layout[var.name]
        out.extend(slot_sorts(instance, var.value) * len(rng.keys))
    assert len(out) == instance.num_slots
    return out


def scalar_ty(instance: Instance, sort: ir.Sort) -> Ty:
    """The core type of a one-slot value of ``sort``."""
    match sort:
        case ir.BoolSort():
            return BOOL_T
        case ir.IntSort() | ir.RangeSort() | ir.EnumSort():
            return INT_T
        case ir.SetSort(elem=elem):
            return MaskT(len(instance.values(elem)))
        case ir.OptionSort(inner=inner):
            inner_ty = scalar_ty(instance, inner)
            assert not isinstance(inner_ty, OptT), sort
            return OptT(inner_ty)
        case ir.RecordSort():
            raise AssertionError(f"a record ({sort}) has more than one slot")
        case _:
            assert_never(sort)


def slot_kind(instance: Instance, sort: ir.Sort) -> SlotKind:
    """What a slot of the scalar ``sort`` holds (``Int`` is not a slot sort,
    but a local of it gets the kind of an unbounded integer)."""
    ty = scalar_ty(instance, sort)
    inner = sort.inner if isinstance(sort, ir.OptionSort) else sort
    match inner:
        case ir.RangeSort():
            lo, hi = instance.range_bounds(inner)
            return SlotKind(ty, sort, lo, hi)
        case ir.EnumSort(members=members):
            return SlotKind(ty, sort, 0, len(members) - 1)
        case _:
            return SlotKind(ty, sort)


def state_slot_kinds(instance: Instance) -> tuple[SlotKind, ...]:
    """The kind of every slot of the state, in layout order."""
    kinds: dict[ir.Sort, SlotKind] = {}
    out = []
    for sort in state_slot_sorts(instance):
        kind = kinds.get(sort)
        if kind is None:
            kind = kinds[sort] = slot_kind(instance, sort)
        out.append(kind)
    return tuple(out)
