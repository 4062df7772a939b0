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
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal, assert_never

import rmapcheck
from rmapcheck import errors, ir
from rmapcheck.cli import (
    check_command,
    conform_command,
    eval_command,
    fuzz_command,
    prove_command,
    replay_command,
    report_command,
    run_command,
    simulate_command,
    verify_command,
)
from rmapcheck.cli.options import USAGE_EPILOG, Parser, check_outputs
from rmapcheck.cli.outcome import worse
from rmapcheck.cli.progress import progress_lines
from rmapcheck.errors import SpecError

Command = Literal["verify", "replay", "run", "eval", "simulate", "fuzz", "check", "prove",
                  "report", "conform"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="rmapcheck", description="Model checker for reverse-map designs.",
                    epilog=USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        version=f"rmapcheck {rmapcheck.__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    # In this order in ``rmapcheck --help``.
    for command in (verify_command, replay_command, run_command, eval_command,
                    simulate_command, fuzz_command, conform_command, check_command,
                    prove_command, report_command):
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
    except BaseException as err:
        code = _failure(err, args)
        if code is None:
            raise
        return code
    finally:
        sys.stdout.flush()
        sys.stdout = stdout


def _failure(err: BaseException, args: argparse.Namespace, file: str | None = None) -> int | None:
    """What a run that raised ``err`` says and exits with: one sentence on
    standard error and, with ``--json``, one JSON document on standard
    output. None: not ours to handle (SystemExit, or RMAPCHECK_DEBUG set)."""
    kind = "internal"
    match err:
        case SpecError():
            text, kind, code = err.render(), "spec", errors.EXIT_SPEC_ERROR
        case KeyboardInterrupt():
            text, kind, code = "rmapcheck: interrupted", "interrupted", errors.EXIT_INTERRUPTED
        case errors.InternalError():
            text, code = f"rmapcheck: internal error: {err}", errors.EXIT_INTERNAL
        case ctypes.ArgumentError() if "KeyboardInterrupt" in str(err):
            # A Ctrl-C that lands while ctypes converts a call's arguments (Z3's
            # calls, the native engine's) comes out wrapped in this error.
            text, kind, code = "rmapcheck: interrupted", "interrupted", errors.EXIT_INTERRUPTED
        case Exception() if not os.environ.get("RMAPCHECK_DEBUG"):
            # A bug: one line, and the traceback for whoever debugs it.
            text = (f"rmapcheck: internal error: {type(err).__name__}: {err} "
                    "(set RMAPCHECK_DEBUG=1 for the traceback)")
            code = errors.EXIT_INTERNAL
        case _:
            return None
    sys.stderr.write(text + "\n")
    if getattr(args, "json", False):
        detail: dict[str, Any] = {"kind": kind, "message": str(err), "exit": code}
        if isinstance(err, SpecError):
            detail["message"] = err.message
            if err.span is not None:
                detail.update(file=err.span.file, line=err.span.line, col=err.span.col)
            if err.note:
                detail["note"] = err.note
        if kind == "interrupted":
            detail["message"] = "interrupted"
        doc: dict[str, Any] = {"error": detail}
        if file is not None:
            doc["file"] = file
        print(json.dumps(doc))
    return code


PerModel = Callable[[ir.Model, argparse.Namespace, dict[str, int]], int]


def _run(args: argparse.Namespace) -> int:
    check_outputs(args)
    with progress_lines(not getattr(args, "quiet", False)):
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    command: Command = args.command
    match command:
        case "report":
            return report_command.run(args)
        case "replay":
            return replay_command.run(args)
        case "run":
            return run_command.run(args)
        case "eval":
            return eval_command.run(args)
        case "conform":
            return conform_command.run(args)
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
        if len(args.files) == 1:
            return run(load_model(file, consts), args, consts)
        # With several files a mistake in one is reported, and the others run.
        try:
            code = run(load_model(file, consts), args, consts)
        except SpecError as err:
            code = _failure(err, args, file) or errors.EXIT_SPEC_ERROR
        worst = worse(worst, code)
    return worst
