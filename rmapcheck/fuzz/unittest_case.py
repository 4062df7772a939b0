"""``testcase(spec, **consts)``: a spec's fuzzing as a ``unittest.TestCase`` class.

    TestAnonVma = rmapcheck.fuzz.testcase("anon_vma.spec", PROCS=6, VPAGES=32)

pytest collects it like any TestCase. Its one test fuzzes the spec and fails
with the shrunk counterexample, printed as ``rmapcheck verify`` prints one,
and the seed to reproduce it. The budget comes from the arguments, else from
the environment (``RMAPCHECK_FUZZ_EXAMPLES``, ``RMAPCHECK_FUZZ_STEPS``,
``RMAPCHECK_FUZZ_SEED``), else the defaults; the seed defaults to a fixed
number so that CI runs are reproducible.
"""

from __future__ import annotations

import os
import unittest
from typing import ClassVar

from rmapcheck.fuzz import DEFAULT_EXAMPLES, DEFAULT_STEPS

DEFAULT_TEST_SEED = 0


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a whole number") from None


def testcase(spec: str, *, examples: int | None = None, steps: int | None = None,
             seed: int | None = None, timeout: float | None = None,
             expect_violation: str | None = None, **consts: int) -> type[unittest.TestCase]:
    """A TestCase class that fuzzes ``spec`` (a path or a bundled model name)
    with the constants ``consts``. With ``expect_violation``, the test passes
    only when that property is violated (for the broken variants)."""

    class FuzzTest(unittest.TestCase):
        spec_file = spec
        constants: ClassVar[dict[str, int]] = dict(consts)

        def test_fuzz(self) -> None:
            from rmapcheck.explicit.machine import Machine
            from rmapcheck.frontend import load_model
            from rmapcheck.fuzz.run import fuzz, summary
            from rmapcheck.instance import Instance
            from rmapcheck.render.text import format_result

            model = load_model(spec, consts)
            machine = Machine(Instance(model, consts), symmetry=False)
            result = fuzz(
                machine,
                examples=examples if examples is not None
                else _env_int("RMAPCHECK_FUZZ_EXAMPLES", DEFAULT_EXAMPLES),
                steps=steps if steps is not None
                else _env_int("RMAPCHECK_FUZZ_STEPS", DEFAULT_STEPS),
                seed=seed if seed is not None
                else _env_int("RMAPCHECK_FUZZ_SEED", DEFAULT_TEST_SEED),
                timeout=timeout)
            report = format_result(machine, result) + "\n" + summary(result)
            names = [name for name, _ in result.violations]
            if expect_violation is not None:
                if expect_violation not in names:
                    self.fail(f"expected {expect_violation} to be violated\n{report}")
            elif names:
                self.fail(report)

    name = "Fuzz" + "".join(part.capitalize() for part in
                            os.path.basename(spec).removesuffix(".spec").split("_"))
    FuzzTest.__name__ = FuzzTest.__qualname__ = name
    return FuzzTest


