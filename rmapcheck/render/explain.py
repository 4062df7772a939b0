"""Why a state violates a property: the data every renderer shows.

``explain(machine, name, trace)`` finds, in the last state of a
counterexample:

- the values of the property's quantified variables where it fails;
- the conjunct that fails (descending through ``forall``, ``->`` and
  ``and``), as spec source text, with the values of the variables and state it
  reads, and, for each state location it reads, the step that last wrote it;
- for the rmap properties of a vm-library model (``rmap_complete``,
  ``rmap_sound``), the pte the walk should have found (or wrongly found), and,
  when the design defines the optional explanatory functions

      def walk_visits(f: Frame, p: Proc, a: VPage): Bool   # the walk looks into p's VMA at a
      def walk_address(f: Frame, p: Proc, a: VPage): Int   # the address it computes there

  the path the walk took: each VMA it visited, the address it computed and
  what it found there.

Nothing here changes state or decides a verdict: a renderer that cannot
explain (an unknown model, an evaluation error) shows less, never something
wrong.
"""

from __future__ import annotations

import itertools
import os
import typing
from collections.abc import Sequence
from typing import Any, Protocol

import attrs
from attrs import define, field

from rmapcheck import errors, ir
from rmapcheck.core.failing_part import conjuncts
from rmapcheck.instance import Instance
from rmapcheck.render.vmview import Vma, VmLayout, vm_layout, vm_view
from rmapcheck.trace import State, Trace

if typing.TYPE_CHECKING:
    from rmapcheck.replay import Blocked


class Evaluator(Protocol):
    instance: Instance

    def eval_expr(self, expr: ir.Expr, state: State, env: dict[str, Any]) -> Any: ...


# ------------------------------------------------------------ values


def _prefix(sort: ir.RangeSort) -> str:
    capitals = "".join(c for c in sort.name if c.isupper()).lower()
    return capitals or sort.name[:1].lower()


def normalize(instance: Instance, sort: ir.Sort, value: Any) -> Any:
    """A value as ``Instance.decode_value`` gives it, whether the evaluator
    returned slots (tuples, bit masks) or decoded values."""
    inner = sort.inner if isinstance(sort, ir.OptionSort) else sort
    if isinstance(inner, ir.RecordSort) and isinstance(value, (tuple, list)):
        return instance.decode_value(sort, tuple(value))
    if isinstance(sort, ir.SetSort) and isinstance(value, int) and not isinstance(value, bool):
        return instance.decode_value(sort, (value,))
    return value


def format_value(instance: Instance, sort: ir.Sort, value: Any) -> str:
    """A readable value: ``p0`` for process 0, ``f2`` for frame 2, records in braces."""
    value = normalize(instance, sort, value)
    match sort:
        case ir.OptionSort(inner=inner):
            return "none" if value is None else format_value(instance, inner, value)
        case ir.RangeSort(symmetric=True):
            return f"{_prefix(sort)}{value}"
        case ir.RangeSort() | ir.IntSort():
            return str(value)
        case ir.BoolSort():
            return "true" if value else "false"
        case ir.EnumSort(members=members):
            return value if isinstance(value, str) else members[value]
        case ir.RecordSort(fields=fields):
            parts = [f"{name}: {format_value(instance, fsort, value[name])}"
                     for name, fsort in fields]
            return "{" + ", ".join(parts) + "}"
        case ir.SetSort(elem=elem):
            items = sorted(value) if isinstance(value, (set, frozenset)) else value
            return "{" + ", ".join(format_value(instance, elem, v) for v in items) + "}"
    return str(value)


def local_name(name: str) -> str:
    """The spec's name of a binder (the front end appends ``#n`` to make it unique)."""
    return name.split("#")[0]


# The prover's own targets, beside the spec's properties: what a user reads
# for them (their internal names must never reach the output).
TARGET_WORDS = {"__runtime_error__": "no run-time error in any step",
                "__property_error__": "no run-time error evaluating a property"}


