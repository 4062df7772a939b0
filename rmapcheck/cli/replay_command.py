"""``rmapcheck replay FILE.itf.json SPEC``: re-run an ITF trace on a spec.

It reads an ITF trace (``rmapcheck verify --itf`` writes them; so can any
tool that knows the spec's variables), re-runs each step on the executable
machine and checks that every state is the one the machine reaches. It exits
12 when the trace ends in a state that violates a property (or a step fails
an assertion), 0 when it replays and violates nothing, and 150 when it does
not match the spec.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rmapcheck import errors
from rmapcheck.cli.options import USAGE_EPILOG, const


def add_parser(sub: Any) -> None:
    p = sub.add_parser("replay", help="re-run an ITF trace on a spec: does it reach a violation?",
                       epilog="exit codes: 0 replays and violates nothing, 12 ends in a "
                       "violation, 150 does not match the spec\n\n" + USAGE_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", metavar="FILE.itf.json", help="an ITF trace (rmapcheck verify --itf)")
    p.add_argument("spec", metavar="SPEC", help="a .spec file, or a bundled model's name")
    p.add_argument("--const", "-c", action="append", type=const, default=[],
                   metavar="NAME=VALUE", help="override a constant the trace records")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")


def run(args: argparse.Namespace) -> int:
    from rmapcheck.cli.outcome import style
    from rmapcheck.errors import SpecError
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.frontend import load_model
    from rmapcheck.instance import Instance
    from rmapcheck.render.itf import read_itf, trace_from_itf
    from rmapcheck.render.text import format_explanation, format_trace
    from rmapcheck.replay import replay_trace

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
        shown = style(args)
        n = len(report.trace)
        print(shown.bold(f"{model.name}: {args.trace} replays on the spec") +
              f" ({n} step{'s' if n != 1 else ''})")
        print()
        print("\n".join(format_trace(instance, report.trace, shown)))
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
