"""Symmetry reduction over the symmetric sorts of a model.

A symmetric sort (processes, frames, anon_vmas) is a set of interchangeable
ids: permuting its values maps reachable states to reachable states and keeps
every property's truth. The explicit engine therefore stores one
representative per orbit. A permutation ``pi`` of sort ``S`` acts on a state by

- moving every map entry keyed by ``S`` (``pte[p][v]`` goes to ``pte[pi(p)][v]``),
- renaming every slot value of sort ``S`` or ``S?`` (inside records too), and
- permuting the bits of every ``set S`` mask;

except inside an absent optional record, whose fields hold their defaults
whatever the permutation (they mean nothing, and equal states must be equal
tuples). Several sorts are permuted at once (their permutations commute).

**Canonical form.** The representative of a state is the least packed image
``min { pack(pi(s)) }`` over the permutations ``pi`` consistent with an ordered
partition of each sort's values computed from the state by colour refinement:
every value gets a signature that does not depend on the names of values (its
row in each map keyed by its sort, the places it occurs as a value, the colours
of the values it is related to) and values are ordered by signature. Because
the partition of ``sigma(s)`` is the partition of ``s`` renamed by ``sigma``,
the set of images considered is the same for every state of an orbit, so the
minimum is a true canonical form: two states get the same representative
exactly when they are symmetric. Within a class, values that are *twins*
(swapping them leaves the state unchanged, e.g. two free frames) give
identical images, so only the distinct arrangements of twin groups are
enumerated. In the usual case one round of refinement leaves only classes of
twins, and the representative is a single image; otherwise the colouring is
refined until stable. (Which case applies depends only on the state's
structure, so exactness is kept.)

**Soundness.** The reduction is only sound when the actions and properties
treat the values alike. The front end forbids arithmetic and ordering on
symmetric sorts; ``check`` here leaves out a sort whose values are named by a
literal in an action or property (the init block may). Two constructs are
checked at run time instead, because they are sound in the common case and
static analysis cannot tell: ``choose`` over the sort picks the least value,
which is as good as any other only if every other value it could pick is a
twin of it there (``SymmetryGuard``); and a ``for`` loop over the sort whose
iterations this module cannot prove independent is re-run in every other
order and the results compared (``Machine``). A failed check raises
``SymmetryBroken``; the search leaves that sort out and starts again, and the
note says why.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from rmapcheck import ir
from rmapcheck.core.slots import state_slot_guards, state_slot_sorts
from rmapcheck.core.symmetry_rules import SymmetryNote
from rmapcheck.errors import SpecRuntimeError
from rmapcheck.explicit.codec import Codec
from rmapcheck.instance import Instance

State = tuple[Any, ...]

# Refinement rounds beyond this are never needed for the small sorts of a
# model; the canonical form stays exact whatever the number of rounds (only the
# enumeration gets larger).
MAX_ROUNDS = 4


class SymmetryBroken(Exception):
    """A run-time check found the model treating the values of a symmetric sort
    differently: the reduction over that sort would be unsound. The search
    restarts without it."""

    def __init__(self, note: SymmetryNote) -> None:
        super().__init__(note.message)
        self.note = note


# ---------------------------------------------------------------- canonical form


_PLAIN, _VAL, _SET = 0, 1, 2


class Canonicalizer:
    """Canonical representatives of states under the given symmetric sorts."""

    def __init__(self, instance: Instance, codec: Codec,
                 sorts: Sequence[ir.RangeSort]) -> None:
        self.instance = instance
        self.codec = codec
        self.sorts = list(sorts)
        self.n = instance.num_slots
        self.index = {sort: a for a, sort in enumerate(self.sorts)}
        self.lo = [instance.range_bounds(sort)[0] for sort in self.sorts]
        self.size = [len(instance.values(sort)) for sort in self.sorts]
        slot_sorts = state_slot_sorts(instance)
        self.guard = state_slot_guards(instance)
        # What each slot holds, as far as the permutations care.
        self.kind: list[tuple[int, int, bool]] = []  # (kind, sort index, optional)
        # Slots of sort a's values, and (slot, presence slot) for those inside
        # an optional record, renamed only when the record is present.
        self.val_slots: list[list[int]] = [[] for _ in self.sorts]
        self.set_slots: list[list[int]] = [[] for _ in self.sorts]
        self.val_guarded: list[list[tuple[int, int]]] = [[] for _ in self.sorts]
        self.set_guarded: list[list[tuple[int, int]]] = [[] for _ in self.sorts]
        for i, sort in enumerate(slot_sorts):
            optional = isinstance(sort, ir.OptionSort)
            inner = sort.inner if isinstance(sort, ir.OptionSort) else sort
            if inner in self.index:
                a = self.index[inner]  # type: ignore[index]
                self.kind.append((_VAL, a, optional))
                if self.guard[i] >= 0:
                    self.val_guarded[a].append((i, self.guard[i]))
                else:
                    self.val_slots[a].append(i)
            elif isinstance(sort, ir.SetSort) and sort.elem in self.index:
                a = self.index[sort.elem]  # type: ignore[index]
                self.kind.append((_SET, a, False))
                if self.guard[i] >= 0:
                    self.set_guarded[a].append((i, self.guard[i]))
                else:
                    self.set_slots[a].append(i)
            else:
                self.kind.append((_PLAIN, -1, optional))
        self._perm_cache: list[dict[tuple[int, ...], Callable[[Sequence[Any]], Any]]] = [
            {} for _ in self.sorts]
        self._mask_cache: list[dict[tuple[int, ...], list[int]]] = [{} for _ in self.sorts]
        self.identity = [tuple(range(n)) for n in self.size]
        self._zero = [[0] * n for n in self.size]
        self._tags: dict[tuple[Any, ...], int] = {}
        self._prepare_twins()
        self.signature = [self._generate_signature(a) for a in range(len(self.sorts))]

    # ------------------------------------------------------------ permutations

    def _entries(self) -> Iterator[tuple[str, int, int, tuple[Any, ...], list[tuple[int, int]]]]:
        """Every map entry: (var, entry index, first slot, key, symmetric key
        positions as (position, sort index))."""
        for var in self.instance.model.state:
            rng = self.instance.layout[var.name]
            sym = [(j, self.index[k]) for j, k in enumerate(var.keys)
                   if k in self.index]  # type: ignore[comparison-overlap]
            for e, key in enumerate(rng.keys):
                yield var.name, e, rng.offset + e * rng.width, key, sym

    def _gather(self, a: int, pi: tuple[int, ...]) -> Callable[[Sequence[Any]], Any]:
        """``itemgetter`` moving the entries keyed by sort ``a`` as ``pi`` says
        (``pi[i]`` is the new position of the ``i``-th value)."""
        cached = self._perm_cache[a].get(pi)
        if cached is not None:
            return cached
        src = list(range(self.n))
        lo = self.lo[a]
        for var in self.instance.model.state:
            rng = self.instance.layout[var.name]
            positions = [j for j, k in enumerate(var.keys) if k == self.sorts[a]]
            if not positions:
                continue
            for e, key in enumerate(rng.keys):
                moved = 0
                for j, stride in enumerate(rng.strides):
                    index = self.instance.index_of(var.keys[j], key[j])
                    if j in positions:
                        index = pi[key[j] - lo]
                    moved += index * stride
                start, dest = rng.offset + e * rng.width, rng.offset + moved * rng.width
                for o in range(rng.width):
                    src[dest + o] = start + o
        getter: Callable[[Sequence[Any]], Any]
        # itemgetter of one index returns the item, not a 1-tuple
        getter = itemgetter(*src) if self.n > 1 else tuple
        if len(self._perm_cache[a]) > 20_000:
            self._perm_cache[a].clear()
        self._perm_cache[a][pi] = getter
        return getter

    def _mask_table(self, a: int, pi: tuple[int, ...]) -> list[int]:
        table = self._mask_cache[a].get(pi)
        if table is None:
            table = []
            for mask in range(1 << self.size[a]):
                out = 0
                for i in range(self.size[a]):
                    if mask >> i & 1:
                        out |= 1 << pi[i]
                table.append(out)
            if len(self._mask_cache[a]) > 2_000:
                self._mask_cache[a].clear()
            self._mask_cache[a][pi] = table
        return table

    def apply(self, state: State, pis: Sequence[tuple[int, ...] | None]) -> State:
        """``state`` with sort ``a``'s values renamed by ``pis[a]`` (None: identity)."""
        values: Any = state
        for a, pi in enumerate(pis):
            if pi is None or pi == self.identity[a]:
                continue
            values = list(values)
            lo = self.lo[a]
            rename: dict[Any, Any] = {None: None}
            for i, image in enumerate(pi):
                rename[lo + i] = lo + image
            for i in self.val_slots[a]:
                values[i] = rename[values[i]]
            for i, g in self.val_guarded[a]:
                if values[g]:
                    values[i] = rename[values[i]]
            sets = self.set_slots[a] + [i for i, g in self.set_guarded[a] if values[g]]
            if sets:
                if self.size[a] <= 8:
                    table = self._mask_table(a, pi)
                    for i in sets:
                        values[i] = table[values[i]]
                else:
                    for i in sets:
                        mask, out = values[i], 0
                        for j, image in enumerate(pi):
                            if mask >> j & 1:
                                out |= 1 << image
                        values[i] = out
            values = self._gather(a, pi)(values)
        return values if isinstance(values, tuple) else tuple(values)

    # ------------------------------------------------------------ signatures

    def _generate_signature(self, a: int) -> Callable[..., list[Any]]:
        """``sig(s, C0, C1, ...)``: the signature of each value of sort ``a``
        given the current colours ``C_b`` of every sort (lists by position).
        Nothing in it depends on the names of values, only on the structure."""
        lo_a = self.lo[a]
        n_a = self.size[a]
        kinds = self.kind

        def colour(b: int, value: Any) -> str:
            return f"C{b}[{self.index_src(b, value)}]"

        def slot_abs(i: int, e: int | None) -> str:
            """Abstraction of slot ``i`` relative to value ``e`` of sort a."""
            kind, b, optional = kinds[i]
            x = f"s[{i}]"
            if kind == _PLAIN:
                return f"(-1 if {x} is None else {x})" if optional else x
            if kind == _VAL:
                inner = colour(b, x)
                if b == a and e is not None:
                    inner = f"(-2 if {x} == {lo_a + e} else {inner})"
                out = f"(-1 if {x} is None else {inner})" if optional else inner
            else:
                own = e if b == a and e is not None else -1
                out = f"_setsig({x}, C{b}, {own})"
            g = self.guard[i]
            # Inside an absent record the value is a meaningless default.
            return f"({out} if s[{g}] else -3)" if g >= 0 else out

        lines = [f"def sig(s, {', '.join(f'C{b}' for b in range(len(self.sorts)))}):"]
        lines.append(f"    O = ({'[], ' * n_a})")
        # Occurrences of values of sort a as slot values, tagged by where they occur.
        tag = 0
        rows: list[list[str]] = [[] for _ in range(n_a)]
        for var, _, first, key, sym in self._entries():
            rng = self.instance.layout[var]
            key_colours = []
            for j, b in sym:
                key_colours.append(colour(b, repr(key[j])))
            for o in range(rng.width):
                i = first + o
                kind, b, optional = kinds[i]
                if b != a or kind == _PLAIN:
                    continue
                # The tag says which variable, field and non-symmetric key;
                # the colours of the symmetric keys follow it.
                sym_positions = {j for j, _ in sym}
                plain_key = tuple(k for j, k in enumerate(key) if j not in sym_positions)
                tag = self._tag(var, o, plain_key)
                entry = f"({tag}, {', '.join(key_colours)}{',' if key_colours else ''})"
                g = self.guard[i]
                if kind == _VAL:
                    x = f"s[{i}]"
                    idx = self.index_src(a, x)
                    conds = ([f"s[{g}]"] if g >= 0 else []) + \
                        ([f"{x} is not None"] if optional else [])
                    cond = f"if {' and '.join(conds)}: " if conds else ""
                    lines.append(f"    {cond}O[{idx}].append({entry})")
                else:
                    lines.append(f"    m = s[{i}]" + (f" if s[{g}] else 0" if g >= 0 else ""))
                    for e in range(n_a):
                        lines.append(f"    if m & {1 << e}: O[{e}].append({entry})")
        # Rows: the entries of each map keyed by a value of sort a.
        groups: dict[tuple[str, int], list[tuple[int, list[str]]]] = {}
        for var, _, first, key, sym in self._entries():
            rng = self.instance.layout[var]
            for j, b in sym:
                if b != a:
                    continue
                e = key[j] - lo_a
                others = [(jj, bb) for jj, bb in sym if jj != j]
                parts = [slot_abs(first + o, e) for o in range(rng.width)]
                for jj, bb in others:
                    if bb == a and key[jj] == key[j]:
                        parts.append("-2")
                    else:
                        parts.append(colour(bb, repr(key[jj])))
                groups.setdefault((var, j), []).append((e, parts))
        for (var, _j), entries in groups.items():
            sym_columns = [jj for jj, k in enumerate(self.instance.layout[var].var.keys)
                           if k in self.index]  # type: ignore[comparison-overlap]
            needs_sort = len(sym_columns) > 1
            for e in range(n_a):
                descs = [f"({', '.join(parts)},)" for ee, parts in entries if ee == e]
                if needs_sort:
                    rows[e].append(f"tuple(sorted([{', '.join(descs)}]))")
                else:
                    rows[e].append(f"({', '.join(descs)},)")
        out = []
        for e in range(n_a):
            out.append(f"(C{a}[{e}], tuple(sorted(O[{e}])), {', '.join(rows[e])}"
                       f"{',' if rows[e] else ''})")
        lines.append(f"    return [{', '.join(out)}]")
        ns: dict[str, Any] = {"_setsig": _setsig}
        exec(compile("\n".join(lines) + "\n", f"<rmapcheck symmetry {self.sorts[a].name}>",
                     "exec"), ns)
        return ns["sig"]  # type: ignore[no-any-return]

    def index_src(self, b: int, value: str) -> str:
        lo = self.lo[b]
        if value.lstrip("-").isdigit():
            return str(int(value) - lo)
        return value if lo == 0 else f"{value} - {lo}"

    def _tag(self, var: str, offset: int, plain_key: tuple[Any, ...]) -> int:
        """A small integer naming (variable, slot offset, non-symmetric key);
        assigned in layout order, so it is the same in every process."""
        return self._tags.setdefault((var, offset, plain_key), len(self._tags))

    def colours(self, state: State, rounds: int = MAX_ROUNDS,
                start: list[list[int]] | None = None) -> list[list[int]]:
        """The colouring of every symmetric sort's values in ``state`` after at
        most ``rounds`` refinement rounds (from ``start``), stopping early when
        no class splits. Every round depends only on the state's structure."""
        colours = start if start is not None else [[0] * n for n in self.size]
        classes = [len(set(c)) for c in colours]
        for _ in range(rounds):
            changed = False
            new = []
            for a, sig in enumerate(self.signature):
                if classes[a] == self.size[a]:
                    new.append(colours[a])  # already discrete
                    continue
                sigs = sig(state, *colours)
                ranked = sorted(set(sigs))
                if len(ranked) != classes[a]:
                    changed = True
                    classes[a] = len(ranked)
                rank = {g: r for r, g in enumerate(ranked)}
                new.append([rank[g] for g in sigs])
            colours = new
            if not changed:
                break
        return colours

    def _prepare_twins(self) -> None:
        """For the fast twin test: per sort, readers of every slot that may hold
        one of its values, and of each value's row (the entries keyed by it,
        in the same order for every value). Only for sorts that no map has at
        two key positions (whose rows would overlap)."""
        self._occurrences: list[Callable[[State], Any] | None] = []
        self._rows: list[list[Callable[[State], Any]] | None] = []
        for a, sort in enumerate(self.sorts):
            slots = self.val_slots[a] + [i for i, _ in self.val_guarded[a]] + \
                self.set_slots[a] + [i for i, _ in self.set_guarded[a]]
            self._occurrences.append(_getter(slots) if slots else None)
            rows: list[list[int]] | None = [[] for _ in range(self.size[a])]
            for var in self.instance.model.state:
                positions = [j for j, k in enumerate(var.keys) if k == sort]
                if len(positions) > 1:
                    rows = None
                    break
                if not positions:
                    continue
                rng = self.instance.layout[var.name]
                j = positions[0]
                for e, key in enumerate(rng.keys):
                    start = rng.offset + e * rng.width
                    assert rows is not None
                    rows[key[j] - self.lo[a]].extend(range(start, start + rng.width))
            self._rows.append([_getter(r) for r in rows] if rows is not None else None)

    def _are_twins(self, state: State, a: int, e: int, f: int) -> bool:
        """Whether swapping values ``e`` and ``f`` (positions) of sort ``a``
        leaves ``state`` unchanged. Fast when neither occurs as a slot value:
        then the swap only exchanges their rows."""
        rows = self._rows[a]
        occurrences = self._occurrences[a]
        if rows is not None:
            found = occurrences(state) if occurrences is not None else ()
            ve, vf = self.lo[a] + e, self.lo[a] + f
            if not self.set_slots[a] and not self.set_guarded[a] \
                    and ve not in found and vf not in found:
                return bool(rows[e](state) == rows[f](state))
        pi = list(range(self.size[a]))
        pi[e], pi[f] = f, e
        pis: list[tuple[int, ...] | None] = [None] * len(self.sorts)
        pis[a] = tuple(pi)
        return self.apply(state, pis) == state

    def _groups(self, state: State, colours: list[list[int]]) -> list[list[list[list[int]]]]:
        """Per sort, its colour classes in colour order, each split into groups
        of twins."""
        out = []
        for a, colour in enumerate(colours):
            cells: dict[int, list[int]] = {}
            for e, c in enumerate(colour):
                cells.setdefault(c, []).append(e)
            sort_cells = []
            for c in sorted(cells):
                cell = cells[c]
                groups: list[list[int]] = []
                for e in cell:
                    for group in groups:
                        if self._are_twins(state, a, group[0], e):
                            group.append(e)
                            break
                    else:
                        groups.append([e])
                sort_cells.append(groups)
            out.append(sort_cells)
        return out

    def _orderings(self, a: int, cells: list[list[list[int]]]) -> list[tuple[int, ...]]:
        """Every permutation of sort ``a`` consistent with the ordered partition,
        up to swaps of twins (``pi[value] = position``)."""
        per_cell: list[list[list[int]]] = []
        for groups in cells:
            if len(groups) == 1:
                per_cell.append([groups[0]])  # one class of twins: any order will do
            else:
                per_cell.append(list(_arrangements(groups)))
        out = []
        for combo in itertools.product(*per_cell):
            pi = [0] * self.size[a]
            position = 0
            for sequence in combo:
                for e in sequence:
                    pi[e] = position
                    position += 1
            out.append(tuple(pi))
        return out

    def plan(self, state: State) -> list[list[tuple[int, ...]]]:
        """The permutations whose images ``canonical`` compares, per sort.

        One refinement round usually separates every value that is not a twin
        of another; only when a class still mixes non-twins is the colouring
        refined to stability. Whether that happens depends only on the
        state's structure, so the set of images stays the same across an
        orbit either way. The common case is done inline: values ordered by
        their first-round signature, equal signatures being twins."""
        zero = self._zero
        plans: list[list[tuple[int, ...]]] = []
        for a, sig in enumerate(self.signature):
            sigs = sig(state, *zero)
            order = sorted(self.identity[a], key=sigs.__getitem__)
            pi = [0] * self.size[a]
            previous = None
            first = 0
            for position, e in enumerate(order):
                g = sigs[e]
                if g == previous:
                    # Same class as the value before: fine only if twins.
                    if not self._are_twins(state, a, order[first], e):
                        return self._plan_refined(state)
                else:
                    previous, first = g, position
                pi[e] = position
            plans.append([tuple(pi)])
        return plans

    def _plan_refined(self, state: State) -> list[list[tuple[int, ...]]]:
        colours = self.colours(state, MAX_ROUNDS)
        groups = self._groups(state, colours)
        return [self._orderings(a, cells) for a, cells in enumerate(groups)]

    def canonical(self, state: State) -> tuple[int, State]:
        """``(packed key, representative)`` of ``state``'s orbit."""
        choices = self.plan(state)
        best_key: int | None = None
        best: State = state
        for pis in itertools.product(*choices):
            image = self.apply(state, pis)
            key = self.codec.pack(image)
            if best_key is None or key < best_key:
                best_key, best = key, image
        assert best_key is not None
        return best_key, best

    def candidates(self, state: State) -> int:
        """How many images ``canonical`` compares for ``state`` (for statistics)."""
        total = 1
        for orderings in self.plan(state):
            total *= len(orderings)
        return total


