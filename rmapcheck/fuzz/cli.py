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
from collections.abc import Callable
from typing import Any

from rmapcheck.fuzz import DEFAULT_EXAMPLES, DEFAULT_STEPS


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must not be negative")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return value


def add_fuzz_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None],
                    epilog: str) -> argparse.ArgumentParser:
    fuzz = sub.add_parser(
        "fuzz", help="Hypothesis stateful testing at bounds too large to exhaust",
        description="Random runs of the design's operations (Hypothesis stateful testing); "
                    "a violation is shrunk to a minimal sequence of steps. Finding nothing "
                    "is not a proof.",
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    common(fuzz)
    fuzz.add_argument("--examples", type=_positive_int, default=DEFAULT_EXAMPLES, metavar="N",
                      help=f"random runs to try (default {DEFAULT_EXAMPLES})")
    fuzz.add_argument("--steps", type=_positive_int, default=DEFAULT_STEPS, metavar="N",
                      help=f"operations per run at most (default {DEFAULT_STEPS})")
    fuzz.add_argument("--seed", type=_seed, metavar="S",
                      help="reproduce a run (default: a fresh seed, printed at the end)")
    fuzz.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                      help="stop generating runs after this long (a failure found is still "
                           "shrunk)")
    fuzz.add_argument("--itf", metavar="FILE", help="write the counterexample as ITF JSON")
    fuzz.add_argument("--dot", metavar="FILE", help="draw the violating state (Graphviz)")
    fuzz.add_argument("--svg", metavar="FILE", help="the same picture as SVG (needs Graphviz)")
    fuzz.add_argument("--png", metavar="FILE", help="the same picture as PNG (needs Graphviz)")
    fuzz.add_argument("--html", metavar="FILE", help="write an HTML trace explorer")
    return fuzz


def fuzz_command(model: Any, args: argparse.Namespace, consts: dict[str, int]) -> int:
    from rmapcheck import cli
    from rmapcheck.explicit.machine import Machine
    from rmapcheck.fuzz.run import fuzz, summary
    from rmapcheck.instance import Instance
    from rmapcheck.render.text import Style, auto_style, format_result

    instance = Instance(model, consts)
    machine = Machine(instance, symmetry=False)  # fuzzing compares no states
    result = fuzz(machine, examples=args.examples, steps=args.steps, seed=args.seed,
                  timeout=args.timeout)
    cli._write_artifacts(machine, result, args)
    if args.json:
        from rmapcheck.render.json_out import result_to_json

        print(json.dumps(result_to_json(instance, result), indent=2, default=str))
    else:
        style = Style(False) if args.no_color else auto_style()
        print(format_result(machine, result, style))
        print(style.dim("  " + summary(result)) if hasattr(style, "dim") else summary(result))
        extra = dict(result.stats.extra)
        if result.violations:
            print(f"  reproduce: rmapcheck fuzz {' '.join(args.files)}"
                  + "".join(f" --const {k}={v}" for k, v in consts.items())
                  + f" --examples {args.examples} --steps {args.steps} --seed {extra['seed']}")
    sys.stdout.flush()
    return cli._exit_code(result)
