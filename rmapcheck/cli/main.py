"""The ``rmapcheck`` command line: the parser, the dispatch to one module per
subcommand, and what becomes of an error.

Every user error becomes one sentence with its place and exit code 150; an
interrupted run prints what it covered and exits 130; a contradiction between
engines is an internal error (255). No Python traceback reaches the user
unless RMAPCHECK_DEBUG is set.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal, assert_never

from rmapcheck import errors, ir
from rmapcheck.cli import (
    check_command,
    fuzz_command,
    prove_command,
    replay_command,
    report_command,
    simulate_command,
    verify_command,
)
from rmapcheck.cli.options import USAGE_EPILOG, Parser
from rmapcheck.cli.outcome import worse
from rmapcheck.errors import SpecError

Command = Literal["verify", "replay", "simulate", "fuzz", "check", "prove", "report"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="rmapcheck", description="Model checker for reverse-map designs.",
                    epilog=USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    # In this order in ``rmapcheck --help``.
    for command in (verify_command, replay_command, simulate_command, fuzz_command,
                    check_command, prove_command, report_command):
        command.add_parser(sub)
    return parser


class _ReaderGone:
    """Standard output that outlives its reader: after ``rmapcheck verify X |
    head`` closes the pipe, the rest of the output is dropped and the command
    still ends with its verdict's exit code, not a broken-pipe error."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._gone = False

    def _drop(self) -> None:
        self._gone = True
        with contextlib.suppress(OSError, ValueError):
            # what the real stream still buffers goes nowhere at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout = sys.stdout
    sys.stdout = _ReaderGone(stdout)  # type: ignore[assignment]
    try:
        return _run(args)
    except SpecError as err:
        sys.stderr.write(err.render() + "\n")
        return errors.EXIT_SPEC_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("rmapcheck: interrupted\n")
        return errors.EXIT_INTERRUPTED
    except errors.InternalError as err:
        sys.stderr.write(f"rmapcheck: internal error: {err}\n")
        return errors.EXIT_INTERNAL
    except Exception as err:  # a bug: say so in one line, keep the traceback for debugging
        if isinstance(err, ctypes.ArgumentError) and "KeyboardInterrupt" in str(err):
            # A Ctrl-C that lands while ctypes converts a call's arguments (Z3's
            # calls, the native engine's) comes out wrapped in this error.
            sys.stderr.write("rmapcheck: interrupted\n")
            return errors.EXIT_INTERRUPTED
        if os.environ.get("RMAPCHECK_DEBUG"):
            raise
        sys.stderr.write(f"rmapcheck: internal error: {type(err).__name__}: {err} "
                         "(set RMAPCHECK_DEBUG=1 for the traceback)\n")
        return errors.EXIT_INTERNAL
    finally:
        sys.stdout.flush()
        sys.stdout = stdout


PerModel = Callable[[ir.Model, argparse.Namespace, dict[str, int]], int]


def _run(args: argparse.Namespace) -> int:
    command: Command = args.command
    match command:
        case "report":
            return report_command.run(args)
        case "replay":
            return replay_command.run(args)
        case "check":
            return _each_model(args, check_command.run)
        case "verify":
            return _each_model(args, verify_command.run)
        case "prove":
            return _each_model(args, prove_command.run)
        case "simulate":
            return _each_model(args, simulate_command.run)
        case "fuzz":
            return _each_model(args, fuzz_command.run)
        case _:
            assert_never(command)


def _each_model(args: argparse.Namespace, run: PerModel) -> int:
    """``run`` on the model of every FILE; the exit code that says the most."""
    from rmapcheck.frontend import load_model

    worst = errors.EXIT_OK
    for file in args.files:
        consts = dict(args.const)
        model = load_model(file, consts)
        worst = worse(worst, run(model, args, consts))
    return worst
