"""The ``rmapcheck`` command line.

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
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from rmapcheck import errors
from rmapcheck.errors import SpecError
from rmapcheck.trace import Result, Unknown

USAGE_EPILOG = """exit codes:
  0    no property violated (holds to the stated bound, or proved)
  12   a property is violated; the counterexample is printed
  13   inconclusive: a limit was reached or Z3 answered unknown
  130  interrupted (Ctrl-C); what was covered so far is printed
  150  the spec or the command line is wrong
  255  internal error (please report it)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"rmapcheck: error: {message} (see 'rmapcheck --help')\n")
        raise SystemExit(errors.EXIT_SPEC_ERROR)


def _const(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--const takes NAME=VALUE, not '{text}'")
    try:
        return name.strip(), int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--const {name.strip()}: '{value}' is not a whole number") from None


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"'{text}' must be positive")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rmapcheck", description="Model checker for reverse-map designs.",
                     epilog=USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("files", nargs="+", metavar="FILE",
                       help="a .spec file, or the name of a bundled model (anonmm.spec)")
        p.add_argument("--const", "-c", action="append", type=_const, default=[],
                       metavar="NAME=VALUE", help="override a constant (repeatable)")
        p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
        p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")

    verify = sub.add_parser("verify", help="search for a violation (explicit-state by default)",
                            epilog=USAGE_EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    common(verify)
    verify.add_argument("--engine", choices=["auto", "explicit", "native", "bmc"],
                        default="auto",
                        help="auto (default): Python for a small state space, else the "
                        "native engine when a C compiler is there; explicit: Python; native: "
                        "the same search compiled to C; bmc: Z3")
    verify.add_argument("--dfs", action="store_true", help="depth-first (explicit engine)")
    verify.add_argument("--no-symmetry", action="store_true",
                        help="explore every state, not one per symmetry class")
    verify.add_argument("--max-states", type=_positive(int), metavar="N")
    verify.add_argument("--max-depth", type=_positive(int), metavar="N")
    verify.add_argument("--timeout", type=_positive(float), metavar="SECONDS")
    verify.add_argument("--max-memory", type=_positive(int), metavar="MIB")
    verify.add_argument("--workers", type=_positive(int), metavar="N",
                        help="processes for the explicit search (default: 1)")
    verify.add_argument("--depth", type=_positive(int), default=10, metavar="K",
                        help="BMC depth (default 10)")
    verify.add_argument("--solver-timeout", type=_positive(float), metavar="SECONDS")
    verify.add_argument("--itf", metavar="FILE", help="write the counterexample as ITF JSON")
    verify.add_argument("--dot", metavar="FILE", help="draw the violating state (Graphviz)")
    verify.add_argument("--svg", metavar="FILE", help="the same picture as SVG (needs Graphviz)")
    verify.add_argument("--png", metavar="FILE", help="the same picture as PNG (needs Graphviz)")
    verify.add_argument("--html", metavar="FILE", help="write an HTML trace explorer")

    from rmapcheck.render.commands import add_replay_parser, add_simulate_options

    add_replay_parser(sub, USAGE_EPILOG)
    simulate = sub.add_parser("simulate", help="random walks through a design, printed as traces",
                              epilog=USAGE_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    common(simulate)
    add_simulate_options(simulate)

    from rmapcheck.fuzz.cli import add_fuzz_parser

    add_fuzz_parser(sub, common, USAGE_EPILOG)

    check = sub.add_parser("check", help="parse and type-check a spec; --ir prints the IR")
    common(check)
    check.add_argument("--ir", action="store_true", help="print the lowered IR")

    prove = sub.add_parser("prove", help="prove the invariants with Z3", epilog=USAGE_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    common(prove)
    prove.add_argument("--method", choices=["auto", "induction", "kinduction", "spacer"],
                       default="auto")
    prove.add_argument("-k", type=_positive(int), default=2, help="k for k-induction")
    prove.add_argument("--solver-timeout", type=_positive(float), metavar="SECONDS",
                       help="the limit of each solver query")
    prove.add_argument("--timeout", type=_positive(float), metavar="SECONDS",
                       help="the limit of the whole proof; what it cuts short is inconclusive")
    prove.add_argument("--property", action="append", default=[], metavar="NAME")
    prove.add_argument("--no-infer", action="store_true",
                       help="do not look for lemmas beyond the spec's own")
    prove.add_argument("--no-spec-lemmas", action="store_true",
                       help="leave out the lemmas the spec states (what the prover finds alone)")

    report = sub.add_parser(
        "report", help="check every bundled model and write docs/PROPERTIES.md and "
        "models/README.md from the results")
    report.add_argument("files", nargs="*", metavar="FILE",
                        help="models to report on (default: every bundled design)")
    report.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a model changed since the committed "
                        "documents were generated (compares digests: runs no search)")
    report.add_argument("--update", action="store_true",
                        help="replace only the given models' sections and rows in the "
                        "documents as they are (the others are kept)")
    report.add_argument("--no-prove", action="store_true", help="skip the Z3 proofs")
    report.add_argument("--docs", default="docs", metavar="DIR",
                        help="where PROPERTIES.md goes (default: docs)")
    report.add_argument("--catalogue", default=None, metavar="FILE",
                        help="where the models table goes (default: models/README.md)")
    report.add_argument("--solver-timeout", type=_positive(float), default=30.0,
                        metavar="SECONDS", help="the limit of each solver query (default: 30)")
    report.add_argument("--proof-timeout", type=_positive(float), default=600.0,
                        metavar="SECONDS",
                        help="the limit of each model's proofs together (default: 600)")
    report.add_argument("--budget", type=_positive(int), default=20_000_000, metavar="STATES",
                        help="states for each model's explicit search; a search that does not "
                        "finish reports the depth it covered (default: 20,000,000)")
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


def _run(args: argparse.Namespace) -> int:
    from rmapcheck.frontend import load_model

    if args.command == "report":
        return _report(args)
    if args.command == "replay":
        from rmapcheck.render.commands import replay_command

        return replay_command(args)
    worst = errors.EXIT_OK
    for file in args.files:
        consts = dict(args.const)
        model = load_model(file, consts)
        match args.command:
            case "check":
                code = _check(model, args, consts)
            case "verify":
                code = _verify(model, args, consts)
            case "prove":
                code = _prove(model, args, consts)
            case "simulate":
                from rmapcheck.render.commands import simulate_command

                code = simulate_command(model, args, consts)
            case "fuzz":
                from rmapcheck.fuzz.cli import fuzz_command

                code = fuzz_command(model, args, consts)
            case _:
                raise AssertionError(args.command)
        worst = _worse(worst, code)
    return worst


def _log_line(line: str) -> None:
    sys.stderr.write(line + "\n")


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rmapcheck.frontend import resolve_spec_path
    from rmapcheck.report import report_models, update_documents, write_documents
    from rmapcheck.resources import models_dir

    paths = [resolve_spec_path(f) for f in args.files] or None
    catalogue = Path(args.catalogue) if args.catalogue else models_dir() / "README.md"
    if args.check:
        from rmapcheck.report import stale_models

        properties = Path(args.docs) / "PROPERTIES.md"
        changed = stale_models(properties, paths, None if paths else catalogue)
        if changed:
            sys.stderr.write(f"rmapcheck: the generated documents are stale for "
                             f"{', '.join(changed)}; run 'rmapcheck report' and commit the "
                             "result\n")
            return 1
        print(f"{properties} and {catalogue} are up to date with every model")
        return errors.EXIT_OK
    reports = report_models(paths, prove=not args.no_prove, solver_timeout=args.solver_timeout,
                            proof_timeout=args.proof_timeout, budget=args.budget,
                            log=_log_line)
    if args.update:
        update_documents(reports, Path(args.docs) / "PROPERTIES.md", catalogue)
    else:
        write_documents(reports, Path(args.docs) / "PROPERTIES.md", catalogue)
    print(f"wrote {Path(args.docs) / 'PROPERTIES.md'} and {catalogue}")
    return errors.EXIT_OK


def _worse(a: int, b: int) -> int:
    order = [errors.EXIT_OK, errors.EXIT_INCONCLUSIVE, errors.EXIT_VIOLATED,
             errors.EXIT_INTERRUPTED, errors.EXIT_SPEC_ERROR, errors.EXIT_INTERNAL]
    return a if order.index(a) >= order.index(b) else b


def _instance(model: Any, consts: dict[str, int]) -> Any:
    from rmapcheck.instance import Instance

    return Instance(model, consts)


def _check(model: Any, args: argparse.Namespace, consts: dict[str, int]) -> int:
    instance = _instance(model, consts)
    if args.ir:
        from rmapcheck.ir_print import format_model

        print(format_model(model))
        return errors.EXIT_OK
    if args.json:
        print(json.dumps({"model": model.name, "ok": True, "slots": instance.num_slots,
                          "consts": instance.consts}))
        return errors.EXIT_OK
    print(f"{model.name}: the spec is well-formed: {len(model.state)} state variables "
          f"({instance.num_slots} slots at {_consts_text(instance.consts)}), "
          f"{len(model.actions)} actions, {len(model.properties)} properties")
    return errors.EXIT_OK


def _consts_text(consts: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in consts.items())


def _exit_code(result: Result) -> int:
    if result.violations:
        return errors.EXIT_VIOLATED
    if any(isinstance(v, Unknown) and v.reason.startswith("interrupted")
           for _, v in result.verdicts):
        return errors.EXIT_INTERRUPTED
    if result.unknowns:
        return errors.EXIT_INCONCLUSIVE
    return errors.EXIT_OK


def _progress_printer(enabled: bool) -> Any:
    if not enabled:
        return None
    last = [0.0]
    start = time.monotonic()

    def show(states: int, depth: int, rate: float, rss: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5:
            return
        last[0] = now
        mem = f", {rss / 2**20:,.0f} MiB" if rss else ""
        line = (f"  {states:,} states, depth {depth}, {rate:,.0f} states/s{mem}, "
                f"{now - start:,.0f} s")
        sys.stderr.write("\r" + line.ljust(69)[:79])
        sys.stderr.flush()

    return show


def _verify(model: Any, args: argparse.Namespace, consts: dict[str, int]) -> int:
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.render.text import Style, auto_style, format_result
    from rmapcheck.replay import replay

    instance = _instance(model, consts)
    machine = Machine(instance)
    interactive = sys.stderr.isatty() and not args.json
    if args.engine in ("auto", "explicit", "native"):
        if args.dfs:
            if args.engine == "native":
                sys.stderr.write("rmapcheck: note: the native engine is breadth-first; "
                                 "--dfs uses the Python engine\n")
            from rmapcheck.explicit.dfs import search
        elif args.engine == "native":
            from rmapcheck.explicit import native

            search = native.search
        else:
            from rmapcheck.explicit.bfs import search
        progress = _progress_printer(interactive)
        kwargs: dict[str, Any] = {"max_states": args.max_states, "max_depth": args.max_depth,
                                      "timeout": args.timeout,
                                      "max_memory": args.max_memory * 2**20 if args.max_memory
                                      else None,
                                      "symmetry": not args.no_symmetry, "progress": progress}
        if args.workers and args.workers > 1:
            kwargs["workers"] = args.workers
        if args.engine == "auto" and not args.dfs:
            from rmapcheck.verify import verify

            result = verify(machine, kwargs)
        else:
            result = search(machine, **kwargs)
        if progress is not None:
            sys.stderr.write("\r" + " " * 70 + "\r")
        fallback = dict(result.stats.extra).get("native_fallback")
        if fallback:
            sys.stderr.write(f"rmapcheck: note: the Python engine ran instead of the native "
                             f"one: {fallback}\n")
    else:
        from rmapcheck.symbolic.bmc import bmc

        result = bmc(instance, args.depth, solver_timeout=args.solver_timeout,
                     stop_at_first=True, time_limit=args.timeout)
    for _, violation in result.violations:
        replay(machine, violation.trace)
    _write_artifacts(machine, result, args)
    if args.json:
        from rmapcheck.render.json_out import result_to_json

        print(json.dumps(result_to_json(instance, result), indent=2))
    else:
        style = Style(False) if args.no_color else auto_style()
        print(format_result(machine, result, style))
    return _exit_code(result)


def _write_artifacts(machine: Any, result: Result, args: argparse.Namespace) -> None:
    violations = result.violations
    if not violations:
        return
    name, violation = violations[0]
    if getattr(args, "itf", None):
        from rmapcheck.render.itf import write_itf

        write_itf(machine.instance, violation.trace, args.itf, violated=name)
    from rmapcheck.render.commands import write_pictures

    write_pictures(machine, violation.trace, name, args)


def _prove(model: Any, args: argparse.Namespace, consts: dict[str, int]) -> int:
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.render.text import Style, auto_style, format_result
    from rmapcheck.symbolic.induction import prove

    instance = _instance(model, consts)
    result = prove(instance, props=args.property or None, method=args.method, k=args.k,
                   solver_timeout=args.solver_timeout, time_limit=args.timeout,
                   infer_lemmas=not args.no_infer, spec_lemmas=not args.no_spec_lemmas)
    machine = Machine(instance)
    if args.json:
        from rmapcheck.render.json_out import result_to_json

        print(json.dumps(result_to_json(instance, result), indent=2))
    else:
        style = Style(False) if args.no_color else auto_style()
        print(format_result(machine, result, style))
    return _exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
