"""``rmapcheck eval SPEC TRACE EXPR``: the value of an expression of the spec
language in a state of a trace.

EXPR is anything a property's body may be: a call of one of the design's
defs, a property's body or its name, a Bool, Int, set, option or record
expression over the state, quantifiers included. It is parsed, checked in the
scope of the spec's constants, state variables and defs, lowered and run on
the reference interpreter, as the spec's own properties are, and its value is
printed as the trace renderer prints values (``none``, ``true``, ``{1, 2}``,
``p0`` for a process, records in braces).

The trace is the spec's own design's, read state by state, or another
design's, whose actions are replayed on the spec first (as ``rmapcheck
replay`` does) so that EXPR is evaluated in the spec's states.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from rmapcheck import errors
from rmapcheck.cli.options import const

if TYPE_CHECKING:
    from rmapcheck import ir
    from rmapcheck.cli.trace_input import TraceOnSpec
    from rmapcheck.core.nodes import Expr
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.trace import State, Trace

# The name EXPR's spans carry: an error in it reads EXPR:1:5 with a caret.
EXPR_FILE = "EXPR"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "eval", help="the value of an expression in a state of a trace",
        description="EXPR is checked in SPEC's scope (its constants, state variables and "
        "defs) as a property's body is, and evaluated by the reference interpreter.",
        epilog="exit codes: 0 the value is printed; 150 EXPR, the trace or --step is wrong, "
        "or EXPR is undefined in the state (a field of none): one sentence, with a caret "
        "under the place in EXPR")
    p.add_argument("spec", metavar="SPEC", help="a .spec file, or a bundled model's name")
    p.add_argument("trace", metavar="TRACE",
                   help="an ITF trace (rmapcheck verify --itf) of SPEC's design, or of "
                   "another whose actions SPEC has (they are replayed on SPEC first)")
    p.add_argument("expr", metavar="EXPR",
                   help="an expression of the spec language over the state, e.g. "
                   "'mapped_by(0)' or 'forall p: Proc. alive[p]', or a property's name")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--step", type=int, metavar="N",
                      help="the state after step N (0: the initial state; -1: the last, "
                      "-2: the one before; default: the last)")
    when.add_argument("--all", action="store_true",
                      help="the value in every state of the trace, one line each")
    p.add_argument("--const", "-c", action="append", type=const, default=[],
                   metavar="NAME=VALUE",
                   help="evaluate at another value of a constant than the trace was "
                   "written at")
    p.add_argument("--json", action="store_true",
                   help="machine-readable result on stdout: one JSON document on one line")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")


def run(args: argparse.Namespace) -> int:
    from rmapcheck.cli.outcome import style
    from rmapcheck.cli.trace_input import load_trace
    from rmapcheck.errors import SpecError, SpecRuntimeError
    from rmapcheck.render.text import format_args

    model, expr = _checked(args.spec, args.expr)
    loaded = load_trace(args.trace, args.spec, dict(args.const), model)
    trace = _trace_on_spec(loaded)
    machine = loaded.machine
    states = trace.states()
    _, slots = machine.core.lower_expr(expr)

    def where(index: int) -> str:
        if index == 0:
            return "initial state"
        step = trace.steps[index - 1]
        shown_args = format_args(machine.instance, model.action(step.action), step.args)
        return f"{step.action}({shown_args})"

    if not args.all:
        index = _state_index(args.step, loaded, len(states))
        try:
            value = _value(machine, expr.sort, slots, states[index])
        except SpecRuntimeError as err:
            which = (f"the state after step {index} ({where(index)})" if index
                     else "the initial state")
            raise SpecError(err.message, err.span, f"in {which} of {loaded.path}") from None
        print(json.dumps({"model": model.name, "expr": args.expr, "sort": str(expr.sort),
                          "step": index, "value": value}) if args.json else value)
        return errors.EXIT_OK
    shown = style(args)
    undefined = []
    values: list[dict[str, Any]] = []
    for index, state in enumerate(states):
        try:
            value = _value(machine, expr.sort, slots, state)
            values.append({"step": index, "value": value})
        except SpecRuntimeError as err:
            # Undefined in one state (a field of none) says nothing of the
            # others: every state is shown, and the exit code says it.
            undefined.append(index)
            values.append({"step": index, "undefined": err.message})
            value = shown.red("undefined: ") + err.message
        if not args.json:
            print(f"  {index}. {where(index)}: {value}")
    if args.json:
        print(json.dumps({"model": model.name, "expr": args.expr, "sort": str(expr.sort),
                          "values": values, "steps": loaded.steps}))
    elif len(states) <= loaded.steps:
        print(shown.dim(f"  ({model.name} does not allow step {len(states)} of the trace, "
                        "so its states end here)"))
    if undefined:
        which = ", ".join(map(str, undefined))
        plural = "s" if len(undefined) > 1 else ""
        why = "their 'undefined' says why" if args.json else "the lines above say why"
        sys.stderr.write(SpecError(f"EXPR is undefined after step{plural} {which} ({why})",
                                   None).render() + "\n")
        return errors.EXIT_SPEC_ERROR
    return errors.EXIT_OK


def _checked(spec: str, text: str) -> tuple[ir.Model, ir.Expr]:
    """The spec's model and EXPR in its IR: parsed, its names resolved and its
    sorts checked as a property's body is; a property's name stands for its body."""
    from rmapcheck.errors import SpecError
    from rmapcheck.frontend import load_model
    from rmapcheck.frontend.ast import Name
    from rmapcheck.frontend.check import check_expr
    from rmapcheck.frontend.parser import parse_expr

    tree = parse_expr(text, EXPR_FILE)
    try:
        return check_expr(spec, tree)
    except SpecError:
        # A property's name is no expression of the language, but says which one.
        if isinstance(tree, Name):
            model = load_model(spec)
            if any(p.name == tree.id for p in model.properties):
                return model, model.prop(tree.id).expr
        raise


def _trace_on_spec(loaded: TraceOnSpec) -> Trace:
    """The trace as states of the spec: its own, or, for another design's,
    those its actions reach on the spec (up to the first it does not allow)."""
    from rmapcheck.errors import SpecError
    from rmapcheck.replay import replay_actions

    if loaded.trace is not None:
        return loaded.trace
    matched, _ = loaded.matched()
    # Unjudged: a violation does not end the states, eval looks at them all.
    result = replay_actions(loaded.machine, matched, judge=False)
    if result.error is not None:
        raise SpecError(f"step {len(result.trace) + 1} of {loaded.path} fails on "
                        f"{loaded.model.name} with a run-time error: {result.error.message}",
                        None)
    return result.trace


def _state_index(step: int | None, loaded: TraceOnSpec, reached: int) -> int:
    """The index into the ``reached`` states of ``--step N``, or a SpecError
    in one sentence when there is no such state."""
    from rmapcheck.errors import SpecError

    last = reached - 1
    if step is None:
        return last
    index = step + reached if step < 0 else step
    if 0 <= index <= last:
        return index
    if step < 0:
        raise SpecError(f"--step {step}: counted from the last state, the states go back to "
                        f"-{reached} (the initial state)", None)
    if step > loaded.steps:
        raise SpecError(f"--step {step}: {loaded.path} has steps 0 to {loaded.steps}", None)
    raise SpecError(f"--step {step}: {loaded.model.name} does not allow step {reached} of "
                    f"{loaded.path}, so its states go only to step {last}", None)


def _value(machine: Machine, sort: ir.Sort, slots: tuple[Expr, ...], state: State) -> str:
    """The value of EXPR, lowered to ``slots`` (one core node per slot of
    ``sort``), in ``state``, by the reference interpreter, as the spec writes it."""
    from rmapcheck.render.explain import format_value

    reference = machine.reference
    values = tuple(reference.eval(slot, {}, state) for slot in slots)
    instance = machine.instance
    return format_value(instance, sort, instance.decode_value(sort, values))
