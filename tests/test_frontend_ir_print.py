"""The printed IR (``rmapcheck check FILE --ir``): deterministic, readable, and
parenthesised exactly as the grammar parses it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rmapcheck import ir
from rmapcheck.frontend import load_model
from rmapcheck.ir_print import format_expr, format_model, format_sort, format_stmt

V = ir.RangeSort("V", ir.IntLit(0), ir.IntLit(3))
P = ir.RangeSort("P", ir.IntLit(0), ir.IntLit(1), symmetric=True)


def n(name: str) -> ir.Expr:
    return ir.Local(name, ir.INT)


def b(name: str) -> ir.Expr:
    return ir.Local(name, ir.BOOL)


def bin_(op: ir.BinaryOp, lhs: ir.Expr, rhs: ir.Expr) -> ir.Expr:
    sort = ir.BOOL if op in ("and", "or", "implies", "iff", "eq", "ne", "lt", "le", "gt",
                             "ge", "in") else ir.INT
    return ir.Binary(op, lhs, rhs, sort)


@pytest.mark.parametrize(("expr", "text"), [
    (bin_("mul", bin_("add", n("a"), n("b")), n("c")), "(a + b) * c"),
    (bin_("add", n("a"), bin_("mul", n("b"), n("c"))), "a + b * c"),
    (bin_("sub", bin_("sub", n("a"), n("b")), n("c")), "a - b - c"),
    (bin_("sub", n("a"), bin_("sub", n("b"), n("c"))), "a - (b - c)"),
    (bin_("add", n("a"), ir.IntLit(-1)), "a + -1"),
    (ir.Unary("neg", ir.Unary("neg", n("a"), ir.INT), ir.INT), "--a"),
    (ir.Unary("neg", bin_("add", n("a"), n("b")), ir.INT), "-(a + b)"),
    (bin_("or", bin_("and", b("a"), b("b")), b("c")), "(a and b) or c"),
    (bin_("and", bin_("or", b("a"), b("b")), b("c")), "(a or b) and c"),
    (bin_("or", bin_("or", b("a"), b("b")), b("c")), "a or b or c"),
    (bin_("implies", b("a"), bin_("implies", b("b"), b("c"))), "a -> b -> c"),
    (bin_("implies", bin_("implies", b("a"), b("b")), b("c")), "(a -> b) -> c"),
    (bin_("implies", bin_("and", b("a"), b("b")), b("c")), "a and b -> c"),
    (ir.Unary("not", bin_("and", b("a"), b("b")), ir.BOOL), "not (a and b)"),
    (bin_("and", ir.Unary("not", b("a"), ir.BOOL), b("b")), "not a and b"),
    (ir.Unary("not", bin_("in", n("a"), n("s")), ir.BOOL), "not (a in s)"),
    (ir.Unary("not", ir.Unary("not", b("a"), ir.BOOL), ir.BOOL), "not not a"),
    (bin_("eq", bin_("lt", n("a"), n("b")), b("c")), "(a < b) == c"),
    (bin_("le", bin_("add", n("a"), n("b")), n("c")), "a + b <= c"),
    (bin_("and", bin_("le", n("a"), n("b")), bin_("lt", n("b"), n("c"))), "a <= b and b < c"),
    (bin_("and", b("a"), ir.Quant("forall", (ir.Local("q", P),), b("c"), ir.BOOL)),
     "a and (forall q: P. c)"),
    (bin_("gt", ir.Quant("count", (ir.Local("q", P), ir.Local("v", V)), b("c"), ir.INT),
          ir.IntLit(1)),
     "(count q: P, v: V. c) > 1"),
    (ir.Quant("forall", (ir.Local("q", P),), bin_("and", b("a"), b("c")), ir.BOOL),
     "forall q: P. a and c"),
    (bin_("add", ir.Ite(b("c"), n("a"), n("b"), ir.INT), ir.IntLit(1)),
     "(if c then a else b) + 1"),
    (ir.Ite(b("c"), bin_("add", n("a"), n("b")), n("b"), ir.INT), "if c then a + b else b"),
    (bin_("union", bin_("inter", n("s"), n("t")), n("u")), "s & t | u"),
    (bin_("inter", bin_("union", n("s"), n("t")), n("u")), "(s | t) & u"),
    (bin_("in", n("a"), ir.SetLit(ir.SetSort(V), (ir.IntLit(1), ir.IntLit(2)))), "a in {1, 2}"),
    (ir.Field(ir.Unwrap(ir.Local("o", ir.OptionSort(V)), V), "f", ir.INT), "o!.f"),
    (ir.Wrap(ir.Field(n("r"), "f", ir.INT), ir.OptionSort(V)), "some(r.f)"),
    (ir.NoneLit(ir.OptionSort(V)), "none"),
    (ir.StateRead("pte", (n("p"), bin_("add", n("v"), ir.IntLit(1))), ir.INT), "pte[p, v + 1]"),
    (ir.StateRead("flag", (), ir.BOOL), "flag"),
    (ir.Field(bin_("add", n("a"), n("b")), "f", ir.INT), "(a + b).f"),
])
def test_expressions_are_parenthesised_by_precedence(expr: ir.Expr, text: str) -> None:
    assert format_expr(expr) == text


def test_sorts() -> None:
    assert format_sort(ir.OptionSort(V)) == "V?"
    assert format_sort(ir.SetSort(P)) == "set P"
    assert format_sort(ir.BOOL) == "Bool" and format_sort(ir.INT) == "Int"


def test_statements_nest_and_chain_else_if() -> None:
    assign = ir.Assign(ir.LValue("y", (), (), V), ir.IntLit(1, V))
    inner = ir.If(b("d"), (assign,), (assign,))
    stmt = ir.If(b("c"), (assign,), (inner,))
    assert format_stmt(stmt) == ("if c {\n  y := 1\n} else if d {\n  y := 1\n} else {\n"
                                 "  y := 1\n}")
    loop = ir.For(ir.Local("q#1", P), (ir.Let(ir.Local("w#2", V), ir.IntLit(2, V)),
                                       ir.Require(b("c")), ir.Assert("ok", b("c"), "it is")))
    assert format_stmt(loop, 1) == ('  for q#1 in P {\n    let w#2: V = 2\n    requires c\n'
                                    '    assert ok "it is": c\n  }')
    field = ir.Assign(ir.LValue("page", (n("f"),), ("meta", "index"), V), n("v"))
    assert format_stmt(field) == "page[f].meta.index := v"


def test_model_printing_is_deterministic() -> None:
    assert format_model(load_model("anon_vma")) == format_model(load_model("anon_vma"))


def test_model_printing_shows_every_declaration() -> None:
    model = load_model("anonmm")
    text = format_model(model)
    lines = text.splitlines()
    assert lines[0].startswith('"""anonmm:')
    assert "model anonmm" in lines
    assert 'const PROCS = 2 in 1 .. 8 "processes (mm_structs)"' in lines
    assert "type Proc = symmetric 0 .. PROCS - 1" in lines
    assert "type Pgoff = -VPAGES .. 2 * VPAGES" in lines
    assert "record Page { used: Bool, mapcount: Count, mapping: Proc?, index: VPage }" in lines
    assert 'var pte: Proc, VPage -> Frame? "the page tables"' in lines
    assert "init {" in lines
    for action in model.actions:
        assert any(line.startswith(f"action {action.name}(") for line in lines), action.name
    for prop in model.properties:
        assert any(line.startswith(f"{prop.kind} {prop.name}") for line in lines), prop.name
    assert any(line.startswith("def finds(f: Frame, p: Proc, v: VPage): Bool") for line in lines)
    # Blocks balance, and no Python reprs leak into the text.
    assert text.count("{") == text.count("}")
    assert "ir." not in text and "Local(" not in text and "Span(" not in text


