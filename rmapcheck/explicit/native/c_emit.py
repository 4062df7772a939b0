"""Prints the core of one instance as C: actions, properties, and the tables
the runtime reads.

Every decision about what the model means was made by the lowering
(``rmapcheck.core``); this module only says it in C. An expression becomes a
list of C statements (its *prelude*: the checks and temporaries, in
evaluation order) and one side-effect-free C expression, so C's own order of
evaluation is never relied upon. Values are ``V`` (int64): a Bool is 0/1, an
integer itself, ``none`` is ``NONE_V``, a set a bit mask. The state is an
array of slot codes (``c_layout``), decoded where a slot is read and encoded
where it is written.

A run-time error of the spec calls ``rc_fault(c, site, value)`` with the core's
fault site, and the driver words it with the core's message. A ``choose`` over
a reduced symmetric sort checks, while the search runs with the reduction,
that every other value it could pick is a twin of the least one; a loop over
one that may depend on its order iterates ``c->order``, which the runtime
permutes to check that it does not.

A coverage mark counts into the thread's ``c->cov`` (``Ctx``): a statement
``c->cov[k]++;``, in an expression the comma ``(c->cov[k]++, value)``, which
C evaluates exactly where the value is evaluated (a short-circuit operand
that is skipped counts nothing). A symmetry check's second look at a
``choose`` is printed without marks.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, assert_never

from attrs import frozen

from rmapcheck import ir
from rmapcheck.core import fold
from rmapcheck.core.lower import CoreModel
from rmapcheck.core.nodes import (
    ActionPlan,
    Addr,
    Arith,
    AssertStmt,
    Bit,
    BoolOp,
    Check,
    Checked,
    Cmp,
    DivMod,
    Expr,
    Fault,
    For,
    Guard,
    If,
    IsNone,
    Ite,
    Let,
    LetIn,
    Lit,
    Mark,
    Marked,
    Member,
    Neg,
    Not,
    NotNoneTest,
    OptT,
    Quant,
    RangeTest,
    Read,
    Require,
    ScopedLocal,
    SetOp,
    SlotKind,
    Some,
    Stmt,
    Stop,
    Store,
    Var,
)
from rmapcheck.explicit.native.c_layout import Layout, Unsupported
from rmapcheck.explicit.native.c_symmetry import SymmetryCode
from rmapcheck.instance import Instance

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
MAX_ASSERTS = 250


def clit(value: Any) -> str:
    """C source of a scalar value."""
    if value is None:
        return "NONE_V"
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, int):
        if not INT64_MIN < value <= INT64_MAX:
            raise Unsupported(f"the integer {value} does not fit in 64 bits")
        return f"((V){value}LL)" if value < 0 else f"((V){value})"
    raise AssertionError(value)


class Block:
    """Lines of C at one nesting level (sub-blocks are indented on splice)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def splice(self, other: Block, indent: int = 0) -> None:
        pad = "  " * indent
        self.lines.extend(pad + line for line in other.lines)

    def __len__(self) -> int:
        return len(self.lines)


@frozen
class ChooseSite:
    """A ``choose`` over a reduced sort, for the message when its check fails."""

    sort: ir.RangeSort
    sym: int
    span: ir.Span


_NAME = re.compile(r"[A-Za-z_]\w*")
_CONST = re.compile(r"\(\(V\)-?\d+(LL)?\)|[01]|NONE_V")


