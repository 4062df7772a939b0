"""Small models built directly in the IR, for the tests of every engine.

They do not need the front end, so each engine can be tested on its own, and
engines can be compared on them (same verdicts, same shortest counterexample
lengths, same state counts). Each builder documents what a search must find.
"""

from __future__ import annotations

from rmapcheck import ir
from rmapcheck.ir import (
    BOOL,
    INT,
    Action,
    Assert,
    Assign,
    Binary,
    BoolLit,
    Const,
    ConstRef,
    EnumLit,
    EnumSort,
    Field,
    For,
    If,
    IntLit,
    Let,
    Local,
    LValue,
    Model,
    NoneLit,
    OptionSort,
    Property,
    Quant,
    RangeSort,
    RecordLit,
    RecordSort,
    Require,
    SetLit,
    SetSort,
    Span,
    StateRead,
    StateVar,
    Unary,
    Unwrap,
    Wrap,
)


def _span(line: int) -> Span:
    return Span("<examples>", line, 1)


def _eq(a: ir.Expr, b: ir.Expr) -> Binary:
    return Binary("eq", a, b, BOOL)


def _and(a: ir.Expr, b: ir.Expr) -> Binary:
    return Binary("and", a, b, BOOL)


def _not(a: ir.Expr) -> Unary:
    return Unary("not", a, BOOL)


def counter(wrap: bool = True) -> Model:
    """``x: 0 .. N-1`` incremented by ``inc``. With ``wrap`` it counts modulo N:
    N states, ``x_in_range`` holds, ``reaches_top`` is witnessed after N-1 steps.
    Without it, ``inc`` stores N into ``x`` after N-1 steps: a run-time error
    of the spec at line 3."""
    n = ConstRef("N")
    val = RangeSort("Val", IntLit(0), Binary("sub", n, IntLit(1), INT))
    x = StateRead("x", (), val)
    plus = Binary("add", x, IntLit(1), INT)
    value = Binary("mod", plus, n, INT) if wrap else plus
    inc = Action("inc", (), (Assign(LValue("x", (), (), val, _span(3)), value, _span(3)),),
                 span=_span(2))
    return Model(
        "counter", "a counter", (Const("N", 4, 1, 16),), (val,),
        (StateVar("x", (), val),), (), (inc,),
        (Property("x_in_range", "invariant", Binary("le", x, Binary("sub", n, IntLit(1), INT),
                                                     BOOL)),
         Property("reaches_top", "sometimes", _eq(x, Binary("sub", n, IntLit(1), INT)))))


def toggles() -> Model:
    """PROCS symmetric processes each toggling a flag. 2**PROCS states, or
    PROCS + 1 up to symmetry; ``not_all`` is violated after exactly PROCS steps."""
    proc = RangeSort("Proc", IntLit(0), Binary("sub", ConstRef("PROCS"), IntLit(1), INT), True)
    p = Local("p", proc)
    q = Local("q#1", proc)
    flag = StateRead("flag", (p,), BOOL)
    toggle = Action("toggle", (p,), (Assign(LValue("flag", (p,), (), BOOL), _not(flag)),),
                    span=_span(10))
    not_all = _not(Quant("forall", (q,), StateRead("flag", (q,), BOOL), BOOL))
    return Model("toggles", "", (Const("PROCS", 3, 1, 8),), (proc,),
                 (StateVar("flag", (proc,), BOOL),), (), (toggle,),
                 (Property("not_all", "invariant", not_all),))


