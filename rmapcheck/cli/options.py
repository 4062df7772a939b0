"""What every subcommand's arguments share: the parser, the argument types,
the options every command over spec files takes, and the picture options."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from rmapcheck import errors

USAGE_EPILOG = """exit codes:
  0    no property violated (holds to the stated bound, or proved)
  12   a property is violated; the counterexample is printed
  13   inconclusive: a limit was reached or Z3 answered unknown
  130  interrupted (Ctrl-C); what was covered so far is printed
  150  the spec or the command line is wrong
  255  internal error (please report it)
"""


class Parser(argparse.ArgumentParser):
    # A wrong command line is a user error like a wrong spec: one line, exit 150.
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"rmapcheck: error: {message} (see 'rmapcheck --help')\n")
        raise SystemExit(errors.EXIT_SPEC_ERROR)


def add_command(sub: Any, name: str, help: str, epilog: bool = True,
                **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand's parser; with the exit codes under its help unless
    ``epilog`` is false."""
    if epilog:
        kwargs.update(epilog=USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, **kwargs)
    return parser


# ------------------------------------------------------------ argument types


def const(text: str) -> tuple[str, int]:
    """``NAME=VALUE`` of ``--const``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--const takes NAME=VALUE, not '{text}'")
    try:
        return name.strip(), int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--const {name.strip()}: '{value}' is not a whole number") from None


def positive(kind: type) -> Callable[[str], Any]:
    """A positive number of type ``kind`` (a limit, a count)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"'{text}' must be positive")
        return value
    return parse


def positive_whole(text: str) -> int:
    """A positive count, said to be a whole number when it is not one."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return value


def seed(text: str) -> int:
    """A random seed: any whole number from 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must not be negative")
    return value


# ------------------------------------------------------------ options


def add_common(p: argparse.ArgumentParser) -> None:
    """The spec files, ``--const``, ``--json`` and ``--no-color``."""
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="a .spec file, or the name of a bundled model (anonmm.spec)")
    p.add_argument("--const", "-c", action="append", type=const, default=[],
                   metavar="NAME=VALUE", help="override a constant (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")


def add_counterexample_options(p: argparse.ArgumentParser) -> None:
    """``--itf``, ``--dot``, ``--svg``, ``--png``, ``--html`` of a counterexample."""
    p.add_argument("--itf", metavar="FILE", help="write the counterexample as ITF JSON")
    p.add_argument("--dot", metavar="FILE", help="draw the violating state (Graphviz)")
    p.add_argument("--svg", metavar="FILE", help="the same picture as SVG (needs Graphviz)")
    p.add_argument("--png", metavar="FILE", help="the same picture as PNG (needs Graphviz)")
    p.add_argument("--html", metavar="FILE", help="write an HTML trace explorer")


def add_picture_options(p: argparse.ArgumentParser, what: str) -> None:
    """The same options for a trace that need not be a counterexample."""
    p.add_argument("--itf", metavar="FILE", help=f"write {what} as ITF JSON")
    p.add_argument("--dot", metavar="FILE", help=f"draw the last state of {what} (Graphviz)")
    p.add_argument("--svg", metavar="FILE", help="the same picture as SVG (needs Graphviz)")
    p.add_argument("--png", metavar="FILE", help="the same picture as PNG (needs Graphviz)")
    p.add_argument("--html", metavar="FILE", help=f"write an HTML explorer of {what}")
