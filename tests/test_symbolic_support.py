"""Hand-built IR models for the Z3 tests (no front end needed): counters,
symmetric processes with a lock, a small VM with records, options, sets,
assertions and ``choose``, and floor division. The reference semantics they
are checked against is the explicit machine (``rmapcheck.explicit``)."""

from __future__ import annotations

from rmapcheck import ir

ERROR_PROP = "__runtime_error__"

B = ir.BOOL
INT = ir.INT


# ---------------------------------------------------------------- builders


def rng(name: str, lo: int | str, hi: int | str, symmetric: bool = False) -> ir.RangeSort:
    def bound(x: int | str) -> ir.Expr:
        return ir.ConstRef(x) if isinstance(x, str) else ir.IntLit(x)
    return ir.RangeSort(name, bound(lo), bound(hi), symmetric)


def num(v: int) -> ir.IntLit:
    return ir.IntLit(v)


def true() -> ir.BoolLit:
    return ir.BoolLit(True)


def false() -> ir.BoolLit:
    return ir.BoolLit(False)


_BOOL_OPS = {"and", "or", "implies", "iff", "eq", "ne", "lt", "le", "gt", "ge", "in"}
_INT_OPS = {"add", "sub", "mul", "div", "mod"}


def bi(op: str, a: ir.Expr, b: ir.Expr) -> ir.Binary:
    sort: ir.Sort = B if op in _BOOL_OPS else INT if op in _INT_OPS else a.sort
    return ir.Binary(op, a, b, sort)  # type: ignore[arg-type]


def and_(*xs: ir.Expr) -> ir.Expr:
    out = xs[0]
    for x in xs[1:]:
        out = bi("and", out, x)
    return out


def not_(x: ir.Expr) -> ir.Unary:
    return ir.Unary("not", x, B)


def forall(vars: list[ir.Local], body: ir.Expr) -> ir.Quant:
    return ir.Quant("forall", tuple(vars), body, B)


def exists(vars: list[ir.Local], body: ir.Expr) -> ir.Quant:
    return ir.Quant("exists", tuple(vars), body, B)


def count(vars: list[ir.Local], body: ir.Expr) -> ir.Quant:
    return ir.Quant("count", tuple(vars), body, INT)


def choose(var: ir.Local, body: ir.Expr) -> ir.Quant:
    return ir.Quant("choose", (var,), body, ir.OptionSort(var.sort))


