"""Spec text to AST: lark (LALR) with the grammar in spec/rmapcheck.lark.

Syntax errors become one ``SpecError`` sentence. Errors that people make often
are recognised by example (lark's ``match_examples``): ``syntax_errors.py``
holds the table, and the test suite parses every example in it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

import attrs
from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from rmapcheck.errors import SpecError, remember_source
from rmapcheck.frontend import ast
from rmapcheck.frontend.syntax_errors import KNOWN_SYNTAX_ERRORS
from rmapcheck.ir import Span
from rmapcheck.resources import grammar_path


@functools.cache
def _lark() -> Lark:
    grammar = grammar_path().read_text()
    # cache=True keeps the LALR tables in the temporary directory, keyed by a
    # hash of the grammar and options: building them costs a second per run.
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False,
                cache=True)


@functools.cache
def _expr_lark() -> Lark:
    # The grammar's own expression rule as a second start symbol, in a parser
    # of its own: a second start in _lark() would make every caller name one.
    return Lark(grammar_path().read_text(), parser="lalr", propagate_positions=True,
                maybe_placeholders=False, cache=True, start="expr")


def _unquote(text: str) -> str:
    if text.startswith('"""'):
        body = text[3:-3]
        lines = body.strip("\n").splitlines()
        indents = [len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()]
        cut = min(indents) if indents else 0
        if not lines:
            return ""
        return "\n".join([lines[0].strip()] + [ln[cut:] for ln in lines[1:]]).strip()
    return bytes(text[1:-1], "utf-8").decode("unicode_escape")


def _misplaced(span: Span | None, message: str) -> None:
    raise SpecError(message, span)


def _only_statements(body: tuple[Any, ...] | None) -> None:
    """Steps and a thread's vars belong at the top of an action's body only."""
    for stmt in body or ():
        if isinstance(stmt, ast.StepDecl):
            _misplaced(stmt.span, "a step belongs at the top of a threaded action's body "
                       "('action NAME(...) in THREAD(...) { step ... }'), not inside another "
                       "block")
        if isinstance(stmt, ast.LocalVarDecl):
            _misplaced(stmt.span, "'var' inside a body declares a thread's own variable: it "
                       "belongs at the top of a threaded action's body; use 'let' for a "
                       "name in a block")


