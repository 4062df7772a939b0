"""Names, types and finiteness: the AST of a spec and its ``use``d library, lowered to IR.

One pass collects the declarations of every module in ``use`` order (a library
before the designs built on it), applying the hook and override rules; a
second lowers every body to typed IR. Helper functions and procedures are
expanded at each call, so the IR has no calls: a function's body is lowered in
an environment that maps its parameters to the caller's IR expressions (pure,
so substitution is sound), and a procedure's parameters are bound with ``let``
first so that a procedure sees its arguments' values at the call, as a C
programmer expects. Every binder gets a name unique within its action.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NoReturn, assert_never

import attrs

from rmapcheck import ir
from rmapcheck.errors import SpecError, TextKind, read_user_text
from rmapcheck.frontend import ast
from rmapcheck.frontend.observables import (
    KERNEL_OPS,
    OBSERVABLES,
    Observable,
    kernel_op,
    observable,
)
from rmapcheck.frontend.parser import MAX_EXPR_DEPTH, parse_text
from rmapcheck.ir_walk import fold_bool
from rmapcheck.resources import models_dir

_ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod"}
_SETOPS = {"|": "union", "&": "inter", "-": "diff", "+": "union"}
_CMP = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_LOGIC = {"and": "and", "or": "or", "->": "implies", "<->": "iff"}
_BRANCHES = "the branches of 'if ... then ... else' must have one sort, not {} and {}"


def _fail(message: str, span: ir.Span | None, note: str | None = None) -> NoReturn:
    raise SpecError(message, span, note)


# The parameter an action with failpoints gets, and its value when the step
# does not fail.
FAILURE_PARAM = "fail"
NO_FAILURE = "nothing"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def _kind(decl: ast.DefDecl | ast.ProcDecl | ast.ActionDecl) -> str:
    match decl:
        case ast.DefDecl():
            return "def"
        case ast.ProcDecl():
            return "proc"
        case ast.ActionDecl():
            return "action"
        case _:
            assert_never(decl)


def _signature(decl: ast.DefDecl | ast.ProcDecl | ast.ActionDecl) -> str:
    """The declaration's head as the spec writes it: what a definition must repeat."""
    params = ", ".join(f"{p.name}: {p.sort}" for p in decl.params)
    result = f": {decl.sort}" if isinstance(decl, ast.DefDecl) else ""
    return f"{_kind(decl)} {decl.name}({params}){result}"


def _arguments(n: int) -> str:
    return f"{n} argument" if n == 1 else f"{n} arguments"


def is_int_like(sort: ir.Sort) -> bool:
    return isinstance(sort, ir.IntSort) or (isinstance(sort, ir.RangeSort) and not sort.symmetric)


def _unopt(sort: ir.Sort) -> ir.Sort:
    return sort.inner if isinstance(sort, ir.OptionSort) else sort


# ---------------------------------------------------------------- loading


def resolve_spec_path(name: str, relative_to: Path | None = None) -> Path:
    """A path as given, else a bundled model (``anonmm`` or ``anonmm.spec``).
    For a ``use`` (``relative_to`` the using file's directory), the using
    file's directory and then the bundled models, never the working directory:
    a file there must not change what a spec means."""
    candidate = Path(name)
    if relative_to is None:
        if candidate.is_file():
            return candidate
        if candidate.is_dir():
            _fail(f"{name} is a directory, not a spec file", None)
    file_name = name if name.endswith(".spec") else f"{name}.spec"
    places = []
    if relative_to is not None:
        places.append(relative_to / file_name)
    places.append(models_dir() / file_name)
    places.append(models_dir() / "broken" / file_name)
    for place in places:
        if place.is_file():
            return place
    bundled = sorted(p.stem for p in models_dir().glob("*.spec"))
    raise SpecError(f"no spec file '{name}' here and no bundled model of that name "
                    f"(bundled: {', '.join(bundled)})", None)


SPEC_TEXT = TextKind("a spec", "a spec file", "specs are read as UTF-8")


def read_spec_text(path: Path, used_at: ir.Span | None = None) -> str:
    """The text of a spec file, or one sentence on why it is not one."""
    return read_user_text(path, _display_path(path), SPEC_TEXT, used_at)


def bundled_models(include_broken: bool = True) -> list[Path]:
    """The bundled design specs (libraries left out), broken variants last."""
    found = sorted(models_dir().glob("*.spec"))
    if include_broken:
        found += sorted(models_dir().glob("broken/*.spec"))
    return [p for p in found if not parse_text(p.read_text(), _display_path(p)).is_library]


def load_model(path: str | Path, consts: Mapping[str, int] | None = None) -> ir.Model:
    """Parses and checks the spec at ``path`` (or a bundled model's name).

    ``consts`` is accepted for convenience and checked against the model's
    constants; bounds stay symbolic in the IR and are fixed by ``Instance``.
    """
    spec_path = resolve_spec_path(str(path))
    modules = _load_modules(spec_path)
    model = _Checker(modules).model()
    if consts:
        known = {c.name for c in model.consts}
        for name in consts:
            if name not in known:
                _fail(f"--const {name}: the model has no constant {name} "
                      f"(its constants: {', '.join(sorted(known))})", None)
    return model


def check_expr(path: str | Path, expr: ast.Expr) -> tuple[ir.Model, ir.Expr]:
    """The model at ``path``, and ``expr`` checked in its scope (its constants,
    state variables, enum members and defs, as a property's body is): for
    ``rmapcheck eval``. The model is checked again rather than reused because
    only the checker that built it holds the tables an expression resolves in."""
    checker = _Checker(_load_modules(resolve_spec_path(str(path))))
    model = checker.model()
    return model, checker.expr(expr, _Env(), None)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load_modules(top: Path) -> list[ast.SpecFile]:
    """The top spec and everything it uses, each once, dependencies first."""
    ordered: list[ast.SpecFile] = []
    loaded: set[Path] = set()
    loading: list[Path] = []

    def visit(path: Path, used_at: ir.Span | None) -> None:
        real = path.resolve()
        if real in loaded:
            return
        if real in loading:
            _fail(f"'use' makes a cycle: {' -> '.join(p.stem for p in loading)} -> {path.stem}",
                  used_at)
        loading.append(real)
        spec = parse_text(read_spec_text(path, used_at), _display_path(path))
        for item in spec.items:
            if isinstance(item, ast.Use):
                try:
                    dep = resolve_spec_path(item.module, path.parent)
                except SpecError as err:
                    _fail(f"'use {item.module}': {err.message}", item.span)
                visit(dep, item.span)
        loading.pop()
        loaded.add(real)
        ordered.append(spec)

    visit(top, None)
    return ordered


# ---------------------------------------------------------------- checking


@attrs.frozen
class _ThreadCtx:
    """The thread a step runs in: its keys (expressions over the step's
    parameters), the operation and its steps, the thread's own variables
    (name -> state variable, read and written at ``keys``; none inside a
    proc), and the statements that end the operation (for a failpoint)."""

    thread: str
    keys: tuple[ir.Expr, ...]
    operation: str
    steps: tuple[str, ...]
    vars: Mapping[str, str]
    end: tuple[ir.Stmt, ...]


LOCK_HOLD = "LockHold"
_HOLDS = ("unheld", "reader", "writer")
_LOCK_KINDS = ("mutex", "rwsem", "spinlock")
_IDLE = "idle"
_BALANCED = "locks_balanced"
_BALANCED_DOC = ("a thread releases only the locks it holds, and ends each operation "
                 "holding none")


@attrs.define
class _Env:
    """Names bound inside a body: parameters, lets and quantified variables."""

    locals: dict[str, ir.Expr] = attrs.field(factory=dict)
    in_init: bool = False
    in_action: bool = False
    calls: tuple[str, ...] = ()
    loops: tuple[ir.Sort, ...] = ()  # the sorts of the enclosing for loops
    in_error_path: bool = False  # inside a failpoint's error path
    thread: _ThreadCtx | None = None  # inside a step of a threaded action

    def bind(self, name: str, value: ir.Expr) -> _Env:
        return attrs.evolve(self, locals={**self.locals, name: value})