def fails_for(bindings: Sequence[tuple[str, str]]) -> str:
    """The failing instance of a property's ``forall`` variables, as every
    output words it: ``fails for p = p0, v = 1``."""
    return "fails for " + ", ".join(f"{n} = {v}" for n, v in bindings)


def target_name(name: str) -> str:
    """A verdict's name as the output shows it."""
    return TARGET_WORDS.get(name, name)


def where(span: ir.Span | None) -> str:
    """``file:line:col``, the file relative to the working directory when it is below it."""
    if span is None:
        return ""
    path = span.file
    if os.path.isabs(path):
        try:
            rel = os.path.relpath(path)
            if not rel.startswith(".."):
                path = rel
        except ValueError:
            pass
    return f"{path}:{span.line}:{span.col}"


def span_text(span: ir.Span | None) -> str | None:
    """The spec text a span covers, on one line."""
    if span is None or span.line <= 0:
        return None
    end_line = span.end_line or span.line
    lines = []
    for number in range(span.line, end_line + 1):
        line = errors.source_line(attrs.evolve(span, line=number))
        if line is None:
            return None
        lo = span.col - 1 if number == span.line else 0
        hi = span.end_col - 1 if number == end_line and span.end_col > 0 else len(line)
        lines.append(line[lo:hi].strip())
    return " ".join(part for part in lines if part) or None


# ------------------------------------------------------------ expression walking


_EXPR_TYPES = typing.get_args(ir.Expr)


def _children(expr: Any) -> list[Any]:
    """The sub-expressions of an expression (never its sort)."""
    out = []
    for f in attrs.fields(type(expr)):
        if f.name in ("sort", "span"):
            continue
        value = getattr(expr, f.name)
        for item in value if isinstance(value, tuple) else (value,):
            # record literal fields: (name, expr)
            child = item[-1] if isinstance(item, tuple) else item
            if isinstance(child, _EXPR_TYPES):
                out.append(child)
    return out


def locals_in(expr: Any) -> set[str]:
    if isinstance(expr, ir.Local):
        return {expr.name}
    found: set[str] = set()
    if attrs.has(type(expr)):
        for child in _children(expr):
            found |= locals_in(child)
    return found


def ground_reads(expr: ir.Expr, bound: set[str]) -> list[ir.Expr]:
    """State reads (and field reads of them) whose keys use only ``bound`` names."""
    out: list[ir.Expr] = []

    def visit(e: Any) -> None:
        if isinstance(e, ir.Field) and _is_place(e) and locals_in(e) <= bound:
            out.append(e)
            for key in _place_keys(e):
                visit(key)
            return
        if isinstance(e, ir.StateRead) and locals_in(e) <= bound:
            out.append(e)
            for key in e.keys:
                visit(key)
            return
        if attrs.has(type(e)):
            for child in _children(e):
                visit(child)

    visit(expr)
    return out


def _is_place(e: Any) -> bool:
    while isinstance(e, ir.Field):
        e = e.base
    return isinstance(e, ir.StateRead)


def _place_keys(e: Any) -> tuple[ir.Expr, ...]:
    while isinstance(e, ir.Field):
        e = e.base
    return e.keys


# ------------------------------------------------------------ result


@define
class Location:
    """A state location a failing formula read: ``var[key].path``."""

    var: str
    key: tuple[Any, ...]
    path: tuple[str, ...]
    text: str  # page[f0].index

    def read(self, instance: Instance, state: State) -> Any:
        value = instance.decode(state)[self.var]
        if instance.layout[self.var].var.keys:
            value = value[self.key]
        for name in self.path:
            if value is None:
                return None
            value = value[name]
        return value


@define
class Fact:
    text: str  # "page[f0].index"
    value: str  # "0"
    location: Location | None = None
    written_at: int | None = None  # the step that last wrote it (0: the initial state)


@define
class WalkVisit:
    """The walk looked into ``vma`` of ``proc`` and computed ``address``."""

    proc: Any
    vma: Vma
    address: int  # a walk whose address function gives no value is no walk (see below)
    in_vma: bool
    pte: Any  # the frame the pte at address maps, or None
    found: bool


