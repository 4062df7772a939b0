"""A spec and the modules it uses, read as the editor has them, then checked.

``frontend.load_model`` reads every module from disk, but an editor's buffers
run ahead of the disk, and a design should be checked against the unsaved
edit of its library too. So the modules are loaded here the way
``frontend.check`` loads them (the same search through
``resolve_spec_path``, the same messages), taking a module's text from the
open buffers first, and every module that parsed is kept even when a later one
fails, so that hover and go-to-definition still work on a spec with a
mistake in it. The checker and ``Instance`` then do exactly what
``rmapcheck check`` does.

A library is not a model (``rmapcheck check vm.spec`` says so and stops), yet
its author wants its bodies checked while editing it. A library buffer is
therefore checked as a design would be that gives every hook without a body
(its own and those of the libraries it uses) a placeholder body; every other
rule applies unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import attrs
from attrs import frozen

from rmapcheck.errors import SpecError
from rmapcheck.frontend import ast
from rmapcheck.frontend.check import resolve_spec_path
from rmapcheck.frontend.parser import parse_text
from rmapcheck.ir import Span


@frozen
class LoadedModule:
    path: Path | None  # None: a buffer that is not a file (an editor's "untitled")
    display: str  # the file name the front end's spans and messages carry
    text: str
    spec: ast.SpecFile
    uses: tuple[tuple[ast.Use, Path], ...]  # each `use` of this module and the file it found


@frozen
class Problem:
    """The first error the front end found (it stops at the first)."""

    message: str
    span: Span | None
    note: str | None = None
    internal: bool = False  # a bug in rmapcheck, not a mistake in the spec


@frozen
class Analysis:
    top: str  # the display name of the checked buffer
    text: str  # the buffer's text, as checked
    modules: tuple[LoadedModule, ...]  # those that parsed, a module after those it uses
    problem: Problem | None
    # Every module read, parsed or not, by display name: its file and text.
    texts: Mapping[str, tuple[Path | None, str]] = attrs.field(factory=dict)

    def module(self, display: str) -> LoadedModule | None:
        return next((m for m in self.modules if m.display == display), None)

    def use_leading_to(self, display: str) -> ast.Use | None:
        """The ``use`` of the top module through which module ``display`` was
        loaded: where the buffer shows an error found in that module."""
        by_path = {m.path.resolve(): m for m in self.modules if m.path is not None}
        top = self.top_module
        if top is None:
            return None
        for use, path in top.uses:
            seen: set[Path] = set()
            todo = [path.resolve()]
            while todo:
                here = todo.pop()
                if here in seen:
                    continue
                seen.add(here)
                if display_path(here) == display:  # parsed or not: a syntax error is in it
                    return use
                module = by_path.get(here)
                if module is not None:
                    todo.extend(p.resolve() for _, p in module.uses)
        return None

    @property
    def top_module(self) -> LoadedModule | None:
        return self.module(self.top)


def display_path(path: Path) -> str:
    """As ``rmapcheck check`` names a file in its messages: relative to the
    working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def analyse(top: Path | None, name: str, text: str,
            buffers: Mapping[Path, str] | None = None) -> Analysis:
    """Checks ``text``, the content of the file ``top`` (or of an unsaved
    buffer called ``name`` when ``top`` is None). ``buffers`` holds the open
    buffers' texts by resolved path; they win over the files on disk.

    Never raises: an exception that is not a ``SpecError`` is a bug of
    rmapcheck, and becomes a problem that says so.
    """
    display = display_path(top) if top is not None else name
    loader = _Loader({p.resolve(): t for p, t in (buffers or {}).items()})
    try:
        loader.load(top, display, text)
        problem = _check(loader.modules)
    except SpecError as err:
        problem = Problem(err.message, err.span, err.note)
    except RecursionError:
        problem = Problem("the spec is nested too deeply for rmapcheck to check", None,
                          internal=True)
    except Exception as err:  # noqa: BLE001 - an editor must get a diagnostic, not a dead server
        problem = Problem(f"rmapcheck internal error: {type(err).__name__}: {err}", None,
                          internal=True)
    return Analysis(display, text, tuple(loader.modules), problem, loader.texts)