class _Checker:
    def __init__(self, modules: list[ast.SpecFile]) -> None:
        self.modules = modules
        self.top = modules[-1]
        self.consts: dict[str, ir.Const] = {}
        self.sorts: dict[str, ir.Sort] = {"Bool": ir.BOOL, "Int": ir.INT}
        self.sort_decls: dict[str, ast.RangeType | ast.EnumType | ast.RecordDecl] = {}
        self.record_fields: dict[str, list[ast.FieldDecl]] = {}
        self.enum_members: dict[str, ir.EnumSort] = {}
        self.vars: dict[str, ast.VarDecl] = {}
        self.state: dict[str, ir.StateVar] = {}
        self.defs: dict[str, ast.DefDecl] = {}
        self.procs: dict[str, ast.ProcDecl] = {}
        self.actions: dict[str, ast.ActionDecl] = {}
        self.props: dict[str, ast.PropertyDecl] = {}
        self.dropped: dict[str, ast.DropDecl] = {}
        self.hooks: dict[str, ast.DefDecl | ast.ProcDecl] = {}
        # The first ``observe def`` of each name (an override keeps it observed).
        self.observed: dict[str, ast.DefDecl] = {}
        self.observe_actions: dict[str, ast.ObserveActionDecl] = {}
        self.inits: list[ast.InitDecl] = []
        self.threads: dict[str, ast.ThreadDecl] = {}
        self.locks: dict[str, ast.LockDecl] = {}
        self.thread_ir: dict[str, ir.Thread] = {}
        self.lock_ir: dict[str, ir.Lock] = {}
        self.thread_waits: dict[str, list[ir.LockWait]] = {}
        self.hold_sort: ir.EnumSort | None = None
        self.counter = itertools.count(1)
        # The action being checked, while it has failpoints: its failure
        # parameter and the members of its sort not yet given to a failpoint.
        self.failure: ir.Local | None = None
        self.failure_members: list[str] = []
        # Every def and proc a body names: a declaration no one calls that is
        # named like a hook is almost always a misspelled hook definition.
        self.called: set[str] = set()
        self.depth = 0
        self.outermost: ir.Span | None = None

    # ------------------------------------------------------------ declarations

    def _taken(self, name: str) -> ir.Span | None:
        for table in (self.consts, self.sort_decls, self.vars, self.defs, self.procs,
                      self.actions, self.props, self.threads, self.locks):
            if name in table:
                return table[name].span  # type: ignore[attr-defined, no-any-return]
        return None

    def _override_const(self, item: ast.ConstDecl) -> None:
        """A design's own default for a library constant: the bounds at which
        it is checked when the command line says nothing."""
        existing = self.consts.get(item.name)
        if existing is None:
            _fail(f"'override const {item.name}' overrides nothing: no constant of that name "
                  "is declared before it", item.span, _suggest(item.name, self.consts))
        lo = item.lo if item.lo is not None else existing.lo
        hi = item.hi if item.hi is not None else existing.hi
        if not existing.lo <= lo <= hi <= existing.hi:
            _fail(f"'override const {item.name}' may narrow its range {existing.lo} .. "
                  f"{existing.hi}, not widen it to {lo} .. {hi}", item.span)
        if not lo <= item.default <= hi:
            _fail(f"constant {item.name} = {item.default} is outside its range {lo} .. {hi}",
                  item.span)
        self.consts[item.name] = ir.Const(item.name, item.default, lo, hi,
                                          existing.doc, item.span)

    def _declare_unique(self, name: str, span: ir.Span) -> None:
        previous = self._taken(name)
        if previous is not None or name in ("Bool", "Int"):
            where = f" at {previous}" if previous is not None else " (a built-in sort)"
            _fail(f"'{name}' is already declared{where}; choose another name", span)

    def _property_decl(self, item: ast.PropertyDecl) -> None:
        if item.modifier in ("hook", "local"):
            _fail(f"a property cannot be '{item.modifier}'; a variant replaces an inherited "
                  f"one with 'override {item.kind} {item.name}' or removes it with "
                  f"'drop {item.kind} {item.name}'", item.span)
        if item.modifier != "override":
            self._declare_unique(item.name, item.span)
        elif item.name not in self.props:
            self._no_such_property(f"'override {item.kind} {item.name}' overrides", item)
        # An override keeps the place of the property it replaces, so the
        # order in which properties are checked and reported stays the library's.
        self.props[item.name] = item

    def _no_such_property(self, what: str, item: ast.PropertyDecl | ast.DropDecl) -> NoReturn:
        """``what`` (an override or a drop) finds no property of its name."""
        dropped = self.dropped.get(item.name)
        if dropped is not None:
            again = "already " if isinstance(item, ast.DropDecl) else ""
            _fail(f"{what} nothing: it was dropped {again}at {dropped.span}", item.span)
        _fail(f"{what} nothing: no property of that name is declared before it", item.span,
              _suggest(item.name, self.props))

    def _drop(self, item: ast.DropDecl) -> None:
        existing = self.props.get(item.name)
        if existing is None:
            self._no_such_property(f"'drop {item.kind} {item.name}' drops", item)
        if existing.kind != item.kind:
            _fail(f"'{item.name}' is {_article(existing.kind)} {existing.kind} (at "
                  f"{existing.span}), not {_article(item.kind)} {item.kind}", item.span,
                  f"did you mean 'drop {existing.kind} {item.name}'?")
        del self.props[item.name]
        self.dropped[item.name] = item

    def _declare_callable(self, table: dict, decl: ast.DefDecl | ast.ProcDecl | ast.ActionDecl,
                          kind: str) -> None:
        existing = table.get(decl.name)
        if decl.modifier == "hook" and isinstance(decl, ast.ActionDecl):
            _fail(f"an action cannot be a hook; a design adds actions, or replaces one with "
                  f"'override action {decl.name}'", decl.span)
        if decl.modifier == "local" and isinstance(decl, ast.ActionDecl):
            _fail(f"'local' marks a def or proc that is deliberately not a hook; an action "
                  f"is never a hook, so write 'action {decl.name}'", decl.span)
        if existing is None:
            other = self.procs if table is self.defs else self.defs
            hook = self.hooks.get(decl.name)
            if hook is not None and other.get(decl.name) is hook:
                _fail(f"'{decl.name}' is a hook {_kind(hook)} ({hook.span}), so a design "
                      f"defines it with '{_signature(hook)}', not with a {kind}", decl.span)
            if decl.modifier == "override":
                _fail(f"'override {kind} {decl.name}' overrides nothing: no {kind} of that name "
                      "is declared before it", decl.span,
                      _suggest(decl.name, table))
            self._declare_unique(decl.name, decl.span)
            table[decl.name] = decl
            if decl.modifier == "hook":
                assert not isinstance(decl, ast.ActionDecl)
                self.hooks[decl.name] = decl
            return
        is_hook = decl.name in self.hooks
        if decl.modifier == "observe":
            _fail(f"'{decl.name}' is already declared at {existing.span}; a design that "
                  f"observes it otherwise replaces it with 'override def {decl.name}'",
                  decl.span)
        if decl.modifier == "hook":
            _fail(f"hook {kind} '{decl.name}' is already declared at {existing.span}", decl.span)
        if decl.modifier == "local":
            what = (f"the hook declared at {existing.span}; a definition of it is a plain "
                    f"'{kind} {decl.name}'") if is_hook else f"declared at {existing.span}"
            _fail(f"'local {kind} {decl.name}' declares a name that is already taken: "
                  f"{what}", decl.span)
        if decl.modifier is None and not (is_hook and existing is self.hooks[decl.name]):
            _fail(f"{kind} '{decl.name}' is already defined at {existing.span}; write "
                  f"'override {kind} {decl.name}' to replace it", decl.span)
        # A definition of a hook, and an override, keep the signature they replace.
        reference = self.hooks[decl.name] if is_hook else existing
        what = (f"the hook declared at {reference.span}" if is_hook
                else f"the {kind} it overrides (at {reference.span})")
        mine = [str(p.sort) for p in decl.params]
        theirs = [str(p.sort) for p in reference.params]
        meant = ("override " if decl.modifier == "override" else "") + _signature(reference)
        if mine != theirs:
            _fail(f"{kind} '{decl.name}' must take ({', '.join(theirs)}) as {what} does, "
                  f"not ({', '.join(mine)})", decl.span,
                  f"did you mean '{meant}'?")
        if isinstance(decl, ast.DefDecl) and isinstance(reference, ast.DefDecl) \
                and str(decl.sort) != str(reference.sort):
            _fail(f"def '{decl.name}' must return {reference.sort} as {what} does, "
                  f"not {decl.sort}", decl.sort.span,
                  f"did you mean '{meant}'?")
        table[decl.name] = decl

    def _collect(self) -> None:
        for module in self.modules:
            for item in module.items:
                match item:
                    case ast.Use():
                        pass
                    case ast.ConstDecl(modifier="override"):
                        self._override_const(item)
                    case ast.ConstDecl(modifier="hook"):
                        _fail(f"a constant cannot be a hook; a design changes a library's "
                              f"default with 'override const {item.name} = ...'", item.span)
                    case ast.ConstDecl():
                        self._declare_unique(item.name, item.span)
                        lo = item.lo if item.lo is not None else min(item.default, 0)
                        hi = item.hi if item.hi is not None else max(item.default, 64)
                        if not lo <= item.default <= hi:
                            _fail(f"constant {item.name} = {item.default} is outside its own "
                                  f"range {lo} .. {hi}", item.span)
                        self.consts[item.name] = ir.Const(item.name, item.default, lo, hi,
                                                          item.doc, item.span)
                    case ast.RangeType() | ast.EnumType() | ast.RecordDecl():
                        self._declare_unique(item.name, item.span)
                        self.sort_decls[item.name] = item
                        if isinstance(item, ast.RecordDecl):
                            self.record_fields[item.name] = list(item.fields)
                    case ast.ExtendDecl():
                        if item.record not in self.record_fields:
                            _fail(f"'extend record {item.record}': no record of that name",
                                  item.span, _suggest(item.record, self.record_fields))
                        have = {f.name for f in self.record_fields[item.record]}
                        for f in item.fields:
                            if f.name in have:
                                _fail(f"record {item.record} already has a field '{f.name}'",
                                      f.span)
                        self.record_fields[item.record].extend(item.fields)
                    case ast.VarDecl():
                        self._declare_unique(item.name, item.span)
                        self.vars[item.name] = item
                    case ast.InitDecl():
                        self.inits.append(item)
                    case ast.DefDecl():
                        self._declare_callable(self.defs, item, "def")
                        if item.modifier == "observe":
                            self.observed[item.name] = item
                    case ast.ObserveActionDecl():
                        previous = self.observe_actions.get(item.action)
                        if previous is None and item.override:
                            _fail(f"'override observe action {item.action}' overrides "
                                  "nothing: no observe action of that name is declared "
                                  "before it", item.span)
                        if previous is not None and not item.override:
                            _fail(f"action {item.action} is already observed at "
                                  f"{previous.span}; write 'override observe action "
                                  f"{item.action}' to replace it", item.span)
                        self.observe_actions[item.action] = item
                    case ast.ProcDecl():
                        self._declare_callable(self.procs, item, "proc")
                    case ast.ActionDecl():
                        self._declare_callable(self.actions, item, "action")
                    case ast.PropertyDecl():
                        self._property_decl(item)
                    case ast.DropDecl():
                        self._drop(item)
                    case ast.ThreadDecl():
                        self._declare_unique(item.name, item.span)
                        self.threads[item.name] = item
                    case ast.LockDecl():
                        self._declare_unique(item.name, item.span)
                        if item.kind not in _LOCK_KINDS:
                            _fail(f"a lock is a mutex, an rwsem or a spinlock, not "
                                  f"'{item.kind}'", item.kind_span,
                                  _suggest(item.kind, _LOCK_KINDS))
                        self.locks[item.name] = item
                    case _:
                        assert_never(item)
        for name, hook in self.hooks.items():
            table = self.defs if isinstance(hook, ast.DefDecl) else self.procs
            decl = table[name]
            if decl.body is None:
                _fail(f"hook {_kind(hook)} '{name}' has no definition; the design must "
                      f"define '{_signature(hook)}'", hook.span,
                      f"the model is {self.top.name} ({self.top.path})")

    # ------------------------------------------------------------ sorts

    def _resolve_sorts(self) -> None:
        env = _Env()
        for name, decl in self.sort_decls.items():
            match decl:
                case ast.RangeType():
                    lo = self._const_expr(decl.lo, env)
                    hi = self._const_expr(decl.hi, env)
                    self.sorts[name] = ir.RangeSort(name, lo, hi, decl.symmetric, decl.span)
                case ast.EnumType():
                    if len(set(decl.members)) != len(decl.members):
                        _fail(f"enum {name} lists a member twice", decl.span)
                    sort = ir.EnumSort(name, decl.members, decl.span)
                    self.sorts[name] = sort
                    for member in decl.members:
                        if member in self.enum_members:
                            _fail(f"enum member '{member}' is already a member of "
                                  f"{self.enum_members[member].name}", decl.span)
                        self._declare_unique(member, decl.span)
                        self.enum_members[member] = sort
                case ast.RecordDecl():
                    pass
        resolving: list[str] = []

        def record(name: str) -> ir.RecordSort:
            existing = self.sorts.get(name)
            if isinstance(existing, ir.RecordSort):
                return existing
            if name in resolving:
                _fail(f"record {name} contains itself", self.sort_decls[name].span)
            resolving.append(name)
            fields = tuple((f.name, self._sort(f.sort, record)) for f in self.record_fields[name])
            resolving.pop()
            seen: set[str] = set()
            for (fname, _), fdecl in zip(fields, self.record_fields[name], strict=True):
                if fname in seen:
                    _fail(f"record {name} has two fields named '{fname}'", fdecl.span)
                seen.add(fname)
            sort = ir.RecordSort(name, fields, self.sort_decls[name].span)
            self.sorts[name] = sort
            return sort

        for name in self.record_fields:
            record(name)

    def _sort(self, ref: ast.SortRef, record_resolver: object = None) -> ir.Sort:
        sort = self.sorts.get(ref.name)
        if sort is None and record_resolver is not None and ref.name in self.record_fields:
            sort = record_resolver(ref.name)  # type: ignore[operator]
        if sort is None:
            _fail(f"unknown sort '{ref.name}'", ref.span,
                  _suggest(ref.name, list(self.sorts) + list(self.record_fields)))
        if ref.is_set:
            if not ir.is_finite_scalar(sort):
                _fail(f"a set's elements must be of a finite sort (a range, an enum or Bool), "
                      f"not {sort}", ref.span)
            return ir.SetSort(sort)
        if ref.optional:
            if isinstance(sort, (ir.OptionSort, ir.SetSort)):
                _fail(f"{sort} cannot be made optional", ref.span)
            return ir.OptionSort(sort)
        return sort

    def _finite_sort(self, name: str, span: ir.Span) -> ir.Sort:
        sort = self.sorts.get(name)
        if sort is None:
            _fail(f"unknown sort '{name}'", span, _suggest(name, self.sorts))
        if not ir.is_finite_scalar(sort):
            _fail(f"{name} is not a finite sort: only ranges, enums and Bool can be "
                  "quantified over, looped over or used as keys", span)
        return sort

    def _const_expr(self, expr: ast.Expr, env: _Env) -> ir.Expr:
        lowered = self.expr(expr, env, ir.INT)
        for node in _walk_expr(lowered):
            if not isinstance(node, (ir.IntLit, ir.ConstRef, ir.Binary, ir.Unary, ir.HookValue)):
                _fail("a sort bound must be built from numbers and constants", expr.span)
        return lowered

    # ------------------------------------------------------------ model

    def model(self) -> ir.Model:
        if self.top.is_library:
            _fail(f"{self.top.name} is a library, not a design: check a model that uses it "
                  f"(one with 'use {self.top.name}')", self.top.header_span)
        self._collect()
        self._resolve_sorts()
        for name, decl in self.vars.items():
            keys = tuple(self._sort(k) for k in decl.keys)
            for key, ref in zip(keys, decl.keys, strict=True):
                if not ir.is_finite_scalar(key):
                    _fail(f"a map must be indexed by finite sorts (ranges, enums, Bool), "
                          f"not {key}", ref.span)
            value = self._sort(decl.value)
            if isinstance(value, ir.IntSort) or (isinstance(value, ir.OptionSort)
                                                 and isinstance(value.inner, ir.IntSort)):
                _fail(f"state variable {name} must have a finite sort, not Int; use a range "
                      "such as 0 .. N", decl.value.span)
            self._check_finite_record(value, decl.value.span)
            self.state[name] = ir.StateVar(name, keys, value, decl.doc, decl.span)
        self._threads_and_locks()
        init = self._init()
        actions = tuple(action for decl in self.actions.values()
                        for action in self._actions_of(decl))
        props = tuple(self._property(decl) for decl in self.props.values())
        threads = tuple(attrs.evolve(t, waits=tuple(self.thread_waits[t.name]))
                        for t in self.thread_ir.values())
        if any(t.waits for t in threads):
            # Completed by Instance, where the number of threads is known.
            props += (ir.Property(ir.DEADLOCK_PROPERTY, "invariant", ir.BoolLit(True),
                                  "no threads wait in a cycle, each at the start of a step for "
                                  "a lock that the next one holds", threads[0].span),)
        functions = tuple(self._function(decl) for decl in self.defs.values()
                          if decl.body is not None)
        sorts = tuple(s for n, s in self.sorts.items() if n not in ("Bool", "Int"))
        if not actions:
            _fail(f"model {self.top.name} has no actions", self.top.span)
        self._check_uncalled_procs()
        self._check_hook_lookalikes()
        design_files = tuple(m.path for m in self.modules if not m.is_library)
        observed, observe_actions = self._observations()
        return ir.Model(self.top.name, self.top.doc, tuple(self.consts.values()), sorts,
                        tuple(self.state.values()), init, actions, props, functions,
                        self.top.span, self._hooks(design_files), design_files,
                        observed, observe_actions, threads, tuple(self.lock_ir.values()))

    # ------------------------------------------------------------ observations

    def _observations(self) -> tuple[tuple[str, ...], tuple[ir.ObserveAction, ...]]:
        """The ``observe`` declarations, held to the shapes of the observables
        table: ``rmapcheck conform`` reads each from the kernel as the table
        says, so a name or a sort it does not expect would be read wrongly."""
        if not self.observed and not self.observe_actions:
            return (), ()
        spans = [d.span for d in self.observed.values()] + \
            [d.span for d in self.observe_actions.values()]
        for name, decl in self.observed.items():
            if observable(name) is None:
                _fail(f"'{name}' is not an observation rmapcheck conform knows; an 'observe "
                      f"def' is one of {', '.join(o.name for o in OBSERVABLES)}", decl.span,
                      _suggest(name, [o.name for o in OBSERVABLES]))
        if "process" not in self.observed:
            _fail("the observations need 'observe def process(p: Proc): Bool', which says "
                  "which processes exist and which sort is the process", spans[0])
        kinds: dict[str, ir.Sort] = {}
        for entry in OBSERVABLES:  # process first, frame before page_mapcount
            if entry.name in self.observed:
                self._observation_sorts(entry, self.defs[entry.name], kinds)
        if "page_mapcount" in self.observed and "frame" not in self.observed:
            _fail("'observe def page_mapcount' needs 'observe def frame': the kernel's page "
                  "of a frame is found through the pages that map it",
                  self.observed["page_mapcount"].span)
        return (tuple(o.name for o in OBSERVABLES if o.name in self.observed),
                tuple(self._observe_action(decl, kinds)
                      for decl in self.observe_actions.values()))

    def _observation_sorts(self, entry: Observable, decl: ast.DefDecl,
                           kinds: dict[str, ir.Sort]) -> None:
        head = ", ".join(f"{n}: {k}" for n, k in entry.params)
        shape = f"'observe def {entry.name}({head}): {entry.result}'"
        if len(decl.params) != len(entry.params):
            _fail(f"observation {entry.name} takes {_arguments(len(entry.params))}, as "
                  f"{shape}, not {len(decl.params)}", decl.span)
        for param, (_, kind) in zip(decl.params, entry.params, strict=True):
            self._kind_sort(kind, self._sort(param.sort), param.sort.span, kinds, shape)
        result = self._sort(decl.sort)
        inner = _unopt(result)
        optional = isinstance(result, ir.OptionSort)
        match entry.result:
            case "Bool":
                fits = isinstance(result, ir.BoolSort)
            case "number":
                fits = is_int_like(result)
            case "number?":
                fits = optional and is_int_like(inner)
            case "frame?":
                fits = optional and isinstance(inner, ir.RangeSort) and inner.symmetric
                if fits:
                    self._kind_sort("frame", inner, decl.sort.span, kinds, shape)
            case _:
                raise AssertionError(entry.result)
        if not fits:
            _fail(f"observation {entry.name} must return {entry.result}, as {shape}, not "
                  f"{result}", decl.sort.span)

    def _kind_sort(self, kind: str, sort: ir.Sort, span: ir.Span, kinds: dict[str, ir.Sort],
                   shape: str) -> None:
        """One sort per kind of parameter across all the observations: the
        harness enumerates each, and a page of one is a page of the others."""
        if kind in ("process", "frame"):
            fits = isinstance(sort, ir.RangeSort) and sort.symmetric
            what = "a symmetric sort"
        else:
            fits = isinstance(sort, ir.RangeSort) and not sort.symmetric
            what = "a range sort of page numbers"
        if not fits:
            _fail(f"a {kind} of an observation must be {what}, as in {shape}, not {sort}",
                  span)
        known = kinds.setdefault(kind, sort)
        if known != sort:
            _fail(f"every {kind} of the observations must be of one sort: {known} elsewhere, "
                  f"{sort} here", span)

    def _observe_action(self, decl: ast.ObserveActionDecl,
                        kinds: dict[str, ir.Sort]) -> ir.ObserveAction:
        action = self.actions.get(decl.action)
        if action is None:
            _fail(f"'observe action {decl.action}': no action of that name", decl.span,
                  _suggest(decl.action, self.actions))
        op = kernel_op(decl.op)
        if op is None:
            _fail(f"'{decl.op}' is not a kernel operation rmapcheck conform runs; it runs "
                  f"{', '.join(o.name for o in KERNEL_OPS)}", decl.op_span,
                  _suggest(decl.op, [o.name for o in KERNEL_OPS]))
        if len(decl.params) != len(action.params):
            names = ", ".join(p.name for p in action.params)
            _fail(f"action {decl.action} takes {_arguments(len(action.params))} ({names}); "
                  f"name each, in order, not {len(decl.params)}", decl.span)
        env = _Env()
        params = []
        for (name, span), param in zip(decl.params, action.params, strict=True):
            local = ir.Local(self.fresh(name), self._sort(param.sort), span)
            params.append(local)
            env = env.bind(name, local)
        if len({n for n, _ in decl.params}) != len(decl.params):
            _fail(f"'observe action {decl.action}' names two parameters alike", decl.span)
        shape = f"{op.name}({', '.join(n for n, _ in op.params)})"
        if len(decl.args) != len(op.params):
            _fail(f"{shape} takes {_arguments(len(op.params))}, not {len(decl.args)}",
                  decl.op_span)
        args = []
        for arg, (name, kind) in zip(decl.args, op.params, strict=True):
            if kind in ("process", "frame"):
                if kind not in kinds:
                    _fail(f"the {name} of {shape} is a {kind}, and no observation says which "
                          f"sort that is (declare 'observe def "
                          f"{'frame' if kind == 'frame' else 'process'}')", arg.span)
                args.append(self.coerce(self.expr(arg, env, kinds[kind]), kinds[kind],
                                        arg.span))
            elif kind == "flag":
                args.append(self.cond(arg, env))
            else:
                args.append(self._int(arg, env))
        return ir.ObserveAction(decl.action, tuple(params), op.name, tuple(args), decl.doc,
                                decl.span)

    def _hooks(self, design_files: tuple[str, ...]) -> tuple[ir.Hook, ...]:
        """Each hook with the definition in effect (a design's, a library's
        definition of another library's hook, or the hook's default body)."""
        out = []
        for name, hook in self.hooks.items():
            is_def = isinstance(hook, ast.DefDecl)
            decl = self.defs[name] if is_def else self.procs[name]
            out.append(ir.Hook(name, "def" if is_def else "proc", decl.span.file in design_files,
                               decl.span, hook.span))
        return tuple(out)

    def _check_uncalled_procs(self) -> None:
        """A proc is checked where it is expanded, so one nothing calls would
        otherwise go unchecked: an error in it would wait for its first caller."""
        for decl in list(self.procs.values()):
            if decl.name in self.called or decl.body is None:
                continue
            env = _Env(in_action=True, calls=(decl.name,))
            for param in decl.params:
                env = env.bind(param.name, ir.Local(param.name, self._sort(param.sort),
                                                    param.span))
            self.block(decl.body, env)

    def _check_hook_lookalikes(self) -> None:
        """A def or proc of a design that no one calls and that is named like
        a hook of a library it uses is a hook definition with a typo: without
        this it is accepted in silence and the library's default runs."""
        module_of = {item.span: module for module in self.modules for item in module.items}
        declared: list[ast.DefDecl | ast.ProcDecl] = [*self.defs.values(), *self.procs.values()]
        for decl in declared:
            if decl.modifier is not None or decl.name in self.hooks \
                    or decl.name in self.called:
                continue
            mine = module_of.get(decl.span)
            candidates = {name: hook for name, hook in self.hooks.items()
                          if module_of.get(hook.span) is not mine
                          and self._defined_by_default(hook)}
            close = difflib.get_close_matches(decl.name, list(candidates), n=3, cutoff=0.75)
            events = [name for name in candidates if name.startswith("on_")]
            if not close and decl.name.startswith("on_") and events:
                # The library names its event hooks on_*; a new on_ name no
                # one calls is meant as one even when it is far from them all.
                close = difflib.get_close_matches(decl.name, events, n=3, cutoff=0.4)
            elif not close:
                continue
            kind = _kind(decl)
            guess = None
            if close:
                hook = candidates[close[0]]
                others = "".join(f" or '{c}'" for c in close[1:])
                guess = f"did you mean the hook '{_signature(hook)}' ({hook.span}){others}?"
            _fail(f"{kind} '{decl.name}' is not a hook of the libraries this model uses, and "
                  f"nothing calls it, so it never runs; if it is meant as a helper of its "
                  f"own, call it or declare it 'local {kind} {decl.name}'", decl.span, guess)

    def _defined_by_default(self, hook: ast.DefDecl | ast.ProcDecl) -> bool:
        """The design has not defined this hook yet: what is left at the
        library's declaration (with or without a default body)."""
        table = self.defs if isinstance(hook, ast.DefDecl) else self.procs
        return table.get(hook.name) is hook

    def _check_finite_record(self, sort: ir.Sort, span: ir.Span) -> None:
        sort = _unopt(sort)
        if isinstance(sort, ir.RecordSort):
            for fname, fsort in sort.fields:
                if isinstance(_unopt(fsort), ir.IntSort):
                    _fail(f"field {sort.name}.{fname} is stored in the state, so it needs a "
                          "finite sort, not Int", span)
                self._check_finite_record(fsort, span)

    def _init(self) -> tuple[ir.Stmt, ...]:
        out: list[ir.Stmt] = []
        env = _Env(in_init=True)
        for name, decl in self.vars.items():
            if decl.init is None:
                continue
            var = self.state[name]
            value = self.coerce(self.expr(decl.init, env, var.value), var.value, decl.init.span)
            for node in _walk_expr(value):
                if isinstance(node, ir.StateRead):
                    _fail("an initial value cannot read the state; use an init block",
                          decl.init.span)
            key_locals = tuple(ir.Local(f"{name}#k{i}", k, decl.span)
                               for i, k in enumerate(var.keys))
            stmt: ir.Stmt = ir.Assign(ir.LValue(name, key_locals, (), var.value, decl.span),
                                      value, decl.span)
            for local in reversed(key_locals):
                stmt = ir.For(local, (stmt,), decl.span)
            out.append(stmt)
        for block in self.inits:
            out.extend(self.block(block.body, env))
        return tuple(out)

    def _finite_param(self, param: ast.Param) -> ir.Local:
        sort = self._sort(param.sort)
        if not ir.is_finite_scalar(sort):
            _fail(f"parameter {param.name} must be of a finite sort (a range, an enum or "
                  f"Bool), not {sort}", param.sort.span)
        return ir.Local(param.name, sort, param.span)

    def _params(self, decl: ast.ActionDecl) -> tuple[list[ir.Local], _Env]:
        env = _Env(in_action=True)
        params = []
        for param in decl.params:
            local = self._finite_param(param)
            params.append(local)
            env = env.bind(param.name, local)
        if len({p.name for p in params}) != len(params):
            _fail(f"action {decl.name} has two parameters of the same name", decl.span)
        return params, env

    def _actions_of(self, decl: ast.ActionDecl) -> list[ir.Action]:
        if decl.thread is not None:
            return self._threaded_actions(decl, decl.thread)
        if decl.steps or decl.locals:
            what = decl.steps[0].span if decl.steps else decl.locals[0].span
            _fail(f"action {decl.name} has steps or a thread's vars, which need a thread: "
                  f"'action {decl.name}(...) in THREAD(...)'", what)
        params, env = self._params(decl)
        return [self._action(decl, decl.name, params, env, decl.body)]

    def _action(self, decl: ast.ActionDecl, name: str, params: list[ir.Local], env: _Env,
                body_ast: tuple[ast.Stmt, ...], prefix: tuple[ir.Stmt, ...] = (),
                suffix: tuple[ir.Stmt, ...] = (), thread: ir.ThreadStep | None = None,
                doc: str | None = None, span: ir.Span | None = None) -> ir.Action:
        """One action: ``prefix``, the body, ``suffix``; with the failure
        parameter, last, when the body reaches failpoints."""
        doc = decl.doc if doc is None else doc
        span = span or decl.span
        failure = self._failure_param(decl, name, body_ast)
        if failure is None:
            body = self.block(body_ast, env)
            return ir.Action(name, tuple(params), (*prefix, *body, *suffix), doc, span,
                             thread=thread)
        self.failure = failure
        assert isinstance(failure.sort, ir.EnumSort)
        self.failure_members = list(failure.sort.members[1:])
        body = self.block(body_ast, env)
        # The scan and the expansion visit the failpoints in the same order.
        assert not self.failure_members, self.failure_members
        self.failure = None
        return ir.Action(name, (*params, failure), (*prefix, *body, *suffix), doc, span,
                         failure, thread)

    def _failure_param(self, decl: ast.ActionDecl, action_name: str,
                       body: tuple[ast.Stmt, ...]) -> ir.Local | None:
        """The parameter ``fail`` an action with failpoints gets (None without):
        of an enum of ``nothing`` and the failpoints, in the order the
        expanded body reaches them, a name that comes twice numbered. ``name``
        and ``body`` are the action's, or one step's of a threaded action."""
        found = self._failpoints(body, (decl.name,))
        if not found:
            return None
        if any(p.name == FAILURE_PARAM for p in decl.params):
            _fail(f"action {decl.name} has failpoints, which add a parameter named "
                  f"'{FAILURE_PARAM}'; rename its own", decl.span)
        members: list[str] = []
        for point in found:
            if point.name == NO_FAILURE:
                _fail(f"a failpoint cannot be named '{NO_FAILURE}': a step that does not fail "
                      f"says fail={NO_FAILURE}", point.span)
            name, n = point.name, 1
            while name in members:
                n += 1
                name = f"{point.name}_{n}"
            members.append(name)
        sort = ir.EnumSort(f"Failure_{action_name}", (NO_FAILURE, *members), decl.span)
        taken = self._taken(sort.name)
        if taken is not None or sort.name in self.sorts:
            _fail(f"action {action_name} has failpoints, whose sort is named {sort.name}, "
                  f"already declared at {taken}; rename that", decl.span)
        self.sorts[sort.name] = sort
        return ir.Local(FAILURE_PARAM, sort, decl.span)

    def _failpoints(self, stmts: Iterable[ast.Stmt],
                    calls: tuple[str, ...]) -> list[ast.FailpointStmt]:
        """The failpoints of a body, procs expanded, in the order of the
        expansion (a proc's, at each call; not those of an error path, which
        is an error the expansion reports)."""
        out: list[ast.FailpointStmt] = []
        for stmt in stmts:
            match stmt:
                case ast.FailpointStmt():
                    out.append(stmt)
                case ast.IfStmt(then=then, else_=else_):
                    out += self._failpoints(then, calls) + self._failpoints(else_, calls)
                case ast.ForStmt(body=body):
                    out += self._failpoints(body, calls)
                case ast.CallStmt(name=name):
                    decl = self.procs.get(name)
                    if decl is not None and decl.body is not None and name not in calls:
                        out += self._failpoints(decl.body, calls + (name,))
                case (ast.Assign() | ast.LetStmt() | ast.RequireStmt()
                      | ast.AssertStmt() | ast.AcquireStmt() | ast.ReleaseStmt()
                      | ast.GotoStmt()):
                    pass
                case _:
                    assert_never(stmt)
        return out

    def _property(self, decl: ast.PropertyDecl) -> ir.Property:
        expr = self.coerce(self.expr(decl.expr, _Env(), ir.BOOL), ir.BOOL, decl.expr.span)
        return ir.Property(decl.name, decl.kind, expr, decl.doc,  # type: ignore[arg-type]
                           decl.span)

    def _function(self, decl: ast.DefDecl) -> ir.Function:
        env = _Env()
        params = []
        for param in decl.params:
            local = ir.Local(param.name, self._sort(param.sort), param.span)
            params.append(local)
            env = env.bind(param.name, local)
        sort = self._sort(decl.sort)
        assert decl.body is not None
        body = self.coerce(self.expr(decl.body, attrs.evolve(env, calls=(decl.name,)), sort),
                           sort, decl.body.span)
        return ir.Function(decl.name, tuple(params), body, sort, decl.doc, decl.span)

    def fresh(self, name: str) -> str:
        return f"{name}#{next(self.counter)}"

    # ------------------------------------------------------------ statements

    def block(self, stmts: Iterable[ast.Stmt], env: _Env) -> tuple[ir.Stmt, ...]:
        out: list[ir.Stmt] = []
        for stmt in stmts:
            env = self.stmt(stmt, env, out)
        return tuple(out)

    def stmt(self, stmt: ast.Stmt, env: _Env, out: list[ir.Stmt]) -> _Env:
        match stmt:
            case ast.Assign(target=target, value=value):
                lvalue = self.lvalue(target, env)
                out.append(ir.Assign(lvalue, self.coerce(self.expr(value, env, lvalue.sort),
                                                         lvalue.sort, value.span), stmt.span))
            case ast.IfStmt(cond=cond, then=then, else_=else_):
                out.append(ir.If(self.cond(cond, env), self.block(then, env),
                                 self.block(else_, env), stmt.span))
            case ast.ForStmt(var=var, sort=sort_name, where=where, body=body):
                sort = self._finite_sort(sort_name, stmt.sort_span)
                local = ir.Local(self.fresh(var), sort, stmt.span)
                inner_env = attrs.evolve(env.bind(var, local), loops=env.loops + (sort,))
                inner = self.block(body, inner_env)
                if where is not None:
                    inner = (ir.If(self.cond(where, inner_env), inner, (), where.span),)
                out.append(ir.For(local, inner, stmt.span))
            case ast.LetStmt(name=name, value=value):
                lowered = self.expr(value, env, None)
                local = ir.Local(self.fresh(name), lowered.sort, stmt.span)
                out.append(ir.Let(local, lowered, stmt.span))
                return env.bind(name, local)
            case ast.RequireStmt(cond=cond):
                if env.in_init:
                    _fail("'requires' belongs in an action; an init block runs unconditionally",
                          stmt.span)
                out.append(ir.Require(self.cond(cond, env), stmt.span))
            case ast.AssertStmt(name=name, doc=doc, cond=cond):
                out.append(ir.Assert(name, self.cond(cond, env), doc, stmt.span))
            case ast.CallStmt(name=name, args=args):
                self.call_proc(name, args, stmt.span, env, out)
            case ast.FailpointStmt():
                self._failpoint(stmt, env, out)
            case ast.AcquireStmt():
                _fail("'acquire' is the first statement of a step (of a threaded action, or "
                      "the body of a one-step one): a step waits for one lock, before it does "
                      "anything; split the step here", stmt.span)
            case ast.ReleaseStmt(lock=lock):
                thread = self._in_thread(env, "'release'", stmt.span)
                out.extend(self._release(lock, thread, env))
            case ast.GotoStmt(step=step):
                thread = self._in_thread(env, "'goto'", stmt.span)
                if env.calls:
                    _fail("'goto' belongs in a step's own body, not in a proc it calls",
                          stmt.span)
                if step not in thread.steps:
                    _fail(f"'goto {step}': operation {thread.operation} has no step {step}",
                          stmt.span, _suggest(step, thread.steps))
                pc = self.thread_ir[thread.thread].pc
                assert pc is not None
                out.append(self._set_pc(thread, f"{thread.operation}.{step}", stmt.span))
                out.append(ir.Stop(stmt.span))
            case _:
                assert_never(stmt)
        return env

    # ------------------------------------------------------------ threads and locks

    def _threads_and_locks(self) -> None:
        """The state that threads and locks add: who holds each lock, each
        thread's program counter, and each stepped operation's parameters and
        variables, kept per thread between its steps."""
        if self.locks:
            self.hold_sort = self._generated_sort(ir.EnumSort(LOCK_HOLD, _HOLDS))
        stepped: dict[str, list[ast.ActionDecl]] = {t: [] for t in self.threads}
        for decl in self.actions.values():
            if decl.thread is not None and decl.steps and decl.thread.thread in stepped:
                stepped[decl.thread.thread].append(decl)
        for name, tdecl in self.threads.items():
            params = [self._finite_param(param) for param in tdecl.params]
            keys = tuple(p.sort for p in params)
            pc = None
            if stepped[name]:
                members = [_IDLE] + [f"{d.name}.{st.name}" for d in stepped[name]
                                     for st in d.steps]
                sort = self._generated_sort(ir.EnumSort(f"Pc_{name}", tuple(members),
                                                        tdecl.span))
                pc = f"{name}.pc"
                self._generated_var(ir.StateVar(pc, keys, sort, f"the next step of each "
                                                f"{name} thread ({_IDLE}: between operations)",
                                                tdecl.span))
                for decl in stepped[name]:
                    self._operation_storage(decl, keys)
            self.thread_ir[name] = ir.Thread(name, tuple(params), pc, (), tdecl.doc, tdecl.span)
            self.thread_waits[name] = []
        for name, ldecl in self.locks.items():
            lkeys = tuple(self._finite_sort(k.name, k.span) for k in ldecl.keys)
            holders = []
            assert self.hold_sort is not None
            for thread in self.thread_ir.values():
                var = f"{name}.{thread.name}"
                self._generated_var(ir.StateVar(
                    var, (*lkeys, *(p.sort for p in thread.params)), self.hold_sort,
                    f"how each {thread.name} thread holds {name}", ldecl.span))
                holders.append((thread.name, var))
            self.lock_ir[name] = ir.Lock(name, lkeys, ldecl.kind,  # type: ignore[arg-type]
                                         tuple(holders), ldecl.doc, ldecl.span)

    def _operation_storage(self, decl: ast.ActionDecl, keys: tuple[ir.Sort, ...]) -> None:
        assert decl.thread is not None
        key_names = {a.id for a in decl.thread.args if isinstance(a, ast.Name)}
        for param in decl.params:
            if param.name not in key_names:
                self._generated_var(ir.StateVar(
                    f"{decl.name}.{param.name}", keys, self._sort(param.sort),
                    f"parameter {param.name} of {decl.name}, kept between its steps",
                    param.span))
        seen: set[str] = {p.name for p in decl.params}
        for local in decl.locals:
            if local.name in seen:
                _fail(f"operation {decl.name} already has a parameter or var named "
                      f"'{local.name}'", local.span)
            seen.add(local.name)
            sort = self._sort(local.sort)
            if isinstance(_unopt(sort), ir.IntSort):
                _fail(f"a thread's var is kept in the state, so it needs a finite sort, not "
                      f"{sort}", local.sort.span)
            self._check_finite_record(sort, local.sort.span)
            doc = local.doc or f"var {local.name} of {decl.name}"
            self._generated_var(ir.StateVar(f"{decl.name}.{local.name}", keys, sort, doc,
                                            local.span))

    def _generated_sort(self, sort: ir.EnumSort) -> ir.EnumSort:
        if sort.name in self.sorts or self._taken(sort.name) is not None:
            _fail(f"threads and locks need a sort named {sort.name}, and the spec declares "
                  f"one at {self._taken(sort.name)}; rename that", self._taken(sort.name))
        self.sorts[sort.name] = sort
        return sort

    def _generated_var(self, var: ir.StateVar) -> None:
        assert var.name not in self.state, var.name  # dotted names cannot be declared
        self.state[var.name] = var

    def _in_thread(self, env: _Env, what: str, span: ir.Span) -> _ThreadCtx:
        if env.thread is None:
            _fail(f"{what} belongs in a threaded action: 'action NAME(...) in THREAD(...)'",
                  span)
        return env.thread

    def _set_pc(self, thread: _ThreadCtx, member: str, span: ir.Span) -> ir.Assign:
        pc = self.thread_ir[thread.thread].pc
        assert pc is not None
        var = self.state[pc]
        assert isinstance(var.value, ir.EnumSort)
        return ir.Assign(ir.LValue(pc, thread.keys, (), var.value, span),
                         ir.EnumLit(var.value, member, span), span)

    def _lock(self, ref: ast.LockRef, env: _Env) -> tuple[ir.Lock, tuple[ir.Expr, ...]]:
        lock = self.lock_ir.get(ref.name)
        if lock is None:
            _fail(f"unknown lock '{ref.name}'", ref.span, _suggest(ref.name, self.lock_ir))
        if len(ref.keys) != len(lock.keys):
            _fail(f"lock {lock.name} takes {len(lock.keys)} index"
                  f"{'' if len(lock.keys) == 1 else 'es'}, not {len(ref.keys)}", ref.span)
        keys = tuple(self.coerce(self.expr(k, env, sort), sort, k.span)
                     for k, sort in zip(ref.keys, lock.keys, strict=True))
        return lock, keys

    def _hold(self, lock: ir.Lock, thread: str, lkeys: tuple[ir.Expr, ...],
              tkeys: tuple[ir.Expr, ...], span: ir.Span) -> ir.StateRead:
        assert self.hold_sort is not None
        return ir.StateRead(lock.holder_var(thread), (*lkeys, *tkeys), self.hold_sort, span)

    def _hold_is(self, read: ir.Expr, member: str, op: ir.BinaryOp = "eq") -> ir.Expr:
        assert self.hold_sort is not None
        return ir.Binary(op, read, ir.EnumLit(self.hold_sort, member, read.span), ir.BOOL,
                         read.span)

    def _conflicts(self, lock: ir.Lock, lkeys: tuple[ir.Expr, ...], thread: ir.Thread,
                   tkeys: tuple[ir.Expr, ...], exclusive: bool, span: ir.Span) -> ir.Expr:
        """Whether the thread at ``tkeys`` holds ``lock[lkeys]`` in a way that
        keeps a taker out (any way for a writer, as writer for a reader)."""
        hold = self._hold(lock, thread.name, lkeys, tkeys, span)
        return self._hold_is(hold, "unheld", "ne") if exclusive else self._hold_is(hold, "writer")

    def _nobody(self, lock: ir.Lock, lkeys: tuple[ir.Expr, ...], exclusive: bool,
                span: ir.Span) -> ir.Expr:
        """No thread holds ``lock[lkeys]`` in a way that keeps a taker out."""
        parts: list[ir.Expr] = []
        for thread in self.thread_ir.values():
            binders = tuple(ir.Local(self.fresh(p.name), p.sort, span) for p in thread.params)
            inner = ir.Unary("not", self._conflicts(lock, lkeys, thread, binders, exclusive,
                                                    span), ir.BOOL, span)
            parts.append(ir.Quant("forall", binders, inner, ir.BOOL, span))
        return fold_bool("and", parts, span)

    def _acquire(self, stmt: ast.AcquireStmt, thread: _ThreadCtx,
                 env: _Env) -> tuple[ir.Lock, tuple[ir.Expr, ...], bool, list[ir.Stmt]]:
        lock, lkeys = self._lock(stmt.lock, env)
        if lock.kind == "rwsem":
            if stmt.mode not in ("reader", "writer"):
                _fail(f"{lock.name} is an rwsem: say how it is taken, 'acquire ... as reader' "
                      "(down_read) or 'as writer' (down_write)", stmt.span)
        elif stmt.mode is not None:
            _fail(f"{lock.name} is a {lock.kind}, which has one holder: 'acquire "
                  f"{lock.name}' without 'as {stmt.mode}'", stmt.span)
        exclusive = stmt.mode != "reader"
        hold = self._hold(lock, thread.thread, lkeys, thread.keys, stmt.span)
        assert self.hold_sort is not None
        taken = ir.EnumLit(self.hold_sort, "writer" if exclusive else "reader", stmt.span)
        return lock, lkeys, exclusive, [
            ir.Require(self._nobody(lock, lkeys, exclusive, stmt.span), stmt.span),
            ir.Assign(ir.LValue(hold.var, hold.keys, (), self.hold_sort, stmt.span), taken,
                      stmt.span)]

    def _release(self, ref: ast.LockRef, thread: _ThreadCtx, env: _Env) -> list[ir.Stmt]:
        lock, lkeys = self._lock(ref, env)
        hold = self._hold(lock, thread.thread, lkeys, thread.keys, ref.span)
        assert self.hold_sort is not None
        return [ir.Assert(_BALANCED, self._hold_is(hold, "unheld", "ne"), _BALANCED_DOC,
                          ref.span),
                ir.Assign(ir.LValue(hold.var, hold.keys, (), self.hold_sort, ref.span),
                          ir.EnumLit(self.hold_sort, "unheld", ref.span), ref.span)]

    def _holds_none(self, thread: str, tkeys: tuple[ir.Expr, ...], span: ir.Span) -> ir.Expr:
        parts: list[ir.Expr] = []
        for lock in self.lock_ir.values():
            binders = tuple(ir.Local(self.fresh("k"), k, span) for k in lock.keys)
            held = self._hold_is(self._hold(lock, thread, binders, tkeys, span), "unheld")
            parts.append(ir.Quant("forall", binders, held, ir.BOOL, span) if binders else held)
        return fold_bool("and", parts, span)

    def _threaded_actions(self, decl: ast.ActionDecl,
                          clause: ast.ThreadClause) -> list[ir.Action]:
        """A threaded action as one action per step: the call (its first step,
        from idle, with every parameter) and each later step (with the
        thread's keys only; the parameters and vars come from the state)."""
        thread = self.thread_ir.get(clause.thread)
        if thread is None:
            _fail(f"unknown thread '{clause.thread}'", clause.span,
                  _suggest(clause.thread, self.thread_ir))
        params, env = self._params(decl)
        by_name = {p.name: p for p in params}
        if len(clause.args) != len(thread.params):
            _fail(f"thread {thread.name} takes {_arguments(len(thread.params))}, not "
                  f"{len(clause.args)}", clause.span)
        keys: list[ir.Local] = []
        for arg, tparam in zip(clause.args, thread.params, strict=True):
            if not isinstance(arg, ast.Name) or arg.id not in by_name:
                _fail(f"say which thread with the action's own parameters: 'in "
                      f"{thread.name}(p)' with p a parameter of {decl.name}", arg.span)
            key = by_name[arg.id]
            if key.sort != tparam.sort:
                _fail(f"thread {thread.name}'s {tparam.name} is a {tparam.sort}, and "
                      f"{key.name} is a {key.sort}", arg.span)
            if key in keys:
                _fail(f"'{key.name}' names two of the thread's parameters", arg.span)
            keys.append(key)
        key_names = tuple(k.name for k in keys)
        tkeys = tuple(keys)
        end = tuple(self._end_of_operation(decl, thread, tkeys))
        if not decl.steps:
            ctx = _ThreadCtx(thread.name, tkeys, decl.name, (), {}, end)
            body, prefix = self._step_start(decl.body, ctx, attrs.evolve(env, thread=ctx),
                                            None, thread)
            if thread.pc is not None:
                prefix = [self._at_pc(thread, tkeys, _IDLE, decl.span), *prefix]
            return [self._action(decl, decl.name, params, attrs.evolve(env, thread=ctx), body,
                                 tuple(prefix), end,
                                 ir.ThreadStep(thread.name, key_names, decl.name))]
        steps = tuple(st.name for st in decl.steps)
        if len(set(steps)) != len(steps):
            _fail(f"operation {decl.name} has two steps of the same name", decl.span)
        vars_ = {loc.name: f"{decl.name}.{loc.name}" for loc in decl.locals}
        ctx = _ThreadCtx(thread.name, tkeys, decl.name, steps, vars_, end)
        targets = {decl.steps[0].name} if self._goto_targets(decl, decl.steps[0].name) else set()
        out: list[ir.Action] = []
        for i, step in enumerate(decl.steps):
            last = i == len(decl.steps) - 1
            nxt = None if last else f"{decl.name}.{decl.steps[i + 1].name}"
            suffix = end if last else ()
            if i == 0:
                step_env = attrs.evolve(env, thread=ctx)
                setup: list[ir.Stmt] = [self._at_pc(thread, tkeys, _IDLE, decl.span)]
                for p in params:
                    if p.name not in key_names:
                        setup.append(self._store(f"{decl.name}.{p.name}", tkeys, p, p.span))
                for loc in decl.locals:
                    var = self.state[vars_[loc.name]]
                    value = _default_expr(var.value, loc.span) if loc.init is None else \
                        self.coerce(self.expr(loc.init, step_env, var.value), var.value,
                                    loc.init.span)
                    setup.append(self._store(var.name, tkeys, value, loc.span))
                body, acquire = self._step_start(step.body, ctx, step_env, None, thread)
                prefix = [*setup, *acquire]
                if nxt is not None:
                    prefix.append(self._set_pc(ctx, nxt, step.span))
                out.append(self._action(decl, decl.name, params, step_env, body, tuple(prefix),
                                        suffix, ir.ThreadStep(thread.name, key_names,
                                                              decl.name),
                                        step.doc or decl.doc))
                if step.name not in targets:
                    continue
            # A later step (or the first, when a goto comes back to it): the
            # thread's keys are its parameters, the rest is read from the state.
            member = f"{decl.name}.{step.name}"
            step_env = _Env(in_action=True)
            binds: list[ir.Stmt] = [self._at_pc(thread, tkeys, member, step.span)]
            for p in params:
                if p.name in key_names:
                    step_env = step_env.bind(p.name, p)
                else:
                    var = self.state[f"{decl.name}.{p.name}"]
                    local = ir.Local(self.fresh(p.name), p.sort, p.span)
                    binds.append(ir.Let(local, ir.StateRead(var.name, tkeys, var.value, p.span),
                                        p.span))
                    step_env = step_env.bind(p.name, local)
            step_env = attrs.evolve(step_env, thread=ctx)
            body, acquire = self._step_start(step.body, ctx, step_env, member, thread)
            prefix = [*binds, *acquire]
            if nxt is not None:
                prefix.append(self._set_pc(ctx, nxt, step.span))
            out.append(self._action(decl, member, list(keys), step_env, body, tuple(prefix),
                                    suffix, ir.ThreadStep(thread.name, key_names, decl.name,
                                                          step.name),
                                    step.doc or f"step {step.name} of {decl.name}",
                                    step.span))
        return out

    def _goto_targets(self, decl: ast.ActionDecl, step: str) -> bool:
        def visit(stmts: Iterable[ast.Stmt]) -> bool:
            for stmt in stmts:
                match stmt:
                    case ast.GotoStmt(step=target) if target == step:
                        return True
                    case ast.IfStmt(then=then, else_=else_):
                        if visit(then) or visit(else_):
                            return True
                    case ast.ForStmt(body=body) | ast.FailpointStmt(body=body):
                        if visit(body):
                            return True
            return False
        return any(visit(st.body) for st in decl.steps)

    def _at_pc(self, thread: ir.Thread, tkeys: tuple[ir.Expr, ...], member: str,
               span: ir.Span) -> ir.Require:
        assert thread.pc is not None
        var = self.state[thread.pc]
        assert isinstance(var.value, ir.EnumSort)
        read = ir.StateRead(thread.pc, tkeys, var.value, span)
        return ir.Require(ir.Binary("eq", read, ir.EnumLit(var.value, member, span), ir.BOOL,
                                    span), span)

    def _store(self, var: str, keys: tuple[ir.Expr, ...], value: ir.Expr,
               span: ir.Span) -> ir.Assign:
        sort = self.state[var].value
        return ir.Assign(ir.LValue(var, keys, (), sort, span), self.coerce(value, sort, span),
                         span)

    def _step_start(self, body: tuple[ast.Stmt, ...], ctx: _ThreadCtx, env: _Env,
                    member: str | None, thread: ir.Thread
                    ) -> tuple[tuple[ast.Stmt, ...], list[ir.Stmt]]:
        """A step's leading ``acquire``, as a guard and a store; where the
        thread can wait at it (``member``, its pc), the wait is recorded for
        the deadlock property."""
        if not body or not isinstance(body[0], ast.AcquireStmt):
            return body, []
        stmt = body[0]
        lock, _, exclusive, stmts = self._acquire(stmt, ctx, env)
        if member is not None:
            # The same keys over the thread's own parameters, for the property.
            assert thread.pc is not None
            wait_env = _Env(in_action=True)
            action = self.actions[ctx.operation]
            assert action.thread is not None
            names = [a.id for a in action.thread.args if isinstance(a, ast.Name)]
            own = dict(zip(names, thread.params, strict=True))
            for p in action.params:
                if p.name in own:
                    wait_env = wait_env.bind(p.name, own[p.name])
                else:
                    var = self.state[f"{ctx.operation}.{p.name}"]
                    wait_env = wait_env.bind(p.name, ir.StateRead(var.name, thread.params,
                                                                  var.value, p.span))
            wait_ctx = attrs.evolve(ctx, keys=thread.params)
            _, wkeys = self._lock(stmt.lock, attrs.evolve(wait_env, thread=wait_ctx))
            pc = self.state[thread.pc]
            assert isinstance(pc.value, ir.EnumSort)
            when = ir.Binary("eq", ir.StateRead(thread.pc, thread.params, pc.value, stmt.span),
                             ir.EnumLit(pc.value, member, stmt.span), ir.BOOL, stmt.span)
            self.thread_waits[thread.name].append(
                ir.LockWait(member, when, lock.name, wkeys, exclusive, stmt.span))
        return body[1:], stmts

    def _end_of_operation(self, decl: ast.ActionDecl, thread: ir.Thread,
                          tkeys: tuple[ir.Expr, ...]) -> list[ir.Stmt]:
        """The thread is idle again, its operation's state back to defaults,
        and it holds no lock."""
        out: list[ir.Stmt] = []
        span = decl.span
        if decl.steps:
            key_names = {a.id for a in decl.thread.args if isinstance(a, ast.Name)} \
                if decl.thread else set()
            names = [p.name for p in decl.params if p.name not in key_names] + \
                [loc.name for loc in decl.locals]
            for name in names:
                var = self.state[f"{decl.name}.{name}"]
                out.append(self._store(var.name, tkeys, _default_expr(var.value, span), span))
            ctx = _ThreadCtx(thread.name, tkeys, decl.name, (), {}, ())
            out.append(self._set_pc(ctx, _IDLE, span))
        if self.lock_ir:
            out.append(ir.Assert(_BALANCED, self._holds_none(thread.name, tkeys, span),
                                 _BALANCED_DOC, span))
        return out

    def _failpoint(self, stmt: ast.FailpointStmt, env: _Env, out: list[ir.Stmt]) -> None:
        """``if fail == NAME { error path; stop }``: the step fails here when
        its failure parameter names this failpoint."""
        if env.in_init:
            _fail("a failpoint belongs in an action: the init block cannot fail", stmt.span)
        if env.in_error_path:
            _fail("a failpoint inside an error path: a step fails once, at one failpoint, "
                  "and its error path then runs to the end of the step", stmt.span)
        symmetric = [s for s in env.loops if isinstance(s, ir.RangeSort) and s.symmetric]
        if symmetric:
            _fail(f"a failpoint inside a loop over the symmetric sort {symmetric[0]}: it would "
                  f"fail at whichever {symmetric[0]} comes first, and the values of a "
                  "symmetric sort have no order that means anything; put it outside the loop",
                  stmt.span)
        error_path = self.block(stmt.body, attrs.evolve(env, in_error_path=True))
        if self.failure is None:
            return  # a proc that nothing calls, checked on its own
        assert isinstance(self.failure.sort, ir.EnumSort)
        member = self.failure_members.pop(0)
        test = ir.Binary("eq", self.failure, ir.EnumLit(self.failure.sort, member, stmt.span),
                         ir.BOOL, stmt.span)
        # In a threaded operation a failure ends the operation, unless its
        # error path went to a step of its own (a goto stops first).
        end = env.thread.end if env.thread is not None else ()
        out.append(ir.If(test, (*error_path, *end, ir.Stop(stmt.span)), (), stmt.span))

    def call_proc(self, name: str, args: tuple[ast.Expr, ...], span: ir.Span, env: _Env,
                  out: list[ir.Stmt]) -> None:
        decl = self.procs.get(name)
        self.called.add(name)
        if decl is None:
            if name in self.defs:
                _fail(f"'{name}' is a def, which computes a value; a statement can only call "
                      "a proc", span)
            _fail(f"unknown proc '{name}'", span, _suggest(name, self.procs))
        if name in env.calls:
            _fail(f"proc '{name}' calls itself (through {' -> '.join(env.calls)}); procs are "
                  "expanded at each call, so they cannot recurse", span)
        if len(args) != len(decl.params):
            _fail(f"proc '{name}' takes {_arguments(len(decl.params))}, not {len(args)}", span)
        # The body sees its parameters, not the caller's names; where it is
        # (init, action, loops, an error path) it shares with the caller.
        inner = attrs.evolve(env, locals={}, calls=env.calls + (name,),
                             thread=attrs.evolve(env.thread, vars={}) if env.thread else None)
        for param, arg in zip(decl.params, args, strict=True):
            sort = self._sort(param.sort)
            value = self.coerce(self.expr(arg, env, sort), sort, arg.span)
            local = ir.Local(self.fresh(param.name), sort, arg.span)
            out.append(ir.Let(local, value, arg.span))
            inner = inner.bind(param.name, local)
        assert decl.body is not None
        if name in self.hooks:
            out.append(ir.HookEntry(name, span))
        out.extend(self.block(decl.body, inner))
        if name in self.hooks:
            out.append(ir.HookEntry(name, span, end=True))

    def lvalue(self, target: ast.LValue, env: _Env) -> ir.LValue:
        if target.name in env.locals:
            _fail(f"'{target.name}' is a local name (a parameter, let or loop variable); only "
                  "state variables can be assigned", target.span)
        thread_var = env.thread.vars.get(target.name) if env.thread is not None else None
        var = self.state.get(thread_var or target.name)
        if var is None or ("." in var.name and thread_var is None):
            _fail(f"unknown state variable '{target.name}'", target.span,
                  _suggest(target.name, self.vars))
        if thread_var is not None:
            assert env.thread is not None
            if target.keys:
                _fail(f"'{target.name}' is the thread's own var: it takes no index",
                      target.span)
            keys = env.thread.keys
        else:
            keys = self.keys(var, target.keys, target.span, env)
        sort: ir.Sort = var.value
        for field in target.path:
            record = _unopt(sort)
            if not isinstance(record, ir.RecordSort):
                _fail(f"{sort} has no fields; '.{field}' cannot be assigned", target.span)
            try:
                sort = record.field_sort(field)
            except KeyError:
                _fail(f"record {record.name} has no field '{field}'", target.span,
                      _suggest(field, [f for f, _ in record.fields]))
        return ir.LValue(var.name, keys, target.path, sort, target.span)

    def keys(self, var: ir.StateVar, args: tuple[ast.Expr, ...], span: ir.Span,
             env: _Env) -> tuple[ir.Expr, ...]:
        if len(args) != len(var.keys):
            if not var.keys:
                _fail(f"'{var.name}' is not a map; use it without an index", span)
            sorts = ", ".join(str(k) for k in var.keys)
            _fail(f"'{var.name}' is a map over ({sorts}): it takes {len(var.keys)} "
                  f"index{'es' if len(var.keys) > 1 else ''}, not {len(args)}", span)
        return tuple(self.coerce(self.expr(a, env, k), k, a.span)
                     for a, k in zip(args, var.keys, strict=True))

    def cond(self, expr: ast.Expr, env: _Env) -> ir.Expr:
        return self.coerce(self.expr(expr, env, ir.BOOL), ir.BOOL, expr.span)

    # ------------------------------------------------------------ coercion

    def coerce(self, expr: ir.Expr, target: ir.Sort, span: ir.Span) -> ir.Expr:
        """``expr`` as a value of ``target``, or a type error."""
        source = expr.sort
        if source == target:
            return expr
        if isinstance(expr, ir.NoneLit):
            if isinstance(target, ir.OptionSort):
                return ir.NoneLit(target, expr.span)
            _fail(f"none is not a value of {target}; only optional sorts ({target}?) have none",
                  span)
        if isinstance(expr, ir.SetLit) and not expr.elems and isinstance(target, ir.SetSort):
            return ir.SetLit(target, (), expr.span)
        if isinstance(target, ir.OptionSort):
            if isinstance(source, ir.OptionSort):
                return ir.Wrap(self.coerce(ir.Unwrap(expr, source.inner, span), target.inner,
                                           span), target, span)
            return ir.Wrap(self.coerce(expr, target.inner, span), target, span)
        if isinstance(source, ir.OptionSort):
            return self.coerce(ir.Unwrap(expr, source.inner, span), target, span)
        if isinstance(target, ir.RangeSort) and not target.symmetric and is_int_like(source):
            return ir.with_sort(expr, target) if isinstance(expr, ir.IntLit) else expr
        if isinstance(target, ir.RangeSort) and target.symmetric and isinstance(expr, ir.IntLit):
            # A literal id of a symmetric sort names one process among equals:
            # harmless when the initial state fixes who exists, wrong elsewhere.
            return ir.IntLit(expr.value, target, expr.span)
        if isinstance(target, ir.IntSort) and is_int_like(source):
            return expr
        _fail(f"expected {target}, found {source}", span)

    def _unify(self, a: ir.Expr, b: ir.Expr, span: ir.Span,
               what: str = "cannot compare {} with {}") -> tuple[ir.Expr, ir.Expr]:
        """Two operands of ``==``, ``!=`` or a conditional at one sort."""
        sa, sb = a.sort, b.sort
        if sa == sb:
            return a, b
        if isinstance(a, ir.NoneLit):
            target = sb if isinstance(sb, ir.OptionSort) else ir.OptionSort(sb)
            return ir.NoneLit(target, a.span), self.coerce(b, target, span)
        if isinstance(b, ir.NoneLit):
            target = sa if isinstance(sa, ir.OptionSort) else ir.OptionSort(sa)
            return self.coerce(a, target, span), ir.NoneLit(target, b.span)
        ua, ub = _unopt(sa), _unopt(sb)
        if is_int_like(ua) and is_int_like(ub):
            if isinstance(sa, ir.OptionSort) or isinstance(sb, ir.OptionSort):
                return a, b
            return a, b
        if ua == ub:
            target = ir.OptionSort(ua)
            return self.coerce(a, target, span), self.coerce(b, target, span)
        if isinstance(ua, ir.RangeSort) and ua.symmetric and isinstance(b, ir.IntLit):
            return a, self.coerce(b, ua, span)
        if isinstance(ub, ir.RangeSort) and ub.symmetric and isinstance(a, ir.IntLit):
            return self.coerce(a, ub, span), b
        if isinstance(ua, ir.SetSort) and isinstance(b, ir.SetLit) and not b.elems:
            return a, ir.SetLit(ua, (), b.span)
        _fail(what.format(sa, sb), span)

    # ------------------------------------------------------------ expressions

    def expr(self, expr: ast.Expr, env: _Env, expected: ir.Sort | None) -> ir.Expr:
        """Lowers ``expr``; ``expected`` only guides ``none``, ``{}`` and literals."""
        # Every stage after this one walks expressions recursively, so the
        # depth is bounded here, where the error can still point at the spec.
        if self.depth == 0:
            self.outermost = expr.span
        self.depth += 1
        try:
            if self.depth > MAX_EXPR_DEPTH:
                _fail(f"this expression nests more than {MAX_EXPR_DEPTH} levels deep (counting "
                      f"the defs it uses, which are expanded where they are used); split it, "
                      f"e.g. a long chain of 'and' into several requires", self.outermost)
            return self._expr(expr, env, expected)
        finally:
            self.depth -= 1

    def _expr(self, expr: ast.Expr, env: _Env, expected: ir.Sort | None) -> ir.Expr:
        match expr:
            case ast.IntLit(value=value):
                return ir.IntLit(value, ir.INT, expr.span)
            case ast.BoolLit(value=value):
                return ir.BoolLit(value, expr.span)
            case ast.NoneLit():
                target = expected if isinstance(expected, ir.OptionSort) else \
                    ir.OptionSort(expected or ir.INT)
                return ir.NoneLit(target, expr.span)  # type: ignore[arg-type]
            case ast.SetLit(elems=elems):
                return self._set_lit(expr, elems, env, expected)
            case ast.Name(id=name):
                return self._name(name, expr.span, env)
            case ast.Index(base=base, args=args):
                if not isinstance(base, ast.Name) or base.id not in self.state \
                        or base.id in env.locals:
                    what = base.id if isinstance(base, ast.Name) else "this expression"
                    _fail(f"only state maps can be indexed, and '{what}' is not one", base.span,
                          _suggest(what, self.state) if isinstance(base, ast.Name) else None)
                var = self.state[base.id]
                keys = self.keys(var, args, expr.span, env)
                return ir.StateRead(var.name, keys, var.value, expr.span)
            case ast.FieldAccess(base=base, name=name):
                lowered = self.expr(base, env, None)
                record = _unopt(lowered.sort)
                if not isinstance(record, ir.RecordSort):
                    _fail(f"{lowered.sort} has no fields, so '.{name}' means nothing here",
                          expr.span)
                try:
                    sort = record.field_sort(name)
                except KeyError:
                    _fail(f"record {record.name} has no field '{name}'", expr.span,
                          _suggest(name, [f for f, _ in record.fields]))
                return ir.Field(lowered, name, sort, expr.span)
            case ast.Call(func=func, args=args):
                return self._call(expr, func, args, env)
            case ast.RecordLit(record=name, fields=fields):
                named = self.sorts.get(name)
                if not isinstance(named, ir.RecordSort):
                    _fail(f"'{name}(field: value, ...)' builds a record, and {name} is not a "
                          "record", expr.span, _suggest(name, self.record_fields))
                return self._record(named, fields, None, env, expr.span)
            case ast.RecordWith(base=base, fields=fields):
                lowered = self.expr(base, env, None)
                record = _unopt(lowered.sort)
                if not isinstance(record, ir.RecordSort):
                    _fail(f"'with' updates a record, and this is {lowered.sort}", expr.span)
                return self._record(record, fields, lowered, env, expr.span)
            case ast.Unary(op="not", arg=arg):
                return ir.Unary("not", self.cond(arg, env), ir.BOOL, expr.span)
            case ast.Unary(op="neg", arg=arg):
                lowered = self._int(arg, env)
                return ir.Unary("neg", lowered, ir.INT, expr.span)
            case ast.Unary():
                raise AssertionError(expr.op)
            case ast.Binary(op=op, lhs=lhs, rhs=rhs):
                return self._binary(expr, op, lhs, rhs, env, expected)
            case ast.Chain(operands=operands, ops=ops):
                terms: list[ir.Expr] = []
                for i, operand in enumerate(operands):
                    # 'v in {1, 2}': the literal's elements take v's sort.
                    elem = _unopt(terms[-1].sort) if terms else None
                    want = ir.SetSort(elem) if elem is not None and ops[i - 1] == "in" \
                        and isinstance(operand, ast.SetLit) and ir.is_finite_scalar(elem) else None
                    terms.append(self.expr(operand, env, want))
                parts = [self._compare(op, a, b, expr.span)
                         for op, (a, b) in zip(ops, itertools.pairwise(terms), strict=True)]
                result = parts[0]
                for part in parts[1:]:
                    result = ir.Binary("and", result, part, ir.BOOL, expr.span)
                return result
            case ast.Ite(cond=cond, then=then, else_=else_):
                c = self.cond(cond, env)
                a = self.expr(then, env, expected)
                b = self.expr(else_, env, expected)
                if expected is not None and not isinstance(expected, ir.IntSort):
                    try:
                        a, b = self.coerce(a, expected, then.span), self.coerce(b, expected,
                                                                                else_.span)
                    except SpecError:
                        a, b = self._unify(a, b, expr.span, _BRANCHES)
                else:
                    a, b = self._unify(a, b, expr.span, _BRANCHES)
                sort = a.sort if a.sort == b.sort else ir.INT
                if sort == ir.INT:  # numbers of two sorts: an optional one is read as its value
                    a, b = (ir.Unwrap(x, _unopt(x.sort), x.span)
                            if isinstance(x.sort, ir.OptionSort) else x for x in (a, b))
                return ir.Ite(c, a, b, sort, expr.span)
            case ast.Quant(kind=kind, binders=binders, body=body):
                return self._quant(expr, kind, binders, body, env)
            case _:
                assert_never(expr)

    def _int(self, expr: ast.Expr, env: _Env) -> ir.Expr:
        lowered = self.expr(expr, env, ir.INT)
        sort = lowered.sort
        if isinstance(sort, ir.OptionSort) and is_int_like(sort.inner):
            return ir.Unwrap(lowered, sort.inner, expr.span)
        if not is_int_like(sort):
            if isinstance(sort, ir.RangeSort) and sort.symmetric:
                _fail(f"{sort} is a symmetric sort: its values are interchangeable ids, so "
                      "arithmetic and ordering on them are not allowed", expr.span)
            _fail(f"expected a number, found {sort}", expr.span)
        return lowered

    def _set_lit(self, expr: ast.SetLit, elems: tuple[ast.Expr, ...], env: _Env,
                 expected: ir.Sort | None) -> ir.Expr:
        if isinstance(expected, ir.SetSort):
            sort = expected
        elif elems:
            first = self.expr(elems[0], env, None)
            elem_sort = _unopt(first.sort)
            if not ir.is_finite_scalar(elem_sort):
                _fail(f"a set's elements must be of a finite sort, not {elem_sort}",
                      elems[0].span)
            sort = ir.SetSort(elem_sort)
        else:
            return ir.SetLit(ir.SetSort(ir.BOOL), (), expr.span)  # sort fixed by coerce
        lowered = tuple(self.coerce(self.expr(e, env, sort.elem), sort.elem, e.span)
                        for e in elems)
        return ir.SetLit(sort, lowered, expr.span)

    def _name(self, name: str, span: ir.Span, env: _Env) -> ir.Expr:
        if name in env.locals:
            local = env.locals[name]
            return attrs.evolve(local, span=span) if isinstance(local, ir.Local) else local
        if env.thread is not None and name in env.thread.vars:
            own = self.state[env.thread.vars[name]]
            return ir.StateRead(own.name, env.thread.keys, own.value, span)
        if name in self.consts:
            return ir.ConstRef(name, span)
        if name in self.enum_members:
            return ir.EnumLit(self.enum_members[name], name, span)
        var = self.state.get(name)
        if var is not None:
            if var.keys:
                sorts = ", ".join(str(k) for k in var.keys)
                keys = ", ".join(k.name if hasattr(k, "name") else str(k) for k in var.keys)
                _fail(f"'{name}' is a map over ({sorts}); index it, as in "
                      f"{name}[{keys.lower()}]",
                      span)
            return ir.StateRead(name, (), var.value, span)
        if name in self.defs:
            return self._call(ast.Call(name, (), span, span), name, (), env)
        if name in self.vars:
            # Only sort bounds are lowered before the state is: they cannot read it.
            _fail(f"a sort bound must be built from numbers and constants, and '{name}' is a "
                  "state variable", span)
        visible = ["true", "false", "none"] + list(env.locals) + list(self.consts) + \
            list(self.state) + list(self.enum_members) + list(self.defs)
        _fail(f"unknown name '{name}'", span, _suggest(name, visible))

    def _call(self, expr: ast.Call, func: str, args: tuple[ast.Expr, ...], env: _Env) -> ir.Expr:
        sort = self.sorts.get(func)
        if isinstance(sort, ir.RecordSort) and not args:
            return self._record(sort, (), None, env, expr.span)
        decl = self.defs.get(func)
        self.called.add(func)
        if decl is None and func in _THREAD_BUILTINS and (self.threads or self.locks):
            return self._thread_builtin(expr, func, args, env)
        if decl is None:
            if func in self.procs:
                _fail(f"'{func}' is a proc, which changes the state; only a def can be used "
                      "in an expression", expr.func_span)
            _fail(f"unknown function '{func}'", expr.func_span, _suggest(func, self.defs))
        if func in env.calls:
            _fail(f"def '{func}' calls itself (through {' -> '.join(env.calls)}); defs are "
                  "expanded at each use, so they cannot recurse", expr.func_span)
        if len(args) != len(decl.params):
            _fail(f"def '{func}' takes {_arguments(len(decl.params))}, not {len(args)}",
                  expr.span)
        inner = _Env(in_init=env.in_init, in_action=env.in_action, calls=env.calls + (func,))
        for param, arg in zip(decl.params, args, strict=True):
            psort = self._sort(param.sort)
            inner = inner.bind(param.name, self.coerce(self.expr(arg, env, psort), psort,
                                                       arg.span))
        result_sort = self._sort(decl.sort)
        assert decl.body is not None
        value = self.coerce(self.expr(decl.body, inner, result_sort), result_sort, decl.body.span)
        if func in self.hooks:
            # Kept apart so that coverage can count how often the hook runs.
            return ir.HookValue(func, value, value.sort, value.span)
        return value

    def _thread_builtin(self, expr: ast.Call, func: str, args: tuple[ast.Expr, ...],
                        env: _Env) -> ir.Expr:
        """``holds(T(k), L[j])``, ``locked(L[j])``, ``at(T(k), op.step)`` and
        ``running(T(k), op)``: what properties say of threads and locks."""
        want = {"holds": 2, "locked": 1, "at": 2, "running": 2}[func]
        if len(args) != want:
            _fail(f"{func}(...) takes {_arguments(want)}, not {len(args)}: "
                  f"{_THREAD_BUILTINS[func]}", expr.span)
        span = expr.span
        if func == "locked":
            lock, lkeys = self._lock(self._lock_ref(args[0]), env)
            return ir.Unary("not", self._nobody(lock, lkeys, True, span), ir.BOOL, span)
        thread, tkeys = self._thread_ref(args[0], env)
        if func == "holds":
            lock, lkeys = self._lock(self._lock_ref(args[1]), env)
            return self._hold_is(self._hold(lock, thread.name, lkeys, tkeys, span), "unheld",
                                 "ne")
        where = args[1]
        op, step = (where.base, where.name) if isinstance(where, ast.FieldAccess) \
            else (where, None)
        decl = self.actions.get(op.id) if isinstance(op, ast.Name) else None
        if decl is None or decl.thread is None or decl.thread.thread != thread.name:
            _fail(f"{func}'s second argument is an operation of thread {thread.name}"
                  f"{' and one of its steps (op.step)' if func == 'at' else ''}", where.span,
                  _suggest(op.id, [d.name for d in self.actions.values()
                                   if d.thread is not None]) if isinstance(op, ast.Name)
                  else None)
        steps = [st.name for st in decl.steps]
        if func == "at" and step is None:
            _fail(f"at(thread, op.step) names a step: one of {', '.join(steps) or 'none'}",
                  where.span)
        if func == "running" and step is not None:
            _fail("running(thread, op) names an operation, not a step; at(thread, op.step) "
                  "says which step is next", where.span)
        if step is not None and step not in steps:
            _fail(f"operation {decl.name} has no step {step}", where.span, _suggest(step, steps))
        if thread.pc is None:
            return ir.BoolLit(False, span)  # every operation of this thread is one step
        pc = self.state[thread.pc]
        assert isinstance(pc.value, ir.EnumSort)
        members = [f"{decl.name}.{step}"] if step is not None else \
            [m for m in pc.value.members if m.startswith(f"{decl.name}.")]
        read = ir.StateRead(thread.pc, tkeys, pc.value, span)
        tests: list[ir.Expr] = [ir.Binary("eq", read, ir.EnumLit(pc.value, m, span), ir.BOOL,
                                          span) for m in members]
        return fold_bool("or", tests, span)

    def _lock_ref(self, expr: ast.Expr) -> ast.LockRef:
        match expr:
            case ast.Name(id=name) if name in self.lock_ir:
                return ast.LockRef(name, (), expr.span)
            case ast.Index(base=ast.Name(id=name), args=args) if name in self.lock_ir:
                return ast.LockRef(name, tuple(args), expr.span)
        _fail("a lock here: a lock's name, with its indexes (mmap_lock[p])", expr.span,
              _suggest(expr.id, self.lock_ir) if isinstance(expr, ast.Name) else None)

    def _thread_ref(self, expr: ast.Expr, env: _Env) -> tuple[ir.Thread, tuple[ir.Expr, ...]]:
        if not isinstance(expr, ast.Call) or expr.func not in self.thread_ir:
            _fail("a thread here: a thread's name with its parameters (walker(w))", expr.span,
                  _suggest(expr.func, self.thread_ir) if isinstance(expr, ast.Call) else None)
        thread = self.thread_ir[expr.func]
        if len(expr.args) != len(thread.params):
            _fail(f"thread {thread.name} takes {_arguments(len(thread.params))}, not "
                  f"{len(expr.args)}", expr.span)
        return thread, tuple(self.coerce(self.expr(a, env, p.sort), p.sort, a.span)
                             for a, p in zip(expr.args, thread.params, strict=True))

    def _record(self, sort: ir.RecordSort, fields: tuple[tuple[str, ast.Expr, ir.Span], ...],
                base: ir.Expr | None, env: _Env, span: ir.Span) -> ir.Expr:
        given: dict[str, ir.Expr] = {}
        names = [f for f, _ in sort.fields]
        for fname, value, fspan in fields:
            if fname not in names:
                _fail(f"record {sort.name} has no field '{fname}'", fspan, _suggest(fname, names))
            if fname in given:
                _fail(f"field '{fname}' is given twice", fspan)
            fsort = sort.field_sort(fname)
            given[fname] = self.coerce(self.expr(value, env, fsort), fsort, value.span)
        out = []
        for fname, fsort in sort.fields:
            if fname in given:
                out.append((fname, given[fname]))
            elif base is not None:
                out.append((fname, ir.Field(base, fname, fsort, span)))
            else:
                out.append((fname, _default_expr(fsort, span)))
        return ir.RecordLit(sort, tuple(out), span)

    def _compare(self, op: str, a: ir.Expr, b: ir.Expr, span: ir.Span) -> ir.Expr:
        if op == "in":
            if not isinstance(b.sort, ir.SetSort):
                _fail(f"'in' tests membership of a set, and the right side is {b.sort}", span)
            return ir.Binary("in", self.coerce(a, b.sort.elem, span), b, ir.BOOL, span)
        if op in ("==", "!="):
            a, b = self._unify(a, b, span)
            return ir.Binary(_CMP[op], a, b, ir.BOOL, span)  # type: ignore[arg-type]
        for side in (a, b):
            sort = _unopt(side.sort)
            if not is_int_like(sort):
                if isinstance(sort, ir.RangeSort) and sort.symmetric:
                    _fail(f"{sort} is a symmetric sort: its values are interchangeable ids, so "
                          "they cannot be ordered", span)
                _fail(f"'{op}' compares numbers, and this side is {side.sort}", side.span)
        a = ir.Unwrap(a, _unopt(a.sort), span) if isinstance(a.sort, ir.OptionSort) else a
        b = ir.Unwrap(b, _unopt(b.sort), span) if isinstance(b.sort, ir.OptionSort) else b
        return ir.Binary(_CMP[op], a, b, ir.BOOL, span)  # type: ignore[arg-type]

    def _binary(self, expr: ast.Binary, op: str, lhs: ast.Expr, rhs: ast.Expr, env: _Env,
                expected: ir.Sort | None) -> ir.Expr:
        if op in _LOGIC:
            return ir.Binary(_LOGIC[op], self.cond(lhs, env),  # type: ignore[arg-type]
                             self.cond(rhs, env), ir.BOOL, expr.span)
        a = self.expr(lhs, env, expected if isinstance(expected, ir.SetSort) else None)
        if isinstance(a.sort, ir.SetSort) and op in _SETOPS:
            b = self.coerce(self.expr(rhs, env, a.sort), a.sort, rhs.span)
            return ir.Binary(_SETOPS[op], a, b, a.sort, expr.span)  # type: ignore[arg-type]
        if op in ("|", "&"):
            _fail(f"'{op}' combines sets, and the left side is {a.sort}", lhs.span)
        a = self._int(lhs, env) if not is_int_like(a.sort) else a
        b = self._int(rhs, env)
        return ir.Binary(_ARITH[op], a, b, ir.INT, expr.span)  # type: ignore[arg-type]

    def _quant(self, expr: ast.Quant, kind: str, binders: tuple[ast.Binder, ...], body: ast.Expr,
               env: _Env) -> ir.Expr:
        if kind == "choose" and len(binders) != 1:
            _fail("choose picks one value: 'choose x: Sort. condition'", expr.span)
        locals_ = []
        names: set[str] = set()
        for binder in binders:
            if binder.name in names:
                _fail(f"'{binder.name}' is bound twice in one quantifier", binder.span)
            names.add(binder.name)
            local = ir.Local(self.fresh(binder.name),
                             self._finite_sort(binder.sort, binder.span), binder.span)
            locals_.append(local)
            env = env.bind(binder.name, local)
        lowered = self.cond(body, env)
        sort: ir.Sort
        if kind in ("forall", "exists"):
            sort = ir.BOOL
        elif kind == "count":
            sort = ir.INT
        else:
            sort = ir.OptionSort(locals_[0].sort)
        return ir.Quant(kind, tuple(locals_), lowered, sort, expr.span)  # type: ignore[arg-type]


