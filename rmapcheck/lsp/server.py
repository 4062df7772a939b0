"""The language server: diagnostics, hover and go-to-definition for ``.spec``
files, over stdio (``python -m rmapcheck.lsp``, or ``rmapcheck-lsp``).

Every buffer is checked by ``module_loader.analyse`` (the real front end, with
unsaved buffers taking the place of their files) when it is opened or saved,
and shortly after it stops changing; the front end stops at the first error,
so a buffer has at most one diagnostic. When a buffer changes, the other open
buffers that use it are checked again, since an edit of a library can break a
design. Hover and go-to-definition answer from the last check of the buffer
whose text parsed, so they keep working while a half-typed line does not.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path, uri_scheme

from rmapcheck import __version__
from rmapcheck.ir import Span
from rmapcheck.lsp.module_loader import Analysis, analyse
from rmapcheck.lsp.name_index import Entry, Found, NameIndex, Site
from rmapcheck.lsp.spec_tokens import SourceText

# How long a buffer must stay unchanged before it is checked: a check takes a
# tenth of a second or two, about the time between two keystrokes.
CHANGE_DELAY = 0.2

log = logging.getLogger(__name__)


def file_path(uri: str) -> Path | None:
    """The file behind a ``file:`` URI; None for an editor's unsaved buffer."""
    if uri_scheme(uri) != "file":
        return None
    path = to_fs_path(uri)
    return Path(path) if path else None


def file_uri(path: Path) -> str:
    return path.resolve().as_uri()


class SpecLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("rmapcheck", __version__)
        self.analyses: dict[str, Analysis] = {}  # by URI: the last check of each open buffer
        self.indexes: dict[str, NameIndex] = {}  # by URI: of the last check whose buffer parsed
        self._waiting: dict[str, asyncio.TimerHandle] = {}

    # ------------------------------------------------------------ checking

    def buffers(self) -> dict[Path, str]:
        out = {}
        for uri, document in self.workspace.text_documents.items():
            path = file_path(uri)
            if path is not None:
                out[path] = document.source
        return out

    def check(self, uri: str, dependents: bool = True) -> None:
        waiting = self._waiting.pop(uri, None)
        if waiting is not None:  # a save or an open overtook the change's timer
            waiting.cancel()
        document = self.workspace.text_documents.get(uri)
        if document is None:
            return
        try:
            analysis = analyse(file_path(uri), uri, document.source, self.buffers())
            self.analyses[uri] = analysis
            if analysis.top_module is not None:
                self.indexes[uri] = NameIndex(analysis)
            found = diagnostics(analysis, uri, self.encoding)
        except Exception as err:  # a bug must not take the editor's server down
            log.exception("checking %s", uri)
            found = [types.Diagnostic(types.Range(types.Position(0, 0), types.Position(0, 0)),
                                      f"rmapcheck internal error: {type(err).__name__}: {err}",
                                      severity=types.DiagnosticSeverity.Error,
                                      source="rmapcheck")]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=found,
                                           version=document.version))
        if dependents:
            self.check_dependents(uri)

    def check_dependents(self, uri: str) -> None:
        changed = file_path(uri)
        if changed is None:
            return
        real = changed.resolve()
        for other, analysis in list(self.analyses.items()):
            # every module the last check read, also one that did not parse
            if other != uri and other in self.workspace.text_documents and any(
                    path is not None and path.resolve() == real
                    for display, (path, _) in analysis.texts.items() if display != analysis.top):
                self.check(other, dependents=False)

    def forget(self, uri: str) -> None:
        waiting = self._waiting.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        self.analyses.pop(uri, None)
        self.indexes.pop(uri, None)

    def check_soon(self, uri: str) -> None:
        waiting = self._waiting.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not under the event loop (a direct call): check at once
            self.check(uri)
            return
        self._waiting[uri] = loop.call_later(CHANGE_DELAY, self.check, uri)

    @property
    def encoding(self) -> str:
        """How the client counts columns, as agreed at initialization."""
        kind = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        # str() of the enum is its name, not its value
        return kind.value if isinstance(kind, types.PositionEncodingKind) else str(kind)

    # ------------------------------------------------------------ names

    def lookup(self, uri: str, position: types.Position) -> tuple[NameIndex, Found] | None:
        index = self.indexes.get(uri)
        document = self.workspace.text_documents.get(uri)
        if index is None or document is None:
            return None
        source = SourceText(document.source)
        offset = from_client(source, position, self.encoding)
        found = index.lookup(index.analysis.top, document.source, offset)
        return (index, found) if found is not None else None


