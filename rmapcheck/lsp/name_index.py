"""Where each name of a checked spec is declared, and what to say about it.

Built from the modules of an ``Analysis`` (the buffer and everything it
uses), so a name used in a design resolves into ``models/vm.spec``. Names are
looked up as the checker looks them up (LANGUAGE.md section 10): a local
first (parameter, ``let``, loop or quantified variable, innermost), then the
one namespace of the model's declarations; a name after ``.`` is a record
field. A hook has several declarations (the library's hook, the design's
definition, overrides): all are sites of the name, the hook first, which is
also where its documentation is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from attrs import frozen

from rmapcheck.frontend import ast
from rmapcheck.lsp.module_loader import Analysis, LoadedModule
from rmapcheck.lsp.spec_tokens import SourceText, Token


@frozen
class Site:
    """A name where it is declared: 0-based line, columns in characters."""

    display: str
    path: Path | None
    line: int
    start: int
    end: int


@frozen
class Entry:
    name: str
    kind: str  # as the hover says it: "hook proc", "state variable", "parameter", ...
    signature: str
    doc: str
    site: Site


@frozen
class _Local:
    entry: Entry
    scope_start: int  # the offsets of the module's text where the name means this
    scope_end: int


@frozen
class Found:
    """What the cursor is on: the name's token and its declarations."""

    token: Token
    entries: tuple[Entry, ...]


class NameIndex:
    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.globals: dict[str, list[Entry]] = {}
        self.fields: dict[str, list[Entry]] = {}
        self.locals: dict[str, list[_Local]] = {}
        self.module_names: dict[str, list[tuple[Token, Entry]]] = {}
        self.sources = {m.display: SourceText(m.text) for m in analysis.modules}
        fields_of: dict[str, list[ast.FieldDecl]] = {}
        for module in analysis.modules:
            for item in module.spec.items:
                if isinstance(item, ast.RecordDecl):
                    fields_of.setdefault(item.name, []).extend(item.fields)
                elif isinstance(item, ast.ExtendDecl):
                    fields_of.setdefault(item.record, []).extend(item.fields)
        self.record_fields = fields_of
        for module in analysis.modules:
            _ModuleIndexer(self, module).run()

    def add_global(self, entry: Entry) -> None:
        self.globals.setdefault(entry.name, []).append(entry)

    def lookup(self, display: str, text: str, offset: int) -> Found | None:
        """The declarations of the name at ``offset`` of ``text``, the current
        text of module ``display``. When the text is not the one indexed (the
        buffer no longer parses), only the model's declarations are searched."""
        source = SourceText(text)
        token = source.token_at(offset)
        if token is None or token.kind != "name":
            return None
        module = self.analysis.module(display)
        fresh = module is not None and module.text == text
        if fresh:
            for used, entry in self.module_names.get(display, []):
                if used.start == token.start:
                    return Found(token, (entry,))
            scoped = [local for local in self.locals.get(display, [])
                      if local.entry.name == token.text
                      and local.scope_start <= token.start < local.scope_end]
            if scoped:
                innermost = max(scoped, key=lambda local: local.scope_start)
                return Found(token, (innermost.entry,))
        before = source.token_before(token)
        if before is not None and before.text == ".":
            entries = self.fields.get(token.text, [])
        else:
            entries = self.globals.get(token.text) or self.fields.get(token.text, [])
        return Found(token, tuple(entries)) if entries else None


