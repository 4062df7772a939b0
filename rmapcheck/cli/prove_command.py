"""``rmapcheck prove FILE``: Z3 proofs of the invariants, after the search the
planner runs before them (``rmapcheck.portfolio.prove``)."""

from __future__ import annotations

import argparse
from typing import Any

from rmapcheck import ir
from rmapcheck.cli.options import (
    add_command,
    add_common,
    add_coverage,
    add_property_option,
    check_property_names,
    positive,
)


def add_parser(sub: Any) -> None:
    prove = add_command(sub, "prove", help="prove the invariants with Z3")
    add_common(prove)
    prove.add_argument("--method", choices=["auto", "induction", "kinduction", "spacer"],
                       default="auto",
                       help="auto (default): induction with the spec's lemmas, then with "
                       "inferred ones, then Spacer, then k-induction; or one of them alone")
    prove.add_argument("-k", type=positive(int), default=2, help="k for k-induction")
    prove.add_argument("--solver-timeout", type=positive(float), metavar="SECONDS",
                       help="the limit of each solver query")
    prove.add_argument("--timeout", type=positive(float), metavar="SECONDS",
                       help="the limit of the whole proof; what it cuts short is inconclusive")
    add_property_option(prove, "prove")
    prove.add_argument("--no-infer", action="store_true",
                       help="do not look for lemmas beyond the spec's own")
    add_coverage(prove, "the search before the proofs")
    prove.add_argument("--no-spec-lemmas", action="store_true",
                       help="leave out the lemmas the spec states (what the prover finds alone)")


def run(model: ir.Model, args: argparse.Namespace, consts: dict[str, int]) -> int:
    from rmapcheck import portfolio
    from rmapcheck.cli.outcome import exit_code, print_result, report_coverage
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.instance import Instance

    instance = Instance(model, consts)
    selected = check_property_names(model, args.property)
    result = portfolio.prove(instance, props=selected, method=args.method,
                             k=args.k, solver_timeout=args.solver_timeout,
                             time_limit=args.timeout, infer_lemmas=not args.no_infer,
                             spec_lemmas=not args.no_spec_lemmas, coverage=args.coverage)
    machine = Machine(instance)
    print_result(machine, result, args)
    report_coverage(machine, result, args)
    return exit_code(result)