def diagnostics(analysis: Analysis, uri: str, encoding: str) -> list[types.Diagnostic]:
    problem = analysis.problem
    if problem is None:
        return []
    message = problem.message + (f"\nnote: {problem.note}" if problem.note else "")
    source = SourceText(analysis.text)
    span = problem.span
    related = None
    if span is None or span.line <= 0:
        top = analysis.top_module
        span = top.spec.header_span if top is not None else None
    elif span.file != analysis.top:
        # An error in a used module: shown on the `use` that brought it in,
        # with the place itself as related information.
        path, text = analysis.texts.get(span.file, (None, ""))
        if path is not None:
            related = [types.DiagnosticRelatedInformation(
                types.Location(file_uri(path), span_range(SourceText(text), span, encoding)),
                problem.message)]
        message = f"{span.file}:{span.line}:{span.col}: {message}"
        use = analysis.use_leading_to(span.file)
        span = use.span if use is not None else None
    where = span_range(source, span, encoding) if span is not None and span.line > 0 \
        else types.Range(types.Position(0, 0), types.Position(0, 0))
    return [types.Diagnostic(where, message, severity=types.DiagnosticSeverity.Error,
                             source="rmapcheck", related_information=related)]


def _units(text: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _line_text(source: SourceText, line: int) -> str:
    start = source.line_starts[line]
    end = source.line_starts[line + 1] - 1 if line + 1 < len(source.line_starts) \
        else len(source.text)
    return source.text[start:end]


def to_client(source: SourceText, offset: int, encoding: str) -> types.Position:
    line, col = source.position(offset)
    return types.Position(line, _units(_line_text(source, line)[:col], encoding))


def from_client(source: SourceText, position: types.Position, encoding: str) -> int:
    if position.line >= len(source.line_starts):
        return len(source.text)
    text = _line_text(source, position.line)
    units = col = 0
    while col < len(text) and units < position.character:
        units += _units(text[col], encoding)
        col += 1
    return source.offset(position.line, col)


def span_range(source: SourceText, span: Span, encoding: str) -> types.Range:
    """A front-end span as an LSP range. A span over several lines (a whole
    declaration) is cut to the rest of its first line, as the command line
    points at its start: an underlined action body says nothing more."""
    start = source.span_start(span)
    end = source.span_end(span)
    line, col = source.position(start)
    line_end = start - col + len(_line_text(source, line))
    if end <= start:  # a point: its character, as the command line's one caret
        end = min(start + 1, line_end)
    elif end > line_end:
        end = start + len(source.text[start:line_end].rstrip())
    return types.Range(to_client(source, start, encoding), to_client(source, end, encoding))


def site_location(index: NameIndex, site: Site, uri: str, encoding: str) -> types.Location:
    source = index.sources[site.display]
    start = source.offset(site.line, site.start)
    end = source.offset(site.line, site.end)
    target = file_uri(site.path) if site.path is not None else uri
    return types.Location(target, types.Range(to_client(source, start, encoding),
                                              to_client(source, end, encoding)))


def hover_text(entries: tuple[Entry, ...]) -> str:
    """The first declaration's signature and doc, then where every declaration
    is: a hook's definition in the design and its overrides follow the hook."""
    first = entries[0]
    # An override changes what the name is (a constant's default, a rule of
    # the design): its signature goes with the original's.
    signatures = [first.signature] + [e.signature for e in entries[1:]
                                      if e.kind.startswith("override ")]
    parts = ["```rmapspec\n" + "\n".join(signatures) + "\n```"]
    doc = first.doc or next((e.doc for e in entries[1:] if e.doc), "")
    if doc:
        parts.append(doc)
    parts.append("; ".join(f"{e.kind} at `{e.site.display}:{e.site.line + 1}`" for e in entries))
    return "\n\n".join(parts)


def build_server() -> SpecLanguageServer:
    server = SpecLanguageServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SpecLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SpecLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.check_soon(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SpecLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SpecLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.forget(uri)
        # A closed buffer's file is what designs use now; its problems go with it.
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))
        ls.check_dependents(uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: SpecLanguageServer, params: types.HoverParams) -> types.Hover | None:
        try:
            looked = ls.lookup(params.text_document.uri, params.position)
            if looked is None:
                return None
            _, found = looked
            document = ls.workspace.text_documents[params.text_document.uri]
            source = SourceText(document.source)
            where = types.Range(to_client(source, found.token.start, ls.encoding),
                                to_client(source, found.token.end, ls.encoding))
            return types.Hover(types.MarkupContent(types.MarkupKind.Markdown,
                                                   hover_text(found.entries)), where)
        except Exception:  # no hover is better than a dead server
            log.exception("hover")
            return None

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: SpecLanguageServer, params: types.DefinitionParams
                   ) -> list[types.Location] | None:
        try:
            looked = ls.lookup(params.text_document.uri, params.position)
            if looked is None:
                return None
            index, found = looked
            return [site_location(index, e.site, params.text_document.uri, ls.encoding)
                    for e in found.entries]
        except Exception:  # no answer is better than a dead server
            log.exception("definition")
            return None

    return server


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    build_server().start_io()
    return 0