class Builder:
    """Collects declarations; fills in the sorts of reads and writes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.consts: list[ir.Const] = []
        self.sorts: list[ir.Sort] = []
        self.state: list[ir.StateVar] = []
        self.init: list[ir.Stmt] = []
        self.actions: list[ir.Action] = []
        self.props: list[ir.Property] = []

    def const(self, name: str, default: int, lo: int = 0, hi: int = 100) -> ir.ConstRef:
        self.consts.append(ir.Const(name, default, lo, hi))
        return ir.ConstRef(name)

    def sort(self, s: ir.Sort) -> ir.Sort:
        self.sorts.append(s)
        return s

    def var(self, name: str, value: ir.Sort, *keys: ir.Sort) -> str:
        self.state.append(ir.StateVar(name, tuple(keys), value))
        return name

    def read(self, var: str, *keys: ir.Expr) -> ir.StateRead:
        return ir.StateRead(var, tuple(keys), self._var(var).value)

    def _var(self, name: str) -> ir.StateVar:
        return next(v for v in self.state if v.name == name)

    def lv(self, var: str, *keys: ir.Expr, path: tuple[str, ...] = ()) -> ir.LValue:
        sort = self._var(var).value
        for f in path:
            if isinstance(sort, ir.OptionSort):
                sort = sort.inner
            assert isinstance(sort, ir.RecordSort)
            sort = sort.field_sort(f)
        return ir.LValue(var, tuple(keys), path, sort)

    def set(self, var: str, *keys: ir.Expr, value: ir.Expr,
            path: tuple[str, ...] = ()) -> ir.Assign:
        return ir.Assign(self.lv(var, *keys, path=path), value)

    def action(self, name: str, params: list[ir.Local], *body: ir.Stmt) -> None:
        self.actions.append(ir.Action(name, tuple(params), tuple(body)))

    def prop(self, name: str, expr: ir.Expr, kind: str = "invariant") -> None:
        self.props.append(ir.Property(name, kind, expr))  # type: ignore[arg-type]

    def build(self) -> ir.Model:
        return ir.Model(self.name, "", tuple(self.consts), tuple(self.sorts), tuple(self.state),
                        tuple(self.init), tuple(self.actions), tuple(self.props))


def field(base: ir.Expr, name: str) -> ir.Field:
    sort = base.sort
    if isinstance(sort, ir.OptionSort):
        sort = sort.inner
    assert isinstance(sort, ir.RecordSort)
    return ir.Field(base, name, sort.field_sort(name))


def eq(a: ir.Expr, b: ir.Expr) -> ir.Binary:
    return bi("eq", a, b)


def ne(a: ir.Expr, b: ir.Expr) -> ir.Binary:
    return bi("ne", a, b)


# ---------------------------------------------------------------- models


def counter(n: int = 5, bad: int = 3, guarded: bool = True) -> ir.Model:
    """x counts up to N; "small" says x < bad (violated at depth ``bad``)."""
    m = Builder("counter")
    N = m.const("N", n)
    val = m.sort(rng("Val", 0, "N"))
    m.var("x", val)
    body: list[ir.Stmt] = []
    if guarded:
        body.append(ir.Require(bi("lt", m.read("x"), N)))
    body.append(m.set("x", value=bi("add", m.read("x"), num(1))))
    m.action("inc", [], *body)
    m.action("reset", [], ir.Require(bi("gt", m.read("x"), num(1))), m.set("x", value=num(0)))
    m.prop("small", bi("lt", m.read("x"), num(bad)))
    m.prop("bounded", bi("le", m.read("x"), N))
    m.prop("can_two", bi("eq", m.read("x"), num(2)), kind="sometimes")
    return m.build()


def evens() -> ir.Model:
    """x steps by 2 from 0; "not5" is true but not inductive; lemma "even" fixes it."""
    m = Builder("evens")
    val = m.sort(rng("Val", 0, 10))
    m.var("x", val)
    m.action("inc2", [], ir.Require(bi("le", m.read("x"), num(8))),
             m.set("x", value=bi("add", m.read("x"), num(2))))
    m.action("reset", [], m.set("x", value=num(0)))
    m.prop("not5", ne(m.read("x"), num(5)))
    m.prop("even", eq(bi("mod", m.read("x"), num(2)), num(0)), kind="lemma")
    m.prop("reach8", eq(m.read("x"), num(8)), kind="sometimes")
    return m.build()


def mutex(procs: int = 3, broken: bool = False) -> ir.Model:
    """Symmetric processes with a lock; "mutex": at most one in crit."""
    m = Builder("mutex")
    P = m.const("PROCS", procs)
    proc = m.sort(ir.RangeSort("Proc", num(0), bi("sub", P, num(1)), True))
    pc = m.sort(ir.EnumSort("Pc", ("idle", "want", "crit")))
    lit = {n: ir.EnumLit(pc, n) for n in pc.members}  # type: ignore[arg-type]
    m.var("pc", pc, proc)
    m.var("owner", ir.OptionSort(proc))
    p = ir.Local("p", proc)
    q = ir.Local("q", proc)
    m.action("want", [p], ir.Require(eq(m.read("pc", p), lit["idle"])),
             m.set("pc", p, value=lit["want"]))
    enter_guard = eq(m.read("owner"), ir.NoneLit(ir.OptionSort(proc)))
    m.action("enter", [p], ir.Require(eq(m.read("pc", p), lit["want"])),
             *([] if broken else [ir.Require(enter_guard)]),
             m.set("pc", p, value=lit["crit"]),
             m.set("owner", value=ir.Wrap(p, ir.OptionSort(proc))))
    m.action("leave", [p], ir.Require(eq(m.read("pc", p), lit["crit"])),
             m.set("pc", p, value=lit["idle"]),
             m.set("owner", value=ir.NoneLit(ir.OptionSort(proc))))
    def crit(x):
        return eq(m.read("pc", x), lit["crit"])
    m.prop("mutex", forall([p, q], bi("implies", and_(crit(p), crit(q)), eq(p, q))))
    m.prop("count_le1", bi("le", count([p], crit(p)), num(1)))
    # owner tracks who is in crit: makes mutex inductive
    m.prop("owner_ok", forall([p], bi("iff", crit(p),
                                      eq(m.read("owner"), ir.Wrap(p, ir.OptionSort(proc))))),
           kind="lemma")
    m.prop("someone_crit", exists([p], crit(p)), kind="sometimes")
    return m.build()


def vmlike(procs: int = 2, pages: int = 3, frames: int = 2, variant: str = "ok") -> ir.Model:
    """A small VM-like model with records, options, sets, asserts, choose.

    page[f]: optional record {owner: Proc, index: VPage, sharers: set Proc};
    pte[p, v]: Frame?. fault(p, v) takes the least free frame (choose);
    unmap(p, v) drops a pte; share(p, q, v) maps q's v to p's frame.
    rmap_complete: every pte's frame is in use and lists the process as sharer.
    The "noadd" variant forgets to add the new sharer in share (rmap_complete
    fails after fault, share), and the "badassert" variant asserts something
    false."""
    m = Builder("vmlike")
    PR = m.const("PROCS", procs, 1)
    VP = m.const("VPAGES", pages, 1)
    FR = m.const("FRAMES", frames, 1)
    proc = m.sort(ir.RangeSort("Proc", num(0), bi("sub", PR, num(1)), True))
    vpage = m.sort(ir.RangeSort("VPage", num(0), bi("sub", VP, num(1))))
    frame = m.sort(ir.RangeSort("Frame", num(0), bi("sub", FR, num(1)), True))
    pset = ir.SetSort(proc)
    page_t = m.sort(ir.RecordSort("Page", (("index", vpage), ("sharers", pset),
                                           ("mapcount", rng("Count", 0, 4)))))
    opage = ir.OptionSort(page_t)
    oframe = ir.OptionSort(frame)
    m.var("page", opage, frame)
    m.var("pte", oframe, proc, vpage)
    m.var("faults", rng("Faults", 0, 3))
    p, q, v, f, g = (ir.Local("p", proc), ir.Local("q", proc), ir.Local("v", vpage),
                     ir.Local("f", frame), ir.Local("g", frame))
    none_f = ir.NoneLit(oframe)
    free = choose(g, eq(m.read("page", g), ir.NoneLit(opage)))
    fl = ir.Local("fl", oframe)
    m.action(
        "fault", [p, v],
        ir.Require(eq(m.read("pte", p, v), none_f)),
        ir.Let(fl, free),
        ir.Require(ne(fl, none_f)),
        m.set("page", ir.Unwrap(fl, frame), value=ir.Wrap(ir.RecordLit(page_t, (
            ("index", v), ("sharers", ir.SetLit(pset, (p,))), ("mapcount", num(1)))), opage)),
        m.set("pte", p, v, value=fl),
        ir.If(bi("lt", m.read("faults"), num(3)),
              (m.set("faults", value=bi("add", m.read("faults"), num(1))),), ()),
    )
    fr = ir.Local("fr", frame)
    pg = m.read("page", fr)
    unmap_body: list[ir.Stmt] = [
        ir.Require(ne(m.read("pte", p, v), none_f)),
        ir.Let(fr, ir.Unwrap(m.read("pte", p, v), frame)),
        m.set("pte", p, v, value=none_f),
        m.set("page", fr, path=("mapcount",), value=bi("sub", field(pg, "mapcount"), num(1))),
    ]
    unmap_body.append(m.set("page", fr, path=("sharers",),
                            value=bi("diff", field(pg, "sharers"), ir.SetLit(pset, (p,)))))
    unmap_body.append(ir.If(eq(field(m.read("page", fr), "mapcount"), num(0)),
                            (m.set("page", fr, value=ir.NoneLit(opage)),), ()))
    m.action("unmap", [p, v], *unmap_body)
    share_body: list[ir.Stmt] = [
        ir.Require(ne(p, q)),
        ir.Require(ne(m.read("pte", p, v), none_f)),
        ir.Require(eq(m.read("pte", q, v), none_f)),
        ir.Let(fr, ir.Unwrap(m.read("pte", p, v), frame)),
        m.set("pte", q, v, value=m.read("pte", p, v)),
        m.set("page", fr, path=("mapcount",), value=bi("add", field(pg, "mapcount"), num(1))),
    ]
    if variant != "noadd":
        share_body.append(m.set("page", fr, path=("sharers",),
                                value=bi("union", field(pg, "sharers"), ir.SetLit(pset, (q,)))))
    if variant == "badassert":
        share_body.append(ir.Assert("single_sharer",
                                    bi("le", field(m.read("page", fr), "mapcount"), num(1)), ""))
    m.action("share", [p, q, v], *share_body)
    pte = m.read("pte", p, v)
    m.prop("rmap_complete", forall([p, v], bi("implies", ne(pte, none_f), and_(
        ne(m.read("page", ir.Unwrap(pte, frame)), ir.NoneLit(opage)),
        bi("in", p, field(m.read("page", ir.Unwrap(pte, frame)), "sharers"))))))
    m.prop("mapcount", forall([f], bi("implies", ne(m.read("page", f), ir.NoneLit(opage)),
                                      eq(field(m.read("page", f), "mapcount"),
                                         count([p, v], eq(m.read("pte", p, v),
                                                          ir.Wrap(f, oframe)))))))
    m.prop("shared_once", exists([f], and_(ne(m.read("page", f), ir.NoneLit(opage)), bi(
        "ge", field(m.read("page", f), "mapcount"), num(2)))), kind="sometimes")
    return m.build()


def divmod_model(crash: bool = True) -> ir.Model:
    """Floor division and modulo with negative operands; division by zero."""
    m = Builder("divmod")
    s = m.sort(rng("S", -3, 3))
    m.var("a", s)
    m.var("b", s)
    m.var("q", rng("Q", -9, 9))
    m.var("r", rng("R", -9, 9))
    x = ir.Local("x", s)
    y = ir.Local("y", s)
    m.action("set", [x, y], m.set("a", value=x), m.set("b", value=y))
    m.action("divide", [], ir.Require(ne(m.read("b"), num(0))),
             m.set("q", value=bi("div", m.read("a"), m.read("b"))),
             m.set("r", value=bi("mod", m.read("a"), m.read("b"))))
    if crash:
        m.action("crash", [], ir.Require(eq(m.read("a"), num(-3))),
                 m.set("q", value=bi("div", m.read("a"), m.read("b"))))
    # the floor identity holds for every divide
    m.prop("floor", bi("implies", ne(m.read("b"), num(0)), true()))
    m.prop("q_not_m2", ne(m.read("q"), num(-2)))
    m.prop("r_not_m1", ne(m.read("r"), num(-1)))
    return m.build()
