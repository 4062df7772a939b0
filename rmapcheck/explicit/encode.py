"""Packs a state tuple into one integer: the compact form the visited set stores.

Every slot has a finite number of values at fixed constants (``card``), so a
state is a number in a mixed radix with slot 0 most significant: a Bool slot
costs one bit, a ``Frame?`` slot over 3 frames two bits, and a state of 60
slots typically fits in 20 bytes. Comparing two packed states as integers
compares their slot codes lexicographically, which the symmetry reduction uses
to pick the least permuted image. The packing is deterministic (no hashing of
strings), so two processes agree on it and a frontier can be split between them.

Slot codes: Bool ``0/1``; a range ``value - lo``; an enum its index; ``T?`` of a
scalar ``0`` for none and ``code(T) + 1`` otherwise; a set its bit mask.
``pack`` and ``unpack`` are generated per instance (one flat expression per chunk
of slots whose product of cards fits in 60 bits, so the arithmetic stays on
small integers until the chunks are combined).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

from rmapcheck import ir
from rmapcheck.instance import Instance

State = tuple[Any, ...]

_CHUNK_LIMIT = 1 << 60


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


class Codec:
    """``pack(state) -> int`` and ``unpack(int) -> state`` for one instance."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.sorts = state_slot_sorts(instance)
        self.cards = [self.card(sort) for sort in self.sorts]
        self.bits = sum(max(c - 1, 0).bit_length() for c in self.cards)
        self.pack, self.unpack = self._generate()

    def card(self, sort: ir.Sort) -> int:
        match sort:
            case ir.BoolSort():
                return 2
            case ir.RangeSort() | ir.EnumSort():
                return len(self.instance.values(sort))
            case ir.OptionSort(inner=inner):
                return self.card(inner) + 1
            case ir.SetSort(elem=elem):
                return 1 << len(self.instance.values(elem))
            case ir.IntSort() | ir.RecordSort():
                raise AssertionError(f"no slot holds a {sort}")
            case _:
                assert_never(sort)

    def _code(self, sort: ir.Sort, x: str) -> str:
        """Source for the code of slot value ``x``."""
        match sort:
            case ir.RangeSort():
                lo = self.instance.range_bounds(sort)[0]
                return x if lo == 0 else f"({x} - {lo})"
            case ir.OptionSort(inner=inner):
                return f"(0 if {x} is None else {self._code(inner, x)} + 1)"
            case _:
                return x

    def _decode(self, sort: ir.Sort, c: str) -> str:
        """Source for the slot value of code ``c``."""
        match sort:
            case ir.BoolSort():
                return f"({c} != 0)"
            case ir.RangeSort():
                lo = self.instance.range_bounds(sort)[0]
                return c if lo == 0 else f"({c} + {lo})"
            case ir.OptionSort(inner=inner):
                return f"(None if {c} == 0 else {self._decode(inner, f'({c} - 1)')})"
            case _:
                return c

    def _generate(self) -> tuple[Callable[[State], int], Callable[[int], State]]:
        n = len(self.sorts)
        # Chunks of consecutive slots whose combined radix stays below 2**60.
        chunks: list[list[int]] = []
        radix = 1
        for i, card in enumerate(self.cards):
            if chunks and radix * card < _CHUNK_LIMIT:
                chunks[-1].append(i)
                radix *= card
            else:
                chunks.append([i])
                radix = card
        pack = ["def pack(s):"]
        unpack = ["def unpack(k):"]
        chunk_radix = []
        for j, chunk in enumerate(chunks):
            terms = []
            mult = 1
            for i in reversed(chunk):
                code = self._code(self.sorts[i], f"s[{i}]")
                terms.append(code if mult == 1 else f"{code}*{mult}")
                mult *= self.cards[i]
            chunk_radix.append(mult)
            pack.append(f"    c{j} = " + " + ".join(reversed(terms)))
        if not chunks:
            pack.append("    return 0")
            unpack.append("    return ()")
        else:
            pack.append("    k = c0")
            for j in range(1, len(chunks)):
                pack.append(f"    k = k*{chunk_radix[j]} + c{j}")
            pack.append("    return k")
            for j in reversed(range(len(chunks))):
                if j:
                    unpack.append(f"    k, c{j} = divmod(k, {chunk_radix[j]})")
                else:
                    unpack.append("    c0 = k")
                for i in reversed(chunks[j]):
                    unpack.append(f"    c{j}, x{i} = divmod(c{j}, {self.cards[i]})")
            values = ", ".join(self._decode(self.sorts[i], f"x{i}") for i in range(n))
            unpack.append(f"    return ({values},)")
        ns: dict[str, Any] = {}
        exec(compile("\n".join(pack + unpack) + "\n", "<rmapcheck codec>", "exec"), ns)
        return ns["pack"], ns["unpack"]

    def packed_bytes(self) -> int:
        """Bytes of payload a packed state needs."""
        return (self.bits + 7) // 8
