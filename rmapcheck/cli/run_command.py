"""``rmapcheck run SPEC --actions FILE``: run a given list of actions on a
spec, and print every state.

FILE (``-``: standard input) has one action a line, as the text traces print
a step (``cli/action_file.py`` reads it; every line is checked before any
step runs). The actions run from the initial state on the reference
interpreter, as ``rmapcheck replay`` runs another design's trace
(``replay.replay_actions``), with the invariants, lemmas and assertions
checked after each step. The states are printed as a trace (``--json``: the
trace as ITF, as ``simulate --json`` gives its walks).

Exit codes: 0 every action ran and no property is violated; 12 a property
is violated (printed as ``replay`` prints one, and the run stops there); 11
an action is not enabled where it comes (the run stops, and says which
``requires`` is false, where in FILE and where in the spec); 150 FILE or the
spec is wrong, or the spec meets a run-time error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, assert_never

from attrs import frozen

from rmapcheck import errors
from rmapcheck.cli.options import add_picture_options, add_quiet, const

if TYPE_CHECKING:
    from rmapcheck.cli.action_file import ActionLine
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.render.explain import BlockedExplanation
    from rmapcheck.render.text import Style
    from rmapcheck.replay import ActionReplay

EPILOG = """exit codes:
  0    every action ran, and no property is violated along them
  11   an action is not enabled where it comes; the requires that is false is named
  12   a property is violated; the run so far is printed
  150  the action file or the spec is wrong (a line that is no action of the spec, an
       argument out of its sort), or the spec meets a run-time error
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run", help="run a given list of actions on a spec and print every state",
        description="Runs the actions of FILE, one a line as a trace prints a step, from the\n"
        "initial state on the reference interpreter, checks the properties after each,\n"
        "and prints the states as a trace.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="a .spec file, or a bundled model's name")
    p.add_argument("--actions", metavar="FILE", required=True,
                   help="the actions, one a line, as a trace prints them: "
                   "'mmap(p=p0, s=0, n=1, growsdown=false)', or by position 'fault(0, 0)'; "
                   "'#' starts a comment; '-' reads standard input")
    p.add_argument("--const", "-c", action="append", type=const, default=[],
                   metavar="NAME=VALUE", help="override a constant (repeatable)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable result on stdout: one JSON document, the run as an "
                   "ITF trace in it")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")
    add_quiet(p)
    add_picture_options(p, "the run")


@frozen
class _Ran:
    """The actions of the file and what became of them on the spec."""

    machine: Machine
    file: str  # the file's name as the reports give it
    lines: tuple[ActionLine, ...]
    result: ActionReplay

    @property
    def stop_line(self) -> ActionLine:
        """The action that did not run (blocked, or a run-time error in it)."""
        return self.lines[len(self.result.trace)]

    def blocked(self) -> BlockedExplanation:
        from rmapcheck.render.explain import explain_stopped

        assert self.result.blocked is not None
        return explain_stopped(self.machine, self.stop_line.action, self.result.blocked)


def run(args: argparse.Namespace) -> int:
    from rmapcheck.cli.action_file import STDIN, read_actions
    from rmapcheck.cli.outcome import write_pictures
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.frontend import load_model
    from rmapcheck.instance import Instance
    from rmapcheck.render.itf import write_itf
    from rmapcheck.replay import replay_actions

    consts = dict(args.const)
    model = load_model(args.spec, consts)
    instance = Instance(model, consts)
    # Every line is checked before the machine is built and any step runs.
    lines = read_actions(args.actions, instance)
    machine = Machine(instance)
    result = replay_actions(machine, [(line.action, line.args) for line in lines])
    ran = _Ran(machine, STDIN if args.actions == "-" else args.actions, lines, result)
    if args.json:
        print(json.dumps(_json(ran)))
    else:
        print("\n".join(_text(ran, args)))
    violated = result.violated[0] if result.violated else None
    if args.itf:
        write_itf(instance, result.trace, args.itf, violated=violated)
    write_pictures(machine, result.trace, violated, args)
    outcome = result.outcome
    match outcome:
        case "end":
            return errors.EXIT_OK
        case "violated":
            return errors.EXIT_VIOLATED
        case "blocked":
            return errors.EXIT_BLOCKED
        case "error in step" | "error in property":
            sys.stdout.flush()
            sys.stderr.write(_runtime_error(ran) + "\n")
            return errors.EXIT_SPEC_ERROR
        case _:
            assert_never(outcome)


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _call(ran: _Ran, line: ActionLine) -> str:
    """An action as the trace prints its step: ``fault(p=p0, v=0)``."""
    from rmapcheck.render.text import format_args

    instance = ran.machine.instance
    return f"{line.action}({format_args(instance, instance.model.action(line.action), line.args)})"


