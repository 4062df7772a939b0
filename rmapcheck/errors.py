"""Errors a user can cause, and the exit codes of the command line.

A ``SpecError`` is one sentence about the spec (or the command line) with the
place it concerns; ``render`` turns it into ``file:line:col: error: ...``
followed by the source line and a caret, which is all a user ever sees of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from attrs import frozen

if TYPE_CHECKING:
    from rmapcheck.ir import Span

# Exit codes follow TLC and Apalache where they have one.
EXIT_OK = 0  # no property violated (holds to the stated bound, or proved)
# replay: a step of the trace is not allowed by the spec (TLC's 11 is a state
# with no step at all: both say the behaviour cannot go on)
EXIT_BLOCKED = 11
EXIT_VIOLATED = 12  # a property is violated; the counterexample was printed
EXIT_INCONCLUSIVE = 13  # a limit was reached, or Z3 answered unknown: no verdict
EXIT_INTERRUPTED = 130  # Ctrl-C: what was covered so far was printed
EXIT_SPEC_ERROR = 150  # the spec or the command line is wrong (syntax, names, types, bounds)
EXIT_INTERNAL = 255  # a bug in rmapcheck (an engine disagreed with the reference machine)


class SpecError(Exception):
    """A problem in the spec or the command line, with the place it concerns."""

    def __init__(self, message: str, span: Span | None, note: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.note = note

    def render(self, source: str | None = None) -> str:
        return render_message("error", self.message, self.span, source, self.note)


class SpecRuntimeError(SpecError):
    """The spec did something undefined while it ran (read a field of ``none``,
    stored a value outside its sort); the engines report it with the trace
    that led there."""


class InternalError(Exception):
    """rmapcheck contradicted itself: a bug to report, never the user's fault."""


_SOURCES: dict[str, str] = {}


def remember_source(path: str, text: str) -> None:
    """Keeps spec text so that later errors can quote the offending line."""
    _SOURCES[path] = text


def source_line(span: Span) -> str | None:
    text = _SOURCES.get(span.file)
    if text is None:
        try:
            text = Path(span.file).read_text()
        except OSError:
            return None
    lines = text.splitlines()
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1]
    return None


@frozen
class TextKind:
    """What a file the user names is meant to be, as its errors say it:
    ``name`` ("a spec"), ``file`` ("a spec file"), ``read_as`` ("specs are
    read as UTF-8")."""

    name: str
    file: str
    read_as: str


def read_user_text(path: Path, shown: str, kind: TextKind, used_at: Span | None = None) -> str:
    """The text of a file the user named, shown as ``shown``; else one
    SpecError: a directory, a file that cannot be read (both at ``used_at``),
    a binary file (a NUL byte), or one that is not UTF-8 (at its first
    undecodable byte, whose line is kept so that the error can quote it)."""
    if path.is_dir():
        raise SpecError(f"{shown} is a directory, not {kind.file}", used_at)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SpecError(f"cannot read {shown}: {err.strerror}", used_at) from None
    remember_source(shown, data.decode("utf-8", "replace"))
    nul = data.find(b"\0")
    if nul >= 0:
        where = _byte_span(shown, data, nul)
        # No span: quoting a line of a binary file would only garble the terminal.
        raise SpecError(f"{shown} is a binary file, not {kind.name} (a NUL byte at line "
                        f"{where.line}, column {where.col})", None)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"{shown} is not UTF-8 text: byte 0x{data[err.start]:02x} cannot be "
                        f"decoded ({kind.read_as})", _byte_span(shown, data, err.start)) from None


def _byte_span(shown: str, data: bytes, offset: int) -> Span:
    """The line and column (in characters) of byte ``offset`` of ``data``."""
    from rmapcheck.ir import Span

    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[start:offset].decode("utf-8", "replace")) + 1
    return Span(shown, line, col)


def render_message(kind: str, message: str, span: Span | None, source: str | None = None,
                   note: str | None = None) -> str:
    if span is None or span.line <= 0:
        out = f"rmapcheck: {kind}: {message}"
    else:
        out = f"{span.file}:{span.line}:{span.col}: {kind}: {message}"
        line = source.splitlines()[span.line - 1] if source else source_line(span)
        if line is not None:
            width = 1
            if span.end_line == span.line and span.end_col > span.col:
                width = span.end_col - span.col
            out += f"\n  {line}\n  {' ' * (span.col - 1)}{'^' * width}"
    if note:
        out += f"\n  note: {note}"
    return out
