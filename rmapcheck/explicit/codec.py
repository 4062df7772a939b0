"""Packs a state tuple into one integer: the compact form the visited set stores.

Every slot has a finite number of values at fixed constants (``card``), so a
state is a number in a mixed radix with slot 0 most significant: a Bool slot
costs one bit, a ``Frame?`` slot over 3 frames two bits, and a state of 60
slots typically fits in 20 bytes. Comparing two packed states as integers
compares their slot codes lexicographically, which the symmetry reduction uses
to pick the least permuted image. The packing is deterministic (no hashing of
strings), so two processes agree on it and a frontier can be split between them.

Slot codes are the core's (``rmapcheck.core.nodes.SlotKind``): Bool ``0/1``; a
range ``value - lo``; an enum its index; ``T?`` of a scalar ``0`` for none and
``code(T) + 1`` otherwise; a set its bit mask.
``pack`` and ``unpack`` are generated per instance (one flat expression per chunk
of slots whose product of cards fits in 60 bits, so the arithmetic stays on
small integers until the chunks are combined).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rmapcheck.core.nodes import BoolT, OptT, SlotKind
from rmapcheck.core.slots import state_slot_kinds
from rmapcheck.instance import Instance

State = tuple[Any, ...]

_CHUNK_LIMIT = 1 << 60


class Codec:
    """``pack(state) -> int`` and ``unpack(int) -> state`` for one instance."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.kinds = state_slot_kinds(instance)
        self.cards = [kind.card for kind in self.kinds]
        self.bits = sum(max(c - 1, 0).bit_length() for c in self.cards)
        self.pack, self.unpack = self._generate()

    @staticmethod
    def _code(kind: SlotKind, x: str) -> str:
        """Source for the code of slot value ``x`` (``SlotKind.code``)."""
        offset = kind.offset
        inner = x if offset == 0 else f"({x} - {offset})"
        if isinstance(kind.ty, OptT):
            return f"(0 if {x} is None else {inner} + 1)"
        return inner

    @staticmethod
    def _decode(kind: SlotKind, c: str) -> str:
        """Source for the slot value of code ``c`` (``SlotKind.value``)."""
        def inner(code: str) -> str:
            if isinstance(kind.inner, BoolT):
                return f"({code} != 0)"
            offset = kind.offset
            return code if offset == 0 else f"({code} + {offset})"

        if isinstance(kind.ty, OptT):
            return f"(None if {c} == 0 else {inner(f'({c} - 1)')})"
        return inner(c)

    def _generate(self) -> tuple[Callable[[State], int], Callable[[int], State]]:
        n = len(self.kinds)
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
                code = self._code(self.kinds[i], f"s[{i}]")
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
            values = ", ".join(self._decode(self.kinds[i], f"x{i}") for i in range(n))
            unpack.append(f"    return ({values},)")
        ns: dict[str, Any] = {}
        exec(compile("\n".join(pack + unpack) + "\n", "<rmapcheck codec>", "exec"), ns)
        return ns["pack"], ns["unpack"]

    def packed_bytes(self) -> int:
        """Bytes of payload a packed state needs."""
        return (self.bits + 7) // 8
