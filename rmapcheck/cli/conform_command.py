"""``rmapcheck conform SPEC``: the model held to the live kernel.

Random walks of the model (or the steps of a trace) are run on real
processes of this machine, each model action as the system call its
``observe action`` names, and after every step what the spec observes
(``observe def``) is compared with what /proc shows. A mismatch is a
counterexample: the steps, shrunk, with the model's prediction and the
kernel's observation side by side.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import TYPE_CHECKING, Any

from rmapcheck import errors
from rmapcheck.cli.options import (
    add_actions,
    add_quiet,
    const,
    fail,
    parse_actions,
    positive_whole,
    seed,
)

if TYPE_CHECKING:
    from rmapcheck.conform.harness import ConformResult, Harness
    from rmapcheck.conform.walks import ModelStep
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.ir import Model

EPILOG = """exit codes:
  0    every run agrees with the kernel
  11   --trace: a step of the trace cannot be run (the model does not allow it, or the
       kernel cannot do it here); the steps before it are compared
  12   the kernel disagrees with the model; the shrunk counterexamples are printed
  13   this machine cannot be compared with the model (not Linux, not root, no page
       frame numbers in /proc/PID/pagemap, large folios that stay on, no C compiler)
  130  interrupted (Ctrl-C); what was run is printed
  150  the spec or the command line is wrong (or the spec declares no observations)
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "conform", help="hold the model to the live kernel: run its actions on real processes",
        description="Runs operation sequences on the model and on real processes of this "
        "machine, one per modelled process, each action as the system call its 'observe "
        "action' names, and compares after every step what the spec's 'observe def's say "
        "with what /proc shows (sharing of frames, mapcounts, VMAs). Needs root on Linux.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="a .spec file, or a bundled model's name")
    p.add_argument("--runs", type=positive_whole, default=100, metavar="N",
                   help="random walks to run (default 100); each ends at its first mismatch")
    p.add_argument("--steps", type=positive_whole, default=20, metavar="N",
                   help="steps per walk at most (default 20)")
    p.add_argument("--seed", type=seed, metavar="S",
                   help="random seed (default: a fresh one, printed so the runs can be "
                   "repeated); run R of seed S is the same walk whatever --runs says")
    add_actions(p, "every action the kernel can run, equally")
    p.add_argument("--trace", metavar="FILE",
                   help="run the steps of this ITF trace (as rmapcheck verify --itf writes "
                   "it) once, instead of random walks")
    p.add_argument("--no-shrink", action="store_true",
                   help="show each mismatch as the walk found it, not shrunk")
    p.add_argument("--itf", metavar="FILE",
                   help="write the first mismatch's steps as an ITF trace of the model (for "
                   "--trace, rmapcheck replay or eval)")
    p.add_argument("--const", "-c", action="append", type=const, default=[],
                   metavar="NAME=VALUE", help="override a constant (repeatable)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable result on stdout: one JSON document")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")
    add_quiet(p)


def run(args: argparse.Namespace) -> int:
    from rmapcheck.cli.outcome import style
    from rmapcheck.conform import KernelUnsuitable, Plan, conform, harness
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.frontend import load_model
    from rmapcheck.instance import Instance
    from rmapcheck.render.conform_text import conform_to_json, format_conform

    consts = dict(args.const)
    model = load_model(args.spec, consts)
    sequence: tuple[ModelStep, ...] | None = None
    if args.trace is not None:
        machine, sequence = _trace_steps(args.trace, args.spec, consts, model)
    else:
        machine = Machine(Instance(model, consts))
    weights = parse_actions(args.actions, model)
    chosen = args.seed if args.seed is not None else random.randrange(2**31)
    plan = Plan(runs=args.runs, steps=args.steps, seed=chosen, weights=weights,
                sequence=sequence, shrink=not args.no_shrink)
    try:
        with harness(machine) as made:
            result = conform(made, plan)
            if args.json:
                print(json.dumps(conform_to_json(made, result), indent=2))
            else:
                print("\n".join(format_conform(made, result, style(args))))
            if args.itf and result.found:
                _write_itf(made, result, args.itf)
    except KernelUnsuitable as err:
        sys.stderr.write(f"rmapcheck: cannot compare with this kernel: {err}\n")
        if args.json:
            print(json.dumps({"error": {"kind": "kernel", "message": str(err),
                                        "exit": errors.EXIT_INCONCLUSIVE}}))
        return errors.EXIT_INCONCLUSIVE
    return _exit_code(result)


def _exit_code(result: ConformResult) -> int:
    if result.interrupted is not None:
        return errors.EXIT_INTERRUPTED
    if result.mismatches:
        return errors.EXIT_VIOLATED
    if result.blocked is not None:
        return errors.EXIT_BLOCKED
    return errors.EXIT_OK


def _trace_steps(path: str, spec: str, consts: dict[str, int], model: Model
                 ) -> tuple[Machine, tuple[ModelStep, ...]]:
    """The model's steps of a trace: its own, or another design's actions
    matched to the model's, as ``rmapcheck replay`` reads them."""
    from rmapcheck.cli.trace_input import load_trace

    loaded = load_trace(path, spec, consts, model)
    if loaded.trace is not None:
        return loaded.machine, tuple((s.action, s.args) for s in loaded.trace.steps)
    matched, unmatched = loaded.matched()
    if unmatched is not None:
        fail(f"{path}: step {len(matched) + 1} is no action of {model.name}")
    return loaded.machine, tuple(matched)


def _write_itf(made: Harness, result: ConformResult, path: str) -> None:
    from rmapcheck.render.itf import write_itf
    from rmapcheck.trace import Step, Trace

    machine = made.machine
    state = machine.initial_state()
    steps = []
    for step in result.found[0].mismatch.steps:
        after = machine.step(state, step.action, step.args)
        assert after is not None  # the harness ran it on this machine
        steps.append(Step(step.action, step.args, after, made.model.action(step.action).span))
        state = after
    write_itf(machine.instance, Trace(machine.initial_state(), tuple(steps)), path)