class _Build(Transformer[Token, Any]):
    """lark tree → AST. Every node takes its span from lark's meta."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.path, 0, 0)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        return Span(self.path, tok.line or 0, tok.column or 0,
                    tok.end_line or 0, tok.end_column or 0)

    # ------------------------------------------------------------ file

    @v_args(meta=True)
    def start(self, meta: Any, children: list[Any]) -> ast.SpecFile:
        doc = ""
        if children and isinstance(children[0], tuple) and children[0][0] == "docstring":
            doc = children.pop(0)[1]
        kind = children.pop(0)
        name = children.pop(0)
        return ast.SpecFile(self.path, str(name), doc, tuple(children), self._span(meta),
                            is_library=kind == "library", header_span=self._tok_span(name))

    def module_kind(self, children: list[Token]) -> str:
        return str(children[0])

    def docstring(self, children: list[Token]) -> tuple[str, str]:
        return ("docstring", _unquote(children[0]))

    def doc(self, children: list[Token]) -> str:
        return _unquote(children[0])

    @staticmethod
    def _split_doc(children: list[Any]) -> tuple[list[Any], str]:
        if children and isinstance(children[-1], str) and not isinstance(children[-1], Token):
            return children[:-1], children[-1]
        return children, ""

    # ------------------------------------------------------------ declarations

    @v_args(meta=True)
    def use(self, meta: Any, children: list[Token]) -> ast.Use:
        return ast.Use(str(children[0]), self._span(meta))

    def signed_int(self, children: list[Token]) -> int:
        return int(children[0])

    def neg_int(self, children: list[Token]) -> int:
        return -int(children[0])

    def range_clause(self, children: list[int]) -> tuple[str, int, int]:
        return ("range", children[0], children[1])

    @v_args(meta=True)
    def const(self, meta: Any, children: list[Any]) -> ast.ConstDecl:
        children, modifier = self._modifier(children)
        children, doc = self._split_doc(children)
        lo = hi = None
        if len(children) == 3:
            _, lo, hi = children[2]
        return ast.ConstDecl(str(children[0]), children[1], lo, hi, doc, self._span(meta),
                             modifier)

    def symmetric(self, children: list[Token]) -> str:
        return "symmetric"

    @v_args(meta=True)
    def range_type(self, meta: Any, children: list[Any]) -> ast.RangeType:
        children, doc = self._split_doc(children)
        name = str(children[0])
        symmetric = len(children) == 4
        lo, hi = children[-2], children[-1]
        return ast.RangeType(name, symmetric, lo, hi, doc, self._span(meta))

    @v_args(meta=True)
    def enum_type(self, meta: Any, children: list[Any]) -> ast.EnumType:
        children, doc = self._split_doc(children)
        return ast.EnumType(str(children[0]), tuple(str(c) for c in children[1:]), doc,
                            self._span(meta))

    def field_decls(self, children: list[ast.FieldDecl]) -> tuple[ast.FieldDecl, ...]:
        return tuple(children)

    @v_args(meta=True)
    def field_decl(self, meta: Any, children: list[Any]) -> ast.FieldDecl:
        return ast.FieldDecl(str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def record_decl(self, meta: Any, children: list[Any]) -> ast.RecordDecl:
        children, doc = self._split_doc(children)
        return ast.RecordDecl(str(children[0]), children[1], doc, self._span(meta))

    @v_args(meta=True)
    def extend_decl(self, meta: Any, children: list[Any]) -> ast.ExtendDecl:
        return ast.ExtendDecl(str(children[0]), children[1], self._span(meta))

    def scalar_type(self, children: list[ast.SortRef]
                    ) -> tuple[tuple[ast.SortRef, ...], ast.SortRef]:
        return ((), children[0])

    def map_type(self, children: list[ast.SortRef]) -> tuple[tuple[ast.SortRef, ...], ast.SortRef]:
        return (tuple(children[:-1]), children[-1])

    @v_args(meta=True)
    def var_decl(self, meta: Any, children: list[Any]) -> ast.VarDecl:
        children, doc = self._split_doc(children)
        keys, value = children[1]
        init = children[2] if len(children) > 2 else None
        return ast.VarDecl(str(children[0]), keys, value, init, doc, self._span(meta))

    @v_args(meta=True)
    def init_decl(self, meta: Any, children: list[Any]) -> ast.InitDecl:
        _only_statements(children[0])
        return ast.InitDecl(children[0], self._span(meta))

    def modifier(self, children: list[Token]) -> tuple[str, str]:
        return ("modifier", str(children[0]))

    @staticmethod
    def _modifier(children: list[Any]) -> tuple[list[Any], str | None]:
        if children and isinstance(children[0], tuple) and children[0][0] == "modifier":
            return children[1:], children[0][1]
        return children, None

    @staticmethod
    def _params(children: list[Any]) -> tuple[list[Any], tuple[ast.Param, ...]]:
        if len(children) > 1 and isinstance(children[1], list):
            return [children[0]] + children[2:], tuple(children[1])
        return children, ()

    @v_args(meta=True)
    def action_decl(self, meta: Any, children: list[Any]) -> ast.ActionDecl:
        children, modifier = self._modifier(children)
        children, params = self._params(children)
        thread = next((c for c in children if isinstance(c, ast.ThreadClause)), None)
        children = [c for c in children if not isinstance(c, ast.ThreadClause)]
        body = children[-1]
        doc = children[1] if len(children) == 3 else ""
        locals_: list[ast.LocalVarDecl] = []
        steps: list[ast.StepDecl] = []
        plain: list[ast.Stmt] = []
        for stmt in body:
            if isinstance(stmt, ast.LocalVarDecl):
                if steps or plain:
                    _misplaced(stmt.span, "a thread's 'var' comes first in the action's body, "
                               "before its steps")
                locals_.append(stmt)
            elif isinstance(stmt, ast.StepDecl):
                if plain:
                    _misplaced(stmt.span, "an action with steps has only 'var's and steps at "
                               "the top of its body; put this statement in a step")
                steps.append(stmt)
            else:
                if steps:
                    _misplaced(getattr(stmt, "span", None), "an action with steps has only "
                               "'var's and steps at the top of its body; put this statement "
                               "in a step")
                plain.append(stmt)
        return ast.ActionDecl(modifier, str(children[0]), params, doc, tuple(plain),
                              self._span(meta), thread, tuple(locals_), tuple(steps))

    @v_args(meta=True)
    def thread_clause(self, meta: Any, children: list[Any]) -> ast.ThreadClause:
        return ast.ThreadClause(str(children[0]), tuple(children[1]), self._span(meta))

    @v_args(meta=True)
    def thread_decl(self, meta: Any, children: list[Any]) -> ast.ThreadDecl:
        doc = children[2] if len(children) == 3 else ""
        return ast.ThreadDecl(str(children[0]), tuple(children[1]), doc, self._span(meta))

    @v_args(meta=True)
    def lock_decl(self, meta: Any, children: list[Any]) -> ast.LockDecl:
        children, doc = self._split_doc(children)
        name, *keys, kind = children
        return ast.LockDecl(str(name), tuple(ast.SortRef(str(k), self._tok_span(k)) for k in keys),
                            str(kind), self._tok_span(kind), doc, self._span(meta))

    @v_args(meta=True)
    def def_decl(self, meta: Any, children: list[Any]) -> ast.DefDecl:
        return self._def(meta, children)

    def _def(self, meta: Any, children: list[Any]) -> ast.DefDecl:
        children, modifier = self._modifier(children)
        children, params = self._params(children)
        doc = next((c for c in children[2:] if isinstance(c, str)), "")
        rest = [c for c in children[2:] if not isinstance(c, str)]
        body = rest[0] if rest else None
        return ast.DefDecl(modifier, str(children[0]), params, children[1], body, doc,
                           self._span(meta))

    @v_args(meta=True)
    def proc_decl(self, meta: Any, children: list[Any]) -> ast.ProcDecl:
        children, modifier = self._modifier(children)
        children, params = self._params(children)
        body = children.pop() if isinstance(children[-1], tuple) else None
        _only_statements(body)
        doc = children[1] if len(children) > 1 else ""
        return ast.ProcDecl(modifier, str(children[0]), params, doc, body, self._span(meta))

    @v_args(meta=True)
    def observe_def(self, meta: Any, children: list[Any]) -> ast.DefDecl:
        return attrs.evolve(self._def(meta, children), modifier="observe")

    def names(self, children: list[Token]) -> list[Token]:
        return list(children)

    def observe_head(self, children: list[Token]) -> tuple[str, bool]:
        return ("observe", children[0] == "override")

    @v_args(meta=True)
    def observe_action(self, meta: Any, children: list[Any]) -> ast.ObserveActionDecl:
        children, doc = self._split_doc(children)
        override = children.pop(0)[1]
        names: list[Token] = children[1] if isinstance(children[1], list) else []
        rest = children[2:] if isinstance(children[1], list) else children[1:]
        op = rest[0]
        args = tuple(rest[1]) if len(rest) > 1 else ()
        return ast.ObserveActionDecl(str(children[0]),
                                     tuple((str(n), self._tok_span(n)) for n in names),
                                     str(op), args, doc, self._span(meta), self._tok_span(op),
                                     override)

    def propkind(self, children: list[Token]) -> str:
        return str(children[0])

    @v_args(meta=True)
    def property_decl(self, meta: Any, children: list[Any]) -> ast.PropertyDecl:
        children, modifier = self._modifier(children)
        kind, name = children[0], str(children[1])
        doc = children[2] if len(children) == 4 else ""
        return ast.PropertyDecl(kind, name, doc, children[-1], self._span(meta), modifier)

    @v_args(meta=True)
    def drop_decl(self, meta: Any, children: list[Any]) -> ast.DropDecl:
        kind, name = children[0], str(children[1])
        doc = children[2] if len(children) == 3 else ""
        return ast.DropDecl(kind, name, doc, self._span(meta))

    def params(self, children: list[ast.Param]) -> list[ast.Param]:
        return list(children)

    @v_args(meta=True)
    def param(self, meta: Any, children: list[Any]) -> ast.Param:
        return ast.Param(str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def named_sort(self, meta: Any, children: list[Token]) -> ast.SortRef:
        return ast.SortRef(str(children[0]), self._span(meta))

    @v_args(meta=True)
    def option_sort(self, meta: Any, children: list[Token]) -> ast.SortRef:
        return ast.SortRef(str(children[0]), self._span(meta), optional=True)

    @v_args(meta=True)
    def set_sort(self, meta: Any, children: list[Token]) -> ast.SortRef:
        return ast.SortRef(str(children[0]), self._span(meta), is_set=True)

    # ------------------------------------------------------------ statements

    def block(self, children: list[Any]) -> tuple[ast.Stmt, ...]:
        return tuple(c for c in children if c is not None)

    def empty_stmt(self, children: list[Any]) -> None:
        return None

    @v_args(meta=True)
    def assign(self, meta: Any, children: list[Any]) -> ast.Assign:
        return ast.Assign(children[0], children[1], self._span(meta))

    @v_args(meta=True)
    def lvalue(self, meta: Any, children: list[Any]) -> ast.LValue:
        name = str(children[0])
        keys: tuple[ast.Expr, ...] = ()
        rest = children[1:]
        if rest and isinstance(rest[0], list):
            keys = tuple(rest[0])
            rest = rest[1:]
        return ast.LValue(name, keys, tuple(str(t) for t in rest), self._span(meta))

    @v_args(meta=True)
    def if_stmt(self, meta: Any, children: list[Any]) -> ast.IfStmt:
        for child in children[1:]:
            if isinstance(child, tuple):
                _only_statements(child)
        else_: tuple[ast.Stmt, ...] = ()
        if len(children) == 3:
            other = children[2]
            else_ = other if isinstance(other, tuple) else (other,)
        return ast.IfStmt(children[0], children[1], else_, self._span(meta))

    @v_args(meta=True)
    def for_stmt(self, meta: Any, children: list[Any]) -> ast.ForStmt:
        _only_statements(children[-1])
        where = children[2] if len(children) == 4 else None
        return ast.ForStmt(str(children[0]), str(children[1]), where, children[-1],
                           self._span(meta), self._tok_span(children[1]))

    @v_args(meta=True)
    def let_stmt(self, meta: Any, children: list[Any]) -> ast.LetStmt:
        return ast.LetStmt(str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def require_stmt(self, meta: Any, children: list[Any]) -> ast.RequireStmt:
        return ast.RequireStmt(children[0], self._span(meta))

    @v_args(meta=True)
    def assert_stmt(self, meta: Any, children: list[Any]) -> ast.AssertStmt:
        doc = children[1] if len(children) == 3 else ""
        return ast.AssertStmt(str(children[0]), doc, children[-1], self._span(meta))

    @v_args(meta=True)
    def call_stmt(self, meta: Any, children: list[Any]) -> ast.CallStmt:
        args = tuple(children[1]) if len(children) > 1 else ()
        return ast.CallStmt(str(children[0]), args, self._span(meta))

    @v_args(meta=True)
    def failpoint_stmt(self, meta: Any, children: list[Any]) -> ast.FailpointStmt:
        doc = next((c for c in children[1:] if isinstance(c, str)), "")
        body = next((c for c in children[1:] if isinstance(c, tuple)), ())
        _only_statements(body)
        return ast.FailpointStmt(str(children[0]), doc, body, self._span(meta))

    @v_args(meta=True)
    def lock_ref(self, meta: Any, children: list[Any]) -> ast.LockRef:
        keys = tuple(children[1]) if len(children) > 1 else ()
        return ast.LockRef(str(children[0]), keys, self._span(meta))

    @v_args(meta=True)
    def acquire_stmt(self, meta: Any, children: list[Any]) -> ast.AcquireStmt:
        mode = str(children[1]) if len(children) > 1 else None
        return ast.AcquireStmt(children[0], mode, self._span(meta))

    @v_args(meta=True)
    def release_stmt(self, meta: Any, children: list[Any]) -> ast.ReleaseStmt:
        return ast.ReleaseStmt(children[0], self._span(meta))

    @v_args(meta=True)
    def goto_stmt(self, meta: Any, children: list[Any]) -> ast.GotoStmt:
        return ast.GotoStmt(str(children[0]), self._span(meta))

    @v_args(meta=True)
    def step_stmt(self, meta: Any, children: list[Any]) -> ast.StepDecl:
        doc = children[1] if len(children) == 3 else ""
        _only_statements(children[-1])
        return ast.StepDecl(str(children[0]), doc, children[-1], self._span(meta))

    @v_args(meta=True)
    def local_var_stmt(self, meta: Any, children: list[Any]) -> ast.LocalVarDecl:
        children, doc = self._split_doc(children)
        init = children[2] if len(children) == 3 else None
        return ast.LocalVarDecl(str(children[0]), children[1], init, self._span(meta), doc)

    # ------------------------------------------------------------ expressions

    def args(self, children: list[ast.Expr]) -> list[ast.Expr]:
        return list(children)

    @v_args(meta=True)
    def quant(self, meta: Any, children: list[Any]) -> ast.Quant:
        return ast.Quant(children[0], tuple(children[1]), children[2], self._span(meta))

    def quantifier(self, children: list[Token]) -> str:
        return str(children[0])

    def binders(self, children: list[ast.Binder]) -> list[ast.Binder]:
        return list(children)

    @v_args(meta=True)
    def binder(self, meta: Any, children: list[Token]) -> ast.Binder:
        return ast.Binder(str(children[0]), str(children[1]), self._span(meta))

    @v_args(meta=True)
    def ite(self, meta: Any, children: list[Any]) -> ast.Ite:
        return ast.Ite(children[0], children[1], children[2], self._span(meta))

    def implies_op(self, children: list[Token]) -> str:
        return str(children[0])

    or_op = and_op = cmp_op = add_op = mul_op = implies_op

    @v_args(meta=True)
    def binop(self, meta: Any, children: list[Any]) -> ast.Binary:
        return ast.Binary(children[1], children[0], children[2], self._span(meta))

    @v_args(meta=True)
    def chain(self, meta: Any, children: list[Any]) -> ast.Chain:
        return ast.Chain(tuple(children[0::2]), tuple(children[1::2]), self._span(meta))

    @v_args(meta=True)
    def not_op(self, meta: Any, children: list[Any]) -> ast.Unary:
        return ast.Unary("not", children[0], self._span(meta))

    @v_args(meta=True)
    def neg(self, meta: Any, children: list[Any]) -> ast.Expr:
        if isinstance(children[0], ast.IntLit):
            return ast.IntLit(-children[0].value, self._span(meta))
        return ast.Unary("neg", children[0], self._span(meta))

    @v_args(meta=True)
    def index(self, meta: Any, children: list[Any]) -> ast.Index:
        return ast.Index(children[0], tuple(children[1]), self._span(meta))

    @v_args(meta=True)
    def field(self, meta: Any, children: list[Any]) -> ast.FieldAccess:
        return ast.FieldAccess(children[0], str(children[1]), self._span(meta))

    @v_args(meta=True)
    def call(self, meta: Any, children: list[Any]) -> ast.Call:
        args = tuple(children[1]) if len(children) > 1 else ()
        return ast.Call(str(children[0]), args, self._span(meta), self._tok_span(children[0]))

    def named_args(self, children: list[Any]) -> tuple[tuple[str, ast.Expr, Span], ...]:
        return tuple(children)

    @v_args(meta=True)
    def named_arg(self, meta: Any, children: list[Any]) -> tuple[str, ast.Expr, Span]:
        return (str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def record_lit(self, meta: Any, children: list[Any]) -> ast.RecordLit:
        return ast.RecordLit(str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def record_with(self, meta: Any, children: list[Any]) -> ast.RecordWith:
        return ast.RecordWith(children[0], children[1], self._span(meta))

    @v_args(meta=True)
    def name(self, meta: Any, children: list[Token]) -> ast.Name:
        return ast.Name(str(children[0]), self._span(meta))

    @v_args(meta=True)
    def int_lit(self, meta: Any, children: list[Token]) -> ast.IntLit:
        return ast.IntLit(int(children[0]), self._span(meta))

    @v_args(meta=True)
    def true(self, meta: Any, children: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(True, self._span(meta))

    @v_args(meta=True)
    def false(self, meta: Any, children: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(False, self._span(meta))

    @v_args(meta=True)
    def none(self, meta: Any, children: list[Any]) -> ast.NoneLit:
        return ast.NoneLit(self._span(meta))

    @v_args(meta=True)
    def set_lit(self, meta: Any, children: list[Any]) -> ast.SetLit:
        elems = tuple(children[0]) if children else ()
        return ast.SetLit(elems, self._span(meta))


_TOKEN_NAMES = {
    "NAME": "a name", "INT": "a number", "STRING": "a string", "LBRACE": "'{'",
    "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'",
    "COLON": "':'", "COMMA": "','", "EQUAL": "'='", "DOT": "'.'", "$END": "the end of the file",
}


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    return f"'{token}'"


def _describe_terminal(name: str) -> str:
    if name in _TOKEN_NAMES:
        return _TOKEN_NAMES[name]
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return name.lower().strip("_")
    return f"'{pattern.value}'" if pattern.type == "str" else name.lower().strip("_")


def _describe_expected(expected: Iterable[str]) -> str:
    names = sorted({_describe_terminal(e) for e in expected}, key=lambda n: (n[0] == "'", n))
    if len(names) > 6:
        names = names[:6] + ["..."]
    return ", ".join(names)


def parse_text(text: str, path: str) -> ast.SpecFile:
    """Parses spec ``text`` (from ``path``, used in spans and messages)."""
    remember_source(path, text)
    parser = _lark()
    try:
        tree: Tree[Token] = parser.parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, path) from None
    _check_depth(tree, path)
    try:
        result = _Build(path).transform(tree)
    except VisitError as err:
        # A misplaced step or var, found as the tree is built.
        if isinstance(err.orig_exc, SpecError):
            raise err.orig_exc from None
        raise
    assert isinstance(result, ast.SpecFile)
    return result


# The front end, the lowering and the emitters recurse once or a few times per
# level of an expression; the checker bounds the depth of an expression with
# the defs it uses expanded, and the parser stops the far deeper trees that
# would exhaust the stack before the checker sees them.
MAX_EXPR_DEPTH = 250


def _check_depth(tree: Tree[Token], path: str) -> None:
    limit = 4 * MAX_EXPR_DEPTH
    # Iterative: a recursive walk would fail on the very trees it looks for.
    stack: list[tuple[Tree[Token], int, Tree[Token]]] = [(tree, 0, tree)]
    while stack:
        node, depth, anchor = stack.pop()
        if depth > limit:
            meta = anchor.meta
            span = Span(path, getattr(meta, "line", 0), getattr(meta, "column", 0))
            raise SpecError(f"an expression here nests more than {MAX_EXPR_DEPTH} levels "
                            "deep; split it, e.g. a long chain of 'and' into several "
                            "requires", span)
        for child in node.children:
            if isinstance(child, Tree):
                # The anchor is the declaration or statement the path is in.
                stack.append((child, depth + 1, child if depth < 3 else anchor))


def parse_expr(text: str, path: str) -> ast.Expr:
    """Parses ``text`` as one expression of the language (``path`` names it in
    spans and messages, as a file name does)."""
    remember_source(path, text)
    try:
        tree: Tree[Token] = _expr_lark().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, path, expression=True) from None
    _check_depth(tree, path)
    result = _Build(path).transform(tree)
    assert not isinstance(result, (Tree, ast.SpecFile))
    return result  # type: ignore[no-any-return]


def _match_known(err: UnexpectedInput, text: str) -> str | None:
    """The message of KNOWN_SYNTAX_ERRORS whose example fails most like ``err``.

    An example is a candidate when its parse fails in the same LALR state (the
    state on top of the stack) on the same kind of token, or on the same stray
    character anywhere. Comparing only the top state recognises ``x = 1`` inside nested
    blocks and parentheses as well as in the example's own context; lark's
    ``match_examples`` also compares the stack depth and the acceptable
    tokens, which depend on that context (and lark 1.3.1's version crashes
    formatting a debug message, ``%d`` of a ParserState, when two examples
    share a state but accept different tokens). Among candidates, the one whose
    text from the failure on agrees longest with the input wins (``x =< 1`` and
    ``x = 1`` both fail on '='), then the first in the table.
    """
    def key(source: str, failed: UnexpectedInput) -> tuple[object, ...]:
        position = getattr(failed.state, "position", failed.state)
        if isinstance(failed, UnexpectedCharacters):  # a stray character, wherever it is
            pos = failed.pos_in_stream or 0
            return ("char", source[pos:pos + 1])
        token = getattr(failed, "token", None)
        return ("token", position, getattr(token, "type", "$END"))

    def rest(source: str, failed: UnexpectedInput) -> str:
        pos = failed.pos_in_stream
        return source[pos:] if pos is not None and pos >= 0 else ""

    def agree(a: str, b: str) -> int:
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    best, found = -1, None
    mine, mine_rest = key(text, err), rest(text, err)
    for message, examples in KNOWN_SYNTAX_ERRORS.items():
        for malformed in examples:
            try:
                _lark().parse(malformed)
            except UnexpectedInput as other:
                if key(malformed, other) == mine:
                    score = agree(mine_rest, rest(malformed, other))
                    if score > best:
                        best, found = score, message
    return found


@functools.cache
def _keywords() -> frozenset[str]:
    grammar = re.sub(r"//[^\n]*", "", grammar_path().read_text())
    return frozenset(re.findall(r'"([A-Za-z_]+)"', grammar))


def _keyword_used_as_name(err: UnexpectedInput, text: str) -> str | None:
    """The keyword just before a '(', ':=', '[' or '.' that fails: a proc,
    state variable or def named like a keyword (``step(v)``)."""
    if not isinstance(err, UnexpectedToken) or str(err.token) not in ("(", ":=", "[", "."):
        return None
    if err.pos_in_stream is None:
        return None
    words = re.findall(r"[A-Za-z_]\w*\s*$", text[:err.pos_in_stream])
    word = words[0].strip() if words else ""
    return word if word in _keywords() else None


def _syntax_error(err: UnexpectedInput, text: str, path: str,
                  expression: bool = False) -> SpecError:
    line, col = err.line, err.column
    if line is None or line < 1:
        lines = text.splitlines() or [""]
        line, col = len(lines), len(lines[-1]) + 1
    # The table's examples are whole files, parsed from the file's start
    # symbol: their parser states mean nothing to the expression parser's.
    known = None if expression else _match_known(err, text)
    width = 1
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        width = max(1, len(str(err.token)))
    span = Span(path, line, col, line, col + width)
    if known:
        return SpecError(str(known), span)
    keyword = _keyword_used_as_name(err, text)
    if keyword is not None:
        return SpecError(f"'{keyword}' is a keyword of the spec language, so it cannot name a "
                         "proc, a def or a state variable; rename it", span)
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        char = text[pos] if pos is not None and pos < len(text) else "?"
        return SpecError(f"unexpected character '{char}'", span)
    whole = "the expression" if expression else "the file"
    if isinstance(err, UnexpectedEOF):
        return SpecError(f"{whole} ends too early; expected {_describe_expected(err.expected)}",
                         span)
    assert isinstance(err, UnexpectedToken)
    if err.token.type == "$END":
        return SpecError(f"{whole} ends too early; expected "
                         f"{_describe_expected(err.accepts or err.expected)}", span)
    expected = _describe_expected(err.accepts or err.expected)
    # LALR may reduce before it fails and then know no expected token.
    return SpecError(f"unexpected {_describe_token(err.token)}"
                     + (f"; expected {expected}" if expected else ""), span)
