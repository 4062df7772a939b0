"""What the subcommands do with a result: print it (and what the run
exercised), write its pictures, and turn it into the exit code."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from rmapcheck import errors
from rmapcheck.trace import Result, Trace, Unknown

if TYPE_CHECKING:
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.render.text import Style


def exit_code(result: Result) -> int:
    if result.violations:
        return errors.EXIT_VIOLATED
    if any(isinstance(v, Unknown) and v.reason.startswith("interrupted")
           for _, v in result.verdicts):
        return errors.EXIT_INTERRUPTED
    if result.unknowns:
        return errors.EXIT_INCONCLUSIVE
    return errors.EXIT_OK


def worse(a: int, b: int) -> int:
    """The exit code that says more of two (for several spec files)."""
    order = [errors.EXIT_OK, errors.EXIT_BLOCKED, errors.EXIT_INCONCLUSIVE, errors.EXIT_VIOLATED,
             errors.EXIT_INTERRUPTED, errors.EXIT_SPEC_ERROR, errors.EXIT_INTERNAL]
    return a if order.index(a) >= order.index(b) else b


def style(args: argparse.Namespace) -> Style:
    from rmapcheck.render.text import Style, auto_style

    return Style(False) if getattr(args, "no_color", False) else auto_style()


def print_result(machine: Machine, result: Result, args: argparse.Namespace) -> None:
    """The result as text, or as JSON with ``--json``."""
    if args.json:
        from rmapcheck.render.json_out import result_to_json

        # One line per document: several FILEs make JSON Lines.
        print(json.dumps(result_to_json(machine.instance, result, machine)))
    else:
        from rmapcheck.render.text import format_result

        print(format_result(machine, result, style(args)))


def report_coverage(machine: Machine, result: Result, args: argparse.Namespace,
                    warn: bool = True) -> None:
    """``--coverage``'s table under the verdict (``--json`` has it in the
    document), and with ``warn``, unless ``--quiet``, a warning on standard
    error for each action, hook and antecedent the search never reached."""
    from rmapcheck.render.coverage_report import coverage_warnings, format_coverage

    coverage = result.coverage
    if coverage is None:
        if getattr(args, "coverage", False):
            sys.stderr.write("rmapcheck: note: --coverage counts what an explicit search or a "
                             f"random run exercised; {result.engine} ran none\n")
        return
    if getattr(args, "coverage", False) and not args.json:
        print()
        print("\n".join(format_coverage(coverage, style(args))))
    if warn and not getattr(args, "quiet", False):
        sys.stdout.flush()
        for line in coverage_warnings(machine.model, result, machine.instance.consts):
            sys.stderr.write(line + "\n")


def write_artifacts(machine: Machine, result: Result, args: argparse.Namespace) -> None:
    """``--itf`` and the pictures of the first counterexample, if there is one."""
    violations = result.violations
    if not violations:
        return
    name, violation = violations[0]
    if getattr(args, "itf", None):
        from rmapcheck.render.itf import write_itf

        write_itf(machine.instance, violation.trace, args.itf, violated=name)
    write_pictures(machine, violation.trace, name, args)


def write_pictures(machine: Machine, trace: Trace, name: str | None,
                   args: argparse.Namespace) -> None:
    """``--dot``, ``--svg``, ``--png`` and ``--html`` for one trace."""
    if getattr(args, "dot", None):
        from rmapcheck.render.dot import write_dot

        write_dot(machine, trace, name, args.dot)
    for fmt in ("svg", "png"):
        path = getattr(args, fmt, None)
        if path:
            from rmapcheck.render.dot import GraphvizMissing, render_graphviz

            try:
                render_graphviz(machine, trace, name, path, fmt)
            except GraphvizMissing as err:
                sys.stderr.write(f"rmapcheck: {err}\n")
    if getattr(args, "html", None):
        from rmapcheck.render.html import write_html

        write_html(machine, trace, name, args.html)