@define
class Explanation:
    name: str
    kind: str  # invariant, lemma, assert
    doc: str
    span: ir.Span | None
    bindings: list[tuple[str, str]] = field(factory=list)  # (name, formatted value)
    env: dict[str, Any] = field(factory=dict)
    conjunct: str | None = None  # spec text of the failing conjunct
    conjunct_span: ir.Span | None = None
    conjunct_in: str | None = None  # the def whose body the conjunct is in
    facts: list[Fact] = field(factory=list)
    missed: tuple[Any, int, Any] | None = None  # (proc, vpage, frame): the pte the walk misses
    spurious: tuple[Any, int, Any] | None = None  # (proc, vpage, frame): found, does not map f
    frame: Any = None  # the frame whose walk is explained
    page_fields: list[tuple[str, str]] = field(factory=list)  # the page's rmap metadata
    walk: list[WalkVisit] | None = None  # None: the design does not explain its walk
    walk_docs: tuple[str, str] = ("", "")
    diagnosis: list[str] = field(factory=list)


# ------------------------------------------------------------ explaining


def _kind_doc_span(model: ir.Model, name: str) -> tuple[str, str, ir.Span | None, ir.Expr | None]:
    try:
        prop = model.prop(name)
        return prop.kind, prop.doc, prop.span, prop.expr
    except KeyError:
        for assertion in model.assertions():
            if assertion.name == name:
                return "assert", assertion.doc, assertion.span, None
    return "", "", None, None


def _eval(machine: Evaluator, expr: ir.Expr, state: State, env: dict[str, Any]) -> Any:
    try:
        return machine.eval_expr(expr, state, env)
    except Exception:  # noqa: BLE001 - a read of none's field, or a run-time error: no value
        return _NO_VALUE


_NO_VALUE = object()


def _location(machine: Evaluator, read: ir.Expr, state: State,
              env: dict[str, Any]) -> Location | None:
    path: list[str] = []
    base = read
    while isinstance(base, ir.Field):
        path.insert(0, base.name)
        base = base.base
    if not isinstance(base, ir.StateRead):
        return None
    instance = machine.instance
    keys = []
    for key in base.keys:
        value = _eval(machine, key, state, env)
        if value is _NO_VALUE or value is None:
            return None
        keys.append(value)
    rng = instance.layout[base.var]
    parts = [format_value(instance, sort, value)
             for sort, value in zip(rng.var.keys, keys, strict=True)]
    text = f"{base.var}[{', '.join(parts)}]" if parts else base.var
    text += "".join(f".{name}" for name in path)
    return Location(base.var, tuple(keys), tuple(path), text)


def _assigns(stmts: tuple[ir.Stmt, ...], var: str, path: tuple[str, ...]) -> bool:
    """Whether the statements assign ``var[...]`` at ``path`` or a record around it."""
    for stmt in stmts:
        match stmt:
            case ir.Assign(target=target):
                if target.var == var and tuple(target.path) == path[:len(target.path)]:
                    return True
            case ir.If(then=then, else_=else_):
                if _assigns(then, var, path) or _assigns(else_, var, path):
                    return True
            case ir.For(body=body):
                if _assigns(body, var, path):
                    return True
    return False


def _last_write(instance: Instance, trace: Trace, location: Location) -> int:
    """The step that last wrote the location (0: it has held its value since the
    initial state): the last step that changed it, or that wrote the record
    around it (changing the record) with an action that assigns this field,
    since writing a field the value it already had changes nothing."""
    states = trace.states()
    model = instance.model
    whole = attrs.evolve(location, path=())
    for index in range(len(states) - 1, 0, -1):
        before, after = states[index - 1], states[index]
        if location.read(instance, before) != location.read(instance, after):
            return index
        if location.path and whole.read(instance, before) != whole.read(instance, after):
            try:
                action = model.action(trace.steps[index - 1].action)
            except KeyError:
                continue
            if _assigns(action.body, location.var, location.path):
                return index
    return 0


