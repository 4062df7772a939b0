"""The IR as text: ``rmapcheck check FILE --ir`` and test failure messages.

The printed form follows the spec language so that a reader recognises it,
with what lowering made explicit:

- defs and procs are inlined; a proc's arguments appear as ``let``\\ s;
- every binder (quantified variable, loop variable, ``let``) has a name unique
  within its action (``v#3``) and shows its sort; state initial values are
  ``for`` loops over the map's keys in ``init``;
- ``for x in S where c { ... }`` is ``for x in S { if c { ... } }``;
- record literals list every field (omitted ones hold their defaults);
- the coercions between ``T`` and ``T?`` are shown: ``some(e)`` makes a
  ``T?`` of a ``T``, and ``e!`` is the ``T`` inside a ``T?``, which is a
  run-time error of the spec when ``e`` is ``none``;
- operators are parenthesised by the grammar's precedence, and also an
  ``and`` inside an ``or`` and a comparison under ``not``, so that no reader
  has to remember which binds tighter.

The output is deterministic: declarations in the model's order, one group
per kind separated by blank lines.
"""

from __future__ import annotations

import json
from typing import assert_never

from rmapcheck import ir

# Precedence levels of the grammar (spec/rmapcheck.lark), loosest first.
_QUANT = 0  # forall/exists/count/choose and if-then-else: their body extends right
_IMPLIES = 1
_OR = 2
_AND = 3
_NOT = 4
_COMPARE = 5
_SUM = 6
_PRODUCT = 7
_UNARY = 8
_POSTFIX = 9
_ATOM = 10

_BINARY: dict[str, tuple[str, int]] = {
    "implies": ("->", _IMPLIES), "iff": ("<->", _IMPLIES),
    "or": ("or", _OR), "and": ("and", _AND),
    "eq": ("==", _COMPARE), "ne": ("!=", _COMPARE), "lt": ("<", _COMPARE),
    "le": ("<=", _COMPARE), "gt": (">", _COMPARE), "ge": (">=", _COMPARE),
    "in": ("in", _COMPARE),
    "add": ("+", _SUM), "sub": ("-", _SUM), "union": ("|", _SUM), "diff": ("-", _SUM),
    "mul": ("*", _PRODUCT), "div": ("/", _PRODUCT), "mod": ("%", _PRODUCT),
    "inter": ("&", _PRODUCT),
}

INDENT = "  "


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _doc(text: str) -> str:
    return f" {_quote(text)}" if text else ""


# ---------------------------------------------------------------- sorts


def format_sort(sort: ir.Sort) -> str:
    """A sort as it is written where it is used: its name, ``T?``, ``set T``."""
    match sort:
        case ir.BoolSort():
            return "Bool"
        case ir.IntSort():
            return "Int"
        case ir.RangeSort(name=name) | ir.EnumSort(name=name) | ir.RecordSort(name=name):
            return name
        case ir.OptionSort(inner=inner):
            return f"{format_sort(inner)}?"
        case ir.SetSort(elem=elem):
            return f"set {format_sort(elem)}"
        case _:
            assert_never(sort)


def format_sort_decl(sort: ir.Sort) -> str:
    """The declaration of a named sort (``type`` or ``record``)."""
    match sort:
        case ir.RangeSort(name=name, lo=lo, hi=hi, symmetric=symmetric):
            sym = "symmetric " if symmetric else ""
            return f"type {name} = {sym}{_expr(lo, _SUM)} .. {_expr(hi, _SUM)}"
        case ir.EnumSort(name=name, members=members):
            return f"type {name} = enum {{ {', '.join(members)} }}"
        case ir.RecordSort(name=name, fields=fields):
            body = ", ".join(f"{f}: {format_sort(s)}" for f, s in fields)
            return f"record {name} {{ {body} }}"
        case ir.BoolSort() | ir.IntSort() | ir.OptionSort() | ir.SetSort():
            return f"# built-in sort {format_sort(sort)}"
        case _:
            assert_never(sort)


# ---------------------------------------------------------------- expressions


def format_expr(expr: ir.Expr, surface: bool = False) -> str:
    """An expression on one line, parenthesised where precedence needs it.
    ``surface``: as a spec would say it, without the coercions between ``T``
    and ``T?`` (the front end puts them back), so that it can be pasted in."""
    return _expr(expr, _QUANT, surface)


