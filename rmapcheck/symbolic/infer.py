"""Lemma inference: the auxiliary invariants a proof needs, found without the user.

A property is often true but not inductive: some unreachable state satisfies
it and one step breaks it. The bundled models needed a few lemmas written by
hand to rule such states out, and they are of a few kinds. This module makes
candidates of those kinds from the state declarations alone:

- ``range``: a number field stays within the values reachable states show
  (``vm_pgoff`` within its bound: wf_pgoff);
- ``ref``: a reference names an object that is in use, or one that is not
  (a VMA's anon_vma is allocated: anon_vma_allocated);
- ``dead``: an object switched off owns nothing (an mm that is not alive has
  no VMA and no pte);
- ``reset``: a record switched off holds its defaults (a free page has
  mapcount 0 and no mapping);
- ``link``: a relation over (object, place) holds only where the place
  refers to the object (a pte chain entry names a pte that maps the page);
- ``implies``: one map's entry implies another's at the same key (a
  write-protected pte maps a frame).

A short, deterministic search of the explicit machine (breadth first, then
seeded random walks) drops every candidate a reachable state breaks; what is
left joins the induction as lemmas, where Houdini drops what is not
inductive. So an inferred lemma used by a proof is proved with it: inference
can add proofs, never a wrong one. Each used lemma is shown in the spec's own
syntax, so that it can be pasted into the spec.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import attrs

from rmapcheck import ir
from rmapcheck.errors import SpecRuntimeError
from rmapcheck.explicit.machine import Machine
from rmapcheck.instance import Instance
from rmapcheck.ir_print import format_expr, format_property
from rmapcheck.trace import INFERRED_PREFIX as PREFIX

# The sample: breadth first up to this many states, then random walks. Counts,
# not seconds, so that a proof's result does not depend on the machine's load.
BFS_STATES = 3000
WALKS = 48
WALK_STEPS = 40
SEED = 20040312  # anon_vma RFC2, 12 March 2004


@dataclass(frozen=True)
class Candidate:
    prop: ir.Property
    text: str  # the lemma as a spec would say it


@dataclass(frozen=True)
class _Path:
    """A place in a state variable's entry: the entry itself, or a field of it
    (``guard``: the entry is an optional record, so the field exists only when
    it is present)."""

    var: ir.StateVar
    field: str | None
    sort: ir.Sort
    optional_record: bool

    @property
    def label(self) -> str:
        return self.var.name if self.field is None else f"{self.var.name}_{self.field}"

    @property
    def dotted(self) -> str:
        return self.var.name if self.field is None else f"{self.var.name}.{self.field}"

    def read(self, keys: Sequence[ir.Local]) -> ir.Expr:
        entry = ir.StateRead(self.var.name, tuple(keys), self.var.value)
        if self.field is None:
            return entry
        return ir.Field(entry, self.field, self.sort)

    def guard(self, keys: Sequence[ir.Local]) -> ir.Expr | None:
        if not self.optional_record:
            return None
        assert isinstance(self.var.value, ir.OptionSort)
        entry = ir.StateRead(self.var.name, tuple(keys), self.var.value)
        return ir.Binary("ne", entry, ir.NoneLit(self.var.value), ir.BOOL)


def _paths(var: ir.StateVar) -> list[_Path]:
    value = var.value
    record: ir.RecordSort | None = None
    optional = False
    if isinstance(value, ir.RecordSort):
        record = value
    elif isinstance(value, ir.OptionSort) and isinstance(value.inner, ir.RecordSort):
        record, optional = value.inner, True
    if record is None:
        return [_Path(var, None, value, False)]
    return [_Path(var, name, sort, optional) for name, sort in record.fields]


def _binders(sorts: Sequence[ir.Sort], taken: set[str]) -> tuple[ir.Local, ...]:
    """One quantified variable per key, named after its sort (p for Proc)."""
    out: list[ir.Local] = []
    used = set(taken)
    for sort in sorts:
        base = str(sort)[:1].lower() or "x"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}{n}"
        used.add(name)
        out.append(ir.Local(name, sort))
    return tuple(out)


def _and(*xs: ir.Expr | None) -> ir.Expr | None:
    parts = [x for x in xs if x is not None]
    if not parts:
        return None
    out = parts[0]
    for x in parts[1:]:
        out = ir.Binary("and", out, x, ir.BOOL)
    return out


def _implies(cond: ir.Expr | None, body: ir.Expr) -> ir.Expr:
    return body if cond is None else ir.Binary("implies", cond, body, ir.BOOL)


def _not(x: ir.Expr) -> ir.Expr:
    return ir.Unary("not", x, ir.BOOL)


def _absent(on: ir.Expr) -> ir.Expr:
    """The negation of ``_present``, as a reader would write it."""
    if isinstance(on, ir.Binary) and on.op == "ne":
        return attrs.evolve(on, op="eq")
    return _not(on)


def _forall(binders: tuple[ir.Local, ...], body: ir.Expr) -> ir.Expr:
    return ir.Quant("forall", binders, body, ir.BOOL) if binders else body


def _present(expr: ir.Expr, sort: ir.Sort) -> ir.Expr | None:
    """``expr`` is "on": a ``T?`` that is not none, or a true Bool."""
    if isinstance(sort, ir.OptionSort):
        return ir.Binary("ne", expr, ir.NoneLit(sort), ir.BOOL)
    if isinstance(sort, ir.BoolSort):
        return expr
    return None


class _Maker:
    def __init__(self, instance: Instance) -> None:
        self.inst = instance
        self.model = instance.model
        self.taken = {v.name for v in self.model.state} | {c.name for c in self.model.consts} \
            | {f.name for f in self.model.functions}
        self.out: list[ir.Property] = []
        self.names: set[str] = {p.name for p in self.model.properties}

    def add(self, name: str, doc: str, expr: ir.Expr) -> None:
        name = PREFIX + name
        if name in self.names:
            return
        self.names.add(name)
        self.out.append(ir.Property(name, "lemma", expr, doc))

    def flags(self, sort: ir.Sort) -> Iterator[tuple[str, str, ir.Expr, ir.Local]]:
        """Boolean facts about one value of ``sort``: a Bool map over it, a Bool
        field of a record map over it, an optional map over it being present."""
        for var in self.model.state:
            if var.keys != (sort,):
                continue
            (x,) = _binders([sort], self.taken)
            for path in _paths(var):
                if path.optional_record:
                    continue
                on = _present(path.read([x]), path.sort)
                if on is not None:
                    yield path.label, path.dotted, on, x
            if isinstance(var.value, ir.OptionSort) and isinstance(var.value.inner,
                                                                   ir.RecordSort):
                yield var.name, var.name, ir.Binary(
                    "ne", ir.StateRead(var.name, (x,), var.value), ir.NoneLit(var.value),
                    ir.BOOL), x

    def ranges(self, bounds: Bounds) -> None:
        """A number field within the values the sample shows, and within those
        it shows while a switch of the same record is on (a file VMA's
        vm_pgoff is a file offset, so never negative)."""
        for var in self.model.state:
            paths = _paths(var)
            for path in paths:
                inner = _number(path.sort)
                if inner is None:
                    continue
                lo, hi = self.inst.range_bounds(inner)
                for switch in [None, *(q for q in paths if q is not path and q.field
                                       and _present(q.read(()), q.sort) is not None)]:
                    seen = bounds.get((var.name, path.field,
                                       None if switch is None else switch.field))
                    if seen is None:
                        continue
                    keys = _binders(var.keys, self.taken)
                    value = path.read(keys)
                    cond = path.guard(keys)
                    if isinstance(path.sort, ir.OptionSort):
                        cond = _and(cond, _present(value, path.sort))
                        value = ir.Unwrap(value, inner)
                    name, when = f"range_{path.label}", ""
                    if switch is not None:
                        cond = _and(cond, _present(switch.read(keys), switch.sort))
                        name, when = f"{name}_if_{switch.field}", f" when {switch.dotted} is set"
                    # Under a Bool switch, a bound only where it says more than the
                    # plain one; under a reference (a file, an anon_vma) always: the
                    # plain bound may be one the sample merely did not reach.
                    floor, ceiling = lo, hi
                    if switch is not None and isinstance(switch.sort, ir.BoolSort):
                        floor, ceiling = bounds.get((var.name, path.field, None), (lo, hi))
                    if seen[0] > floor:
                        self.add(f"{name}_min", f"{path.dotted} is at least {seen[0]}{when}",
                                 _forall(keys, _implies(cond, ir.Binary(
                                     "le", ir.IntLit(seen[0]), value, ir.BOOL))))
                    if seen[1] < ceiling:
                        self.add(f"{name}_max", f"{path.dotted} is at most {seen[1]}{when}",
                                 _forall(keys, _implies(cond, ir.Binary(
                                     "le", value, ir.IntLit(seen[1]), ir.BOOL))))

    def refs(self) -> None:
        for var in self.model.state:
            for path in _paths(var):
                target = path.sort.inner if isinstance(path.sort, ir.OptionSort) else path.sort
                if not isinstance(target, ir.RangeSort):
                    continue
                keys = _binders(var.keys, self.taken)
                value = path.read(keys)
                cond = _and(path.guard(keys), _present(value, path.sort)
                            if isinstance(path.sort, ir.OptionSort) else None)
                ref = ir.Unwrap(value, target) if isinstance(path.sort, ir.OptionSort) else value
                for label, dotted, flag, x in self.flags(target):
                    if label == path.label:
                        continue
                    at = _substitute(flag, x, ref)
                    self.add(f"ref_{path.label}_{label}",
                             f"what {path.dotted} refers to has {dotted}",
                             _forall(keys, _implies(cond, at)))
                    self.add(f"ref_{path.label}_not_{label}",
                             f"what {path.dotted} refers to has no {dotted}",
                             _forall(keys, _implies(cond, _not(at))))

    def dead(self) -> None:
        """An object switched off (an mm not alive, a page not in use) owns no
        entry of a map keyed by it."""
        for sort in {k for v in self.model.state for k in v.keys[:1]}:
            for label, dotted, flag, x in list(self.flags(sort)):
                owner = dotted.split(".")[0]
                for var in self.model.state:
                    if var.name == owner or not var.keys or var.keys[0] != sort:
                        continue
                    keys = _binders(var.keys, self.taken)
                    on = _present(ir.StateRead(var.name, keys, var.value), var.value)
                    if on is None:
                        continue
                    off = _not(_substitute(flag, x, keys[0]))
                    self.add(f"dead_{label}_{var.name}", f"when not {dotted}, no {var.name}",
                             _forall(keys, _implies(off, _absent(on))))

    def fixed(self, seen: Fixed) -> None:
        """A field that holds one value whenever a switch of the same record is
        on (or off), as far as the sample shows: a free page's mapcount is 0,
        a file VMA does not grow down."""
        for var in self.model.state:
            paths = _paths(var)
            for (name, field, switch_field, on), values in seen.items():
                if name != var.name or len(values) != 1:
                    continue
                path = next(q for q in paths if q.field == field)
                switch = next(q for q in paths if q.field == switch_field)
                literal = _literal(path.sort, next(iter(values)))
                if literal is None:
                    continue
                keys = _binders(var.keys, self.taken)
                if seen.get((name, field, switch_field, not on), values) == values:
                    # the same value either way: one lemma without a switch
                    self.add(f"fixed_{path.label}", f"{path.dotted} is {format_expr(literal)}",
                             _forall(keys, _implies(path.guard(keys), ir.Binary(
                                 "eq", path.read(keys), literal, ir.BOOL))))
                    continue
                flag = _present(switch.read(keys), switch.sort)
                assert flag is not None
                cond = _and(path.guard(keys), flag if on else _absent(flag))
                state = "set" if on else "not set"
                self.add(f"fixed_{path.label}_if_{'' if on else 'no_'}{switch_field}",
                         f"{path.dotted} is {format_expr(literal)} when {switch.dotted} is "
                         f"{state}", _forall(keys, _implies(cond, ir.Binary(
                             "eq", path.read(keys), literal, ir.BOOL))))

    def links(self) -> None:
        """A Bool map over (an object, a place) holds only where the place
        refers to the object (a pte chain entry only for a pte that maps the
        page)."""
        for rel in self.model.state:
            if len(rel.keys) < 2 or not isinstance(rel.value, ir.BoolSort):
                continue
            for var in self.model.state:
                target = var.value.inner if isinstance(var.value, ir.OptionSort) else var.value
                if var.keys != rel.keys[1:] or target != rel.keys[0]:
                    continue
                keys = _binders(rel.keys, self.taken)
                at = ir.StateRead(var.name, keys[1:], var.value)
                obj: ir.Expr = keys[0] if not isinstance(var.value, ir.OptionSort) \
                    else ir.Wrap(keys[0], var.value)
                self.add(f"link_{rel.name}_{var.name}",
                         f"{rel.name} holds only where {var.name} refers to it",
                         _forall(keys, _implies(ir.StateRead(rel.name, keys, ir.BOOL),
                                                ir.Binary("eq", at, obj, ir.BOOL))))

    def implications(self) -> None:
        for a in self.model.state:
            for b in self.model.state:
                if a is b or not a.keys or a.keys != b.keys:
                    continue
                keys = _binders(a.keys, self.taken)
                on_a = _present(ir.StateRead(a.name, keys, a.value), a.value)
                on_b = _present(ir.StateRead(b.name, keys, b.value), b.value)
                if on_a is None or on_b is None:
                    continue
                self.add(f"implies_{a.name}_{b.name}", f"{a.name} implies {b.name}",
                         _forall(keys, _implies(on_a, on_b)))


def _literal(sort: ir.Sort, value: object) -> ir.Expr | None:
    match sort:
        case ir.BoolSort():
            return ir.BoolLit(bool(value))
        case ir.RangeSort() if not sort.symmetric:
            assert isinstance(value, int)
            return ir.IntLit(value)
        case ir.OptionSort() if value is None:
            return ir.NoneLit(sort)
    return None


def _substitute(expr: ir.Expr, local: ir.Local, value: ir.Expr) -> ir.Expr:
    """``expr`` with ``value`` for ``local`` (the flag expressions are small and
    bind nothing, so no capture is possible)."""
    if expr == local:
        return value
    changes: dict[str, object] = {}
    for f in attrs.fields(type(expr)):
        v = getattr(expr, f.name)
        if isinstance(v, tuple) and any(isinstance(x, ir.Expr) for x in v):  # type: ignore[arg-type]
            changes[f.name] = tuple(_substitute(x, local, value) for x in v)
        elif f.name != "sort" and isinstance(v, ir.Expr):  # type: ignore[arg-type]
            changes[f.name] = _substitute(v, local, value)
    return attrs.evolve(expr, **changes) if changes else expr  # type: ignore[arg-type]


def _sample(machine: Machine) -> list[tuple[object, ...]]:
    """Reachable states: breadth first from the initial state, then seeded walks."""
    init = machine.initial_state()
    seen = {init}
    order = [init]
    queue = deque([init])
    try:
        while queue and len(order) < BFS_STATES:
            state = queue.popleft()
            for _, nxt, _ in machine.expand(state):
                if nxt not in seen:
                    seen.add(nxt)
                    order.append(nxt)
                    queue.append(nxt)
        rng = random.Random(SEED)
        for _ in range(WALKS):
            state = init
            for _ in range(WALK_STEPS):
                succ = machine.expand(state)
                if not succ:
                    break
                state = rng.choice(succ)[1]
                if state not in seen:
                    seen.add(state)
                    order.append(state)
    except SpecRuntimeError:
        pass  # a spec error is the proof's to report, with its trace; the sample ends
    return order


def _number(sort: ir.Sort) -> ir.RangeSort | None:
    """The range of a number field (``T`` or ``T?``); None for ids and the rest."""
    inner = sort.inner if isinstance(sort, ir.OptionSort) else sort
    return inner if isinstance(inner, ir.RangeSort) and not inner.symmetric else None


# (variable, number field, switch field or None) -> the least and greatest value seen
Bounds = dict[tuple[str, str | None, str | None], tuple[int, int]]
# (variable, field, switch field, switch on) -> the values seen (two at most)
Fixed = dict[tuple[str, str, str, bool], set[object]]


def _observe(instance: Instance, states: Sequence[tuple[object, ...]]) -> tuple[Bounds, Fixed]:
    """What the sampled states show, in one pass: the range of every number
    field (also while each switch of its record is on), and the values every
    field holds while each switch is on, and while it is off."""
    bounds: Bounds = {}
    fixed: Fixed = {}

    def see(key: tuple[str, str | None, str | None], x: int) -> None:
        lo, hi = bounds.get(key, (x, x))
        bounds[key] = (min(lo, x), max(hi, x))

    for state in states:
        for name, _, value in instance.iter_entries(state):  # type: ignore[arg-type]
            paths = _paths(instance.layout[name].var)
            # A record's switches (its optional and Bool fields), on or off.
            switches: dict[str, bool] = {}
            if paths[0].field is not None and value is not None:
                switches = {q.field: value[q.field] is not None and value[q.field] is not False
                            for q in paths
                            if q.field and isinstance(q.sort, (ir.OptionSort, ir.BoolSort))}
            for path in paths:
                if path.field is not None and value is None:
                    continue
                x = value if path.field is None else value[path.field]
                if _number(path.sort) is not None and isinstance(x, int) \
                        and not isinstance(x, bool):
                    see((name, path.field, None), x)
                    for field, on in switches.items():
                        if field != path.field and on:
                            see((name, path.field, field), x)
                if _literal(path.sort, None if isinstance(path.sort, ir.OptionSort)
                            else 0) is None:
                    continue
                for field, on in switches.items():
                    if field != path.field:
                        seen = fixed.setdefault((name, path.field, field, on), set())  # type: ignore[arg-type]
                        if len(seen) < 2:
                            seen.add(x)
    return bounds, fixed


def infer(instance: Instance) -> tuple[Instance, dict[str, Candidate]]:
    """``instance`` with the candidate lemmas every sampled reachable state
    satisfies, and those candidates by name."""
    machine = Machine(instance, symmetry=False)
    states = _sample(machine)
    bounds, fixed = _observe(instance, states)
    maker = _Maker(instance)
    maker.ranges(bounds)
    maker.refs()
    maker.dead()
    maker.fixed(fixed)
    maker.links()
    maker.implications()
    alive = [p for p in maker.out if _holds_on(machine, p, states)]
    if not alive:
        return instance, {}
    model = attrs.evolve(instance.model, properties=instance.model.properties + tuple(alive))
    found = {p.name: Candidate(p, format_property(p, surface=True)) for p in alive}
    return Instance(model, instance.consts), found


def _holds_on(machine: Machine, prop: ir.Property, states: Sequence[tuple[object, ...]]) -> bool:
    """``prop`` is true in every state (a run-time error counts as false)."""
    try:
        return all(machine.eval_expr(prop.expr, state) for state in states)  # type: ignore[arg-type]
    except SpecRuntimeError:
        return False


def without_lemmas(instance: Instance) -> Instance:
    """``instance`` without the lemmas its spec states (to see what a proof
    finds alone)."""
    model = attrs.evolve(instance.model, properties=tuple(
        p for p in instance.model.properties if p.kind != "lemma"))
    return Instance(model, instance.consts)
