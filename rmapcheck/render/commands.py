"""``rmapcheck replay`` and ``rmapcheck simulate``: traces in, traces out.

``replay FILE.itf.json SPEC`` reads an ITF trace (``rmapcheck verify --itf``
writes them; so can any tool that knows the spec's variables), re-runs each
step on the executable machine and checks that every state is the one the
machine reaches. It exits 12 when the trace ends in a state that violates a
property (or a step fails an assertion), 0 when it replays and violates
nothing, and 150 when it does not match the spec.

``simulate SPEC --steps N --seed S`` takes random walks from the initial state
and prints each as a trace, stopping a walk at the first violation: a way to
explore a design by hand.
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any

from attrs import define, field

from rmapcheck import errors
from rmapcheck.errors import SpecError
from rmapcheck.instance import Instance
from rmapcheck.render.explain import format_value
from rmapcheck.render.text import Style, format_explanation, format_trace
from rmapcheck.trace import State, Step, Trace


@define
class ReplayReport:
    trace: Trace  # the trace as the machine ran it (every step replayed)
    violated: list[str] = field(factory=list)  # properties the trace violates
    violated_at: int | None = None  # the step (0: the initial state)


def state_difference(instance: Instance, expected: State, got: State, limit: int = 3) -> str:
    """The first few locations where two states differ, as ``var[key]: a vs b``."""
    a, b = instance.decode(expected), instance.decode(got)
    diffs: list[str] = []
    for name, rng in instance.layout.items():
        sort = rng.var.value
        pairs: list[tuple[tuple[Any, ...], Any, Any]]
        if not rng.var.keys:
            pairs = [((), a[name], b[name])]
        else:
            pairs = [(k, a[name][k], b[name][k]) for k in rng.keys]
        for key, x, y in pairs:
            if x != y:
                parts = [format_value(instance, s, v)
                         for s, v in zip(rng.var.keys, key, strict=True)]
                where = f"{name}[{', '.join(parts)}]" if parts else name
                diffs.append(f"{where} is {format_value(instance, sort, x)} in the spec but "
                             f"{format_value(instance, sort, y)} in the trace")
    shown = "; ".join(diffs[:limit])
    return shown + (f" (and {len(diffs) - limit} more)" if len(diffs) > limit else "")


def replay_trace(machine: Any, trace: Trace) -> ReplayReport:
    """Re-runs ``trace`` on ``machine`` (``rmapcheck.replay.replay``, the check
    every engine's trace passes); a SpecError when it does not match, since a
    trace read from a file is the user's input, not an engine's claim. The
    report names what the trace violates, at the first step that violates it."""
    from rmapcheck.replay import replay

    try:
        assertion_failures = replay(machine, trace)
    except errors.InternalError as err:
        text = str(err).removeprefix("replay: ")
        raise SpecError(f"the trace does not match the spec: {text}", None) from None
    report = ReplayReport(trace)
    states = trace.states()
    for index, state in enumerate(states):
        failed = list(assertion_failures[index - 1]) if index else []
        failed += list(machine.failed_invariants(state))
        if failed:
            report.violated, report.violated_at = failed, index
            report.trace = Trace(trace.initial, trace.steps[:index])
            break
    return report


def _style(args: Any) -> Style:
    from rmapcheck.render.text import auto_style

    return Style(False) if getattr(args, "no_color", False) else auto_style()


def replay_command(args: Any) -> int:
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.frontend import load_model
    from rmapcheck.render.itf import read_itf, trace_from_itf

    data = read_itf(args.trace)
    meta = data.get("#meta", {})
    consts = {k: int(v) for k, v in (meta.get("consts") or {}).items()}
    consts.update(dict(args.const))
    model = load_model(args.spec, consts)
    if meta.get("model") and meta["model"] != model.name:
        raise SpecError(f"{args.trace} is a trace of model {meta['model']}, "
                        f"not of {model.name}", None)
    instance = Instance(model, consts)
    machine = Machine(instance)
    trace = trace_from_itf(instance, data)
    report = replay_trace(machine, trace)
    claimed = meta.get("violated")
    if args.json:
        print(json.dumps({"model": model.name, "replays": True, "steps": len(report.trace),
                          "violated": report.violated, "violated_at": report.violated_at,
                          "claimed": claimed}, indent=2))
    else:
        style = _style(args)
        n = len(report.trace)
        print(style.bold(f"{model.name}: {args.trace} replays on the spec") +
              f" ({n} step{'s' if n != 1 else ''})")
        print()
        print("\n".join(format_trace(instance, report.trace, style)))
        print()
        if report.violated:
            where = ("the initial state" if report.violated_at == 0
                     else f"step {report.violated_at}")
            print(f"  {style.red('violation')} at {where}: {', '.join(report.violated)}")
            print("\n".join(format_explanation(machine, report.violated[0], report.trace,
                                               style)))
            if report.violated_at is not None and report.violated_at < len(trace.steps):
                print(style.dim(f"  (the trace goes on for {len(trace.steps) - n} more "
                                "steps after the violation; they were not replayed)"))
        else:
            print(f"  {style.green('no property is violated')} along the trace")
            if claimed:
                print(f"  note: the trace says it violates {claimed}, but it does not "
                      "on this spec")
    return errors.EXIT_VIOLATED if report.violated else errors.EXIT_OK


def random_walk(machine: Any, rng: random.Random, steps: int) -> tuple[Trace, list[str]]:
    """A random walk of at most ``steps`` steps; stops at the first violation or
    when no action is enabled. Returns the trace and what it violates."""
    state = machine.initial_state()
    failed = list(machine.failed_invariants(state))
    taken: list[Step] = []
    model = machine.instance.model
    while not failed and len(taken) < steps:
        options = list(machine.successors(state))
        if not options:
            break
        move = rng.choice(options)
        state = move.state
        taken.append(Step(move.action, move.args, state, model.action(move.action).span))
        failed = [a.name for a in move.failed] + list(machine.failed_invariants(state))
    return Trace(machine.initial_state(), tuple(taken)), failed


def simulate_command(model: Any, args: Any, consts: dict[str, int]) -> int:
    from rmapcheck.explicit.machine import Machine

    instance = Instance(model, consts)
    machine = Machine(instance)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    rng = random.Random(seed)
    style = _style(args)
    worst = errors.EXIT_OK
    walks: list[dict[str, Any]] = []
    last: tuple[Trace, list[str]] | None = None
    for run in range(1, args.runs + 1):
        trace, failed = random_walk(machine, rng, args.steps)
        last = (trace, failed)
        if args.json:
            from rmapcheck.render.itf import trace_to_itf

            walks.append({"walk": run, "steps": len(trace), "violated": failed,
                          "trace": trace_to_itf(instance, trace,
                                                failed[0] if failed else None)})
        else:
            title = (f"{model.name}: random walk {run} of {args.runs}, seed {seed}, "
                     f"{len(trace)} step{'s' if len(trace) != 1 else ''}")
            print(style.bold(title))
            print("\n".join(format_trace(instance, trace, style)))
            if failed:
                print()
                print("\n".join(format_explanation(machine, failed[0], trace, style)))
            elif len(trace) < args.steps:
                print(style.dim("  (no action is enabled: the walk ends here)"))
            print()
        if failed:
            worst = errors.EXIT_VIOLATED
            break
    if args.json:
        print(json.dumps({"model": model.name, "seed": seed, "walks": walks}, indent=2))
    if last is not None:
        trace, failed = last
        name = failed[0] if failed else None
        if getattr(args, "itf", None):
            from rmapcheck.render.itf import write_itf

            write_itf(instance, trace, args.itf, violated=name)
        write_pictures(machine, trace, name, args)
    return worst


def write_pictures(machine: Any, trace: Trace, name: str | None, args: Any) -> None:
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


def add_replay_parser(sub: Any, epilog: str) -> None:
    import argparse

    from rmapcheck.cli import _const

    p = sub.add_parser("replay", help="re-run an ITF trace on a spec: does it reach a violation?",
                       epilog="exit codes: 0 replays and violates nothing, 12 ends in a "
                       "violation, 150 does not match the spec\n\n" + epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", metavar="FILE.itf.json", help="an ITF trace (rmapcheck verify --itf)")
    p.add_argument("spec", metavar="SPEC", help="a .spec file, or a bundled model's name")
    p.add_argument("--const", "-c", action="append", type=_const, default=[],
                   metavar="NAME=VALUE", help="override a constant the trace records")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")


def add_simulate_options(p: Any) -> None:
    p.add_argument("--steps", type=int, default=20, metavar="N",
                   help="steps per walk at most (default 20)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default: a fresh one, "
                   "printed so the walk can be repeated)")
    p.add_argument("--runs", type=int, default=1, metavar="R",
                   help="walks to take; stops at the first that violates a property")
    add_picture_options(p, "the last walk")


def add_picture_options(p: Any, what: str) -> None:
    p.add_argument("--itf", metavar="FILE", help=f"write {what} as ITF JSON")
    p.add_argument("--dot", metavar="FILE", help=f"draw the last state of {what} (Graphviz)")
    p.add_argument("--svg", metavar="FILE", help="the same picture as SVG (needs Graphviz)")
    p.add_argument("--png", metavar="FILE", help="the same picture as PNG (needs Graphviz)")
    p.add_argument("--html", metavar="FILE", help=f"write an HTML explorer of {what}")