def mutex(broken: bool = False) -> Model:
    """A lock between PROCS symmetric processes: ``pc: Proc -> Pc``, ``lock:
    Proc?`` and ``visited: set Proc`` (who has been critical). Mutual exclusion
    holds; ``all_visited`` is witnessed. With ``broken``, ``enter`` forgets to
    require a free lock: ``mutual_exclusion`` fails after request, request,
    enter, enter (4 steps), and the assertion ``lock_held`` in ``leave`` fails
    too."""
    procs = ConstRef("PROCS")
    proc = RangeSort("Proc", IntLit(0), Binary("sub", procs, IntLit(1), INT), True)
    pcs = EnumSort("Pc", ("idle", "waiting", "critical"))
    idle, waiting, critical = (EnumLit(pcs, m) for m in pcs.members)
    opt = OptionSort(proc)
    pset = SetSort(proc)
    p = Local("p", proc)

    def pc(who: ir.Expr) -> StateRead:
        return StateRead("pc", (who,), pcs)

    lock = StateRead("lock", (), opt)
    visited = StateRead("visited", (), pset)
    request = Action("request", (p,), (
        Require(_eq(pc(p), idle)),
        Assign(LValue("pc", (p,), (), pcs), waiting)), span=_span(20))
    enter_body: list[ir.Stmt] = [Require(_eq(pc(p), waiting))]
    if not broken:
        enter_body.append(Require(_eq(lock, NoneLit(opt))))
    enter_body += [
        Assign(LValue("lock", (), (), opt), Wrap(p, opt)),
        Assign(LValue("pc", (p,), (), pcs), critical),
        Assign(LValue("visited", (), (), pset),
               Binary("union", visited, SetLit(pset, (p,)), pset)),
    ]
    enter = Action("enter", (p,), tuple(enter_body), span=_span(21))
    leave = Action("leave", (p,), (
        Require(_eq(pc(p), critical)),
        Assert("lock_held", _eq(lock, Wrap(p, opt)), "the leaving process holds the lock",
               _span(23)),
        Assign(LValue("lock", (), (), opt), NoneLit(opt)),
        Assign(LValue("pc", (p,), (), pcs), idle)), span=_span(22))
    a, b, c, d = (Local(n, proc) for n in ("a#1", "b#2", "c#3", "d#4"))
    mutual = Quant("forall", (a, b), Binary(
        "implies", _and(_eq(pc(a), critical), _eq(pc(b), critical)), _eq(a, b), BOOL), BOOL)
    consistent = Quant("forall", (c,), Binary(
        "iff", _eq(pc(c), critical), _eq(lock, Wrap(c, opt)), BOOL), BOOL)
    all_visited = _eq(Quant("count", (d,), Binary("in", d, visited, BOOL), INT), procs)
    props: tuple[Property, ...] = (Property("mutual_exclusion", "invariant", mutual),
                                   Property("lock_consistent", "lemma", consistent),
                                   Property("all_visited", "sometimes", all_visited))
    if broken:
        props = props[:1] + props[2:]
    return Model("mutex_broken" if broken else "mutex", "", (Const("PROCS", 3, 1, 6),),
                 (proc, pcs), (StateVar("pc", (proc,), pcs), StateVar("lock", (), opt),
                               StateVar("visited", (), pset)),
                 (), (request, enter, leave), props)


def slots(safe: bool = True) -> Model:
    """Optional records: ``slot: Proc -> Slot?`` with ``Slot {owner: Proc,
    count: 0 .. 2}``; create, bump and drop. ``owner_matches`` holds. Without
    ``safe``, ``bump`` may store 3 into ``count``: a run-time error after
    create, bump, bump and then the failing bump (line 32)."""
    proc = RangeSort("Proc", IntLit(0), Binary("sub", ConstRef("PROCS"), IntLit(1), INT), True)
    cnt = RangeSort("Cnt", IntLit(0), IntLit(2))
    rec = RecordSort("Slot", (("owner", proc), ("count", cnt)))
    opt = OptionSort(rec)
    p = Local("p", proc)
    q = Local("q#1", proc)
    slot = StateRead("slot", (p,), opt)
    create = Action("create", (p,), (
        Require(_eq(slot, NoneLit(opt))),
        Assign(LValue("slot", (p,), (), opt),
               Wrap(RecordLit(rec, (("owner", p), ("count", IntLit(0, cnt)))), opt))),
        span=_span(30))
    bump_body: list[ir.Stmt] = [Require(Binary("ne", slot, NoneLit(opt), BOOL))]
    count = Field(slot, "count", cnt)
    if safe:
        bump_body.append(Require(Binary("lt", count, IntLit(2), BOOL)))
    bump_body += [
        Let(Local("old#2", cnt), Field(Unwrap(slot, rec), "count", cnt)),
        Assign(LValue("slot", (p,), ("count",), cnt, _span(32)),
               Binary("add", Local("old#2", cnt), IntLit(1), INT), _span(32)),
    ]
    bump = Action("bump", (p,), tuple(bump_body), span=_span(31))
    drop = Action("drop", (p,), (
        Require(Binary("ne", slot, NoneLit(opt), BOOL)),
        Assign(LValue("slot", (p,), (), opt), NoneLit(opt))), span=_span(33))
    qslot = StateRead("slot", (q,), opt)
    owner = Quant("forall", (q,), Binary(
        "implies", Binary("ne", qslot, NoneLit(opt), BOOL),
        _eq(Field(qslot, "owner", proc), q), BOOL), BOOL)
    return Model("slots" if safe else "slots_unsafe", "", (Const("PROCS", 2, 1, 6),),
                 (proc, cnt, rec), (StateVar("slot", (proc,), opt),), (),
                 (create, bump, drop), (Property("owner_matches", "invariant", owner),))