class _ModuleIndexer:
    """The declarations and local bindings of one module."""

    def __init__(self, index: NameIndex, module: LoadedModule) -> None:
        self.index = index
        self.module = module
        self.source = index.sources[module.display]

    def site(self, token: Token) -> Site:
        line, col = self.source.position(token.start)
        return Site(self.module.display, self.module.path, line, col,
                    col + (token.end - token.start))

    def name_site(self, name: str, start: int, stop: int | None = None) -> Site | None:
        token = self.source.name_after(start, name, stop)
        return self.site(token) if token is not None else None

    def text_of(self, node: ast.Expr) -> str:
        start, end = self.source.span_start(node.span), self.source.span_end(node.span)
        return " ".join(self.source.text[start:end].split()) if end > start else "…"

    def doc(self, doc: str, start: int) -> str:
        return doc or self.source.comments_above(start)

    def declare(self, name: str, kind: str, signature: str, doc: str, start: int,
                stop: int | None = None) -> Entry | None:
        site = self.name_site(name, start, stop)
        if site is None:
            return None
        entry = Entry(name, kind, signature, self.doc(doc, start), site)
        self.index.add_global(entry)
        return entry

    def run(self) -> None:
        for item in self.module.spec.items:
            start = self.source.span_start(item.span)
            stop = self.source.span_end(item.span)
            self.item(item, start, stop)

    def item(self, item: ast.Decl, start: int, stop: int) -> None:
        match item:
            case ast.Use():
                self.use(item, start, stop)
            case ast.ConstDecl():
                signature = f"const {item.name} = {item.default}"
                if item.lo is not None:
                    signature += f" in {item.lo} .. {item.hi}"
                self.declare(item.name, _modified("const", item.modifier),
                             _modified(signature, item.modifier), item.doc, start, stop)
            case ast.RangeType():
                symmetric = "symmetric " if item.symmetric else ""
                self.declare(item.name, "sort", f"type {item.name} = {symmetric}"
                             f"{self.text_of(item.lo)} .. {self.text_of(item.hi)}",
                             item.doc, start, stop)
                self.expr(item.lo)
                self.expr(item.hi)
            case ast.EnumType():
                members = ", ".join(item.members)
                self.declare(item.name, "sort", f"type {item.name} = enum {{ {members} }}",
                             item.doc, start, stop)
                after = self.source.name_after(start, item.name, stop)
                at = after.end if after is not None else start
                for member in item.members:
                    token = self.source.name_after(at, member, stop)
                    if token is not None:
                        self.index.add_global(Entry(member, "enum member",
                                                    f"{member}: {item.name}", item.doc,
                                                    self.site(token)))
                        at = token.end
            case ast.RecordDecl():
                fields = ", ".join(f"{f.name}: {f.sort}"
                                   for f in self.index.record_fields.get(item.name, []))
                self.declare(item.name, "record", f"record {item.name} {{ {fields} }}",
                             item.doc, start, stop)
                self.fields(item.name, item.fields)
            case ast.ExtendDecl():
                self.fields(item.record, item.fields)
            case ast.VarDecl():
                sort = str(item.value)
                if item.keys:
                    sort = f"{', '.join(str(k) for k in item.keys)} -> {sort}"
                signature = f"var {item.name}: {sort}"
                if item.init is not None:
                    signature += f" = {self.text_of(item.init)}"
                    self.expr(item.init)
                self.declare(item.name, "state variable", signature, item.doc, start, stop)
            case ast.InitDecl():
                self.block(item.body)
            case ast.ActionDecl() | ast.ProcDecl() | ast.DefDecl():
                self.callable(item, start, stop)
            case ast.PropertyDecl():
                self.declare(item.name, item.kind, f"{item.kind} {item.name}", item.doc,
                             start, stop)
                self.expr(item.expr)
            case ast.DropDecl():
                pass
            case ast.ThreadDecl():
                params = ", ".join(f"{p.name}: {p.sort}" for p in item.params)
                self.declare(item.name, "thread", f"thread {item.name}({params})", item.doc,
                             start, stop)
            case ast.LockDecl():
                keys = f"{', '.join(str(k) for k in item.keys)} -> " if item.keys else ""
                self.declare(item.name, "lock", f"lock {item.name}: {keys}{item.kind}",
                             item.doc, start, stop)

    def use(self, item: ast.Use, start: int, stop: int) -> None:
        token = self.source.name_after(start + len("use"), item.module, stop)
        target = next((path for use, path in self.module.uses if use is item), None)
        if token is None or target is None:
            return
        used = next((m for m in self.index.analysis.modules
                     if m.path is not None and m.path.resolve() == target.resolve()), None)
        kind = "library" if used is not None and used.spec.is_library else "model"
        doc = used.spec.doc if used is not None else ""
        name = used.spec.name if used is not None else item.module
        entry = Entry(item.module, kind, f"{kind} {name}", doc,
                      Site(used.display if used is not None else str(target), target, 0, 0, 0))
        self.index.module_names.setdefault(self.module.display, []).append((token, entry))

    def fields(self, record: str, fields: tuple[ast.FieldDecl, ...]) -> None:
        for field in fields:
            start = self.source.span_start(field.span)
            site = self.name_site(field.name, start)
            if site is not None:
                self.index.fields.setdefault(field.name, []).append(
                    Entry(field.name, "field", f"{record}.{field.name}: {field.sort}",
                          self.source.comments_above(start), site))

    def callable(self, item: ast.ActionDecl | ast.ProcDecl | ast.DefDecl, start: int,
                 stop: int) -> None:
        keyword = {ast.ActionDecl: "action", ast.ProcDecl: "proc", ast.DefDecl: "def"}[type(item)]
        params = ", ".join(f"{p.name}: {p.sort}" for p in item.params)
        signature = f"{keyword} {item.name}({params})"
        if isinstance(item, ast.DefDecl):
            signature += f": {item.sort}"
        self.declare(item.name, _modified(keyword, item.modifier),
                     _modified(signature, item.modifier), item.doc, start, stop)
        for param in item.params:
            self.local(param.name, "parameter", f"{param.name}: {param.sort}",
                       f"a parameter of {keyword} {item.name}",
                       self.source.span_start(param.span), start, stop)
        if isinstance(item, ast.DefDecl):
            if item.body is not None:
                self.expr(item.body)
        elif item.body is not None:
            self.block(item.body)
        if isinstance(item, ast.ActionDecl):
            for var in item.locals:
                self.local(var.name, "thread var", f"var {var.name}: {var.sort}", var.doc,
                           self.source.span_start(var.span) + len("var"), start, stop)
                if var.init is not None:
                    self.expr(var.init)
            for step in item.steps:
                self.block(step.body)

    def local(self, name: str, kind: str, signature: str, doc: str, at: int,
              scope_start: int, scope_end: int) -> None:
        site = self.name_site(name, at)
        if site is not None:
            self.index.locals.setdefault(self.module.display, []).append(
                _Local(Entry(name, kind, signature, doc, site), scope_start, scope_end))

    # ------------------------------------------------------------ bodies

    def block(self, stmts: tuple[ast.Stmt, ...]) -> None:
        """The statements of a block: a ``let`` names its value from its end
        to the end of the block's last statement (nothing but ``}`` follows)."""
        if not stmts:
            return
        scope_end = self.source.span_end(stmts[-1].span)
        for stmt in stmts:
            start = self.source.span_start(stmt.span)
            end = self.source.span_end(stmt.span)
            match stmt:
                case ast.Assign():
                    for key in stmt.target.keys:
                        self.expr(key)
                    self.expr(stmt.value)
                case ast.IfStmt():
                    self.expr(stmt.cond)
                    self.block(stmt.then)
                    self.block(stmt.else_)
                case ast.ForStmt():
                    self.local(stmt.var, "loop variable", f"{stmt.var}: {stmt.sort}",
                               "", start + len("for"), start, end)
                    if stmt.where is not None:
                        self.expr(stmt.where)
                    self.block(stmt.body)
                case ast.LetStmt():
                    self.local(stmt.name, "let", f"let {stmt.name} = {self.text_of(stmt.value)}",
                               "", start + len("let"), end, scope_end)
                    self.expr(stmt.value)
                case ast.RequireStmt():
                    self.expr(stmt.cond)
                case ast.AssertStmt():
                    self.expr(stmt.cond)
                case ast.CallStmt():
                    for arg in stmt.args:
                        self.expr(arg)
                case ast.FailpointStmt():
                    self.block(stmt.body)
                case ast.AcquireStmt() | ast.ReleaseStmt():
                    for key in stmt.lock.keys:
                        self.expr(key)
                case ast.GotoStmt():
                    pass

    def expr(self, node: ast.Expr) -> None:
        """The quantified variables in ``node``: each names its binder over the
        quantifier's whole extent."""
        for sub in _subexprs(node):
            if isinstance(sub, ast.Quant):
                q_start = self.source.span_start(sub.span)
                q_end = self.source.span_end(sub.span)
                for binder in sub.binders:
                    self.local(binder.name, f"{sub.kind} variable",
                               f"{binder.name}: {binder.sort}", "",
                               self.source.span_start(binder.span), q_start, q_end)


def _modified(text: str, modifier: str | None) -> str:
    return f"{modifier} {text}" if modifier else text


def _subexprs(node: ast.Expr) -> Iterator[ast.Expr]:
    # A stack, not recursion: a long `a and b and ...` nests as deep as it is long.
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        match node:
            case ast.SetLit():
                stack.extend(node.elems)
            case ast.Index():
                stack.append(node.base)
                stack.extend(node.args)
            case ast.FieldAccess():
                stack.append(node.base)
            case ast.Call():
                stack.extend(node.args)
            case ast.RecordLit():
                stack.extend(value for _, value, _ in node.fields)
            case ast.RecordWith():
                stack.append(node.base)
                stack.extend(value for _, value, _ in node.fields)
            case ast.Unary():
                stack.append(node.arg)
            case ast.Binary():
                stack.extend((node.lhs, node.rhs))
            case ast.Chain():
                stack.extend(node.operands)
            case ast.Ite():
                stack.extend((node.cond, node.then, node.else_))
            case ast.Quant():
                stack.append(node.body)