def _binder(local: ir.Local) -> str:
    return f"{local.name}: {format_sort(local.sort)}"


def _wrap(text: str, prec: int, context: int) -> str:
    return f"({text})" if prec < context else text


def _expr(expr: ir.Expr, context: int, surface: bool = False) -> str:
    """``expr`` where the surrounding syntax needs at least precedence ``context``."""
    match expr:
        case ir.BoolLit(value=value):
            return "true" if value else "false"
        case ir.IntLit(value=value):
            return _wrap(str(value), _UNARY if value < 0 else _ATOM, context)
        case ir.EnumLit(member=member):
            return member
        case ir.NoneLit():
            return "none"
        case ir.ConstRef(name=name) | ir.Local(name=name):
            return name
        case ir.StateRead(var=var, keys=keys):
            if not keys:
                return var
            return f"{var}[{', '.join(_expr(k, _QUANT, surface) for k in keys)}]"
        case ir.Field(base=base, name=name):
            return f"{_expr(base, _POSTFIX, surface)}.{name}"
        case ir.Unary(op="not", arg=arg):
            # 'not a == b' parses as 'not (a == b)'; the parentheses say so.
            under = _NOT if isinstance(arg, ir.Unary) else _COMPARE + 1
            return _wrap(f"not {_expr(arg, under, surface)}", _NOT, context)
        case ir.Unary(op="neg", arg=arg):
            return _wrap(f"-{_expr(arg, _UNARY, surface)}", _UNARY, context)
        case ir.Unary():
            raise AssertionError(f"unknown unary operator {expr.op!r}")
        case ir.Binary(op=op, lhs=lhs, rhs=rhs):
            return _binary(op, lhs, rhs, context, surface)
        case ir.Ite(cond=cond, then=then, else_=else_):
            text = (f"if {_expr(cond, _QUANT, surface)} then {_expr(then, _QUANT, surface)} "
                    f"else {_expr(else_, _QUANT, surface)}")
            return _wrap(text, _QUANT, context)
        case ir.Quant(kind=kind, vars=vars_, body=body):
            binders = ', '.join(_binder(v) for v in vars_)
            text = f"{kind} {binders}. {_expr(body, _QUANT, surface)}"
            return _wrap(text, _QUANT, context)
        case ir.RecordLit(sort=sort, fields=fields):
            inner = ", ".join(f"{name}: {_expr(value, _QUANT, surface)}"
                              for name, value in fields)
            return f"{sort.name}({inner})"
        case ir.SetLit(elems=elems):
            return "{" + ", ".join(_expr(e, _QUANT, surface) for e in elems) + "}"
        case ir.Wrap(arg=arg):
            if surface:
                return _expr(arg, context, surface)
            return f"some({_expr(arg, _QUANT, surface)})"
        case ir.Unwrap(arg=arg):
            if surface:
                return _expr(arg, context, surface)
            return f"{_expr(arg, _POSTFIX, surface)}!"
        case ir.HookValue(value=value):
            return _expr(value, context, surface)
        case _:
            assert_never(expr)


def _binary(op: str, lhs: ir.Expr, rhs: ir.Expr, context: int,
            surface: bool = False) -> str:
    symbol, prec = _BINARY[op]
    if prec == _IMPLIES:
        # Right-associative: a -> b -> c is a -> (b -> c).
        left, right = _expr(lhs, prec + 1, surface), _expr(rhs, prec, surface)
    elif prec == _COMPARE:
        # a < b < c would be a chain, which means something else: never nest.
        left, right = _expr(lhs, prec + 1, surface), _expr(rhs, prec + 1, surface)
    elif prec == _OR:
        # Left-associative, and an 'and' inside an 'or' is parenthesised for the reader.
        left, right = _expr(lhs, _AND + 1 if _is_and(lhs) else prec, surface), \
            _expr(rhs, _AND + 1, surface)
    else:
        # Left-associative: a - b - c is (a - b) - c.
        left, right = _expr(lhs, prec, surface), _expr(rhs, prec + 1, surface)
    return _wrap(f"{left} {symbol} {right}", prec, context)


def _is_and(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.Binary) and expr.op == "and"


# ---------------------------------------------------------------- statements


