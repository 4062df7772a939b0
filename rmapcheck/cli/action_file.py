"""The action file of ``rmapcheck run SPEC --actions FILE``: one action a line,
in the spec's call syntax as the text traces print a step, so that a step of
a printed trace can be copied into it.

    # two VMAs, each faulted on its own
    mmap(p=p0, s=0, n=1, growsdown=false)
    mmap(0, 2, 1, false)
    fault(p0, 0)

Arguments are by position, by name (``fork(parent=0, child=1)``), or both,
positional ones first as in a call. A value is written as the traces print
it: ``true``, ``false``, integers, an enum's member, a process or frame as
``p0``, ``f1`` or as its number. Blank lines and ``#`` comments are skipped.
Every line is read and checked against the spec before any step runs; a
mistake is one sentence with the file's line and column and a caret.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Literal

from attrs import frozen

from rmapcheck import ir
from rmapcheck.cli.options import did_you_mean
from rmapcheck.errors import SpecError, TextKind, read_user_text, remember_source
from rmapcheck.instance import Instance
from rmapcheck.render.explain import format_value

# The name errors give standard input (``--actions -``).
STDIN = "<stdin>"


@frozen
class ActionLine:
    """One action of the file, as an instance of the spec's action: its
    arguments encoded, by parameter name in the action's order; ``span`` the
    call in the file (a caret under it says which line a report is about)."""

    action: str
    args: tuple[tuple[str, Any], ...]
    span: ir.Span


ACTION_FILE_TEXT = TextKind("an action file", "an action file",
                            "an action file is read as UTF-8")


def read_text(path: str) -> tuple[str, str]:
    """The file's name as reports give it, and its text."""
    if path == "-":
        return STDIN, sys.stdin.read()
    return path, read_user_text(Path(path), path, ACTION_FILE_TEXT)


def read_actions(path: str, instance: Instance) -> tuple[ActionLine, ...]:
    """Every action of the file ``path`` (``-``: standard input) as an instance
    of ``instance``'s actions; a SpecError at the first line that is not one."""
    name, text = read_text(path)
    # Kept, so that an error about standard input can quote its line.
    remember_source(name, text)
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        call = _parse(name, number, line)
        if call is not None:
            out.append(_checked(instance, call))
    return tuple(out)


# ------------------------------------------------------------ syntax

TokenKind = Literal["word", "punct", "other", "end"]


@frozen
class _Token:
    kind: TokenKind
    text: str
    span: ir.Span


@frozen
class _Call:
    """A line as written: the action's name, each argument's name (None when
    positional) and value, and the closing parenthesis."""

    name: _Token
    args: tuple[tuple[_Token | None, _Token], ...]
    close: _Token

    @property
    def span(self) -> ir.Span:
        return _across(self.name.span, self.close.span)


# A word is a name or a value (p0, true, 12, -1); nothing in a line needs
# quotes. A step of a threaded operation is named operation.step.
_TOKEN = re.compile(r"\s*(?:(?P<word>-?\w+(?:\.\w+)?)|(?P<punct>[(),=])|(?P<other>\S))")
_NAME = re.compile(r"[A-Za-z_]\w*")
_ACTION = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?")
_KINDS: tuple[TokenKind, ...] = ("word", "punct", "other")


def _across(first: ir.Span, last: ir.Span) -> ir.Span:
    return ir.Span(first.file, first.line, first.col, last.end_line, last.end_col)


def _tokens(file: str, number: int, line: str) -> list[_Token]:
    # Nothing in a line is quoted, so a comment starts at the first '#'.
    text = line.split("#", 1)[0].rstrip()
    out = []
    for match in _TOKEN.finditer(text):
        kind = next(k for k in _KINDS if match.group(k) is not None)
        start, end = match.start(kind), match.end(kind)
        out.append(_Token(kind, match.group(kind),
                          ir.Span(file, number, start + 1, number, end + 1)))
    end = len(text) + 1
    out.append(_Token("end", "", ir.Span(file, number, end, number, end + 1)))
    return out


def _error(token: _Token | ir.Span, message: str) -> SpecError:
    return SpecError(message, token.span if isinstance(token, _Token) else token)


def _shown(token: _Token) -> str:
    return "the end of the line" if token.kind == "end" else f"'{token.text}'"


def _is(token: _Token, punct: str) -> bool:
    return token.kind == "punct" and token.text == punct


