"""``rmapcheck check FILE``: parse and type-check a spec; ``--ir`` prints the
lowered IR."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rmapcheck import errors, ir
from rmapcheck.cli.options import add_command, add_common


def add_parser(sub: Any) -> None:
    check = add_command(sub, "check", help="parse and type-check a spec; --ir prints the IR",
                        epilog=False)
    add_common(check)
    check.add_argument("--ir", action="store_true", help="print the lowered IR")


def run(model: ir.Model, args: argparse.Namespace, consts: dict[str, int]) -> int:
    from rmapcheck.instance import Instance

    # The bounds are checked (an Instance built) even when only the IR is shown.
    instance = Instance(model, consts)
    if args.ir:
        from rmapcheck.ir_print import format_model

        print(format_model(model))
        return errors.EXIT_OK
    if args.json:
        print(json.dumps({"model": model.name, "ok": True, "slots": instance.num_slots,
                          "consts": instance.consts}))
        return errors.EXIT_OK
    consts_text = " ".join(f"{k}={v}" for k, v in instance.consts.items())
    print(f"{model.name}: the spec is well-formed: {len(model.state)} state variables "
          f"({instance.num_slots} slots at {consts_text}), "
          f"{len(model.actions)} actions, {len(model.properties)} properties")
    return errors.EXIT_OK
