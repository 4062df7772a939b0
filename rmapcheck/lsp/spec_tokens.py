"""Spec text as tokens with offsets, and offsets as lines and columns.

The parser's tree says where a declaration starts but not where its name is,
and a buffer being typed may not parse at all; hover and go-to-definition
only need to know which name is under the cursor and that it is not inside a
comment or a string, which a scanner can tell on any text.
"""

from __future__ import annotations

import bisect
import re
from typing import Literal

from attrs import frozen

from rmapcheck.ir import Span

TokenKind = Literal["string", "comment", "number", "name", "punct"]

# The string and comment forms are those of spec/rmapcheck.lark (STRING,
# COMMENT); a string without its closing quote falls through to punctuation,
# so a half-typed buffer still scans.
_TOKEN = re.compile(r'''
    (?P<string>"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*")
  | (?P<comment>\#[^\n]*)
  | (?P<number>[0-9]+)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<punct>\S)
''', re.VERBOSE)


@frozen
class Token:
    kind: TokenKind
    text: str
    start: int  # offset of the first character
    end: int  # offset just past the last one


def scan(text: str) -> tuple[Token, ...]:
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        out.append(Token(kind, match.group(), match.start(), match.end()))  # type: ignore[arg-type]
    return tuple(out)


class SourceText:
    """One module's text: its tokens, and conversions between offsets and
    0-based (line, column) positions counted in characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = scan(text)
        self._token_starts = [t.start for t in self.tokens]
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def offset(self, line: int, col: int) -> int:
        """The offset of a 0-based position, clamped to the text."""
        if line < 0:
            return 0
        if line >= len(self.line_starts):
            return len(self.text)
        start = self.line_starts[line]
        stop = self.line_starts[line + 1] - 1 if line + 1 < len(self.line_starts) \
            else len(self.text)
        return min(start + max(col, 0), stop)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line, offset - self.line_starts[line]

    def span_start(self, span: Span) -> int:
        """Where a front-end span (1-based line and column) starts."""
        return self.offset(span.line - 1, span.col - 1)

    def span_end(self, span: Span) -> int:
        if span.end_line <= 0:
            return self.span_start(span)
        return self.offset(span.end_line - 1, span.end_col - 1)

    def token_at(self, offset: int) -> Token | None:
        """The token the cursor at ``offset`` is on, or just after (editors put
        the cursor after the last letter of the word it means)."""
        i = bisect.bisect_right(self._token_starts, offset) - 1
        if i >= 0 and self.tokens[i].start <= offset < self.tokens[i].end:
            return self.tokens[i]
        if i >= 0 and self.tokens[i].end == offset:
            return self.tokens[i]
        return None

    def token_before(self, token: Token) -> Token | None:
        """The token before ``token``, comments skipped."""
        i = bisect.bisect_left(self._token_starts, token.start) - 1
        while i >= 0 and self.tokens[i].kind == "comment":
            i -= 1
        return self.tokens[i] if i >= 0 else None

    def name_after(self, offset: int, name: str, stop: int | None = None) -> Token | None:
        """The first name token ``name`` at or after ``offset`` (and before
        ``stop``): where a declaration starting at ``offset`` names itself."""
        i = bisect.bisect_left(self._token_starts, offset)
        for token in self.tokens[i:]:
            if stop is not None and token.start >= stop:
                break
            if token.kind == "name" and token.text == name:
                return token
        return None

    def comments_above(self, offset: int) -> str:
        """The ``#`` lines directly above the line of ``offset`` (no blank line
        between), without the ``#``: the doc of a declaration that has no doc
        string. Rule lines (``# ----``) are left out."""
        line, _ = self.position(offset)
        lines = self.text.split("\n")
        found: list[str] = []
        for number in range(line - 1, -1, -1):
            stripped = lines[number].strip()
            if not stripped.startswith("#"):
                break
            body = stripped[1:].strip()
            words = body.strip("-=#* ")
            if words:
                found.append(body if words == body else words)
        return "\n".join(reversed(found))