def _function_at(model: ir.Model, span: ir.Span | None) -> ir.Function | None:
    if span is None:
        return None
    for fn in model.functions:
        s = fn.span
        if s.file == span.file and s.line <= span.line <= (s.end_line or s.line):
            return fn
    return None


def _failing_leaf(machine: Evaluator, expr: ir.Expr, state: State, env: dict[str, Any],
                  bindings: list[tuple[ir.Local, Any]]) -> ir.Expr:
    """The innermost sub-formula that is false and explains why ``expr`` is."""
    instance = machine.instance
    while True:
        match expr:
            case ir.Quant(kind="forall", vars=vars_, body=body):
                domains = [instance.values(v.sort) for v in vars_]
                for combo in itertools.product(*domains):
                    trial = dict(env)
                    trial.update({v.name: value for v, value in zip(vars_, combo, strict=True)})
                    if _eval(machine, body, state, trial) is False:
                        env.update(trial)
                        bindings.extend(zip(vars_, combo, strict=True))
                        expr = body
                        break
                else:
                    return expr
            case ir.Binary(op="implies", rhs=rhs):
                expr = rhs
            case ir.HookValue(value=value):
                expr = value
            case ir.Binary(op="and", lhs=lhs, rhs=rhs):
                expr = lhs if _eval(machine, lhs, state, env) is False else rhs
            case ir.Unary(op="not", arg=ir.Binary(op="or", lhs=lhs, rhs=rhs)):
                expr = ir.Unary("not", lhs, ir.BOOL, lhs.span) \
                    if _eval(machine, lhs, state, env) is True \
                    else ir.Unary("not", rhs, ir.BOOL, rhs.span)
            case _:
                return expr


def explain(machine: Evaluator, name: str, trace: Trace) -> Explanation:
    instance = machine.instance
    model = instance.model
    kind, doc, span, expr = _kind_doc_span(model, name)
    out = Explanation(name, kind, doc, span)
    state = trace.last
    if name == ir.DEADLOCK_PROPERTY and model.threads:
        out.diagnosis = deadlock_cycle(machine, state)
        return out
    if expr is None:
        return out
    env: dict[str, Any] = {}
    bindings: list[tuple[ir.Local, Any]] = []
    try:
        leaf = _failing_leaf(machine, expr, state, env, bindings)
    except Exception:  # noqa: BLE001 - no failing leaf found: explain without one
        return out
    out.env = env
    out.bindings = [(local_name(v.name), format_value(instance, v.sort, value))
                    for v, value in bindings]
    if leaf is not expr or not isinstance(expr, ir.Quant):
        out.conjunct = span_text(leaf.span)
        out.conjunct_span = leaf.span if out.conjunct else None
        fn = _function_at(model, leaf.span)
        out.conjunct_in = fn.name if fn else None
    _collect_facts(machine, trace, leaf, env, out)
    layout = vm_layout(instance)
    if layout is not None:
        _explain_rmap(machine, layout, trace, bindings, out)
    return out


