"""What every subcommand's arguments share: the parser, the argument types,
the options every command over spec files takes, and the picture options."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from rmapcheck import errors

if TYPE_CHECKING:
    from rmapcheck.ir import Model

USAGE_EPILOG = """exit codes:
  0    no property violated (holds to the stated bound, or proved)
  11   replay, run: a step is not allowed by the spec (blocked)
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
    add_quiet(p)


def add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress lines on standard error (they come every few seconds "
                   "of a long run, also when standard error is not a terminal), and no "
                   "warnings of what a search never reached")


def add_coverage(p: argparse.ArgumentParser, what: str) -> None:
    """``--coverage``: the table of what ``what`` exercised, under the verdict."""
    p.add_argument("--coverage", action="store_true",
                   help=f"say what {what} exercised: per action how often it was enabled "
                   "and led to a new state, how often each hook and each branch of the "
                   "design ran, and in how many states each property's antecedent held")


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


# ------------------------------------------------------------ outputs

# The options that name a file a command writes. (A missing Graphviz is not
# checked here: the verdict is worth having without the picture, and the run
# says why the picture is missing.)
OUTPUT_OPTIONS = ("itf", "dot", "svg", "png", "html", "catalogue")


def check_outputs(args: argparse.Namespace) -> None:
    """Every output path can be written, before any search: a run of minutes
    must not end in an error that loses its verdict."""
    import os
    from pathlib import Path

    for option in OUTPUT_OPTIONS:
        value = getattr(args, option, None)
        if value is None:
            continue
        flag = f"--{option}"
        path = Path(value)
        if path.is_dir():
            fail(f"{flag} {value}: that is a directory; name a file in it")
        if not path.parent.is_dir():
            fail(f"{flag} {value}: the directory {path.parent} does not exist")
        existed = path.exists()
        # Opening is the only test that also holds for root, for read-only
        # mounts and for ACLs; a file made only to be tested is removed.
        try:
            with open(path, "ab"):
                pass
        except OSError as err:
            fail(f"{flag} {value}: cannot be written ({err.strerror})")
        if not existed:
            os.unlink(path)
    docs = getattr(args, "docs", None)
    if docs is not None and getattr(args, "command", None) == "report" \
            and not getattr(args, "check", False) \
            and Path(docs).exists() and not Path(docs).is_dir():
        fail(f"--docs {docs}: that is a file, not a directory")


def fail(message: str) -> NoReturn:
    """A command-line mistake found after parsing: one line, exit 150."""
    raise errors.SpecError(message, None)


def add_property_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--property", action="append", default=[], metavar="NAME",
                   help=f"{what} only this property or assertion (repeatable); the others, "
                   "lemmas included, are not checked")


def check_property_names(model: Any, names: list[str]) -> tuple[str, ...] | None:
    """The ``--property`` names, each one the model has; None for all."""
    import difflib

    if not names:
        return None
    known = [p.name for p in model.properties]
    known += [a.name for a in model.assertions() if a.name not in known]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
            hint = (" or ".join(f"'{c}'" for c in close) if close else ", ".join(known))
            raise errors.SpecError(
                f"--property {name}: {model.name} has no property or assertion of that name",
                None, f"did you mean {hint}?" if close else f"it has: {hint}")
    return tuple(dict.fromkeys(names))


def did_you_mean(name: str, known: Sequence[str]) -> str:
    """``; did you mean 'x'?`` for the closest of ``known`` to a misspelled
    ``name``, else the list of ``known``: the end of a one-sentence error."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean '{close[0]}'?" if close else f" (it has {', '.join(known)})"


def add_actions(p: argparse.ArgumentParser, default: str) -> None:
    """``--actions LIST``: which actions random walks take, and how often."""
    p.add_argument("--actions", metavar="LIST",
                   help="the actions walks take, and how often: 'mmap,fault,cow' (equal "
                   "weights) or 'mmap=3,fault=1'; an action is chosen by weight among those "
                   "enabled, then one of its enabled instances uniformly "
                   f"(default: {default})")


def parse_actions(text: str | None, model: Model) -> dict[str, float]:
    """``--actions``: each named action with its weight (1 when none is given)."""
    if text is None:
        return {}
    known = [a.name for a in model.actions]
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, weight = part.strip().partition("=")
        if name not in known:
            fail(f"--actions: {model.name} has no action '{name}'{did_you_mean(name, known)}")
        try:
            value = float(weight) if sep else 1.0
        except ValueError:
            fail(f"--actions {name}={weight}: a weight is a number")
        if value < 0:
            fail(f"--actions {name}={weight}: a weight must not be negative")
        out[name] = value
    if not any(out.values()):
        fail("--actions: every weight is 0, so no walk can take a step")
    return out