def asserting() -> Model:
    """``inc`` asserts ``x < 2`` before incrementing ``x: 0 .. 3``: the
    assertion ``small`` fails on the third step (inc, inc, inc)."""
    val = RangeSort("Val", IntLit(0), IntLit(3))
    x = StateRead("x", (), val)
    inc = Action("inc", (), (
        Require(Binary("lt", x, IntLit(3), BOOL)),
        Assert("small", Binary("lt", x, IntLit(2), BOOL), "x stays small", _span(41)),
        Assign(LValue("x", (), (), val), Binary("add", x, IntLit(1), INT))), span=_span(40))
    return Model("asserting", "", (), (val,), (StateVar("x", (), val),), (), (inc,), ())


def frames() -> Model:
    """Processes map pages to frames, the shape of the VM models: ``pte: Proc,
    VPage -> Frame?``, ``page: Frame -> Page {used: Bool, mapcount: 0..3}``,
    ``owners: Frame -> set Proc``, with two symmetric sorts permuted together.
    ``fault(p, v, f)`` maps a free frame, ``share(p, q, v)`` maps q's page at
    the same address in p (like fork), ``unmap(p, v)`` drops one mapping and
    frees the frame when its mapcount reaches 0. ``mapcount_exact`` (mapcount
    equals the number of ptes mapping the frame) and ``owners_exact`` hold.
    The init block names process 0's first page explicitly (allowed: only
    actions and properties must treat ids alike)."""
    procs = RangeSort("Proc", IntLit(0), Binary("sub", ConstRef("PROCS"), IntLit(1), INT), True)
    frame = RangeSort("Frame", IntLit(0), Binary("sub", ConstRef("FRAMES"), IntLit(1), INT), True)
    vpage = RangeSort("VPage", IntLit(0), IntLit(1))
    mc = RangeSort("MapCount", IntLit(0), IntLit(3))
    page_rec = RecordSort("Page", (("used", BOOL), ("mapcount", mc)))
    fopt = OptionSort(frame)
    pset = SetSort(procs)
    p, q = Local("p", procs), Local("q", procs)
    v, f = Local("v", vpage), Local("f", frame)

    def pte(a: ir.Expr, b: ir.Expr) -> StateRead:
        return StateRead("pte", (a, b), fopt)

    def page(x: ir.Expr) -> StateRead:
        return StateRead("page", (x,), page_rec)

    def owners(x: ir.Expr) -> StateRead:
        return StateRead("owners", (x,), pset)

    used = Field(page(f), "used", BOOL)
    fault = Action("fault", (p, v, f), (
        Require(_eq(pte(p, v), NoneLit(fopt))),
        Require(_not(used)),
        Assign(LValue("pte", (p, v), (), fopt), Wrap(f, fopt)),
        Assign(LValue("page", (f,), (), page_rec),
               RecordLit(page_rec, (("used", BoolLit(True)), ("mapcount", IntLit(1, mc))))),
        Assign(LValue("owners", (f,), (), pset), SetLit(pset, (p,)))), span=_span(50))
    g = Local("g#1", frame)
    share = Action("share", (p, q, v), (
        Require(_eq(pte(p, v), NoneLit(fopt))),
        Require(Binary("ne", pte(q, v), NoneLit(fopt), BOOL)),
        Let(g, Unwrap(pte(q, v), frame)),
        Require(Binary("lt", Field(page(g), "mapcount", mc), IntLit(3), BOOL)),
        Assign(LValue("pte", (p, v), (), fopt), Wrap(g, fopt)),
        Assign(LValue("page", (g,), ("mapcount",), mc),
               Binary("add", Field(page(g), "mapcount", mc), IntLit(1), INT)),
        Assign(LValue("owners", (g,), (), pset),
               Binary("union", owners(g), SetLit(pset, (p,)), pset))), span=_span(51))
    h = Local("h#2", frame)
    r = Local("r#3", procs)
    still = Quant("exists", (Local("w#4", vpage),),
                  _eq(pte(p, Local("w#4", vpage)), Wrap(h, fopt)), BOOL)
    unmap = Action("unmap", (p, v), (
        Require(Binary("ne", pte(p, v), NoneLit(fopt), BOOL)),
        Let(h, Unwrap(pte(p, v), frame)),
        Assign(LValue("pte", (p, v), (), fopt), NoneLit(fopt)),
        Assign(LValue("page", (h,), ("mapcount",), mc),
               Binary("sub", Field(page(h), "mapcount", mc), IntLit(1), INT)),
        If(_not(still), (Assign(LValue("owners", (h,), (), pset),
                                Binary("diff", owners(h), SetLit(pset, (p,)), pset)),), ()),
        If(_eq(Field(page(h), "mapcount", mc), IntLit(0)),
           (Assign(LValue("page", (h,), ("used",), BOOL), BoolLit(False)),), ())),
        span=_span(52))
    ff = Local("ff#5", frame)
    pp, vv = Local("pp#6", procs), Local("vv#7", vpage)
    mapcount_exact = Quant("forall", (ff,), _eq(
        Field(page(ff), "mapcount", mc),
        Quant("count", (pp, vv), _eq(pte(pp, vv), Wrap(ff, fopt)), INT)), BOOL)
    owners_exact = Quant("forall", (ff, r), Binary(
        "iff", Binary("in", r, owners(ff), BOOL),
        Quant("exists", (vv,), _eq(pte(r, vv), Wrap(ff, fopt)), BOOL), BOOL), BOOL)
    init = (Assign(LValue("pte", (IntLit(0, procs), IntLit(0, vpage)), (), fopt),
                   Wrap(IntLit(0, frame), fopt)),
            Assign(LValue("page", (IntLit(0, frame),), (), page_rec),
                   RecordLit(page_rec, (("used", BoolLit(True)), ("mapcount", IntLit(1, mc))))),
            Assign(LValue("owners", (IntLit(0, frame),), (), pset),
                   SetLit(pset, (IntLit(0, procs),))))
    return Model("frames", "", (Const("PROCS", 2, 1, 4), Const("FRAMES", 3, 1, 5)),
                 (procs, frame, vpage, mc, page_rec),
                 (StateVar("pte", (procs, vpage), fopt), StateVar("page", (frame,), page_rec),
                  StateVar("owners", (frame,), pset)),
                 init, (fault, share, unmap),
                 (Property("mapcount_exact", "invariant", mapcount_exact),
                  Property("owners_exact", "invariant", owners_exact)))


