"""Lowers the IR of one instance to the core: every semantic decision, made once.

The IR (``rmapcheck.ir``) keeps the spec's structure: records, options,
quantifiers over symbolic sorts, names of state variables. At fixed bounds
(``Instance``) this pass turns it into the nodes of ``rmapcheck.core.nodes``,
which every engine reads and none re-decides:

- **Slots.** A state read becomes a read of one slot at ``base + index(key) *
  stride`` (folded to a constant when the keys are known); a record becomes
  one value per slot, an optional record a presence flag and its fields.
- **Checks** (the trusted rule). A value stored or bound outside its sort, a
  key outside its map's key sort, a set element outside its sort, reading or
  assigning a field of ``none``, unwrapping ``none`` and dividing by zero are
  run-time errors of the spec. A check is made only where the static sorts do
  not already guarantee the value (``trusted``), and each has a fault site
  (``CoreModel.faults``) with the words of its message.
- **Evaluation order.** Operands are evaluated left to right; ``and``, ``or``,
  ``->``, ``if then else`` and quantifiers stop as soon as the result is
  known, so a part that is not needed raises no error. An assignment
  evaluates its whole value before it writes.
- **The action plan.** The leading ``requires`` and ``let`` of an action are
  split into conjuncts and each is placed at the loop level of the last
  parameter it reads (``ActionPlan``), so a search prunes every parameter
  combination below a false guard at once.
- **Unrolling.** A quantifier or loop over a small domain with a small body
  is marked ``unroll``; back ends that unroll copy its body per value with
  ``fold.substitute``, which folds what the value decides.
- **Symmetry.** A ``choose`` over a sort declared symmetric records the locals
  in scope, and a loop over one whether its iterations provably commute
  (``core.symmetry_rules``): what a reduced search checks at run time.
- **Coverage marks.** ``Mark`` and ``Marked`` count a site of
  ``CoreModel.coverage_sites`` and mean nothing else: the start of every run
  of a hook, each branch of the design's own ``if``\\ s, and the right side of
  an invariant's top ``->`` (under its ``forall``\\ s), reached only where the
  antecedent holds. Without ``coverage`` only the marks the default warnings
  need are placed: the hooks a design defines, and the antecedents.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, assert_never

from attrs import frozen

from rmapcheck import ir
from rmapcheck.core import fold
from rmapcheck.core.nodes import (
    BOOL_T,
    INT_T,
    ActionPlan,
    Addr,
    AddrTerm,
    AssertStmt,
    BoolOp,
    Check,
    CoreProperty,
    CoverSite,
    Expr,
    FaultSite,
    For,
    If,
    Let,
    LetIn,
    Lit,
    Mark,
    Marked,
    MaskT,
    NotNoneTest,
    OptT,
    Quant,
    RangeTest,
    Require,
    ScopedLocal,
    SlotKind,
    Stmt,
    Stop,
    Store,
    Ty,
    Var,
    expr_children,
)
from rmapcheck.core.slots import scalar_ty, slot_kind, slot_sorts, state_slot_kinds
from rmapcheck.core.symmetry_rules import Analysis, check, mentions
from rmapcheck.errors import SpecError
from rmapcheck.instance import Instance

Vals = tuple[Expr, ...]  # a value: one node per slot

# A quantifier or loop is unrolled when it has at most this many values and
# its copies together stay within this many nodes: every read inside then has
# a constant slot, and the generated code stays quick to compile.
UNROLL_MAX_VALUES = 64
UNROLL_MAX_NODES = 1200


@frozen
class Bound:
    """A local in scope: its IR sort and its value, one node per slot."""

    sort: ir.Sort
    vals: Vals


Env = dict[str, Bound]


class CoreModel:
    """The core of one instance: the state's slots, the initial block, the
    planned actions, the properties, and the tables they index (fault sites,
    assertions, coverage sites). ``lower_expr`` lowers further expressions on
    demand (a function a renderer explains, a guard the fuzzer evaluates),
    without coverage marks. ``coverage``: mark every hook and every branch of
    the design's code, not only what the default warnings need."""

    def __init__(self, instance: Instance, coverage: bool = False) -> None:
        self.instance = instance
        self.model = model = instance.model
        self.coverage = coverage
        self.slots: tuple[SlotKind, ...] = state_slot_kinds(instance)
        self.faults: list[FaultSite] = []
        self._fault_index: dict[FaultSite, int] = {}
        self.asserts: list[ir.Assert] = []
        self._assert_index: dict[int, int] = {}
        self._keep: list[ir.Assert] = []  # ids in _assert_index stay unique while kept
        self.coverage_sites: list[CoverSite] = []
        self._marking = True
        self._hook_sites: dict[str, int] = {}
        self._hook_end_sites: dict[str, int] = {}
        for hook in model.hooks:
            if coverage or hook.by_design:
                self._hook_sites[hook.name] = self._site(CoverSite(
                    "hook", hook.name, hook.span, hook.by_design))
                if hook.kind == "proc":  # a def's value has no end to reach
                    self._hook_end_sites[hook.name] = self._site(CoverSite(
                        "hook_end", hook.name, hook.span, hook.by_design))
        self._branch_sites: dict[ir.Span, tuple[int, int]] = {}
        self.antecedents: dict[str, int] = {}  # property -> its antecedent's site
        declared = [s for s in model.sorts if isinstance(s, ir.RangeSort) and s.symmetric
                    and len(instance.values(s)) > 1]
        self.declared_symmetric: tuple[ir.RangeSort, ...] = tuple(declared)
        self.symmetry: Analysis = check(model, declared)
        self._entry_kinds: dict[str, tuple[SlotKind, ...]] = {}
        self._counter = itertools.count()
        self.init: tuple[Stmt, ...] = self._lower_body(model.init, {})
        self.actions: tuple[ActionPlan, ...] = ()
        plans = []
        base = 0
        for index, action in enumerate(model.actions):
            plan = self._plan(action, index, base)
            plans.append(plan)
            base += plan.count
        self.actions = tuple(plans)
        self.num_instances = base
        self.properties: tuple[CoreProperty, ...] = tuple(
            CoreProperty(p.name, p.kind, self._property(p), p.span) for p in model.properties)

    # ------------------------------------------------------------ tables

    def fault(self, span: ir.Span, template: str, sort: ir.Sort | None = None,
              var: str | None = None, path: tuple[str, ...] = (),
              shows_value: bool = True) -> int:
        site = FaultSite(span, template, sort, var, path, shows_value)
        index = self._fault_index.get(site)
        if index is None:
            index = self._fault_index[site] = len(self.faults)
            self.faults.append(site)
        return index

    def assert_index(self, stmt: ir.Assert) -> int:
        index = self._assert_index.get(id(stmt))
        if index is None:
            index = self._assert_index[id(stmt)] = len(self.asserts)
            self.asserts.append(stmt)
            self._keep.append(stmt)
        return index

    def fresh(self, hint: str) -> str:
        return f"{hint}%{next(self._counter)}"

    def _site(self, site: CoverSite) -> int:
        self.coverage_sites.append(site)
        return len(self.coverage_sites) - 1

    def _hook_site(self, hook: str, end: bool = False) -> int | None:
        sites = self._hook_end_sites if end else self._hook_sites
        return sites.get(hook) if self._marking else None

    def _branches(self, stmt: ir.If) -> tuple[int, int] | None:
        """The sites of an ``if``'s two branches, when coverage counts them: one
        pair per ``if`` of the design's files, however often it is expanded."""
        if not (self.coverage and self._marking
                and stmt.span.file in self.model.design_files):
            return None
        found = self._branch_sites.get(stmt.span)
        if found is None:
            found = self._branch_sites[stmt.span] = (
                self._site(CoverSite("then", "", stmt.span)),
                self._site(CoverSite("else", "", stmt.span)))
        return found

    # ------------------------------------------------------------ sorts

    def values(self, sort: ir.Sort) -> tuple[Any, ...]:
        return self.instance.values(sort)

    def ty(self, sort: ir.Sort) -> Ty:
        return scalar_ty(self.instance, sort)

    def width(self, sort: ir.Sort) -> int:
        """Slots of a value of ``sort`` (an ``Int`` local takes one, like a slot)."""
        match sort:
            case ir.RecordSort() | ir.OptionSort(inner=ir.RecordSort()):
                return self.instance.width(sort)
            case _:
                return 1

    def slot_tys(self, sort: ir.Sort) -> tuple[Ty, ...]:
        return tuple(self.ty(s) for s in slot_sorts(self.instance, sort))

    def entry_kinds(self, var: str) -> tuple[SlotKind, ...]:
        """The kind of each slot of one entry of state variable ``var``."""
        kinds = self._entry_kinds.get(var)
        if kinds is None:
            rng = self.instance.layout[var]
            kinds = self._entry_kinds[var] = tuple(
                slot_kind(self.instance, s) for s in slot_sorts(self.instance, rng.var.value))
        return kinds

    def trusted(self, expr: ir.Expr, target: ir.Sort) -> bool:
        """Whether every value ``expr`` can have belongs to ``target``, so that
        storing or binding it needs no run-time check."""
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
            case ir.HookValue(value=value):
                return self.trusted(value, target)
            case ir.StateRead() | ir.Local() | ir.BoolLit() | ir.EnumLit() | ir.SetLit():
                # A let is checked against its sort when bound, so a local of
                # the target sort is in it, like a parameter.
                return expr.sort == target
            case _:
                assert_never(expr)

    def check_slot(self, v: Expr, sort: ir.Sort, site: int, keys: tuple[Expr, ...]) -> Expr:
        """``v`` (one slot of scalar ``sort``) after a check that it is in the sort."""
        inner = sort.inner if isinstance(sort, ir.OptionSort) else sort
        if not isinstance(inner, ir.RangeSort):
            return v  # Bool, enum and set values are always in their sort
        lo, hi = self.instance.range_bounds(inner)
        return fold.checked(v, RangeTest(lo, hi, isinstance(sort, ir.OptionSort)), site, keys,
                            v.ty)

    def check_value(self, vals: Vals, expr: ir.Expr, sort: ir.Sort, site: int,
                    keys: tuple[Expr, ...] = ()) -> Vals:
        if self.trusted(expr, sort):
            return vals
        return tuple(self.check_slot(v, s, site, keys)
                     for v, s in zip(vals, slot_sorts(self.instance, sort), strict=True))

    # ------------------------------------------------------------ expressions

    def scalar(self, e: ir.Expr, env: Env) -> Expr:
        (v,) = self.lower(e, env)
        return v

    def lower(self, e: ir.Expr, env: Env) -> Vals:
        """The value of ``e``, one node per slot."""
        match e:
            case ir.BoolLit(value=value):
                return (Lit(bool(value), BOOL_T),)
            case ir.IntLit(value=value, sort=sort):
                if isinstance(sort, ir.RangeSort) and not self.instance.contains(sort, value):
                    site = self.fault(e.span, "value {value} is outside sort {sort}", sort)
                    return (fold.checked(Lit(value, INT_T), RangeTest(*self.instance.range_bounds(
                        sort)), site, (), INT_T),)
                return (Lit(value, INT_T),)
            case ir.EnumLit():
                return (Lit(e.index, INT_T),)
            case ir.NoneLit(sort=sort):
                if isinstance(sort.inner, ir.RecordSort):
                    return self.literal(sort, self.instance.default(sort))
                return (Lit(None, self.ty(sort)),)
            case ir.ConstRef(name=name):
                return (Lit(self.instance.consts[name], INT_T),)
            case ir.Local(name=name):
                bound = env.get(name)
                if bound is None:
                    raise SpecError(f"internal: unbound local {name}", e.span)
                return bound.vals
            case ir.StateRead() | ir.Field() if _is_place(e):
                return self.place(e, env)
            case ir.StateRead():
                raise AssertionError("a state read is always a place")
            case ir.Field(base=base, name=name, sort=sort):
                vals = self.lower(base, env)
                width = self.width(sort)
                if isinstance(base.sort, ir.OptionSort):
                    record = base.sort.inner
                    assert isinstance(record, ir.RecordSort)
                    offset = self.instance.field_offset(record, name)
                    site = self.fault(e.span, f"reading field {name} of none",
                                      shows_value=False)
                    return tuple(fold.guard(vals[0], site, v, v.ty)
                                 for v in vals[1 + offset:1 + offset + width])
                assert isinstance(base.sort, ir.RecordSort)
                offset = self.instance.field_offset(base.sort, name)
                return vals[offset:offset + width]
            case ir.Unary(op="not", arg=arg):
                return (fold.not_(self.scalar(arg, env)),)
            case ir.Unary(op="neg", arg=arg):
                return (fold.neg(self.scalar(arg, env)),)
            case ir.Unary():
                raise AssertionError(e.op)
            case ir.Binary():
                return (self.binary(e, env),)
            case ir.Ite(cond=cond, then=then, else_=else_):
                c = self.scalar(cond, env)
                if isinstance(c, Lit):
                    return self.lower(then if c.value else else_, env)
                a = self.lower(then, env)
                b = self.lower(else_, env)
                tys = self.slot_tys(e.sort) if self.width(e.sort) > 1 else (_join_ty(a[0], b[0]),)
                return tuple(fold.ite(c, x, y, t) for x, y, t in zip(a, b, tys, strict=True))
            case ir.Quant():
                return (self.quant(e, env),)
            case ir.RecordLit(fields=fields):
                out: list[Expr] = []
                for _name, field_value in fields:
                    out.extend(self.lower(field_value, env))
                return tuple(out)
            case ir.SetLit(sort=sort, elems=elems):
                ty = self.ty(sort)
                assert isinstance(ty, MaskT)
                values = self.values(sort.elem)
                mask: Expr = Lit(0, ty)
                for elem in elems:
                    v = self.scalar(elem, env)
                    site = self.fault(elem.span, "set element {value} is outside sort {sort}",
                                      sort.elem)
                    if isinstance(v, Lit) and not self.instance.contains(sort.elem, v.value):
                        v = fold.checked(v, RangeTest(1, 0), site, (), v.ty)  # always fails
                    elif not self.trusted(elem, sort.elem):
                        v = self.check_slot(v, sort.elem, site, ())
                    mask = fold.setop("union", mask, fold.bit(v, values, ty), ty)
                return (mask,)
            case ir.Wrap(arg=arg, sort=sort):
                vals = self.lower(arg, env)
                if isinstance(sort.inner, ir.RecordSort):
                    return (Lit(True, BOOL_T), *vals)
                ty = self.ty(sort)
                assert isinstance(ty, OptT)
                return (fold.some(vals[0], ty),)
            case ir.Unwrap(arg=arg, sort=sort):
                vals = self.lower(arg, env)
                site = self.fault(e.span, "this value is none, where a {sort} is needed", sort,
                                  shows_value=False)
                if isinstance(sort, ir.RecordSort):
                    return tuple(fold.guard(vals[0], site, v, v.ty) for v in vals[1:])
                return (fold.checked(vals[0], NotNoneTest(), site, (), self.ty(sort)),)
            case ir.HookValue(hook=hook, value=value):
                vals = self.lower(value, env)
                mark = self._hook_site(hook)
                if mark is None:
                    return vals
                # The slots are evaluated in order: the first counts the run.
                return (Marked(mark, vals[0], vals[0].ty), *vals[1:])
            case _:
                assert_never(e)

    def literal(self, sort: ir.Sort, slots: tuple[Any, ...]) -> Vals:
        return tuple(Lit(v, t) for v, t in zip(slots, self.slot_tys(sort), strict=True))

    def binary(self, e: ir.Binary, env: Env) -> Expr:
        op = e.op
        match op:
            case "and" | "or" | "implies":
                a = self.scalar(e.lhs, env)
                # A deciding left side: the right side is never evaluated.
                if isinstance(a, Lit) and a.value == (op == "or"):
                    return Lit(True, BOOL_T) if op == "or" else Lit(False, BOOL_T)
                if isinstance(a, Lit) and op == "implies" and not a.value:
                    return Lit(True, BOOL_T)
                b = self.scalar(e.rhs, env)
                if op == "and":
                    return fold.and_(a, b)
                if op == "or":
                    return fold.or_(a, b)
                return fold.implies(a, b)
            case "eq" | "ne" | "iff":
                test = self.equal(e.lhs, e.rhs, env)
                return fold.not_(test) if op == "ne" else test
            case "lt" | "le" | "gt" | "ge":
                return fold.cmp(op, self.scalar(e.lhs, env), self.scalar(e.rhs, env))
            case "add" | "sub" | "mul":
                return fold.arith(op, self.scalar(e.lhs, env), self.scalar(e.rhs, env))
            case "div" | "mod":
                a = self.scalar(e.lhs, env)
                b = self.scalar(e.rhs, env)
                site = self.fault(e.span, "division by zero (dividing {value})")
                return fold.divmod_(op, a, b, site)
            case "union" | "inter" | "diff":
                ty = self.ty(e.lhs.sort)
                assert isinstance(ty, MaskT)
                return fold.setop(op, self.scalar(e.lhs, env), self.scalar(e.rhs, env), ty)
            case "in":
                rhs_sort = e.rhs.sort
                assert isinstance(rhs_sort, ir.SetSort)
                elem = self.scalar(e.lhs, env)
                mask = self.scalar(e.rhs, env)
                return fold.member(elem, mask, self.values(rhs_sort.elem),
                                   self.trusted(e.lhs, rhs_sort.elem))
            case _:
                assert_never(op)

    def equal(self, lhs: ir.Expr, rhs: ir.Expr, env: Env) -> Expr:
        """``lhs == rhs``. Comparing with ``none`` tests an optional record's
        presence flag alone: an absent record's fields hold their defaults."""
        for side, other in ((lhs, rhs), (rhs, lhs)):
            if isinstance(other, ir.NoneLit):
                vals = self.lower(side, env)
                if isinstance(other.sort.inner, ir.RecordSort):
                    return fold.not_(vals[0])
                return fold.is_none(vals[0])
        a = self.lower(lhs, env)
        b = self.lower(rhs, env)
        if len(a) == 1:
            return fold.cmp("eq", a[0], b[0])
        if not any(fold.can_fault(x) for x in a + b):
            return fold.and_(*(fold.cmp("eq", x, y) for x, y in zip(a, b, strict=True)))
        # Both records are evaluated whole before they are compared: bind every
        # slot, in order, so that a check in a later slot is not skipped.
        names = [Var(self.fresh("cmp"), x.ty) for x in a + b]
        test = fold.and_(*(fold.cmp("eq", x, y)
                           for x, y in zip(names[:len(a)], names[len(a):], strict=True)))
        for var, value in reversed(list(zip(names, a + b, strict=True))):
            test = LetIn(var, value, test, BOOL_T)
        return test

    # ------------------------------------------------------------ places

    def key(self, v: Expr, expr: ir.Expr, sort: ir.Sort, span: ir.Span, var: str) -> Expr:
        """A map key after the check that it is in the key sort."""
        template = "key {value} is outside sort {sort} in {where}"
        if isinstance(v, Lit):
            if self.instance.contains(sort, v.value):
                return v
            site = self.fault(span, template, sort, var)
            return fold.checked(v, RangeTest(1, 0), site, (), v.ty)
        if self.trusted(expr, sort) or not isinstance(sort, ir.RangeSort):
            return v  # Bool and enum keys are always in their sort
        lo, hi = self.instance.range_bounds(sort)
        return fold.checked(v, RangeTest(lo, hi), self.fault(span, template, sort, var), (),
                            INT_T)

    def address(self, var: str, keys: tuple[ir.Expr, ...], env: Env, span: ir.Span,
                bind: list[Stmt] | None = None) -> tuple[Addr, Vals]:
        """The first slot of ``var[keys]``, and the key values. With ``bind``,
        a computed key is bound to a ``let`` there first, so that the address
        is cheap to use more than once."""
        rng = self.instance.layout[var]
        terms = []
        key_vals = []
        for key, key_sort, stride in zip(keys, rng.var.keys, rng.strides, strict=True):
            v = self.key(self.scalar(key, env), key, key_sort, span, var)
            if bind is not None and not isinstance(v, (Lit, Var)):
                local = Var(self.fresh(f"{var}.key"), v.ty)
                bind.append(Let(local, v, span))
                v = local
            key_vals.append(v)
            terms.append(AddrTerm(v, self.values(key_sort), stride * rng.width))
        return fold.addr(rng.offset, terms), tuple(key_vals)

    def place(self, e: ir.Expr, env: Env) -> Vals:
        fields: list[ir.Field] = []
        node = e
        while isinstance(node, ir.Field):
            fields.append(node)
            node = node.base
        assert isinstance(node, ir.StateRead)
        at, _ = self.address(node.var, node.keys, env, node.span)
        kinds = self.entry_kinds(node.var)
        sort: ir.Sort = self.instance.layout[node.var].var.value
        offset = 0
        presence: list[tuple[int, ir.Field]] = []  # outermost first
        for f in reversed(fields):
            if isinstance(sort, ir.OptionSort):
                record = sort.inner
                presence.append((offset, f))
                offset += 1
            else:
                record = sort
            assert isinstance(record, ir.RecordSort)
            offset += self.instance.field_offset(record, f.name)
            sort = record.field_sort(f.name)
        out = []
        for i in range(self.width(sort)):
            v: Expr = fold.read(at.plus(offset + i), kinds[offset + i])
            for check_offset, f in reversed(presence):
                site = self.fault(f.span, f"reading field {f.name} of none", shows_value=False)
                v = fold.guard(fold.read(at.plus(check_offset), kinds[check_offset]), site, v,
                               v.ty)
            out.append(v)
        return tuple(out)

    # ------------------------------------------------------------ quantifiers

    def quant(self, e: ir.Quant, env: Env,
              lower_body: Callable[[ir.Expr, Env], Expr] | None = None) -> Expr:
        inner = dict(env)
        variables = []
        for v in e.vars:
            var = Var(v.name, self.ty(v.sort))
            variables.append(var)
            inner[v.name] = Bound(v.sort, (var,))
        body = (lower_body or self.scalar)(e.body, inner)
        domains = tuple(self.values(v.sort) for v in e.vars)
        ty: Ty = self.ty(e.sort) if e.kind == "choose" else \
            (INT_T if e.kind == "count" else BOOL_T)
        sym_sort = None
        scoped: tuple[ScopedLocal, ...] = ()
        if e.kind == "choose" and e.vars[0].sort in self.declared_symmetric:
            sym_sort = e.vars[0].sort
            assert isinstance(sym_sort, ir.RangeSort)
            scoped = tuple(ScopedLocal(b.sort, b.vals, slot_sorts(self.instance, b.sort))
                           for b in env.values() if mentions(b.sort, sym_sort))
        return fold.quant(Quant(e.kind, tuple(variables), domains, body,
                                _worth_unrolling(domains, node_count(body)), ty, sym_sort,
                                scoped, e.span))

    # ------------------------------------------------------------ statements

    def _lower_body(self, stmts: Iterable[ir.Stmt], env: Env) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        env = dict(env)
        for stmt in stmts:
            self.stmt(stmt, env, out)
        return tuple(out)

    def stmt(self, stmt: ir.Stmt, env: Env, out: list[Stmt]) -> None:
        match stmt:
            case ir.Assign(target=target, value=value):
                self.assign(target, value, env, out)
            case ir.If(cond=cond, then=then, else_=else_):
                c = self.scalar(cond, env)
                sites = self._branches(stmt)
                if isinstance(c, Lit):
                    if sites is not None:
                        out.append(Mark(sites[0] if c.value else sites[1], stmt.span))
                    out.extend(self._lower_body(then if c.value else else_, env))
                    return
                then_body = self._lower_body(then, env)
                else_body = self._lower_body(else_, env)
                if sites is not None:
                    then_body = (Mark(sites[0], stmt.span), *then_body)
                    else_body = (Mark(sites[1], stmt.span), *else_body)
                out.append(If(c, then_body, else_body, stmt.span))
            case ir.For(var=var, body=body):
                local = Var(var.name, self.ty(var.sort))
                inner = dict(env)
                inner[var.name] = Bound(var.sort, (local,))
                lowered = self._lower_body(body, inner)
                values = self.values(var.sort)
                sym_sort = var.sort if var.sort in self.declared_symmetric else None
                assert sym_sort is None or isinstance(sym_sort, ir.RangeSort)
                out.append(For(local, values, lowered,
                               _worth_unrolling((values,), sum(map(stmt_count, lowered))),
                               sym_sort, stmt not in self.symmetry.unproven_loops, stmt.span))
            case ir.Let(var=var, value=value):
                vals = self.lower(value, env)
                site = self.fault(stmt.span, "value {value} is outside sort {sort} in let "
                                  f"{_plain(var.name)}", var.sort)
                vals = self.check_value(vals, value, var.sort, site)
                bound = []
                for i, v in enumerate(vals):
                    if isinstance(v, (Lit, Var)):
                        bound.append(v)
                        continue
                    name = var.name if len(vals) == 1 else f"{var.name}.{i}"
                    local = Var(name, v.ty)
                    out.append(Let(local, v, stmt.span))
                    bound.append(local)
                env[var.name] = Bound(var.sort, tuple(bound))
            case ir.Require(cond=cond):
                c = self.scalar(cond, env)
                if not (isinstance(c, Lit) and c.value):
                    out.append(Require(c, stmt.span))
            case ir.Assert(cond=cond):
                index = self.assert_index(stmt)
                c = self.scalar(cond, env)
                if not (isinstance(c, Lit) and c.value):
                    out.append(AssertStmt(index, c, stmt.span))
            case ir.HookEntry(hook=hook, end=end):
                mark = self._hook_site(hook, end)
                if mark is not None:
                    out.append(Mark(mark, stmt.span))
            case ir.Stop():
                out.append(Stop(stmt.span))
            case _:
                assert_never(stmt)

    def assign(self, target: ir.LValue, value: ir.Expr, env: Env, out: list[Stmt]) -> None:
        at, keys = self.address(target.var, target.keys, env, target.span, bind=out)
        kinds = self.entry_kinds(target.var)
        sort: ir.Sort = self.instance.layout[target.var].var.value
        offset = 0
        for depth, field in enumerate(target.path):
            if isinstance(sort, ir.OptionSort):
                record = sort.inner
                site = self.fault(target.span, "assigning to field "
                                  f"{'.'.join(target.path[:depth + 1])} of none in {{where}}",
                                  None, target.var, shows_value=False)
                present = fold.read(at.plus(offset), kinds[offset])
                if not (isinstance(present, Lit) and present.value):
                    out.append(Check(present, site, keys, target.span))
                offset += 1
            else:
                record = sort
            assert isinstance(record, ir.RecordSort)
            offset += self.instance.field_offset(record, field)
            sort = record.field_sort(field)
        values = self.stored(value, sort, env, target, keys)
        out.append(Store(at.plus(offset), values, target.span))

    def stored(self, value: ir.Expr, sort: ir.Sort, env: Env, target: ir.LValue,
               keys: Vals) -> Vals:
        """The slots to store for ``value`` in a place of ``sort``, each checked
        against its own sort (a record literal field by field, each message
        naming the field's sort)."""
        if isinstance(value, ir.RecordLit) and value.sort == sort:
            out: list[Expr] = []
            for name, field_value in value.fields:
                out.extend(self.stored(field_value, sort.field_sort(name), env, target, keys))
            return tuple(out)
        if (isinstance(value, ir.Wrap) and isinstance(sort, ir.OptionSort)
                and isinstance(sort.inner, ir.RecordSort) and isinstance(value.arg, ir.RecordLit)):
            return (Lit(True, BOOL_T),) + self.stored(value.arg, sort.inner, env, target, keys)
        vals = self.lower(value, env)
        if self.trusted(value, sort):
            return vals
        site = self.fault(target.span, "value {value} is outside sort {sort} in assignment to "
                          "{where}", sort, target.var, target.path)
        return self.check_value(vals, value, sort, site, keys)

    # ------------------------------------------------------------ actions

    def _plan(self, action: ir.Action, index: int, iid_base: int) -> ActionPlan:
        params = tuple(Var(p.name, self.ty(p.sort)) for p in action.params)
        env: Env = {p.name: Bound(p.sort, (v,)) for p, v in zip(action.params, params,
                                                                strict=True)}
        body = self._lower_body(action.body, env)
        prefix: list[Let | Require] = []
        rest_start = 0
        for stmt in body:
            if isinstance(stmt, Require):
                prefix.extend(Require(c, stmt.span) for c in conjuncts(stmt.cond))
            elif isinstance(stmt, Let):
                prefix.append(stmt)
            else:
                break
            rest_start += 1
        rest = body[rest_start:]
        level_of = {p.name: i + 1 for i, p in enumerate(params)}
        levels = []
        level = 0
        for stmt in prefix:
            used = free_vars(stmt.cond if isinstance(stmt, Require) else stmt.value)
            level = max([level] + [level_of.get(name, 0) for name in used])
            levels.append(level)
            if isinstance(stmt, Let):
                level_of[stmt.var.name] = level
        read_later = set().union(*(stmt_free_vars(s) for s in rest)) if rest else set()
        carried = tuple(s.var for s in prefix if isinstance(s, Let) and s.var.name in read_later)
        domains = tuple(self.values(p.sort) for p in action.params)
        return ActionPlan(action.name, index, params, domains, iid_base, tuple(prefix),
                          tuple(levels), rest, carried, action.span)

    # ------------------------------------------------------------ properties

    def _property(self, prop: ir.Property) -> Expr:
        """An invariant or lemma whose body is ``A -> B`` under ``forall``\\ s
        gets a site that counts each evaluation of ``B``: one where ``A``
        holds. A property that holds with none is vacuous at these bounds."""
        if prop.kind == "sometimes" or not _has_antecedent(prop.expr):
            return self.scalar(prop.expr, {})
        site = self._site(CoverSite("antecedent", prop.name, prop.span))
        self.antecedents[prop.name] = site

        def lower(e: ir.Expr, env: Env) -> Expr:
            match e:
                case ir.Quant(kind="forall"):
                    return self.quant(e, env, lower)
                case ir.HookValue(hook=hook, value=value):
                    v = lower(value, env)
                    mark = self._hook_site(hook)
                    return v if mark is None else Marked(mark, v, v.ty)
                case ir.Binary(op="implies", lhs=lhs, rhs=rhs):
                    a = self.scalar(lhs, env)
                    if isinstance(a, Lit) and not a.value:
                        return Lit(True, BOOL_T)  # the right side is never evaluated
                    return fold.implies(a, Marked(site, self.scalar(rhs, env), BOOL_T))
                case _:
                    return self.scalar(e, env)

        return lower(prop.expr, {})

    # ------------------------------------------------------------ on demand

    def lower_expr(self, expr: ir.Expr, params: Sequence[ir.Local] = ()) -> tuple[
            tuple[Var, ...], Vals]:
        """``expr`` over free locals ``params`` (each one variable per slot of
        its value): the variables and the value."""
        env: Env = {}
        variables: list[Var] = []
        for p in params:
            tys = self.slot_tys(p.sort)
            vs = tuple(Var(p.name if len(tys) == 1 else f"{p.name}.{i}", t)
                       for i, t in enumerate(tys))
            variables.extend(vs)
            env[p.name] = Bound(p.sort, vs)
        # What a renderer or the fuzzer evaluates on the side is no step of a run.
        self._marking = False
        try:
            return tuple(variables), self.lower(expr, env)
        finally:
            self._marking = True