def deadlock_cycle(machine: Evaluator, state: State) -> list[str]:
    """The threads that wait for one another in ``state``, one line each:
    who waits at which step for which lock, and who holds it."""
    instance = machine.instance
    model = instance.model

    def label(thread: ir.Thread, keys: tuple[Any, ...]) -> str:
        shown = ", ".join(format_value(instance, p.sort, k)
                          for p, k in zip(thread.params, keys, strict=True))
        return f"{thread.name}({shown})"

    waits: dict[str, tuple[str, list[str]]] = {}  # thread -> (what it waits for, holders)
    decoded = instance.decode(state)
    for thread in model.threads:
        for keys in itertools.product(*(instance.values(p.sort) for p in thread.params)):
            env = {p.name: k for p, k in zip(thread.params, keys, strict=True)}
            for wait in thread.waits:
                if machine.eval_expr(wait.when, state, env) is not True:
                    continue
                lock = next(lk for lk in model.locks if lk.name == wait.lock)
                lkeys = tuple(machine.eval_expr(k, state, env) for k in wait.keys)
                holders: list[str] = []
                for other in model.threads:
                    holds = decoded[lock.holder_var(other.name)]
                    for okeys in itertools.product(*(instance.values(p.sort)
                                                     for p in other.params)):
                        value = holds[(*lkeys, *okeys)]
                        held = value if isinstance(value, str) else \
                            ("unheld", "reader", "writer")[value]
                        if held == "writer" or (held == "reader" and wait.exclusive):
                            holders.append(label(other, okeys))
                shown = ", ".join(format_value(instance, s, k)
                                  for s, k in zip(lock.keys, lkeys, strict=True))
                name = f"{lock.name}[{shown}]" if lkeys else lock.name
                how = "" if lock.kind != "rwsem" else \
                    (" as writer" if wait.exclusive else " as reader")
                waits[label(thread, keys)] = (f"waits at {wait.step} for {name}{how}", holders)
    # Follow the waits from each thread until one comes back: that is the cycle.
    for start in waits:
        path = [start]
        while path[-1] in waits and waits[path[-1]][1]:
            nxt = next((h for h in waits[path[-1]][1] if h in waits), waits[path[-1]][1][0])
            if nxt in path:
                cycle = path[path.index(nxt):]
                lines = ["deadlock: these threads wait for one another"]
                for i, who in enumerate(cycle):
                    holder = cycle[(i + 1) % len(cycle)]
                    lines.append(f"  {who} {waits[who][0]}, which {holder} holds")
                return lines
            path.append(nxt)
    return ["deadlock: threads wait for one another (the cycle could not be named)"]


def _collect_facts(machine: Evaluator, trace: Trace, leaf: ir.Expr, env: dict[str, Any],
                   out: Explanation) -> None:
    instance = machine.instance
    state = trace.last
    seen: set[str] = set()
    used = locals_in(leaf)
    for v_name in sorted(used):
        if v_name in env:
            sort = _local_sort(leaf, v_name)
            if sort is not None:
                text = local_name(v_name)
                if text not in seen:
                    seen.add(text)
                    out.facts.append(Fact(text, format_value(instance, sort, env[v_name])))
    for read in ground_reads(leaf, set(env)):
        value = _eval(machine, read, state, env)
        if value is _NO_VALUE:
            continue
        loc = _location(machine, read, state, env)
        if loc is None or loc.text in seen:
            continue
        seen.add(loc.text)
        fact = Fact(loc.text, format_value(instance, read.sort, value), loc)
        try:
            fact.written_at = _last_write(instance, trace, loc)
        except Exception:  # noqa: BLE001 - no last write found: the fact without it
            fact.written_at = None
        out.facts.append(fact)


def _local_sort(expr: Any, name: str) -> ir.Sort | None:
    if isinstance(expr, ir.Local):
        return expr.sort if expr.name == name else None
    if attrs.has(type(expr)):
        for child in _children(expr):
            found = _local_sort(child, name)
            if found is not None:
                return found
    return None


def _bound(bindings: list[tuple[ir.Local, Any]], sort: ir.Sort) -> Any:
    for local, value in bindings:
        if local.sort == sort:
            return value
    return None


def _call(machine: Evaluator, fn: ir.Function, state: State, args: tuple[Any, ...]) -> Any:
    env = {p.name: a for p, a in zip(fn.params, args, strict=True)}
    return machine.eval_expr(fn.body, state, env)


