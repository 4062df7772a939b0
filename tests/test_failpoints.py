"""Failpoints: a step that fails where an allocation may, runs its error
path and ends there, in every engine.

A broken anon_vma_chain whose fork error path unlinks the parent's VMA is
refuted through that path by the Python and C searches and by BMC alike, with
the same three steps; its fix (the kernel's error path) keeps every property
and is proved; and a stop skips the requires and assertions after it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rmapcheck.explicit import bfs, native
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.symbolic.bmc import bmc
from rmapcheck.trace import Holds, Violated

ROOT = Path(__file__).resolve().parent.parent
BROKEN = "anon_vma_chain_fork_fail_unlinks_parent"
FIXED = ROOT / "tests" / "specs" / "failpoints" / "fork_fail_fixed.spec"
SMALL = dict(PROCS=2, VPAGES=1, FRAMES=1, ANON_VMAS=2)
SHORTEST = [("mmap", {"p": 0, "s": 0, "n": 1, "growsdown": False}), ("fault", {"p": 0, "v": 0}),
            ("fork", {"parent": 0, "child": 1, "fail": 1})]


def _steps(violation: Violated) -> list[tuple[str, dict[str, object]]]:
    return [(s.action, dict(s.args)) for s in violation.trace.steps]


@pytest.mark.parametrize("engine", ["python", "native"])
def test_the_error_path_is_searched(engine: str) -> None:
    m = Machine(Instance(load_model(BROKEN), SMALL))
    search = bfs.search if engine == "python" else native.search
    v = search(m, SearchLimits(properties=["rmap_complete"])).verdict("rmap_complete")
    assert isinstance(v, Violated)
    assert _steps(v) == SHORTEST  # fail=1: anon_vma_alloc, the first failpoint


def test_bmc_takes_the_error_path_too() -> None:
    v = bmc(Instance(load_model(BROKEN), SMALL), 3, props=["rmap_complete"]).verdict(
        "rmap_complete")
    assert isinstance(v, Violated)
    assert [a for a, _ in _steps(v)] == ["mmap", "fault", "fork"]
    assert _steps(v)[-1][1]["fail"] == 1


def test_the_kernels_error_path_keeps_every_invariant() -> None:
    fixed = bfs.search(Machine(Instance(load_model(FIXED), SMALL)),
                       SearchLimits(stop_at_first=False))
    plain = bfs.search(Machine(Instance(load_model("anon_vma_chain"), SMALL)),
                       SearchLimits(stop_at_first=False))
    witnesses = {p.name for p in load_model(FIXED).properties if p.kind == "sometimes"}
    for name, verdict in fixed.verdicts:
        assert isinstance(verdict, Holds) or name in witnesses, name
    # A failed fork leaves the state as it was: the same states, more steps.
    assert fixed.stats.states == plain.stats.states == 223
    assert (fixed.stats.transitions, plain.stats.transitions) == (1515, 1486)


def test_the_kernels_error_path_is_proved() -> None:
    done = subprocess.run([sys.executable, "-m", "rmapcheck", "prove", str(FIXED), "-q",
                           "--no-color", "--property", "rmap_complete", "-c", "PROCS=2",
                           "-c", "VPAGES=2", "-c", "FRAMES=2", "-c", "ANON_VMAS=3"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "proved    invariant rmap_complete" in done.stdout


STOPPING = """model stopping
type V = 0 .. 2
var x: V
action step() {
  x := 1
  failpoint early "the step ends here, with x = 1" { x := 2 }
  requires false
  assert never "not reached when the step fails": false
}
action back() { requires x == 2  x := 0 }
invariant small: x <= 1
"""


@pytest.mark.parametrize("engine", ["explicit", "native", "bmc"])
def test_a_stop_skips_what_comes_after_it(tmp_path: Path, engine: str) -> None:
    spec = tmp_path / "stopping.spec"
    spec.write_text(STOPPING)
    done = subprocess.run([sys.executable, "-m", "rmapcheck", "verify", str(spec), "-q",
                           "--no-color", "--engine", engine, "--property", "small",
                           "--property", "never"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    # Only the failing step is enabled (the requires after the failpoint is
    # false), and it stops before the assertion: the invariant is what fails.
    assert done.returncode == 12, done.stdout + done.stderr
    assert "small is VIOLATED after 1 step" in done.stdout
    assert "1. step(fail=early)" in done.stdout