# ---------------------------------------------------------------- helpers


def _has_antecedent(e: ir.Expr) -> bool:
    """``e`` is ``A -> B`` under ``forall``\\ s (and hook calls)."""
    while isinstance(e, (ir.Quant, ir.HookValue)):
        if isinstance(e, ir.Quant):
            if e.kind != "forall":
                return False
            e = e.body
        else:
            e = e.value
    return isinstance(e, ir.Binary) and e.op == "implies"


def _is_place(e: ir.Expr) -> bool:
    while isinstance(e, ir.Field):
        e = e.base
    return isinstance(e, ir.StateRead)


def _plain(name: str) -> str:
    return name.split("#")[0]


def _join_ty(a: Expr, b: Expr) -> Ty:
    """The type of ``if c then a else b``: an option if either side is one."""
    if isinstance(a.ty, OptT):
        return a.ty
    if isinstance(b.ty, OptT):
        return b.ty
    return a.ty


def _worth_unrolling(domains: Sequence[tuple[Any, ...]], body_nodes: int) -> bool:
    size = 1
    for d in domains:
        size *= len(d)
    return size <= UNROLL_MAX_VALUES and size * body_nodes <= UNROLL_MAX_NODES


def conjuncts(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, BoolOp) and e.op == "and":
        return e.args
    return (e,)


