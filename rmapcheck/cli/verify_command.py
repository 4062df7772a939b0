"""``rmapcheck verify FILE``: search for a violation, with the engine and
limits the user gives (``rmapcheck.portfolio`` decides what runs)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rmapcheck import ir
from rmapcheck.cli.options import (
    add_command,
    add_common,
    add_counterexample_options,
    add_coverage,
    add_property_option,
    check_property_names,
    positive,
)


def add_parser(sub: Any) -> None:
    verify = add_command(sub, "verify",
                         help="search for a violation (explicit-state by default)")
    add_common(verify)
    verify.add_argument("--engine", choices=["auto", "explicit", "native", "bmc"],
                        default="auto",
                        help="auto (default): Python for a small state space, else the "
                        "native engine when a C compiler is there; explicit: Python; native: "
                        "the same search compiled to C; bmc: Z3")
    verify.add_argument("--dfs", action="store_true", help="depth-first (explicit engine)")
    verify.add_argument("--no-symmetry", action="store_true",
                        help="explore every state, not one per symmetry class")
    verify.add_argument("--cluster", metavar="ADDRESS",
                        help="breadth-first search on a Dask cluster, the visited set "
                        "partitioned by state hash over its workers: local:N starts N "
                        "workers on this machine, else the scheduler's address "
                        "(tcp://host:8786); the same states, verdicts and traces")
    verify.add_argument("--por", action="store_true",
                        help="partial-order reduction: where a thread's next step is "
                        "independent of every other thread and invisible to the properties, "
                        "take it alone (Python breadth-first search; counterexamples may "
                        "then not be the shortest)")
    verify.add_argument("--max-states", type=positive(int), metavar="N",
                        help="stop the search after N distinct states (what it covered is "
                        "said; exit 13 if nothing was violated)")
    verify.add_argument("--max-depth", type=positive(int), metavar="N",
                        help="explore behaviours of at most N steps")
    verify.add_argument("--timeout", type=positive(float), metavar="SECONDS",
                        help="stop after this long; what was covered is said")
    verify.add_argument("--max-memory", type=positive(int), metavar="MIB",
                        help="stop before the search's resident memory passes this")
    verify.add_argument("--workers", type=positive(int), metavar="N",
                        help="processes for the explicit search (default: 1)")
    verify.add_argument("--depth", type=positive(int), default=10, metavar="K",
                        help="BMC depth (default 10)")
    verify.add_argument("--solver-timeout", type=positive(float), metavar="SECONDS",
                        help="the limit of each Z3 query (--engine bmc, and the proofs "
                        "after a search that stopped at its state limit)")
    add_property_option(verify, "check")
    add_coverage(verify, "the search")
    add_counterexample_options(verify)


def run(model: ir.Model, args: argparse.Namespace, consts: dict[str, int]) -> int:
    from rmapcheck import portfolio
    from rmapcheck.cli.outcome import exit_code, print_result, report_coverage, write_artifacts
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.instance import Instance
    from rmapcheck.replay import replay

    instance = Instance(model, consts)
    selected = check_property_names(model, args.property)
    machine = Machine(instance, coverage=args.coverage)
    engine, note = portfolio.choose_engine(args.engine, args.dfs, args.por)
    if note:
        sys.stderr.write(f"rmapcheck: note: {note}\n")
    # ``--workers 1`` leaves the choice to the engine (the native engine's
    # threads), as no ``--workers`` does.
    workers = args.workers if args.workers and args.workers > 1 else None
    limits = portfolio.SearchLimits(
        max_states=args.max_states, max_depth=args.max_depth, timeout=args.timeout,
        max_memory=args.max_memory * 2**20 if args.max_memory else None, workers=workers,
        symmetry=not args.no_symmetry, partial_order=args.por, properties=selected)
    if args.cluster:
        result = _on_cluster(machine, limits, args)
    else:
        result = portfolio.verify(machine, limits, engine, bmc_depth=args.depth,
                                  solver_timeout=args.solver_timeout)
    fallback = dict(result.stats.extra).get("native_fallback")
    if fallback:
        sys.stderr.write(f"rmapcheck: note: the Python engine ran instead of the native "
                         f"one: {fallback}\n")
    for _, violation in result.violations:
        replay(machine, violation.trace)
    write_artifacts(machine, result, args)
    print_result(machine, result, args)
    report_coverage(machine, result, args)
    return exit_code(result)


def _on_cluster(machine: Any, limits: Any, args: argparse.Namespace) -> Any:
    from rmapcheck.errors import SpecError
    from rmapcheck.explicit import cluster
    from rmapcheck.explicit.search import restarting

    clash = [flag for flag, given in (("--engine", args.engine != "auto"), ("--dfs", args.dfs),
                                      ("--por", args.por), ("--workers", args.workers),
                                      ("--coverage", args.coverage)) if given]
    if clash:
        raise SpecError(f"--cluster runs its own breadth-first search; it does not take "
                        f"{', '.join(clash)}", None)
    with cluster.connect(args.cluster) as client:
        return restarting(machine, limits, lambda left: cluster.search(machine, left, client))