def format_lvalue(target: ir.LValue) -> str:
    text = target.var
    if target.keys:
        text += f"[{', '.join(_expr(k, _QUANT) for k in target.keys)}]"
    return "".join([text] + [f".{name}" for name in target.path])


def format_stmt(stmt: ir.Stmt, indent: int = 0) -> str:
    """A statement, its blocks indented; several lines for if and for."""
    pad = INDENT * indent
    match stmt:
        case ir.Assign(target=target, value=value):
            return f"{pad}{format_lvalue(target)} := {format_expr(value)}"
        case ir.If():
            return pad + _if(stmt, indent)
        case ir.For(var=var, body=body):
            return (f"{pad}for {var.name} in {format_sort(var.sort)} {{\n"
                    f"{format_block(body, indent + 1)}{pad}}}")
        case ir.Let(var=var, value=value):
            return f"{pad}let {_binder(var)} = {format_expr(value)}"
        case ir.Require(cond=cond):
            return f"{pad}requires {format_expr(cond)}"
        case ir.Assert(name=name, cond=cond, doc=doc):
            return f"{pad}assert {name}{_doc(doc)}: {format_expr(cond)}"
        case ir.HookEntry(hook=hook, end=end):
            return f"{pad}# hook {hook}{' ends' if end else ''}"
        case ir.Stop():
            return f"{pad}stop"
        case _:
            assert_never(stmt)


def _if(stmt: ir.If, indent: int) -> str:
    pad = INDENT * indent
    text = f"if {format_expr(stmt.cond)} {{\n{format_block(stmt.then, indent + 1)}{pad}}}"
    if len(stmt.else_) == 1 and isinstance(stmt.else_[0], ir.If):
        return f"{text} else {_if(stmt.else_[0], indent)}"
    if stmt.else_:
        text += f" else {{\n{format_block(stmt.else_, indent + 1)}{pad}}}"
    return text


def format_block(stmts: tuple[ir.Stmt, ...], indent: int) -> str:
    """Statements one per line (each ending in a newline)."""
    return "".join(format_stmt(s, indent) + "\n" for s in stmts)


# ---------------------------------------------------------------- declarations


def format_const(const: ir.Const) -> str:
    return f"const {const.name} = {const.default} in {const.lo} .. {const.hi}{_doc(const.doc)}"


def format_state_var(var: ir.StateVar) -> str:
    keys = ", ".join(format_sort(k) for k in var.keys)
    sort = f"{keys} -> {format_sort(var.value)}" if var.keys else format_sort(var.value)
    return f"var {var.name}: {sort}{_doc(var.doc)}"


def _params(params: tuple[ir.Local, ...]) -> str:
    return ", ".join(_binder(p) for p in params)


def format_action(action: ir.Action) -> str:
    return (f"action {action.name}({_params(action.params)}){_doc(action.doc)} {{\n"
            f"{format_block(action.body, 1)}}}")


def format_property(prop: ir.Property, surface: bool = False) -> str:
    """``surface``: as ``format_expr`` says, spec text that can be pasted in."""
    return (f"{prop.kind} {prop.name}{_doc(prop.doc)}:\n"
            f"{INDENT}{format_expr(prop.expr, surface)}")


def format_function(fn: ir.Function) -> str:
    return (f"def {fn.name}({_params(fn.params)}): {format_sort(fn.sort)}{_doc(fn.doc)} =\n"
            f"{INDENT}{format_expr(fn.body)}")


def format_model(model: ir.Model) -> str:
    """The whole model: one group of lines per kind of declaration."""
    groups: list[list[str]] = []
    head = [f"model {model.name}"]
    if model.doc:
        head.insert(0, '"""' + model.doc.replace('"""', '\\"\\"\\"') + '"""')
    groups.append(head)
    groups.append([format_const(c) for c in model.consts])
    groups.append([format_sort_decl(s) for s in model.sorts])
    groups.append([format_state_var(v) for v in model.state])
    if model.init:
        groups.append([f"init {{\n{format_block(model.init, 1)}}}"])
    groups.extend([format_action(a)] for a in model.actions)
    groups.extend([format_property(p)] for p in model.properties)
    if model.functions:
        groups.append(["# defs, inlined above at each use; kept to explain walks in reports"])
        groups.extend([format_function(f)] for f in model.functions)
    return "\n\n".join("\n".join(group) for group in groups if group) + "\n"