def _explain_rmap(machine: Evaluator, layout: VmLayout, trace: Trace,
                  bindings: list[tuple[ir.Local, Any]], out: Explanation) -> None:
    instance = machine.instance
    model = instance.model
    state = trace.last
    view = vm_view(instance, layout, state)
    proc = _bound(bindings, layout.proc)
    vpage = _bound(bindings, layout.vpage)
    if proc is None or vpage is None:
        return
    if out.name == "rmap_complete":
        pte = view.pte_at(proc, vpage)
        if pte is None:
            return
        out.missed = (proc, vpage, pte.frame)
        frame = pte.frame
    elif out.name == "rmap_sound":
        frame = _bound(bindings, layout.frame)
        if frame is None:
            return
        out.spurious = (proc, vpage, frame)
    else:
        return
    out.frame = frame
    page = view.page(frame)
    if page is not None:
        rec = layout.page_rec
        out.page_fields = [(n, format_value(instance, s, page.fields[n]))
                           for n, s in rec.fields if n not in ("used",)]
    try:
        visits_fn = model.function("walk_visits")
        address_fn = model.function("walk_address")
        finds_fn = model.function("finds")
    except KeyError:
        visits_fn = None
    def fmt_p(p):
        return format_value(instance, layout.proc, p)
    fmt_f = format_value(instance, layout.frame, frame)
    if visits_fn is not None:
        out.walk_docs = (visits_fn.doc, address_fn.doc)
        walk: list[WalkVisit] = []
        vpages = instance.values(layout.vpage)
        try:
            for p, _alive in view.procs:
                for vma in view.vmas[p]:
                    if not _call(machine, visits_fn, state, (frame, p, vma.start)):
                        continue
                    address = _call(machine, address_fn, state, (frame, p, vma.start))
                    in_vma = vma.start <= address < vma.end
                    there = view.pte_at(p, address) if address in vpages else None
                    found = bool(address in vpages
                                 and _call(machine, finds_fn, state, (frame, p, address)))
                    walk.append(WalkVisit(p, vma, address, in_vma,
                                          there.frame if there else None, found))
            out.walk = walk
        except Exception:  # noqa: BLE001 - no walk: the explanation without it
            out.walk = None
    # the diagnosis: what the walk did, and which metadata went stale when
    if out.missed is not None:
        p, v, f = out.missed
        home = view.vma_of(p, v)
        where = f" in {fmt_p(p)}'s VMA {home.range()}" if home else ""
        line = f"the walk from {fmt_f} misses the pte of {fmt_p(p)} at page {v}{where}"
        if out.walk is not None:
            mine = [w for w in out.walk if w.proc == p and home is not None
                    and w.vma.start == home.start]
            if mine:
                line += f": it looks at address {mine[0].address} there"
            elif not out.walk:
                line += ": it visits no VMA at all"
            else:
                line += f": it never looks into {fmt_p(p)}'s VMA {home.range() if home else ''}"
        out.diagnosis.append(line)
        pte_loc = Location("pte", (p, v), (), f"pte[{fmt_p(p)}, {v}]")
        try:
            pte_step = _last_write(instance, trace, pte_loc)
        except Exception:  # noqa: BLE001 - no pte write found: no staleness diagnosis
            pte_step = 0
        for fact in out.facts:
            loc = fact.location
            if loc is None or loc.var != "page" or not loc.path or fact.written_at is None:
                continue
            if pte_step > 0 and fact.written_at < pte_step:
                step = trace.steps[pte_step - 1]
                when = ("in the initial state" if fact.written_at == 0 else
                        f"at step {fact.written_at} ({trace.steps[fact.written_at - 1].action})")
                prior = vm_view(instance, layout, trace.states()[pte_step - 1])
                origin = [x.vpage for x in prior.ptes if x.proc == p and x.frame == f
                          and x.vpage != v and view.pte_at(p, x.vpage) is None]
                how = (f"moved the pte from page {origin[0]} to page {v}" if origin
                       else f"put the pte at page {v}")
                out.diagnosis.append(
                    f"page->{loc.path[-1]} went stale after {step.action}: {loc.text} = "
                    f"{fact.value} was set {when}, and step {pte_step} ({step.action}) "
                    f"{how} without updating it")
    elif out.spurious is not None:
        p, v, f = out.spurious
        there = view.pte_at(p, v)
        now = format_value(instance, layout.frame, there.frame) if there else "nothing"
        out.diagnosis.append(f"the walk from {fmt_f} finds {fmt_p(p)}'s page {v}, "
                             f"which maps {now}, not {fmt_f}")


# ------------------------------------------------------------ a step that is not allowed


