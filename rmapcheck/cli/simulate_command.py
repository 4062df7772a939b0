"""``rmapcheck simulate FILE --steps N --seed S``: random walks from the
initial state, each printed as a trace and stopped at the first violation: a
way to explore a design by hand. ``--actions mmap=3,fault`` keeps the walks to
some actions, chosen by weight as ``rmapcheck conform``'s walks choose them."""

from __future__ import annotations

import argparse
import json
import random
from typing import Any

from rmapcheck import errors, ir
from rmapcheck.cli.options import (
    add_actions,
    add_command,
    add_common,
    add_coverage,
    add_picture_options,
    parse_actions,
)


def add_parser(sub: Any) -> None:
    simulate = add_command(sub, "simulate",
                           help="random walks through a design, printed as traces")
    add_common(simulate)
    simulate.add_argument("--steps", type=int, default=20, metavar="N",
                          help="steps per walk at most (default 20)")
    simulate.add_argument("--seed", type=int, metavar="S",
                          help="random seed (default: a fresh one, printed so the walk can "
                          "be repeated)")
    simulate.add_argument("--runs", type=int, default=1, metavar="R",
                          help="walks to take; stops at the first that violates a property")
    simulate.add_argument("--all-walks", action="store_true",
                          help="print every walk (default: the walk that violates a property, "
                          "else the last one, and a line on the others)")
    add_actions(simulate, "every action, each enabled instance equally likely")
    simulate.add_argument("--cluster", metavar="ADDRESS",
                          help="swarm: the walks spread over a Dask cluster (local:N starts N "
                          "workers here), each task with its own seed and mix of operations; "
                          "the first violating walk is shrunk and shown")
    add_coverage(simulate, "the walks")
    add_picture_options(simulate, "the last walk")


def run(model: ir.Model, args: argparse.Namespace, consts: dict[str, int]) -> int:
    from rmapcheck.cli.outcome import style, write_pictures
    from rmapcheck.core.coverage import summarize
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.explicit.simulate import random_walk
    from rmapcheck.instance import Instance
    from rmapcheck.render.text import format_explanation, format_trace
    from rmapcheck.trace import Trace

    # Before the machine is built: a misspelled action is one sentence, at once.
    weights = parse_actions(args.actions, model) or None
    instance = Instance(model, consts)
    machine = Machine(instance, coverage=args.coverage)
    seen: set[tuple[Any, ...]] = set()
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    rng = random.Random(seed)
    shown = style(args)
    worst = errors.EXIT_OK
    walks: list[dict[str, Any]] = []
    last: tuple[Trace, list[str]] | None = None
    taken = 0
    def show(walk: int, trace: Trace, failed: list[str]) -> None:
        title = (f"{model.name}: random walk {walk} of {args.runs}, seed {seed}, "
                 f"{len(trace)} step{'s' if len(trace) != 1 else ''}")
        print(shown.bold(title))
        print("\n".join(format_trace(instance, trace, shown)))
        if failed:
            print()
            print("\n".join(format_explanation(machine, failed[0], trace, shown)))
        elif len(trace) < args.steps:
            which = "no action" if weights is None else "no action of --actions"
            print(shown.dim(f"  ({which} is enabled: the walk ends here)"))
        print()

    if args.cluster:
        return _swarm(machine, args, seed, shown)
    for walk in range(1, args.runs + 1):
        taken = walk
        trace, failed = random_walk(machine, rng, args.steps, seen, weights)
        last = (trace, failed)
        if args.json:
            from rmapcheck.render.itf import trace_to_itf

            walks.append({"walk": walk, "steps": len(trace), "violated": failed,
                          "trace": trace_to_itf(instance, trace,
                                                failed[0] if failed else None)})
        elif args.all_walks or failed or walk == args.runs:
            # Hundreds of walks printed whole bury the one that matters.
            show(walk, trace, failed)
        if failed:
            worst = errors.EXIT_VIOLATED
            break
    if not args.json and taken > 1:
        verdict = (f"walk {taken} violates {last[1][0]}" if last is not None and last[1]
                   else "no property violated")
        print(shown.dim(f"  {taken} random walk{'s' if taken != 1 else ''} of at most "
                        f"{args.steps} steps, seed {seed}: {verdict}; {len(seen):,} distinct "
                        "states seen" + ("" if args.all_walks else
                                         " (--all-walks prints every walk)")))
    document: dict[str, Any] = {"model": model.name, "seed": seed, "actions": weights,
                                "walks": walks}
    if args.coverage:
        from rmapcheck.render.coverage_report import coverage_to_json, format_coverage

        coverage = summarize(
            machine.core, machine.counts, checked=[p.name for p in model.invariants],
            states=len(seen), complete=False, per_state=True,
            stopped=f"{taken} random walk{'s' if taken != 1 else ''} of at most {args.steps} "
                    "steps")
        if args.json:
            document["coverage"] = coverage_to_json(coverage)
        else:
            print("\n".join(format_coverage(coverage, shown)))
    if args.json:
        print(json.dumps(document))
    if last is not None:
        trace, failed = last
        name = failed[0] if failed else None
        if getattr(args, "itf", None):
            from rmapcheck.render.itf import write_itf

            write_itf(instance, trace, args.itf, violated=name)
        write_pictures(machine, trace, name, args)
    return worst


def _swarm(machine: Any, args: argparse.Namespace, seed: int, shown: Any) -> int:
    from rmapcheck.errors import SpecError
    from rmapcheck.explicit import cluster
    from rmapcheck.fuzz.swarm import swarm_walks
    from rmapcheck.render.itf import trace_to_itf
    from rmapcheck.render.text import format_explanation, format_trace

    if args.actions or args.all_walks or args.coverage:
        raise SpecError("--cluster chooses each task's mix of operations itself; it does not "
                        "take --actions, --all-walks or --coverage", None)
    with cluster.connect(args.cluster) as client:
        trace, failed, figures = swarm_walks(machine, client, runs=args.runs, steps=args.steps,
                                             seed=seed)
    instance = machine.instance
    summary = (f"{figures['walks']:,} random walks of at most {args.steps} steps in "
               f"{figures['tasks']} tasks, seed {seed}: " +
               (f"{figures['violating_tasks']} task(s) found a violation; task "
                f"{figures['task']}'s, shrunk, violates {failed[0]}" if trace is not None
                else "no property violated"))
    if args.json:
        document: dict[str, Any] = {"model": machine.model.name, "seed": seed,
                                    "swarm": {k: v for k, v in figures.items()
                                              if k != "strategy"},
                                    "violated": failed}
        if trace is not None:
            document["trace"] = trace_to_itf(instance, trace, failed[0])
        print(json.dumps(document, default=str))
    else:
        if trace is not None:
            print(shown.bold(f"{machine.model.name}: {failed[0]} is violated by a swarm walk, "
                             f"shrunk to {len(trace)} steps"))
            print("\n".join(format_trace(instance, trace, shown)))
            print()
            print("\n".join(format_explanation(machine, failed[0], trace, shown)))
            print()
        print(shown.dim("  " + summary))
    if trace is not None:
        if getattr(args, "itf", None):
            from rmapcheck.render.itf import write_itf

            write_itf(instance, trace, args.itf, violated=failed[0])
        from rmapcheck.cli.outcome import write_pictures

        write_pictures(machine, trace, failed[0], args)
        return errors.EXIT_VIOLATED
    return errors.EXIT_OK