def _text(ran: _Ran, args: argparse.Namespace) -> list[str]:
    from rmapcheck.cli.outcome import style
    from rmapcheck.render.text import (
        format_blocked,
        format_explanation,
        format_stopped_step,
        format_trace,
    )

    shown = style(args)
    machine, result = ran.machine, ran.result
    instance = machine.instance
    consts = " ".join(f"{k}={v}" for k, v in sorted(instance.consts.items()))
    out = [shown.bold(f"{instance.model.name}: running the "
                      f"{_plural(len(ran.lines), 'action')} of {ran.file}") + f"  ({consts})", ""]
    out.extend(format_trace(instance, result.trace, shown))
    outcome = result.outcome
    done = len(result.trace)
    if outcome in ("blocked", "error in step"):
        line = ran.stop_line
        what = "not allowed" if outcome == "blocked" else "fails with a run-time error (below)"
        out.append(format_stopped_step(instance, done + 1, line.action, line.args, what, shown))
        if outcome == "blocked":
            out.extend(format_blocked(ran.blocked(), shown))
    out.append("")
    later = len(ran.lines) - done
    match outcome:
        case "end":
            out.append(f"  {shown.green('every property holds')} along the "
                       f"{_plural(done, 'action')} of {ran.file}")
        case "violated":
            when = "the initial state" if result.violated_at == 0 else f"step {done}"
            out.append(f"  {shown.red('violation')} at {when}: {', '.join(result.violated)}")
            out.extend(format_explanation(machine, result.violated[0], result.trace, shown))
            if later:
                out.append(shown.dim(f"  (the file goes on for {_plural(later, 'more action')} "
                                     f"after the violation, not run)"))
        case "blocked":
            out.extend(_blocked_at(ran, shown))
            out.append(f"  every property holds along the {_plural(done, 'step')} before it")
            if later > 1:
                out.append(shown.dim(f"  (the file goes on for "
                                     f"{_plural(later - 1, 'more action')}, not run)"))
        case "error in step" | "error in property":
            pass  # the error follows, on standard error, with its place in the spec
        case _:
            assert_never(outcome)
    return out


def _blocked_at(ran: _Ran, shown: Style) -> list[str]:
    """The blocked action at its place in the file, with a caret under it, and
    the ``requires`` that blocks it at its place in the spec."""
    from rmapcheck.errors import render_message
    from rmapcheck.render.explain import where

    ex = ran.blocked()
    line = ran.stop_line
    requires = ex.text or "a requires"
    message = (f"step {len(ran.result.trace) + 1}, {_call(ran, line)}, is not enabled: "
               f"{requires} ({where(ex.span)}) is false")
    return render_message(shown.red("not allowed"), message, line.span).splitlines()


def _runtime_error(ran: _Ran) -> str:
    """A run-time error of the spec, met in a step or a property, with its
    place in the spec and what the run was doing there."""
    from rmapcheck.errors import SpecError
    from rmapcheck.render.explain import where

    result = ran.result
    error = result.error
    assert error is not None
    done = len(result.trace)
    if result.error_in_step:
        line = ran.stop_line
        doing = (f"while running step {done + 1}, {_call(ran, line)} "
                 f"({where(line.span)})")
    else:
        doing = ("while evaluating the properties "
                 + (f"after step {done}" if done else "in the initial state"))
    return SpecError(error.message, error.span, doing).render()


def _json(ran: _Ran) -> dict[str, Any]:
    from rmapcheck.render.explain import format_value, where
    from rmapcheck.render.itf import trace_to_itf
    from rmapcheck.render.json_out import blocked_to_json, violation_to_json

    machine, result = ran.machine, ran.result
    instance = machine.instance
    violated = result.violated[0] if result.violated else None
    blocked: dict[str, Any] | None = None
    if result.blocked is not None:
        line = ran.stop_line
        sorts = {p.name: p.sort for p in instance.model.action(line.action).params}
        blocked = {"step": len(result.trace) + 1, "action": line.action,
                   "args": {n: format_value(instance, sorts[n], v) for n, v in line.args},
                   "at": where(line.span), **blocked_to_json(ran.blocked())}
    return {"model": instance.model.name, "consts": dict(instance.consts), "file": ran.file,
            "actions": len(ran.lines), "ran": len(result.trace), "stop": result.outcome,
            "violated": list(result.violated), "violated_at": result.violated_at,
            "violation": (violation_to_json(machine, violated, result.trace)
                          if violated is not None else None),
            "blocked": blocked,
            "error": result.error.message if result.error is not None else None,
            "trace": trace_to_itf(instance, result.trace, violated)}