class _Loader:
    """``frontend.check._load_modules`` with buffers: dependencies first,
    each module once, a cycle of ``use`` an error."""

    def __init__(self, buffers: Mapping[Path, str]) -> None:
        self.buffers = buffers
        self.modules: list[LoadedModule] = []
        self.texts: dict[str, tuple[Path | None, str]] = {}
        self._loaded: set[Path] = set()
        self._loading: list[Path] = []

    def load(self, top: Path | None, display: str, text: str) -> None:
        if top is None:
            self._visit_text(None, display, text)
        else:
            self._visit(top, None, text)

    def _visit(self, path: Path, used_at: Span | None, text: str | None = None) -> None:
        real = path.resolve()
        if real in self._loaded:
            return
        if real in self._loading:
            cycle = " -> ".join(p.stem for p in self._loading)
            raise SpecError(f"'use' makes a cycle: {cycle} -> {path.stem}", used_at)
        if text is None:
            text = self.buffers.get(real)
        if text is None:
            try:
                text = path.read_bytes().decode("utf-8")
            except OSError as err:
                raise SpecError(f"cannot read {path}: {err.strerror}", used_at) from None
            except UnicodeDecodeError:
                raise SpecError(f"{display_path(path)} is not UTF-8 text (specs are read as "
                                "UTF-8)", used_at) from None
        self._loading.append(real)
        self._visit_text(path, display_path(path), text)
        self._loading.pop()
        self._loaded.add(real)

    def _visit_text(self, path: Path | None, display: str, text: str) -> None:
        self.texts[display] = (path, text)
        spec = parse_text(text, display)
        uses = []
        try:
            for item in spec.items:
                if isinstance(item, ast.Use):
                    try:
                        dep = resolve_spec_path(item.module,
                                                path.parent if path is not None else None)
                    except SpecError as err:
                        raise SpecError(f"'use {item.module}': {err.message}", item.span) from None
                    uses.append((item, dep))
                    self._visit(dep, item.span)
        finally:
            # Kept even when a used module fails: its names still resolve.
            self.modules.append(LoadedModule(path, display, text, spec, tuple(uses)))


def _check(modules: list[LoadedModule]) -> Problem | None:
    # The checker is the one ``load_model`` runs; the front end offers no
    # public way to run it on modules that were not read from disk.
    from rmapcheck.frontend.check import _Checker
    from rmapcheck.instance import Instance

    specs = [m.spec for m in modules]
    if specs[-1].is_library:
        specs = [_hooks_filled(spec, specs) for spec in specs]
        if not any(isinstance(i, ast.ActionDecl) for s in specs for i in s.items):
            # a model needs an action, a library of types and helpers need not have one
            idle = ast.ActionDecl(None, "__library__", (), "", (), specs[-1].span)
            specs[-1] = attrs.evolve(specs[-1], items=specs[-1].items + (idle,))
        specs[-1] = attrs.evolve(specs[-1], is_library=False)
    model = _Checker(specs).model()
    Instance(model, {})  # `rmapcheck check` fixes the bounds too: a sort may be too large
    return None


def _hooks_filled(spec: ast.SpecFile, specs: list[ast.SpecFile]) -> ast.SpecFile:
    """``spec`` with a placeholder body in each hook that has none, so that
    the checker takes them as defined (a later definition still replaces it)."""
    items: list[ast.Decl] = []
    for item in spec.items:
        if isinstance(item, ast.DefDecl) and item.modifier == "hook" and item.body is None:
            items.append(attrs.evolve(item, body=_placeholder(item.sort, item.span, specs)))
        elif isinstance(item, ast.ProcDecl) and item.modifier == "hook" and item.body is None:
            items.append(attrs.evolve(item, body=()))
        else:
            items.append(item)
    return attrs.evolve(spec, items=tuple(items))


def _placeholder(sort: ast.SortRef, span: Span, specs: list[ast.SpecFile]) -> ast.Expr:
    """A value of ``sort``: never run, only there so that the checker sees a body."""
    if sort.is_set:
        return ast.SetLit((), span)
    if sort.optional:
        return ast.NoneLit(span)
    if sort.name == "Bool":
        return ast.BoolLit(False, span)
    for spec in specs:
        for item in spec.items:
            if isinstance(item, ast.EnumType) and item.name == sort.name and item.members:
                return ast.Name(item.members[0], span)
            if isinstance(item, ast.RecordDecl) and item.name == sort.name:
                return ast.RecordLit(item.name, (), span)
    # Int and ranges (symmetric ones too, which accept a literal id); an
    # unknown sort is reported at the sort itself before the body is looked at.
    return ast.IntLit(0, span)