def loops() -> Model:
    """Statements the other examples do not use: a ``for`` over a symmetric
    sort whose iterations commute (each clears its own entry), ``choose``
    (which makes the reduction leave its sort out), integer ``div``/``mod``,
    and an ``If`` with an ``else``."""
    proc = RangeSort("Proc", IntLit(0), IntLit(2), True)
    val = RangeSort("Val", IntLit(0), IntLit(5))
    p, i = Local("p", proc), Local("i#1", proc)
    mark = StateRead("mark", (p,), BOOL)
    setp = Action("set", (p,), (
        Require(_not(mark)),
        Assign(LValue("mark", (p,), (), BOOL), BoolLit(True))), span=_span(60))
    clear = Action("clear", (), (
        For(i, (Assign(LValue("mark", (i,), (), BOOL), BoolLit(False)),)),
        If(Binary("lt", StateRead("n", (), val), IntLit(5), BOOL),
           (Assign(LValue("n", (), (), val),
                   Binary("add", StateRead("n", (), val), IntLit(1), INT)),),
           (Assign(LValue("n", (), (), val),
                   Binary("mod", Binary("mul", StateRead("n", (), val), IntLit(7), INT),
                          IntLit(3), INT)),))), span=_span(61))
    c = Local("c#2", proc)
    first = Action("first", (), (
        Let(Local("who#3", OptionSort(proc)), Quant("choose", (c,), StateRead("mark", (c,), BOOL),
                                                      OptionSort(proc))),
        Require(Binary("ne", Local("who#3", OptionSort(proc)), NoneLit(OptionSort(proc)), BOOL)),
        Assign(LValue("last", (), (), OptionSort(proc)), Local("who#3", OptionSort(proc))),
        Assign(LValue("half", (), (), val),
               Binary("div", StateRead("n", (), val), IntLit(2), INT))), span=_span(62))
    return Model("loops", "", (), (proc, val),
                 (StateVar("mark", (proc,), BOOL), StateVar("n", (), val),
                  StateVar("last", (), OptionSort(proc)), StateVar("half", (), val)),
                 (), (setp, clear, first), ())