def node_count(e: Expr) -> int:
    return 1 + sum(node_count(c) for c in expr_children(e))


def stmt_count(s: Stmt) -> int:
    match s:
        case Let(value=value):
            return 1 + node_count(value)
        case Store(addr=a, values=values):
            return 1 + sum(node_count(t.key) for t in a.terms) + sum(map(node_count, values))
        case Check(cond=c) | Require(cond=c) | AssertStmt(cond=c):
            return 1 + node_count(c)
        case If(cond=c, then=then, else_=else_):
            return 1 + node_count(c) + sum(map(stmt_count, then)) + sum(map(stmt_count, else_))
        case For(values=values, body=body):
            return 1 + len(values) * sum(map(stmt_count, body))
        case Mark() | Stop():
            return 1
        case _:
            assert_never(s)


def free_vars(e: Expr) -> set[str]:
    """The variables ``e`` reads that it does not bind itself."""
    match e:
        case Var(name=name):
            return {name}
        case Quant(vars=vs):
            inner = set().union(*(free_vars(c) for c in expr_children(e)))
            return inner - {v.name for v in vs}
        case LetIn(var=var, value=value, body=body):
            return free_vars(value) | (free_vars(body) - {var.name})
        case _:
            return set().union(*(free_vars(c) for c in expr_children(e)))


def stmt_free_vars(s: Stmt) -> set[str]:
    match s:
        case Let(value=value):
            return free_vars(value)
        case Store(addr=a, values=values):
            return set().union(*(free_vars(t.key) for t in a.terms),
                               *(free_vars(v) for v in values))
        case Check(cond=c, keys=keys):
            return free_vars(c).union(*(free_vars(k) for k in keys))
        case Require(cond=c) | AssertStmt(cond=c):
            return free_vars(c)
        case If(cond=c, then=then, else_=else_):
            return free_vars(c).union(*(stmt_free_vars(x) for x in then + else_))
        case For(var=var, body=body):
            return set().union(*(stmt_free_vars(x) for x in body)) - {var.name}
        case Mark() | Stop():
            return set()
        case _:
            assert_never(s)


def lower_instance(instance: Instance, coverage: bool = False) -> CoreModel:
    return CoreModel(instance, coverage)