def _getter(slots: list[int]) -> Callable[[State], Any]:
    """A reader of the given slots as a tuple (C speed)."""
    if not slots:  # a sort that keys no map: its values have empty rows
        return lambda s: ()
    if len(slots) == 1:
        only = slots[0]
        return lambda s: (s[only],)
    return itemgetter(*slots)


def _setsig(mask: int, colours: list[int], own: int) -> tuple[Any, ...]:
    """A set of symmetric values, abstracted: whether it holds the value under
    consideration, and the sorted colours of its members."""
    members = sorted(colours[i] for i in range(len(colours)) if mask >> i & 1)
    return (own >= 0 and mask >> own & 1 == 1, tuple(members))


def _arrangements(groups: list[list[int]]) -> Iterator[list[int]]:
    """The distinct sequences of a cell's values when twins are interchangeable:
    the multiset permutations of the group labels, each label replaced by its
    group's values in order."""
    counts = [len(g) for g in groups]
    total = sum(counts)
    labels: list[int] = []

    def rec() -> Iterator[list[int]]:
        if len(labels) == total:
            used = [0] * len(groups)
            seq = []
            for label in labels:
                seq.append(groups[label][used[label]])
                used[label] += 1
            yield seq
            return
        for g in range(len(groups)):
            if counts[g]:
                counts[g] -= 1
                labels.append(g)
                yield from rec()
                labels.pop()
                counts[g] += 1

    yield from rec()


