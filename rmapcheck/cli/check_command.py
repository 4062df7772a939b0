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
    at = f" at {consts_text}" if consts_text else ""
    print(f"{model.name}: the spec is well-formed: "
          f"{_count(len(model.state), 'state variable')} "
          f"({_count(instance.num_slots, 'slot')}{at}), "
          f"{_count(len(model.actions), 'action')}, "
          f"{_count(len(model.properties), 'property', 'properties')}")
    return errors.EXIT_OK


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one}" if n == 1 else f"{n:,} {many or one + 's'}"