def _parse(file: str, number: int, line: str) -> _Call | None:
    """The call a line writes; None for a blank line or a comment."""
    tokens = _tokens(file, number, line)

    def at(index: int) -> _Token:
        # Past the end of the line is its end.
        return tokens[min(index, len(tokens) - 1)]

    name = tokens[0]
    if name.kind == "end":
        return None
    if name.kind != "word" or not _ACTION.fullmatch(name.text):
        raise _error(name, f"expected an action's name, not {_shown(name)}: a line is an "
                     "action as a trace prints it, such as fault(p=p0, v=0)")
    if not _is(at(1), "("):
        raise _error(at(1), f"expected '(' after {name.text}, not {_shown(at(1))}: an action "
                     f"is written {name.text}(argument, ...)")
    args: list[tuple[_Token | None, _Token]] = []
    index = 2
    while not (_is(at(index), ")") and not args):
        label: _Token | None = None
        if _is(at(index + 1), "="):
            label = at(index)
            if label.kind != "word" or not _NAME.fullmatch(label.text):
                raise _error(label, f"expected a parameter's name before '=', not "
                             f"{_shown(label)}")
            index += 2
        value = at(index)
        if value.kind != "word":
            raise _error(value, f"expected a value of an argument of {name.text}, not "
                         f"{_shown(value)}")
        args.append((label, value))
        index += 1
        if _is(at(index), ")"):
            break
        if not _is(at(index), ","):
            raise _error(at(index), f"expected ',' or ')' after an argument of {name.text}, "
                         f"not {_shown(at(index))}")
        index += 1
    close = at(index)
    if at(index + 1).kind != "end":
        raise _error(at(index + 1), f"unexpected {_shown(at(index + 1))} after "
                     f"{name.text}(...): one action a line")
    return _Call(name, tuple(args), close)


# ------------------------------------------------------------ meaning


def _checked(instance: Instance, call: _Call) -> ActionLine:
    """The call as an instance of the spec's action: the name known, every
    parameter given once, every value one of its sort's at these bounds."""
    model = instance.model
    name = call.name.text
    known = [a.name for a in model.actions]
    if name not in known:
        raise _error(call.name, f"{model.name} has no action '{name}'{did_you_mean(name, known)}")
    action = model.action(name)
    params = [p.name for p in action.params]
    takes = (f"{name} takes {len(params)} argument{'s' if len(params) != 1 else ''} "
             f"({', '.join(params)})")
    given: dict[str, _Token] = {}
    positional = True
    for index, (label, value) in enumerate(call.args):
        if label is None:
            if not positional:
                raise _error(value, f"a value without its parameter's name after a named one; "
                             f"{takes}: name this one too, or write the positional ones first")
            if index >= len(params):
                raise _error(_across(call.name.span, call.close.span),
                             f"{takes}, and the line gives {len(call.args)}")
            given[params[index]] = value
            continue
        positional = False
        if label.text not in params:
            raise _error(label, f"{name} has no parameter '{label.text}'"
                         f"{did_you_mean(label.text, params)}")
        if label.text in given:
            raise _error(label, f"{name}'s parameter {label.text} is given twice")
        given[label.text] = value
    # A step that does not fail need not say so: fail=nothing.
    failure = action.failure
    missing = [p for p in params if p not in given
               and not (failure is not None and p == failure.name)]
    if missing:
        if all(label is None for label, _ in call.args):
            raise _error(call.span, f"{takes}, and the line gives {len(call.args)}")
        raise _error(call.close, f"{takes}; the line gives no value for "
                     f"{', '.join(missing)}")
    args = tuple((p.name, _value(instance, action, p, given[p.name]) if p.name in given
                  else instance.values(p.sort)[0]) for p in action.params)
    return ActionLine(name, args, call.span)


def _value(instance: Instance, action: ir.Action, param: ir.Local, token: _Token) -> Any:
    """The encoded value ``token`` writes, matched against the values of the
    parameter's sort as the trace printer prints them (so the file reads back
    what a trace shows); a process or frame may also be given as its number."""
    sort = param.sort
    values = instance.values(sort)
    for value in values:
        if format_value(instance, sort, value) == token.text:
            return value
    symmetric = isinstance(sort, ir.RangeSort) and sort.symmetric
    if symmetric and re.fullmatch(r"-?\d+", token.text) and int(token.text) in values:
        return int(token.text)
    shown = [format_value(instance, sort, v) for v in values]
    listed = ", ".join(shown) if len(shown) <= 6 else f"{shown[0]} .. {shown[-1]}"
    numbers = ""
    if symmetric:
        numbers = f" (or {values[0]} .. {values[-1]})" if len(values) > 1 else f" (or {values[0]})"
    # Only a range's values depend on the bounds.
    bounds = " at these bounds" if isinstance(sort, ir.RangeSort) else ""
    raise _error(token, f"{token.text} is not a value of {action.name}'s parameter "
                 f"{param.name}: {sort}, whose values{bounds} are {listed}{numbers}")
