"""How the native engine holds a state: one ``slot_t`` code per slot, packed into words.

The codes are the core's (``rmapcheck.core.nodes.SlotKind.code``): a range
value minus its least value, ``0`` for none and the inner code plus one
otherwise, a set's mask. The slot type is the narrowest unsigned integer that
holds every slot's codes; for the visited set, the codes are packed into
64-bit words, no slot straddling two.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rmapcheck import ir
from rmapcheck.core.nodes import MaskT, SlotKind
from rmapcheck.core.slots import state_slot_guards, state_slot_kinds, state_slot_sorts
from rmapcheck.instance import Instance

MAX_SET_ELEMS = 62


class Unsupported(Exception):
    """The native engine does not compile this model (the reason says why)."""


class Layout:
    """Slot kinds, codes and packing of one instance, and the index of each
    reduced symmetric sort."""

    def __init__(self, instance: Instance, symmetric: list[ir.RangeSort]) -> None:
        self.instance = instance
        self.kinds: tuple[SlotKind, ...] = state_slot_kinds(instance)
        self.sorts = state_slot_sorts(instance)
        self.guards = state_slot_guards(instance)
        self.n = len(self.kinds)
        for kind in self.kinds:
            if isinstance(kind.inner, MaskT) and kind.inner.n > MAX_SET_ELEMS:
                raise Unsupported(f"a set over {kind.sort} has {kind.inner.n} elements (the "
                                  f"native engine handles at most {MAX_SET_ELEMS})")
        self.cards = [kind.card for kind in self.kinds]
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

    def lo(self, sort: ir.Sort) -> int:
        if isinstance(sort, ir.RangeSort):
            return self.instance.range_bounds(sort)[0]
        return 0

    def encode(self, state: tuple[Any, ...]) -> list[int]:
        """A state's slot values as the codes C holds."""
        return [kind.code(v) for kind, v in zip(self.kinds, state, strict=True)]

    def decode(self, codes: Iterable[int]) -> tuple[Any, ...]:
        return tuple(kind.value(c) for kind, c in zip(self.kinds, codes, strict=True))