# ---------------------------------------------------------------- run-time checks


class ChooseSite:
    """One ``choose`` over a symmetric sort in the compiled code, with the
    sorts of the locals in scope there (they must be fixed by the swap too)."""

    def __init__(self, sort: ir.RangeSort, values: tuple[Any, ...],
                 local_sorts: tuple[ir.Sort, ...],
                 local_slot_sorts: tuple[tuple[ir.Sort, ...], ...], span: ir.Span) -> None:
        self.sort = sort
        self.values = values
        self.lo = values[0] if values else 0
        self.local_sorts = local_sorts
        self.local_slot_sorts = local_slot_sorts
        self.span = span


class SymmetryGuard:
    """The run-time side of the soundness argument, called from compiled code.

    ``choose x: S. cond`` picks the least ``x``; the reduction over ``S`` is
    sound only if that choice is as good as any other, i.e. every other value
    satisfying ``cond`` is a twin of the chosen one (swapping the two leaves
    the state, as updated so far by the action, and every local in scope
    unchanged), so that whichever is picked, the results are symmetric. The
    guard checks exactly that whenever the search runs with the reduction
    (``enabled``) and raises ``SymmetryBroken`` otherwise."""

    def __init__(self) -> None:
        self.enabled = False
        self.canonicalizer: Canonicalizer | None = None
        self.active: dict[ir.RangeSort, int] = {}

    def choose(self, site: ChooseSite, state: Sequence[Any], body: Callable[[Any], Any],
               local_values: tuple[Any, ...],
               again: Callable[[Any], Any] | None = None) -> Any:
        """The least value of ``site`` that satisfies ``body``, checked as the
        class docstring says; ``again`` is ``body`` without coverage marks,
        for the check's evaluations (no step of the run counts them)."""
        values = site.values
        chosen = -1
        for i, value in enumerate(values):
            if body(value):
                chosen = i
                break
        if not self.enabled or site.sort not in self.active:
            return values[chosen] if chosen >= 0 else None
        if chosen < 0:
            return None  # nothing to pick: every value was tested, alike
        a = self.active[site.sort]
        assert self.canonicalizer is not None
        x = values[chosen]
        frozen_state = tuple(state)
        for y in values[chosen + 1:]:
            if self._twins(frozen_state, a, site, x, y, local_values):
                continue
            try:
                candidate = (again or body)(y)
            except SpecRuntimeError as error:
                raise SymmetryBroken(SymmetryNote(
                    site.sort.name, f"choose picks the least {site.sort.name}, and another "
                    f"value it could pick ({y}) is not interchangeable with it here: the "
                    f"condition is an error for it ({error.message})", site.span)) from None
            if candidate:
                raise SymmetryBroken(SymmetryNote(
                    site.sort.name, f"choose picks the least {site.sort.name} ({x}), and "
                    f"another value it could pick ({y}) is not interchangeable with it here",
                    site.span))
        return x

    def _twins(self, state: State, a: int, site: ChooseSite, x: Any, y: Any,
               local_values: tuple[Any, ...]) -> bool:
        assert self.canonicalizer is not None
        lo = self.canonicalizer.lo[a]
        pi = list(range(self.canonicalizer.size[a]))
        pi[x - lo], pi[y - lo] = y - lo, x - lo
        pis: list[tuple[int, ...] | None] = [None] * len(self.canonicalizer.sorts)
        pis[a] = tuple(pi)
        if self.canonicalizer.apply(state, pis) != state:
            return False
        for value, sort, slots in zip(local_values, site.local_sorts, site.local_slot_sorts,
                                      strict=True):
            if not _fixed(value, sort, slots, site.sort, site.lo, x, y):
                return False
        return True


def _fixed(value: Any, sort: ir.Sort, slots: tuple[ir.Sort, ...], target: ir.RangeSort,
           lo: int, x: Any, y: Any) -> bool:
    """Whether swapping values ``x`` and ``y`` of ``target`` leaves a local's
    value unchanged."""
    values = value if isinstance(value, tuple) else (value,)
    if isinstance(sort, ir.OptionSort) and isinstance(sort.inner, ir.RecordSort) \
            and not values[0]:
        return True  # an absent record
    for slot, slot_sort in zip(values, slots, strict=True):
        inner = slot_sort.inner if isinstance(slot_sort, ir.OptionSort) else slot_sort
        if inner == target and slot in (x, y):
            return False
        if isinstance(slot_sort, ir.SetSort) and slot_sort.elem == target \
                and (slot >> (x - lo) & 1) != (slot >> (y - lo) & 1):
            return False
    return True