@define
class BlockedExplanation:
    """Why a step is not allowed: its ``requires`` statement, the conjunct of
    it that is false (and, under a ``forall``, the values where it fails), and
    the values of the locals and state that conjunct reads."""

    span: ir.Span
    text: str | None  # the statement's spec text
    conjunct: str | None = None  # the false part, when the statement has several
    conjunct_span: ir.Span | None = None
    bindings: list[tuple[str, str]] = field(factory=list)  # forall variables where it fails
    facts: list[Fact] = field(factory=list)


def _requires_at(stmts: tuple[ir.Stmt, ...], span: ir.Span) -> typing.Iterator[ir.Require]:
    for stmt in stmts:
        match stmt:
            case ir.Require() if stmt.span == span:
                yield stmt
            case ir.If(then=then, else_=else_):
                yield from _requires_at(then, span)
                yield from _requires_at(else_, span)
            case ir.For(body=body):
                yield from _requires_at(body, span)
            case _:
                pass


def _ir_bindings(machine: Evaluator, expr: ir.Expr,
                 env: dict[str, Any]) -> dict[str, Any]:
    """The values of ``expr``'s locals from the core's environment, where a
    local of several slots is bound one core variable per slot (``x.0``, ...)."""
    out: dict[str, Any] = {}
    for name in locals_in(expr):
        if name in env:
            out[name] = env[name]
            continue
        sort = _local_sort(expr, name)
        if sort is None:
            continue
        width = machine.instance.width(sort)
        parts = [f"{name}.{i}" for i in range(width)]
        if all(p in env for p in parts):
            out[name] = tuple(env[p] for p in parts)
    return out


def explain_blocked(machine: Evaluator, action: str, span: ir.Span, env: dict[str, Any],
                    state: State) -> BlockedExplanation:
    """Why the ``requires`` at ``span`` of ``action`` is false with the core's
    locals ``env`` in ``state``. A procedure's ``requires`` is inlined at each
    call, so the statement is found among the action's by its span and told
    from the other copies by being false with the locals of this one."""
    instance = machine.instance
    out = BlockedExplanation(span, span_text(span))
    try:
        candidates = list(_requires_at(instance.model.action(action).body, span))
    except KeyError:
        return out
    for require in candidates:
        bound = _ir_bindings(machine, require.cond, env)
        if _eval(machine, require.cond, state, bound) is not False:
            continue
        parts = conjuncts(require.cond)
        leaf = next((c for c in parts if _eval(machine, c, state, bound) is False), parts[0])
        quantified: list[tuple[ir.Local, Any]] = []
        inner = dict(bound)
        leaf = _failing_leaf(machine, leaf, state, inner, quantified)
        if len(parts) > 1 or leaf is not require.cond:
            out.conjunct = span_text(leaf.span)
            out.conjunct_span = leaf.span if out.conjunct else None
        out.bindings = [(local_name(v.name), format_value(instance, v.sort, value))
                        for v, value in quantified]
        shown = {n for n, _ in out.bindings}
        for name in sorted(locals_in(leaf)):
            sort = _local_sort(leaf, name)
            if name in inner and sort is not None and local_name(name) not in shown:
                shown.add(local_name(name))
                out.facts.append(Fact(local_name(name), format_value(instance, sort, inner[name])))
        for read in ground_reads(leaf, set(inner)):
            value = _eval(machine, read, state, inner)
            loc = _location(machine, read, state, inner)
            if value is _NO_VALUE or loc is None or loc.text in shown:
                continue
            shown.add(loc.text)
            out.facts.append(Fact(loc.text, format_value(instance, read.sort, value), loc))
        break
    return out


def explain_stopped(machine: Evaluator, action: str, blocked: Blocked) -> BlockedExplanation:
    """Why ``replay_actions`` found its next step, of ``action``, not allowed:
    what ``rmapcheck replay`` and ``rmapcheck run`` both say of it."""
    return explain_blocked(machine, action, blocked.require.span, dict(blocked.env),
                           blocked.state)
