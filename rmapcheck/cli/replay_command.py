"""``rmapcheck replay FILE.itf.json SPEC``: re-run an ITF trace on a spec.

A trace of the spec's own design (``rmapcheck verify --itf`` writes them) is
re-run step by step on the reference interpreter, and every state is checked
to be the one the spec reaches. A trace of another design, the natural check
of a fix being its broken variant's counterexample, is re-run by its actions
alone: each step is matched to the spec's action of the same name and
parameters, run, and the variables the two designs share are compared for
information. The replay stops at the first step the spec does not allow and
says which ``requires`` stops it.

Exit codes: 0 the trace runs to its end and violates nothing; 12 it reaches
a violation (printed as ``verify`` prints one); 11 a step of another design's
trace is not allowed by the spec (blocked: a true answer about the trace, not
a mistake of the command); 150 the file is not a trace we can read, or a trace
of the spec's own design does not match it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Literal, assert_never

from attrs import frozen

from rmapcheck import errors
from rmapcheck.cli.options import USAGE_EPILOG, const
from rmapcheck.errors import SpecError

if TYPE_CHECKING:
    from rmapcheck.cli.trace_input import ActionInstance, TraceOnSpec
    from rmapcheck.render.explain import BlockedExplanation
    from rmapcheck.render.itf import ItfAction, Unmatched
    from rmapcheck.replay import ActionReplay


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "replay", help="re-run an ITF trace on a spec, of its design or another: does it "
        "reach a violation?",
        epilog="exit codes: 0 runs to its end and violates nothing, 11 a step is not allowed "
        "by the spec (a trace of another design), 12 reaches a violation, 150 not a trace "
        "we can read, or a trace of the spec's design that does not match it\n\n"
        + USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", metavar="FILE.itf.json",
                   help="an ITF trace: of rmapcheck (verify --itf), of any design, or a Quint "
                   "model-based-testing trace (quint run --mbt)")
    p.add_argument("spec", metavar="SPEC", help="a .spec file, or a bundled model's name")
    p.add_argument("--const", "-c", action="append", type=const, default=[],
                   metavar="NAME=VALUE",
                   help="run at another value of a constant than the trace was written at")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")


def run(args: argparse.Namespace) -> int:
    from rmapcheck.cli.trace_input import load_trace

    loaded = load_trace(args.trace, args.spec, dict(args.const))
    if loaded.trace is not None:
        return _same_design(loaded, args)
    return _other_design(loaded, args)


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _same_design(loaded: TraceOnSpec, args: argparse.Namespace) -> int:
    from rmapcheck.cli.outcome import style
    from rmapcheck.render.text import format_explanation, format_trace
    from rmapcheck.replay import replay_trace

    machine, model, trace = loaded.machine, loaded.model, loaded.trace
    assert trace is not None
    report = replay_trace(machine, trace)
    claimed = loaded.claimed
    if args.json:
        print(json.dumps({"model": model.name, "mode": "states", "replays": True,
                          "steps": len(report.trace), "violated": report.violated,
                          "violated_at": report.violated_at, "claimed": claimed,
                          "notes": list(loaded.notes)}))
    else:
        shown = style(args)
        n = len(report.trace)
        print(shown.bold(f"{model.name}: {args.trace} replays on the spec") +
              f" ({_plural(n, 'step')})")
        for note in loaded.notes:
            print(f"  note: {note}")
        print()
        print("\n".join(format_trace(machine.instance, report.trace, shown)))
        print()
        if report.violated:
            where = ("the initial state" if report.violated_at == 0
                     else f"step {report.violated_at}")
            print(f"  {shown.red('violation')} at {where}: {', '.join(report.violated)}")
            print("\n".join(format_explanation(machine, report.violated[0], report.trace,
                                               shown)))
            if report.violated_at is not None and report.violated_at < len(trace.steps):
                print(shown.dim(f"  (the trace goes on for {len(trace.steps) - n} more "
                                "steps after the violation; they were not replayed)"))
        else:
            print(f"  {shown.green('no property is violated')} along the trace")
            if claimed:
                print(f"  note: the trace says it violates {claimed}, but it does not "
                      "on this spec")
    return errors.EXIT_VIOLATED if report.violated else errors.EXIT_OK


@frozen
class _Run:
    """Another design's trace on the spec: the steps matched to its actions
    (up to the first that matches none, and why that one does not), and what
    became of them."""

    loaded: TraceOnSpec
    matched: tuple[ActionInstance, ...]
    unmatched: Unmatched | None
    result: ActionReplay

    @property
    def stop(self) -> Stop:
        """Why the replay ended: the first of what happened along it, and
        after all the matched steps ran, a step that matched nothing."""
        outcome = self.result.outcome
        return "unmatched" if outcome == "end" and self.unmatched is not None else outcome

    @property
    def stop_step(self) -> int:
        """The number of the step the replay ended at, or after."""
        stepped = self.stop in ("blocked", "error in step", "unmatched")
        return len(self.result.trace) + (1 if stepped else 0)


Stop = Literal["end", "violated", "blocked", "unmatched", "error in step", "error in property"]


def _other_design(loaded: TraceOnSpec, args: argparse.Namespace) -> int:
    from rmapcheck.replay import replay_actions

    matched, unmatched = loaded.matched()
    run = _Run(loaded, matched, unmatched, replay_actions(loaded.machine, matched))
    if args.json:
        print(json.dumps(_json(run)))
    else:
        print("\n".join(_text(run, args)))
    stop = run.stop
    match stop:
        case "end":
            return errors.EXIT_OK
        case "violated":
            return errors.EXIT_VIOLATED
        case "blocked" | "unmatched":
            return errors.EXIT_BLOCKED
        case "error in step" | "error in property":
            error = run.result.error
            assert error is not None
            at = run.stop_step
            state = f"after step {at}" if at else "in the initial state"
            where = (f"while running step {at} of the trace, {run.matched[at - 1][0]}"
                     if stop == "error in step"
                     else f"while evaluating the properties {state}")
            sys.stderr.write(SpecError(error.message, error.span, where).render() + "\n")
            return errors.EXIT_SPEC_ERROR
        case _:
            assert_never(stop)


def _differences(run: _Run) -> dict[int, str]:
    """Per state the replay reached, where the spec's state differs from the
    trace's on the variables the two share."""
    from rmapcheck.render.itf import with_trace_vars
    from rmapcheck.render.text import state_difference

    loaded = run.loaded
    if not loaded.shared:
        return {}
    instance = loaded.machine.instance
    out = {}
    for index, state in enumerate(run.result.trace.states()):
        theirs = with_trace_vars(instance, state, loaded.data["states"][index], loaded.shared)
        if theirs != state:
            out[index] = state_difference(instance, state, theirs)
    return out


