"""How many bits the integers of an instance need (for the bit-vector encoding).

The explicit machine computes with Python's unbounded integers. The bit-vector
encoding uses one signed width for every integer term, so that width must
hold every value any integer subterm of the model can take, with no wrap-around.
This is a static interval analysis over the IR at fixed constants: state and
parameters range over their sorts, ``let`` of a range sort is checked against
it, arithmetic combines intervals, ``count`` is bounded by its domain size.
"""

from __future__ import annotations

from collections.abc import Sequence

from rmapcheck import ir
from rmapcheck.instance import Instance

Interval = tuple[int, int]

# An Int-sorted term whose interval the analysis cannot bound (there is none in
# a well-formed model): assume this magnitude, generously.
UNBOUNDED = 1 << 20


class _Widths:
    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.lo = 0
        self.hi = 1

    def note(self, iv: Interval | None) -> Interval | None:
        if iv is not None:
            self.lo = min(self.lo, iv[0])
            self.hi = max(self.hi, iv[1])
        return iv

    def sort(self, sort: ir.Sort) -> Interval | None:
        match sort:
            case ir.RangeSort():
                return self.note(self.inst.range_bounds(sort))
            case ir.EnumSort(members=members):
                return self.note((0, max(0, len(members) - 1)))
            case ir.OptionSort(inner=ir.BoolSort()):
                return self.note((-1, 1))
            case ir.OptionSort(inner=inner):
                iv = self.sort(inner)
                if iv is None:
                    return None
                return self.note((iv[0] - 1, iv[1]))  # the none sentinel lo - 1
            case ir.RecordSort(fields=fields):
                for _, fsort in fields:
                    self.sort(fsort)
                return None
            case ir.IntSort():
                return self.note((-UNBOUNDED, UNBOUNDED))
            case ir.BoolSort() | ir.SetSort():
                return None

    def expr(self, e: ir.Expr, env: dict[str, Interval | None]) -> Interval | None:
        match e:
            case ir.IntLit(value=v):
                return self.note((v, v))
            case ir.ConstRef(name=name):
                v = self.inst.consts[name]
                return self.note((v, v))
            case ir.EnumLit():
                return self.note((e.index, e.index))
            case ir.BoolLit() | ir.NoneLit():
                return self.sort(e.sort)
            case ir.Local(name=name, sort=sort):
                if name in env:
                    return env[name]
                return self.sort(sort)
            case ir.StateRead(keys=keys, sort=sort):
                for k in keys:
                    self.expr(k, env)
                return self.sort(sort)
            case ir.Field(base=base, sort=sort):
                self.expr(base, env)
                return self.sort(sort)
            case ir.Unary(op="neg", arg=arg):
                iv = self.expr(arg, env)
                if iv is None:
                    return None
                return self.note((-iv[1], -iv[0]))
            case ir.Unary(arg=arg):
                self.expr(arg, env)
                return None
            case ir.Binary(op=op, lhs=lhs, rhs=rhs):
                a = self.expr(lhs, env)
                b = self.expr(rhs, env)
                if op not in ("add", "sub", "mul", "div", "mod"):
                    return None
                a = a or (-UNBOUNDED, UNBOUNDED)
                b = b or (-UNBOUNDED, UNBOUNDED)
                ma = max(abs(a[0]), abs(a[1]))
                mb = max(abs(b[0]), abs(b[1]))
                match op:
                    case "add":
                        return self.note((a[0] + b[0], a[1] + b[1]))
                    case "sub":
                        return self.note((a[0] - b[1], a[1] - b[0]))
                    case "mul":
                        ps = [x * y for x in a for y in b]
                        return self.note((min(ps), max(ps)))
                    case _:
                        # floor division is computed as (a - a mod b) / b
                        self.note((-(ma + mb), ma + mb))
                        if op == "div":
                            return self.note((-ma, ma))
                        return self.note((-mb, mb))
            case ir.Ite(cond=cond, then=then, else_=else_):
                self.expr(cond, env)
                a = self.expr(then, env)
                b = self.expr(else_, env)
                if a is None or b is None:
                    return a or b
                return self.note((min(a[0], b[0]), max(a[1], b[1])))
            case ir.Quant(kind=kind, vars=vars_, body=body):
                inner = dict(env)
                size = 1
                for local in vars_:
                    inner[local.name] = self.sort(local.sort)
                    size *= len(self.inst.values(local.sort))
                self.expr(body, inner)
                if kind == "count":
                    return self.note((0, size))
                if kind == "choose":
                    return self.sort(e.sort)
                return None
            case ir.RecordLit(fields=fields):
                for _, fe in fields:
                    self.expr(fe, env)
                return None
            case ir.SetLit(elems=elems):
                for el in elems:
                    self.expr(el, env)
                return None
            case ir.Wrap(arg=arg, sort=sort):
                iv = self.expr(arg, env)
                self.sort(sort)
                if iv is None:
                    return None
                return self.note((min(iv[0], iv[0] - 1), iv[1]))
            case ir.Unwrap(arg=arg) | ir.HookValue(value=arg):
                return self.expr(arg, env)
        raise AssertionError(e)

    def stmts(self, stmts: Sequence[ir.Stmt], env: dict[str, Interval | None]) -> None:
        env = dict(env)
        for s in stmts:
            match s:
                case ir.Assign(target=target, value=value):
                    for k in target.keys:
                        self.expr(k, env)
                    self.expr(value, env)
                    self.sort(target.sort)
                case ir.If(cond=cond, then=then, else_=else_):
                    self.expr(cond, env)
                    self.stmts(then, env)
                    self.stmts(else_, env)
                case ir.For(var=var, body=body):
                    self.stmts(body, {**env, var.name: self.sort(var.sort)})
                case ir.Let(var=var, value=value):
                    iv = self.expr(value, env)
                    # a let of a range sort is checked against it when bound
                    env[var.name] = iv if isinstance(var.sort, ir.IntSort) else self.sort(var.sort)
                case ir.Require(cond=cond) | ir.Assert(cond=cond):
                    self.expr(cond, env)
                case ir.HookEntry() | ir.Stop():
                    pass
                case _:
                    raise AssertionError(s)


def int_bits(inst: Instance, extra: Sequence[int] = ()) -> int:
    """The signed bit width that holds every integer value of the instance."""
    w = _Widths(inst)
    model = inst.model
    for sort in model.sorts:
        w.sort(sort)
    for var in model.state:
        w.sort(var.value)
        for k in var.keys:
            w.sort(k)
    w.stmts(model.init, {})
    for action in model.actions:
        w.stmts(action.body, {p.name: w.sort(p.sort) for p in action.params})
    for prop in model.properties:
        w.expr(prop.expr, {})
    for x in extra:
        w.note((x, x))
    magnitude = max(abs(w.lo), abs(w.hi))
    # sign bit, plus one bit of headroom for the encoder's own constants
    return magnitude.bit_length() + 2