SPEC = """\
model roundtrip
const N = 3 in 1 .. 4
type V = 0 .. N
type P = symmetric 0 .. 1
var a: V -> Bool
var y: V
var s: set V
action step(v: V) { y := v }
invariant i1: y - 1 - (N - y) < 2 * (y + 1) % 3
invariant i2: a[0] and a[1] or a[2] -> not (a[3] or y == 0) -> y <= N
invariant i3: forall v: V. a[v] -> (exists w: V. w < v and a[w]) or v == 0
invariant i4: (count v: V. a[v]) + 1 > (if a[0] then 1 else 2) and 0 <= y < N
invariant i5: y in s & {1, 2} | {3} - {y} and not (y in s)
invariant i6: -y + -(-1) <= - (y - 1)
invariant i7: (a[0] <-> a[1]) == (a[2] -> a[3])
"""


def test_printed_properties_parse_back_to_the_same_ir(tmp_path: Path) -> None:
    """Printing follows the grammar: a printed property, read back as source,
    lowers to the same IR (bound variables renamed)."""
    first = load_model(_write(tmp_path, "first.spec", SPEC))
    printed = {p.name: format_expr(p.expr) for p in first.properties}
    source = SPEC.split("invariant i1")[0] + "".join(
        f"invariant {name}: {text.replace('#', '_')}\n" for name, text in printed.items())
    second = load_model(_write(tmp_path, "second.spec", source))
    again = {p.name: format_expr(p.expr) for p in second.properties}
    assert {k: _unnumbered(v) for k, v in again.items()} == \
        {k: _unnumbered(v) for k, v in printed.items()}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _unnumbered(text: str) -> str:
    return re.sub(r"[#_]\d+", "", text)
