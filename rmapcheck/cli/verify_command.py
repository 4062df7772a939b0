"""``rmapcheck verify FILE``: search for a violation, with the engine and
limits the user gives (``rmapcheck.portfolio`` decides what runs)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from rmapcheck import ir
from rmapcheck.cli.options import (
    add_command,
    add_common,
    add_counterexample_options,
    positive,
)
from rmapcheck.limits import Progress


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
    verify.add_argument("--max-states", type=positive(int), metavar="N")
    verify.add_argument("--max-depth", type=positive(int), metavar="N")
    verify.add_argument("--timeout", type=positive(float), metavar="SECONDS")
    verify.add_argument("--max-memory", type=positive(int), metavar="MIB")
    verify.add_argument("--workers", type=positive(int), metavar="N",
                        help="processes for the explicit search (default: 1)")
    verify.add_argument("--depth", type=positive(int), default=10, metavar="K",
                        help="BMC depth (default 10)")
    verify.add_argument("--solver-timeout", type=positive(float), metavar="SECONDS")
    add_counterexample_options(verify)


def _progress_printer(enabled: bool) -> Progress | None:
    if not enabled:
        return None
    last = [0.0]
    start = time.monotonic()

    def show(states: int, depth: int, rate: float, rss: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5:
            return
        last[0] = now
        mem = f", {rss / 2**20:,.0f} MiB" if rss else ""
        line = (f"  {states:,} states, depth {depth}, {rate:,.0f} states/s{mem}, "
                f"{now - start:,.0f} s")
        sys.stderr.write("\r" + line.ljust(69)[:79])
        sys.stderr.flush()

    return show


def run(model: ir.Model, args: argparse.Namespace, consts: dict[str, int]) -> int:
    from rmapcheck import portfolio
    from rmapcheck.cli.outcome import exit_code, print_result, write_artifacts
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.instance import Instance
    from rmapcheck.replay import replay

    instance = Instance(model, consts)
    machine = Machine(instance)
    engine, note = portfolio.choose_engine(args.engine, args.dfs)
    if note:
        sys.stderr.write(f"rmapcheck: note: {note}\n")
    interactive = sys.stderr.isatty() and not args.json
    progress = _progress_printer(interactive) if engine != "bmc" else None
    # ``--workers 1`` leaves the choice to the engine (the native engine's
    # threads), as no ``--workers`` does.
    workers = args.workers if args.workers and args.workers > 1 else None
    limits = portfolio.SearchLimits(
        max_states=args.max_states, max_depth=args.max_depth, timeout=args.timeout,
        max_memory=args.max_memory * 2**20 if args.max_memory else None, workers=workers,
        symmetry=not args.no_symmetry, progress=progress)
    result = portfolio.verify(machine, limits, engine, bmc_depth=args.depth,
                              solver_timeout=args.solver_timeout)
    if progress is not None:
        sys.stderr.write("\r" + " " * 70 + "\r")
    fallback = dict(result.stats.extra).get("native_fallback")
    if fallback:
        sys.stderr.write(f"rmapcheck: note: the Python engine ran instead of the native "
                         f"one: {fallback}\n")
    for _, violation in result.violations:
        replay(machine, violation.trace)
    write_artifacts(machine, result, args)
    print_result(machine, result, args)
    return exit_code(result)