_THREAD_BUILTINS = {
    "holds": "holds(THREAD(keys), LOCK[keys]) says whether the thread holds the lock",
    "locked": "locked(LOCK[keys]) says whether any thread holds the lock",
    "at": "at(THREAD(keys), op.step) says whether the thread's next step is op.step",
    "running": "running(THREAD(keys), op) says whether the thread is inside op, between "
               "two of its steps",
}


def _default_expr(sort: ir.Sort, span: ir.Span) -> ir.Expr:
    """The default value of a record field left out of a literal."""
    match sort:
        case ir.BoolSort():
            return ir.BoolLit(False, span)
        case ir.IntSort():
            return ir.IntLit(0, sort, span)
        case ir.RangeSort():
            # The lowest value, unless 0 is in range: instance.default agrees.
            return _RangeDefault(sort, span)  # type: ignore[return-value]
        case ir.EnumSort(members=members):
            return ir.EnumLit(sort, members[0], span)
        case ir.OptionSort():
            return ir.NoneLit(sort, span)
        case ir.RecordSort(fields=fields):
            return ir.RecordLit(sort, tuple((n, _default_expr(s, span)) for n, s in fields), span)
        case ir.SetSort():
            return ir.SetLit(sort, (), span)
    assert_never(sort)


def _RangeDefault(sort: ir.RangeSort, span: ir.Span) -> ir.Expr:
    """``if lo <= 0 <= hi then 0 else lo``, folded when the bounds are literals."""
    lo, hi = sort.lo, sort.hi
    if isinstance(lo, ir.IntLit) and isinstance(hi, ir.IntLit):
        value = 0 if lo.value <= 0 <= hi.value else lo.value
        return ir.IntLit(value, sort, span)
    zero = ir.IntLit(0, ir.INT, span)
    in_range = ir.Binary("and", ir.Binary("le", lo, zero, ir.BOOL, span),
                         ir.Binary("le", zero, hi, ir.BOOL, span), ir.BOOL, span)
    return ir.Ite(in_range, ir.IntLit(0, sort, span), lo, sort, span)


def _walk_expr(expr: ir.Expr) -> Iterable[ir.Expr]:
    yield expr
    for field in attrs.fields(type(expr)):
        value = getattr(expr, field.name)
        if field.name in ("sort", "span"):
            continue
        if isinstance(value, tuple):
            for item in value:
                if isinstance(item, tuple):
                    for sub in item:
                        if hasattr(sub, "sort") and hasattr(sub, "span"):
                            yield from _walk_expr(sub)
                elif hasattr(item, "sort") and hasattr(item, "span") and \
                        not isinstance(item, ir.Local):
                    yield from _walk_expr(item)
        elif hasattr(value, "sort") and hasattr(value, "span"):
            yield from _walk_expr(value)
