"""``rmapcheck fuzz FILE``: the command line of the fuzzer.

    rmapcheck fuzz anonmm.spec --const PROCS=6 --const VPAGES=32
    rmapcheck fuzz anon_vma.spec --examples 100000 --timeout 3600

A failure is shrunk by Hypothesis, replayed on the executable machine and
printed like every other counterexample (exit 12). The last line gives the
seed; the same command with ``--seed`` runs the same examples again.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rmapcheck import ir
from rmapcheck.cli.options import (
    add_command,
    add_common,
    add_counterexample_options,
    add_coverage,
    positive,
    positive_whole,
    seed,
)
from rmapcheck.fuzz import DEFAULT_EXAMPLES, DEFAULT_STEPS


def add_parser(sub: Any) -> None:
    fuzz = add_command(
        sub, "fuzz", help="Hypothesis stateful testing at bounds too large to exhaust",
        description="Random runs of the design's operations (Hypothesis stateful testing); "
                    "a violation is shrunk to a minimal sequence of steps. Finding nothing "
                    "is not a proof.")
    add_common(fuzz)
    fuzz.add_argument("--examples", type=positive_whole, default=DEFAULT_EXAMPLES, metavar="N",
                      help=f"random runs to try (default {DEFAULT_EXAMPLES})")
    fuzz.add_argument("--steps", type=positive_whole, default=DEFAULT_STEPS, metavar="N",
                      help=f"operations per run at most (default {DEFAULT_STEPS})")
    fuzz.add_argument("--seed", type=seed, metavar="S",
                      help="reproduce a run (default: a fresh seed, printed at the end)")
    fuzz.add_argument("--timeout", type=positive(float), metavar="SECONDS",
                      help="stop generating runs after this long (a failure found is still "
                           "shrunk)")
    fuzz.add_argument("--cluster", metavar="ADDRESS",
                      help="swarm: the runs spread over a Dask cluster (local:N starts N "
                      "workers here), task i from seed + i; the first task's violation, "
                      "shrunk, is shown")
    add_coverage(fuzz, "the runs")
    add_counterexample_options(fuzz)


def run(model: ir.Model, args: argparse.Namespace, consts: dict[str, int]) -> int:
    from rmapcheck.cli.outcome import exit_code, report_coverage, style, write_artifacts
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.fuzz.run import fuzz, summary
    from rmapcheck.instance import Instance
    from rmapcheck.render.text import format_result

    instance = Instance(model, consts)
    machine = Machine(instance, symmetry=False,  # fuzzing compares no states
                      coverage=args.coverage)
    if args.cluster:
        result = _swarm(machine, args)
    else:
        result = fuzz(machine, examples=args.examples, steps=args.steps, seed=args.seed,
                      timeout=args.timeout)
    write_artifacts(machine, result, args)
    if args.json:
        from rmapcheck.render.json_out import result_to_json

        print(json.dumps(result_to_json(instance, result), default=str))
    else:
        shown = style(args)
        print(format_result(machine, result, shown))
        print(shown.dim("  " + summary(result)))
        extra = dict(result.stats.extra)
        if result.violations:
            print(f"  reproduce: rmapcheck fuzz {' '.join(args.files)}"
                  + "".join(f" --const {k}={v}" for k, v in consts.items())
                  + f" --examples {args.examples} --steps {args.steps} --seed {extra['seed']}"
                  + (f" --cluster {args.cluster}" if args.cluster else ""))
        # Random runs reach only some of the state space: they warn of nothing.
        report_coverage(machine, result, args, warn=False)
    sys.stdout.flush()
    return exit_code(result)


def _swarm(machine: Any, args: argparse.Namespace) -> Any:
    import random

    from rmapcheck.errors import SpecError
    from rmapcheck.explicit import cluster
    from rmapcheck.fuzz.swarm import swarm_fuzz

    if args.timeout is not None or args.coverage:
        raise SpecError("--cluster runs every task to its examples; it does not take "
                        "--timeout or --coverage", None)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    with cluster.connect(args.cluster) as client:
        return swarm_fuzz(machine, client, examples=args.examples, steps=args.steps,
                          seed=seed)