def _blocked(run: _Run) -> BlockedExplanation:
    from rmapcheck.render.explain import explain_stopped

    blocked = run.result.blocked
    assert blocked is not None
    return explain_stopped(run.loaded.machine, run.matched[len(run.result.trace)][0], blocked)


def _raw_args(step: ItfAction) -> str:
    return ", ".join(f"{name}={json.dumps(value)}" for name, value in step.args)


def _text(run: _Run, args: argparse.Namespace) -> list[str]:
    from rmapcheck.cli.outcome import style
    from rmapcheck.render.explain import where
    from rmapcheck.render.itf import is_mbt, own_vars
    from rmapcheck.render.text import (
        format_args,
        format_blocked,
        format_explanation,
        format_stopped_step,
        step_changes,
    )

    shown = style(args)
    loaded, result = run.loaded, run.result
    machine, model = loaded.machine, loaded.model
    instance = machine.instance
    of = f", a trace of {loaded.source_model}" if loaded.source_model else ""
    if is_mbt(loaded.data):
        source = loaded.meta.get("source")
        of = ", a Quint model-based-testing trace" + (f" of {source}" if source else "")
    out = [shown.bold(f"{model.name}: replaying the actions of {loaded.path}{of}")
           + f" ({_plural(loaded.steps, 'step')})"]
    out.extend(f"  note: {note}" for note in loaded.notes)
    theirs = [v for v in own_vars(loaded.data) if v not in loaded.shared]
    out.append(shown.dim("  the states are compared on the variables the designs share: "
                         + (", ".join(loaded.shared) or "none")
                         + (f"; not on {', '.join(theirs)}" if theirs else "")))
    out.append("")
    differs = _differences(run)

    def differ(index: int) -> None:
        if index in differs:
            out.append(f"       {shown.yellow('differs from the trace')}: {differs[index]}")

    out.append(shown.dim("  0. initial state"))
    differ(0)
    previous = result.trace.initial
    for number, step in enumerate(result.trace.steps, 1):
        action = model.action(step.action)
        out.append(f"  {number}. {shown.bold(step.action)}"
                   f"({format_args(instance, action, step.args)})  {shown.green('ran')}  "
                   + shown.dim(where(step.span)))
        changes = step_changes(instance, previous, step.state)
        out.extend(f"       {change}" for change in changes)
        if not changes:
            out.append(shown.dim("       (no change)"))
        differ(number)
        previous = step.state
    stop, at = run.stop, run.stop_step
    if stop in ("blocked", "error in step"):
        name, values = run.matched[at - 1]
        what = "not allowed" if stop == "blocked" else "fails with a run-time error (below)"
        out.append(format_stopped_step(instance, at, name, values, what, shown))
        if stop == "blocked":
            out.extend(format_blocked(_blocked(run), shown))
    elif stop == "unmatched":
        assert run.unmatched is not None
        step_ = loaded.actions[at - 1]
        out.append(f"  {at}. {shown.bold(step_.action)}({_raw_args(step_)})  "
                   f"{shown.red('not run')}: {run.unmatched.reason}")
    out.append("")
    match stop:
        case "violated":
            when = "the initial state" if result.violated_at == 0 else f"step {at}"
            out.append(f"  {shown.red('violation')} at {when}: {', '.join(result.violated)}")
            out.extend(format_explanation(machine, result.violated[0], result.trace, shown))
        case "end":
            out.append(f"  the trace runs to its end on {model.name} "
                       f"({_plural(at, 'step')}), and {shown.green('every property holds')} "
                       "along it")
            if loaded.claimed and loaded.source_model:
                out.append(f"  note: on {loaded.source_model} the trace violates "
                           f"{loaded.claimed}; on {model.name} it does not")
        case "blocked" | "unmatched":
            out.append(f"  {model.name} does not allow step {at} of the trace; every "
                       f"property holds along the {_plural(at - 1, 'step')} before it")
        case "error in step" | "error in property":
            pass  # the error follows, on standard error, with its place in the spec
        case _:
            assert_never(stop)
    later = loaded.steps - at
    if later > 0:
        out.append(shown.dim(f"  (the trace goes on for {_plural(later, 'more step')}, "
                             "not replayed)"))
    return out


def _json(run: _Run) -> dict[str, Any]:
    from rmapcheck.render.json_out import blocked_to_json

    loaded, result = run.loaded, run.result
    stop, at = run.stop, run.stop_step
    stopped: dict[str, Any] | None = None
    if stop == "blocked":
        stopped = {"step": at, "action": run.matched[at - 1][0],
                   **blocked_to_json(_blocked(run))}
    elif stop == "unmatched":
        assert run.unmatched is not None
        stopped = {"step": at, "action": loaded.actions[at - 1].action,
                   "reason": run.unmatched.reason}
    return {"model": loaded.model.name, "mode": "actions", "trace_model": loaded.source_model,
            "replays": stop in ("end", "violated"), "steps": loaded.steps,
            "ran": len(result.trace), "blocked": stopped, "violated": list(result.violated),
            "violated_at": result.violated_at, "claimed": loaded.claimed,
            "error": result.error.message if result.error is not None else None,
            "shared": list(loaded.shared),
            "differs": {str(k): v for k, v in _differences(run).items()},
            "notes": list(loaded.notes)}