class CEmitter:
    """C source for one instance's core. ``symmetric``: the sorts the search
    reduces (their ``choose`` goes through the twin check, their tables are
    generated)."""

    def __init__(self, core: CoreModel, symmetric: list[ir.RangeSort]) -> None:
        self.core = core
        self.stops = 0  # the stops of the action being emitted
        self.instance: Instance = core.instance
        self.model = core.model
        self.layout = Layout(core.instance, symmetric)
        self.symmetric = symmetric
        self.sym_index = self.layout.sym_index
        self.chooses: list[ChooseSite] = []
        self._counter = itertools.count()
        self._cnames: dict[str, str] = {}
        self.instances: list[tuple[int, tuple[Any, ...]]] = []
        self.action_base: list[int] = []
        # action index -> [(sym sort index, span)] of its loops re-run in other orders
        self.order_checks: dict[int, list[tuple[int, ir.Span]]] = {}

    @property
    def faults(self) -> list[Any]:
        return self.core.faults

    @property
    def n_asserts(self) -> int:
        return len(self.core.asserts)

    # ------------------------------------------------------------ naming

    def tmp(self, prefix: str = "_t") -> str:
        return f"{prefix}{next(self._counter)}"

    def cname(self, name: str) -> str:
        found = self._cnames.get(name)
        if found is None:
            clean = re.sub(r"\W", "_", name)
            found = f"L{next(self._counter)}_{clean}"
            self._cnames[name] = found
        return found

    def fire(self, site: int, value: str = "NONE_V", keys: tuple[Expr, ...] = (),
             st: str = "t") -> str:
        """The call that raises the run-time error of ``site`` (with the keys
        of the state location it names, for the message)."""
        if not keys:
            return f"rc_fault(c, {site}, {value});"
        srcs = [self.ex(k, st, Block()) for k in keys]  # locals or constants: no prelude
        return f"rc_fault_at(c, {site}, {value}, {len(srcs)}, (V[]){{{', '.join(srcs)}}});"

    # ------------------------------------------------------------ slots

    @staticmethod
    def dec(kind: SlotKind, code: str) -> str:
        """The value of a slot code (``SlotKind.value``)."""
        lo = kind.offset
        if isinstance(kind.ty, OptT):
            return f"rc_dec_opt({code}, {lo})"
        return f"(V){code}" if lo == 0 else f"((V){code} + ({lo}))"

    @staticmethod
    def enc(kind: SlotKind, src: str) -> str:
        """The slot code of a value (``SlotKind.code``)."""
        lo = kind.offset
        if isinstance(kind.ty, OptT):
            return f"rc_enc_opt({src}, {lo})"
        return f"(slot_t)({src})" if lo == 0 else f"(slot_t)({src} - ({lo}))"

    def materialize(self, src: str, out: Block) -> str:
        """``src`` evaluated now into a temporary (unless a name or constant)."""
        if _NAME.fullmatch(src) or _CONST.fullmatch(src):
            return src
        name = self.tmp()
        out.emit(f"V {name} = {src};")
        return name

    # ------------------------------------------------------------ expressions

    def addr(self, addr: Addr, st: str, out: Block) -> str:
        """A C expression for the address (a temporary when computed)."""
        if not addr.terms:
            return str(addr.base)
        parts = [str(addr.base)] if addr.base else []
        for term in addr.terms:
            key = self.ex(term.key, st, out)
            lo = term.lo
            index = key if lo == 0 else f"({key} - ({lo}))"
            parts.append(f"(int)({index})" if term.stride == 1
                         else f"(int)({index})*{term.stride}")
        name = self.tmp("_a")
        out.emit(f"int {name} = {' + '.join(parts)};")
        return name

    @staticmethod
    def at(base: str, offset: int) -> str:
        if base.isdigit():
            return str(int(base) + offset)
        return f"{base} + {offset}" if offset else base

    def ex(self, e: Expr, st: str, out: Block) -> str:
        """Compiles ``e``: its checks go to ``out`` in evaluation order; the
        result is a pure C expression."""
        match e:
            case Lit(value=value):
                return clit(value)
            case Var(name=name):
                return self.cname(name)
            case Read(addr=addr, slot=slot):
                return self.dec(slot, f"{st}[{self.addr(addr, st, out)}]")
            case Not(arg=arg):
                return f"(!{self.ex(arg, st, out)})"
            case Neg(arg=arg):
                return f"rc_sub(c, 0, {self.ex(arg, st, out)})"
            case Arith(op=op, lhs=a, rhs=b):
                x = self.ex(a, st, out)
                return f"rc_{op}(c, {x}, {self.ex(b, st, out)})"
            case DivMod(op=op, lhs=a, rhs=b, site=site):
                x = self.materialize(self.ex(a, st, out), out)
                y = self.materialize(self.ex(b, st, out), out)
                if site is not None:
                    out.emit(f"if ({y} == 0) {self.fire(site, x)}")
                return f"rc_f{op}(c, {x}, {y})"
            case Cmp(op=op, lhs=a, rhs=b):
                sym = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
                x = self.ex(a, st, out)
                return f"({x} {sym} {self.ex(b, st, out)})"
            case IsNone(arg=arg):
                return f"({self.ex(arg, st, out)} == NONE_V)"
            case Some(arg=arg):
                return self.ex(arg, st, out)
            case SetOp(op=op, lhs=a, rhs=b):
                x = self.ex(a, st, out)
                y = self.ex(b, st, out)
                return f"({x} | {y})" if op == "union" else \
                    f"({x} & {y})" if op == "inter" else f"({x} & ~{y})"
            case Bit(elem=elem, values=values):
                return f"((V)1 << {self._index(self.ex(elem, st, out), values)})"
            case Member(elem=elem, mask=mask, values=values, known_in=known_in):
                x = self.materialize(self.ex(elem, st, out), out)
                m = self.ex(mask, st, out)
                bit = f"((({m}) >> {self._index(x, values)}) & 1)"
                if known_in:
                    return bit
                lo, hi = (int(values[0]), int(values[-1])) if values else (0, -1)
                return f"(({clit(lo)} <= {x} && {x} <= {clit(hi)}) && {bit})"
            case BoolOp(op=op, args=args):
                return self.bool_op(op, args, st, out)
            case Ite(cond=c, then=a, else_=b):
                cond = self.ex(c, st, out)
                ba, bb = Block(), Block()
                x = self.ex(a, st, ba)
                y = self.ex(b, st, bb)
                if not ba and not bb:
                    return f"({cond} ? {x} : {y})"
                r = self.tmp()
                out.emit(f"V {r};")
                out.emit(f"if ({cond}) {{")
                out.splice(ba, 1)
                out.emit(f"  {r} = {x};")
                out.emit("} else {")
                out.splice(bb, 1)
                out.emit(f"  {r} = {y};")
                out.emit("}")
                return r
            case Checked(value=value, test=test, site=site, keys=keys):
                x = self.materialize(self.ex(value, st, out), out)
                match test:
                    case RangeTest(lo=lo, hi=hi, optional=optional):
                        ok = f"({clit(lo)} <= {x} && {x} <= {clit(hi)})"
                        if optional:
                            ok = f"({x} == NONE_V || {ok})"
                        out.emit(f"if (!{ok}) {self.fire(site, x, keys, st)}")
                    case NotNoneTest():
                        out.emit(f"if ({x} == NONE_V) {self.fire(site)}")
                    case _:
                        assert_never(test)
                return x
            case Guard(cond=c, site=site, body=body):
                out.emit(f"if (!{self.ex(c, st, out)}) {self.fire(site)}")
                return self.ex(body, st, out)
            case Fault(site=site, shown=shown):
                value = "NONE_V" if shown is None else self.ex(shown, st, out)
                out.emit(self.fire(site, value))
                return "0"
            case Quant():
                return self.quant(e, st, out)
            case LetIn(var=var, value=value, body=body):
                # A fresh name: the same node may be written twice in one scope.
                fresh = Var(self.tmp("_let"), var.ty)
                out.emit(f"V {self.cname(fresh.name)} = {self.ex(value, st, out)};")
                return self.ex(fold.substitute(body, {var.name: fresh}), st, out)
            case Marked(site=site, body=body):
                return f"(c->cov[{site}]++, {self.ex(body, st, out)})"
            case _:
                assert_never(e)

    @staticmethod
    def _index(src: str, values: tuple[Any, ...]) -> str:
        lo = 0 if not values or isinstance(values[0], bool) else int(values[0])
        return src if lo == 0 else f"({src} - ({lo}))"

    def bool_op(self, op: str, args: tuple[Expr, ...], st: str, out: Block) -> str:
        blocks = []
        for a in args:
            blk = Block()
            blocks.append((blk, self.ex(a, st, blk)))
        out.splice(blocks[0][0])
        if all(not blk for blk, _ in blocks[1:]):
            joiner = " && " if op == "and" else " || "
            return "(" + joiner.join(src for _, src in blocks) + ")"
        # Flat: each part runs (with its checks) only while the result is open.
        r = self.tmp()
        stop = "0" if op == "and" else "1"
        out.emit(f"int {r} = {stop};")
        out.emit("do {")
        test = "!" if op == "and" else ""
        for i, (blk, src) in enumerate(blocks):
            if i:
                out.splice(blk, 1)
            out.emit(f"  if ({test}({src})) break;")
        out.emit(f"  {r} = {'1' if op == 'and' else '0'};")
        out.emit("} while (0);")
        return r

    def quant(self, q: Quant, st: str, out: Block) -> str:
        if q.sym_sort is not None and q.sym_sort in self.sym_index:
            return self.symmetric_choose(q, st, out)
        if q.unroll:
            bodies = fold.instances(q)
            match q.kind:
                case "forall":
                    return self.ex(fold.and_(*(b for _, b in bodies)), st, out)
                case "exists":
                    return self.ex(fold.or_(*(b for _, b in bodies)), st, out)
                case "count":
                    total = sum(1 for _, b in bodies if fold.is_lit(b, True))
                    if all(isinstance(b, Lit) for _, b in bodies):
                        return clit(total)
                    r = self.tmp()
                    out.emit(f"V {r} = {total};")
                    for _, b in bodies:
                        if not isinstance(b, Lit):
                            out.emit(f"{r} += ({self.ex(b, st, out)}) != 0;")
                    return r
                case "choose":
                    pure = Block()
                    chosen: Expr = Lit(None, q.ty)
                    for combo, b in reversed(bodies):
                        chosen = fold.ite(b, Lit(combo[0], q.ty), chosen, q.ty)
                    src = self.ex(chosen, st, pure)
                    if not pure:
                        return src
                    r = self.tmp()
                    out.emit(f"V {r} = NONE_V;")
                    out.emit("do {")
                    for combo, b in bodies:
                        if fold.is_lit(b, False):
                            continue
                        blk = Block()
                        cond = self.ex(b, st, blk)
                        out.splice(blk, 1)
                        out.emit(f"  if ({cond}) {{ {r} = {clit(combo[0])}; break; }}")
                        if fold.is_lit(b, True):
                            break
                    out.emit("} while (0);")
                    return r
                case _:
                    assert_never(q.kind)
        return self.quant_loop(q, st, out)

    def loop_header(self, values: tuple[Any, ...], name: str) -> str:
        if not values:
            return f"for (V {name} = 0; {name} < 0; {name}++)"
        lo, hi = int(values[0]), int(values[-1])
        return f"for (V {name} = {clit(lo)}; {name} <= {clit(hi)}; {name}++)"

    def quant_loop(self, q: Quant, st: str, out: Block) -> str:
        names = [self.cname(v.name) for v in q.vars]
        blk = Block()
        body = self.ex(q.body, st, blk)
        label = self.tmp("_Q")
        r = self.tmp()
        init = {"forall": "1", "exists": "0", "count": "0", "choose": "NONE_V"}[q.kind]
        out.emit(f"V {r} = {init};")
        out.emit("{")
        depth = 0
        for values, name in zip(q.domains, names, strict=True):
            out.emit("  " * (depth + 1) + self.loop_header(values, name) + " {")
            depth += 1
        pad = "  " * (depth + 1)
        out.splice(blk, depth + 1)
        match q.kind:
            case "forall":
                out.emit(f"{pad}if (!{body}) {{ {r} = 0; goto {label}; }}")
            case "exists":
                out.emit(f"{pad}if ({body}) {{ {r} = 1; goto {label}; }}")
            case "count":
                out.emit(f"{pad}if ({body}) {r}++;")
            case "choose":
                out.emit(f"{pad}if ({body}) {{ {r} = {names[0]}; goto {label}; }}")
            case _:
                assert_never(q.kind)
        for d in range(depth, 0, -1):
            out.emit("  " * d + "}")
        out.emit(f"}} {label}: ;")
        return r

    def symmetric_choose(self, q: Quant, st: str, out: Block) -> str:
        """``choose`` over a reduced symmetric sort: the least value, and while
        the guard is on, a check that every other value it could pick is a
        twin of it (``explicit.symmetry.SymmetryGuard.choose``)."""
        sort = q.sym_sort
        assert sort is not None
        a = self.sym_index[sort]
        self.chooses.append(ChooseSite(sort, a, q.span))
        site = len(self.chooses) - 1
        values = q.domains[0]
        n = len(values)
        lo = int(values[0]) if values else 0
        var = q.vars[0]
        x_var, y_var = Var(self.tmp("_cx"), var.ty), Var(self.tmp("_cy"), var.ty)
        x, y = self.cname(x_var.name), self.cname(y_var.name)
        blk = Block()
        body = self.ex(fold.substitute(q.body, {var.name: x_var}), st, blk)
        blk_y = Block()
        body_y = self.ex(fold.substitute(fold.unmark(q.body), {var.name: y_var}), st, blk_y)
        r = self.tmp()
        ci = self.tmp("_ci")
        out.emit(f"V {r} = NONE_V;")
        out.emit("{")
        out.emit(f"  int {ci} = -1;")
        out.emit(f"  for (V {x} = {clit(lo)}; {x} < {clit(lo + n)}; {x}++) {{")
        out.splice(blk, 2)
        out.emit(f"    if ({body}) {{ {ci} = (int)({x} - ({lo})); break; }}")
        out.emit("  }")
        out.emit(f"  if ({ci} >= 0) {{")
        out.emit(f"    {r} = {ci} + ({lo});")
        out.emit(f"    if (c->guard_on && (c->active >> {a} & 1)) {{")
        out.emit(f"      for (int _j = {ci} + 1; _j < {n}; _j++) {{")
        out.emit(f"        V {y} = _j + ({lo});")
        fixed = self.locals_fixed(q.scoped, sort, lo, r, y, st, out)
        out.emit(f"        if (rc_twins(c, {st}, {a}, {ci}, _j) && {fixed}) continue;")
        out.emit("        {")
        out.emit("          jmp_buf _jb; jmp_buf *volatile _saved = c->fault_jb;")
        out.emit(f"          volatile int _vx = {ci}, _vy = _j;")
        out.emit(f"          if (setjmp(_jb)) {{ c->fault_jb = _saved; "
                 f"rc_broken_choose(c, {site}, _vx, _vy, 1); }}")
        out.emit("          c->fault_jb = &_jb;")
        out.splice(blk_y, 5)
        out.emit(f"          int _hit = ({body_y}) != 0;")
        out.emit("          c->fault_jb = _saved;")
        out.emit(f"          if (_hit) rc_broken_choose(c, {site}, _vx, _vy, 0);")
        out.emit("        }")
        out.emit("      }")
        out.emit("    }")
        out.emit("  }")
        out.emit("}")
        return r

    def locals_fixed(self, scoped: tuple[ScopedLocal, ...], target: ir.RangeSort, lo: int,
                     x: str, y: str, st: str, out: Block) -> str:
        """C condition: swapping values ``x`` and ``y`` of ``target`` leaves every
        local in ``scoped`` unchanged (``symmetry._fixed``)."""
        conds = []
        for local in scoped:
            srcs = [self.ex(fold.unmark(v), st, out) for v in local.slots]
            parts = []
            for src, slot_sort in zip(srcs, local.slot_sorts, strict=True):
                inner = slot_sort.inner if isinstance(slot_sort, ir.OptionSort) else slot_sort
                if inner == target:
                    parts.append(f"({src} != {x} && {src} != {y})")
                if isinstance(slot_sort, ir.SetSort) and slot_sort.elem == target:
                    parts.append(f"((({src} >> ({x} - ({lo}))) & 1) == "
                                 f"(({src} >> ({y} - ({lo}))) & 1))")
            if not parts:
                continue
            cond = " && ".join(parts)
            if isinstance(local.sort, ir.OptionSort) and isinstance(local.sort.inner,
                                                                      ir.RecordSort):
                cond = f"(!{srcs[0]} || ({cond}))"
            conds.append(f"({cond})")
        return " && ".join(conds) if conds else "1"

    # ------------------------------------------------------------ statements

    def stmts(self, stmts: tuple[Stmt, ...], out: Block, disabled: str, st: str = "t") -> None:
        for stmt in stmts:
            self.stmt(stmt, out, disabled, st)

    def sub_block(self, stmts: tuple[Stmt, ...], out: Block, disabled: str, st: str) -> None:
        blk = Block()
        self.stmts(stmts, blk, disabled, st)
        out.splice(blk, 1)

    def stmt(self, stmt: Stmt, out: Block, disabled: str, st: str = "t") -> None:
        match stmt:
            case Let(var=var, value=value):
                out.emit(f"V {self.cname(var.name)} = {self.ex(value, st, out)};")
            case Store(addr=addr, values=values):
                base = self.addr(addr, "t", out)
                srcs = [self.ex(v, "t", out) for v in values]
                if len(srcs) > 1:
                    # Every value is read before the first write.
                    srcs = [self.materialize(s, out) for s in srcs]
                kinds = self.layout.kinds
                first = addr.base if not addr.terms else None
                for i, src in enumerate(srcs):
                    kind = kinds[first + i] if first is not None else self._entry_kind(addr, i)
                    out.emit(f"t[{self.at(base, i)}] = {self.enc(kind, src)};")
            case Check(cond=c, site=site, keys=keys):
                out.emit(f"if (!{self.ex(c, st, out)}) {self.fire(site, 'NONE_V', keys, st)}")
            case If(cond=c, then=then, else_=else_):
                cond = self.ex(c, st, out)
                out.emit(f"if ({cond}) {{")
                self.sub_block(then, out, disabled, st)
                if else_:
                    out.emit("} else {")
                    self.sub_block(else_, out, disabled, st)
                out.emit("}")
            case For():
                self.loop(stmt, out, disabled, st)
            case Require(cond=c):
                self.unless(c, disabled, out, st)
            case AssertStmt(index=index, cond=c):
                self.unless(c, f"RC_FAIL({index});", out, st)
            case Mark(site=site):
                out.emit(f"c->cov[{site}]++;")
            case Stop():
                # The end of rest_<a>: the step's successor is the state so far.
                self.stops += 1
                out.emit("goto stopped;")
            case _:
                assert_never(stmt)

    def unless(self, c: Expr, line: str, out: Block, st: str) -> None:
        """``line`` where ``c`` is false."""
        if isinstance(c, Lit):
            if not c.value:
                out.emit(line)
            return
        out.emit(f"if (!{self.ex(c, st, out)}) {line}")

    def _entry_kind(self, addr: Addr, i: int) -> SlotKind:
        """The kind of slot ``i`` from a computed address: every entry a term
        can reach has the same layout, so the entry at the least key tells."""
        return self.layout.kinds[addr.base + i]

    def loop(self, stmt: For, out: Block, disabled: str, st: str) -> None:
        var = stmt.var
        reorderable = (stmt.sym_sort is not None and stmt.sym_sort in self.sym_index
                       and not stmt.order_free)
        if reorderable:
            assert stmt.sym_sort is not None
            a = self.sym_index[stmt.sym_sort]
            name = self.cname(var.name)
            k = self.tmp("_k")
            out.emit(f"for (int {k} = 0; {k} < {len(stmt.values)}; {k}++) {{")
            out.emit(f"  V {name} = c->order[{a}][{k}];")
            self.sub_block(stmt.body, out, disabled, st)
            out.emit("}")
            return
        if stmt.unroll:
            for value in stmt.values:
                out.emit("{")
                self.sub_block(fold.substitute_stmts(stmt.body, {var.name: Lit(value, var.ty)}),
                               out, disabled, st)
                out.emit("}")
            return
        out.emit(self.loop_header(stmt.values, self.cname(var.name)) + " {")
        self.sub_block(stmt.body, out, disabled, st)
        out.emit("}")

    # ------------------------------------------------------------ functions

    def compile_prop(self, index: int, expr: Expr) -> str:
        out = Block()
        src = self.ex(expr, "s", out)
        lines = [f"static int prop_{index}(Ctx *c, const slot_t *s) {{"]
        lines += ["  " + line for line in out.lines]
        lines.append(f"  (void)c; (void)s; return ({src}) != 0;")
        lines.append("}")
        return "\n".join(lines)

    def compile_action(self, plan: ActionPlan) -> str:
        ai = plan.index
        ident = f"a{ai}"
        self.action_base.append(plan.iid_base)
        for combo in itertools.product(*plan.domains):
            self.instances.append((ai, combo))

        # rest_<a>(c, s, iid, params..., carried lets...)
        body = Block()
        self.stops = 0
        self.stmts(plan.rest, body, "return;")
        sig = "".join(f", V {self.cname(p.name)}" for p in plan.params) + \
            "".join(f", V {self.cname(v.name)}" for v in plan.carried)
        src = [f"static void rest_{ident}(Ctx *c, const slot_t *s, uint32_t iid{sig}) {{",
               "  slot_t t[NSLOTS_ALLOC]; memcpy(t, s, sizeof(slot_t) * NSLOTS);",
               "  RC_FAILED_DECL;"]
        src += ["  " + line for line in body.lines]
        if self.stops:
            src.append("stopped:")
        src.append("  rc_emit(c, iid, t, RC_FAILED_ARGS);")
        src.append("}")

        # expand_<a>(c, s): the parameter loops, each prefix item at its level
        loop = Block()
        iid_terms: list[str] = []
        placed = 0
        for depth in range(len(plan.params) + 1):
            pad = "  " * depth
            if depth > 0:
                p = plan.params[depth - 1]
                name = self.cname(p.name)
                domain = plan.domains[depth - 1]
                loop.emit(pad[:-2] + self.loop_header(domain, name) + " {")
                mult = plan.multipliers[depth - 1]
                idx = self._index(name, domain)
                iid_terms.append(f"(uint32_t)({idx})" if mult == 1
                                 else f"(uint32_t)({idx})*{mult}u")
            skip = "continue;" if depth > 0 else "return;"
            while placed < len(plan.prefix) and plan.levels[placed] <= depth:
                blk = Block()
                self.stmt(plan.prefix[placed], blk, skip, "s")
                loop.splice(blk, depth)
                placed += 1
        iid = " + ".join([f"{plan.iid_base}u"] + iid_terms)
        args = "".join(f", {self.cname(p.name)}" for p in plan.params) + \
            "".join(f", {self.cname(v.name)}" for v in plan.carried)
        loop.emit("  " * len(plan.params) + f"rest_{ident}(c, s, {iid}{args});")
        for d in range(len(plan.params), 0, -1):
            loop.emit("  " * (d - 1) + "}")
        src.append(f"static void expand_{ident}(Ctx *c, const slot_t *s) {{")
        src += ["  " + line for line in loop.lines]
        src.append("}")

        for stmt in _loops(plan.body):
            if stmt.sym_sort is not None and not stmt.order_free \
                    and stmt.sym_sort in self.sym_index:
                a = self.sym_index[stmt.sym_sort]
                entries = self.order_checks.setdefault(ai, [])
                if all(x != a for x, _ in entries):
                    entries.append((a, stmt.span))
        return "\n".join(src)

    # ------------------------------------------------------------ whole file

    def generate(self) -> tuple[str, str]:
        """``(defines, model code)``: the part before the runtime header and
        the part between it and the runtime."""
        model = self.model
        actions = [self.compile_action(plan) for plan in self.core.actions]
        props = [self.compile_prop(k, p.expr) for k, p in enumerate(self.core.properties)]
        if self.n_asserts > MAX_ASSERTS:
            raise Unsupported(f"the model has {self.n_asserts} assertions (at most "
                              f"{MAX_ASSERTS})")
        if len(self.instances) >= (1 << 31):
            raise Unsupported("too many action instances")
        L = self.layout
        nsym = len(self.symmetric)
        sizes = [len(self.instance.values(s)) for s in self.symmetric]
        defines = [
            ("/* generated by rmapcheck.explicit.native for model "
             f"{re.sub(r'[^A-Za-z0-9_]', '_', model.name)} */"),
            "#include <stdint.h>",
            f"#define NSLOTS {L.n}",
            f"#define NSLOTS_ALLOC {max(L.n, 1)}",
            f"#define NWORDS {L.words}",
            f"#define PACKED_BYTES {L.packed_bytes}",
            f"#define NIIDS {len(self.instances)}",
            f"#define NACTIONS {len(model.actions)}",
            f"#define NPROPS {len(model.properties)}",
            f"#define NASSERTS {max(self.n_asserts, 1)}",
            f"#define NSYM {nsym}",
            f"#define NSYM_ALLOC {max(nsym, 1)}",
            f"#define MAXN {max(sizes, default=1)}",
            f"#define NFAULTS {len(self.faults)}",
            f"#define NCOV {len(self.core.coverage_sites)}",
            f"#define NCOV_ALLOC {max(len(self.core.coverage_sites), 1)}",
            f"#define NANTE {len(self.core.antecedents)}",
            f"typedef {L.slot_type} slot_t;",
        ]
        sym = SymmetryCode(self.instance, L, self.symmetric)
        # The actions and properties are the bulk of the code: -O1 compiles
        # them twice as fast as -O2 for a few percent of speed; the hot
        # symmetry code (and runtime.c) asks for -O2 itself.
        parts = [sym.tables(), "#pragma GCC push_options\n#pragma GCC optimize (\"O2\")",
                 sym.pack_code(), sym.canon_code(), "#pragma GCC pop_options"]
        parts += actions
        parts += props
        parts.append("static void (*const EXPAND[])(Ctx *, const slot_t *) = {" +
                     ", ".join(f"expand_a{i}" for i in range(len(model.actions))) +
                     ("" if model.actions else "0") + "};")
        parts.append("static int (*const PROPS[])(Ctx *, const slot_t *) = {" +
                     ", ".join(f"prop_{k}" for k in range(len(model.properties))) +
                     ("" if model.properties else "0") + "};")
        # The antecedent sites, whose counts the search turns into states.
        parts.append("static const int ANTE_SITES[] = {" +
                     ",".join(str(k) for k in self.core.antecedents.values()) +
                     ("" if self.core.antecedents else "0") + "};")
        parts.append("static const int ACTION_BASE[] = {" +
                     ",".join(str(b) for b in self.action_base + [len(self.instances)]) + "};")
        # order checks: per action, the sym sorts of its reorderable loops
        checks = []
        for ai in range(len(model.actions)):
            entries = self.order_checks.get(ai, [])
            checks.append([len(entries)] + [a for a, _ in entries] + [0] * (nsym - len(entries)))
        width = nsym + 1
        body = ",".join("{" + ",".join(str(v) for v in row) + "}" for row in checks) or "{0}"
        parts.append(f"static const int ORDER_CHECKS[][{width}] = {{{body}}};")
        return "\n".join(defines) + "\n", "\n\n".join(parts) + "\n"


def _loops(stmts: tuple[Stmt, ...]) -> list[For]:
    out: list[For] = []
    for s in stmts:
        match s:
            case For(body=body):
                out.append(s)
                out.extend(_loops(body))
            case If(then=then, else_=else_):
                out.extend(_loops(then))
                out.extend(_loops(else_))
            case _:
                pass
    return out
