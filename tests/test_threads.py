"""Races: threads, steps and locks, in every engine.

A threaded action is split by the front end into one action per step, so the
searches, BMC, the prover and the fuzzer run it as they run any action; these
tests pin what that gives: the mremap race that need_rmap_locks closes (found
with its interleaving, and its fix verified), a lock-order inversion found as
a deadlock, the lock discipline's own assertion, the properties that speak of
threads, and the sentences that mistakes get.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rmapcheck import ir
from rmapcheck.errors import SpecError
from rmapcheck.explicit import bfs, native
from rmapcheck.explicit.machine import Machine
from rmapcheck.explicit.partial_order import AmpleSets
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.symbolic.bmc import bmc
from rmapcheck.trace import Holds, Violated

ROOT = Path(__file__).resolve().parent.parent
ABBA = ROOT / "tests" / "specs" / "races" / "abba.spec"
SMALL = dict(PAGES=3, SLOTS=2)
# The race: the walk visits the merged destination [0, 2) before the pte
# comes back to address 1, and the source [2, 3) after it left.
RACE = ["fault", "mremap", "mremap.move", "mremap.unmap", "mremap", "try_to_unmap",
        "try_to_unmap.visit", "mremap.move", "try_to_unmap.visit", "try_to_unmap.visit",
        "try_to_unmap.unlock"]


def _actions(v: Violated) -> list[str]:
    return [s.action for s in v.trace.steps]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.spec"
    path.write_text(text)
    return path


@pytest.mark.parametrize("engine", ["python", "native"])
def test_the_unlocked_move_is_refuted_with_its_interleaving(engine: str) -> None:
    m = Machine(Instance(load_model("broken/mremap_move_ptes_unlocked")))
    search = bfs.search if engine == "python" else native.search
    result = search(m, SearchLimits())
    v = result.verdict("unmap_complete")
    assert isinstance(v, Violated)
    assert _actions(v) == RACE
    assert result.stats.states == 1_007


def test_bmc_finds_the_race_too() -> None:
    v = bmc(Instance(load_model("broken/mremap_move_ptes_unlocked"), SMALL), 11,
            props=["unmap_complete"]).verdict("unmap_complete")
    assert isinstance(v, Violated)
    assert len(v.trace) == 11


@pytest.mark.parametrize("engine", ["python", "native"])
def test_the_rmap_locks_close_the_race(engine: str) -> None:
    m = Machine(Instance(load_model("mremap_move_ptes")))
    search = bfs.search if engine == "python" else native.search
    result = search(m, SearchLimits(stop_at_first=False))
    assert all(isinstance(result.verdict(p), Holds)
               for p in ("unmap_complete", "locks_balanced", "deadlock_free",
                         "ptes_found_by_index"))
    assert result.stats.states == 13_707


def test_a_lock_order_inversion_is_a_deadlock_with_its_cycle() -> None:
    run = subprocess.run([sys.executable, "-m", "rmapcheck", "verify", str(ABBA), "-q"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 12, run.stderr
    assert "deadlock_free is VIOLATED after 2 steps" in run.stdout
    assert "1. task(p0): forward(p=p0)" in run.stdout
    assert "holds first" in run.stdout
    assert "task(p0) waits at forward.take_second for second, which task(p1) holds" \
        in run.stdout
    assert "task(p1) waits at backward.take_first for first, which task(p0) holds" \
        in run.stdout


def test_bmc_finds_the_deadlock() -> None:
    v = bmc(Instance(load_model(ABBA)), 3).verdict(ir.DEADLOCK_PROPERTY)
    assert isinstance(v, Violated)
    assert _actions(v) in (["forward", "backward"], ["backward", "forward"])


def test_one_order_has_no_deadlock(tmp_path: Path) -> None:
    text = ABBA.read_text().replace(
        "step take_second { acquire second }\n  step take_first { acquire first",
        "step take_first { acquire first }\n  step take_second { acquire second")
    result = bfs.search(Machine(Instance(load_model(_write(tmp_path, text)))),
                        SearchLimits(stop_at_first=False))
    assert isinstance(result.verdict(ir.DEADLOCK_PROPERTY), Holds)


LEAK = """model leak
type P = 0 .. 1
thread t(p: P)
lock l: P -> mutex
var n: P -> Bool
action take(p: P) in t(p) { acquire l[p]
  n[p] := true }
"""


def test_an_operation_that_ends_holding_a_lock_fails_locks_balanced(tmp_path: Path) -> None:
    result = bfs.search(Machine(Instance(load_model(_write(tmp_path, LEAK)))), SearchLimits())
    v = result.verdict("locks_balanced")
    assert isinstance(v, Violated) and _actions(v) == ["take"]


STEPS = """model steps
type P = 0 .. 1
type N = 0 .. 2
thread t(p: P)
thread w(q: P)
lock l: P -> rwsem
var n: P -> N
action tally(p: P, k: N) in t(p) {
  var i: N
  step lock { acquire l[p] as writer
    i := 0 }
  step add {
    n[p] := i
    if i < k { i := i + 1
      goto add }
  }
  step done { release l[p] }
}
action look(q: P) in w(q) {
  step lock { acquire l[q] as reader }
  step done { release l[q] }
}
invariant writer_alone: forall p: P. holds(t(p), l[p]) -> not holds(w(p), l[p])
invariant counting: forall p: P. at(t(p), tally.add) -> running(t(p), tally) and locked(l[p])
sometimes both_read: exists p: P. holds(w(p), l[p]) and at(w(p), look.done)
"""


def test_properties_speak_of_threads_and_locks(tmp_path: Path) -> None:
    model = load_model(_write(tmp_path, STEPS))
    assert [a.name for a in model.actions] == ["tally", "tally.add", "tally.done", "look",
                                               "look.done"]
    result = bfs.search(Machine(Instance(model)), SearchLimits(stop_at_first=False))
    for name in ("writer_alone", "counting", "locks_balanced"):
        assert isinstance(result.verdict(name), Holds), name
    # Each operation takes its lock in its first step, from idle: no thread
    # ever waits in the middle of an operation, so no deadlock is possible.
    assert ir.DEADLOCK_PROPERTY not in {p.name for p in model.properties}
    assert (result.stats.states, result.stats.depth) == (441, 12)


FAILING = """model failing
type P = 0 .. 0
thread t(p: P)
lock l: P -> mutex
var done: P -> Bool
var failed: P -> Bool
action op(p: P) in t(p) {
  step one { acquire l[p] }
  step two {
    failpoint alloc { release l[p]
      failed[p] := true }
    done[p] := true
  }
  step three { release l[p] }
}
sometimes failed_cleanly: forall p: P. failed[p] and not done[p] and not running(t(p), op)
  and not locked(l[p])
"""


def test_a_failpoint_in_a_step_ends_the_operation(tmp_path: Path) -> None:
    model = load_model(_write(tmp_path, FAILING))
    two = model.action("op.two")
    assert two.failure is not None and [p.name for p in two.params] == ["p", "fail"]
    result = bfs.search(Machine(Instance(model)), SearchLimits(stop_at_first=False))
    assert isinstance(result.verdict("locks_balanced"), Holds)
    w = result.verdict("failed_cleanly")
    assert isinstance(w, Holds) and result.witness_steps("failed_cleanly", w) == 2


@pytest.mark.parametrize(("body", "message"), [
    ("action a(p: P) in t(p) { step s { n[p] := true\n acquire l[p] } }",
     r"'acquire' is the first statement of a step"),
    ("action a(p: P) in t(p) { acquire m[p] }",
     r"m is an rwsem: say how it is taken, 'acquire \.\.\. as reader'"),
    ("action a(p: P) in t(p) { acquire l[p] as reader }",
     r"l is a mutex, which has one holder: 'acquire l' without 'as reader'"),
    ("action a(p: P) in t(p) { step s { goto z } }",
     r"'goto z': operation a has no step z"),
    ("action a(p: P) { step s { } }",
     r"action a has steps or a thread's vars, which need a thread"),
    ("action a(p: P) in u(p) { }", r"unknown thread 'u'"),
    ("action a(p: P, q: P) in t(0) { }",
     r"say which thread with the action's own parameters"),
    ("action a(p: P) { release l[p] }", r"'release' belongs in a threaded action"),
    ("proc x(p: P) { step s { } }\naction a(p: P) { x(p) }",
     r"a step belongs at the top of a threaded action's body"),
    ("action a(p: P) in t(p) { step s { } \n n[p] := true }",
     r"an action with steps has only 'var's and steps at the top of its body"),
    ("action a(p: P) in t(p) { acquire k }", r"unknown lock 'k'"),
    ("invariant i: holds(t(0), q)", r"a lock here: a lock's name"),
    ("invariant i: at(t(0), a)", r"at's second argument is an operation of thread t"),
    ("lock z: semaphore", r"a lock is a mutex, an rwsem or a spinlock, not 'semaphore'"),
])
def test_mistakes_get_one_sentence(tmp_path: Path, body: str, message: str) -> None:
    head = ("model m\ntype P = 0 .. 1\nvar n: P -> Bool\nthread t(p: P)\nlock l: P -> mutex\n"
            "lock m: P -> rwsem\naction idle(p: P) { n[p] := false }\n")
    with pytest.raises(SpecError, match=message):
        load_model(_write(tmp_path, head + body + "\n"))


def test_a_keyword_used_as_a_name_says_so(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="'step' is a keyword of the spec language"):
        load_model(_write(tmp_path, "model m\ntype V = 0 .. 1\nproc step(v: V) { }\n"
                                    "action a(v: V) { step(v) }\n"))


def test_atomic_models_get_no_thread_state() -> None:
    model = load_model("anon_vma")
    assert not model.threads and not model.locks
    assert ir.DEADLOCK_PROPERTY not in {p.name for p in model.properties}


PRIVATE = ROOT / "tests" / "specs" / "races" / "private_work.spec"


def _counts(spec: Path | str, partial_order: bool) -> tuple[int, dict[str, str]]:
    result = bfs.search(Machine(Instance(load_model(spec))),
                        SearchLimits(stop_at_first=False, partial_order=partial_order))
    return result.stats.states, {n: type(v).__name__ for n, v in result.verdicts}


def test_partial_order_reduction_keeps_verdicts_and_shrinks_private_steps() -> None:
    full, verdicts = _counts(PRIVATE, False)
    reduced, reduced_verdicts = _counts(PRIVATE, True)
    assert (full, reduced) == (250, 88)
    assert verdicts == reduced_verdicts


@pytest.mark.parametrize("spec", ["mremap_move_ptes", "broken/mremap_move_ptes_unlocked",
                                  str(ABBA)])
def test_partial_order_reduction_keeps_every_verdict(spec: str) -> None:
    full, verdicts = _counts(spec, False)
    reduced, reduced_verdicts = _counts(spec, True)
    assert verdicts == reduced_verdicts
    # Every step of these races touches what another thread reads or what a
    # property reads: nothing is independent, nothing is reduced.
    assert reduced == full


def test_independence_of_private_steps() -> None:
    model = load_model(PRIVATE)
    sets = AmpleSets(Machine(Instance(model)), [p.name for p in model.properties])
    free = {a.name for a, ok in zip(model.actions, sets.free, strict=True) if ok}
    # done releases the process's own lock, which no other process takes; the
    # first step (from idle) is never reduced.
    assert free == {"job.middle", "job.last", "job.done"}


def test_run_takes_steps_by_name_and_says_which_lock_blocks_one() -> None:
    actions = ("fault(m=0, v=1, f=f0)\nmremap(m=0, a=0, s=1, d=2)\nmremap.move(m=0)\n"
               "try_to_unmap(w=w0, f=f0)\ntry_to_unmap.visit(w=w0)\nmremap.unmap(m=0)\n")
    run = subprocess.run([sys.executable, "-m", "rmapcheck", "run", "mremap_move_ptes",
                          "--actions", "-"], input=actions, capture_output=True, text=True,
                         check=False)
    assert run.returncode == 11, run.stderr
    assert "5. walker(w0): try_to_unmap.visit(w=w0)" in run.stdout
    assert "blocked by acquire anon_vma_lock as writer" in run.stdout
    assert "where anon_vma_lock.walker[w0] = reader" in run.stdout


def test_past_five_threads_the_short_cycles_are_checked_and_said(tmp_path: Path) -> None:
    six = ABBA.read_text().replace("type Proc = symmetric 0 .. 1", "type Proc = symmetric 0 .. 5")
    model = Instance(load_model(_write(tmp_path, six))).model
    assert "no cycle of up to 4 threads" in model.prop(ir.DEADLOCK_PROPERTY).doc
    result = bfs.search(Machine(Instance(load_model(_write(tmp_path, six)))), SearchLimits())
    assert _actions(result.verdict(ir.DEADLOCK_PROPERTY)) in (  # type: ignore[arg-type]
        ["forward", "backward"], ["backward", "forward"])
    one_order = six.replace(
        "step take_second { acquire second }\n  step take_first { acquire first",
        "step take_first { acquire first }\n  step take_second { acquire second")
    held = bfs.search(Machine(Instance(load_model(_write(tmp_path, one_order)))),
                      SearchLimits(stop_at_first=False))
    assert isinstance(held.verdict(ir.DEADLOCK_PROPERTY), Holds)


def test_the_html_explorer_has_one_lane_per_thread(tmp_path: Path) -> None:
    from rmapcheck.render.html import trace_to_html
    from rmapcheck.render.itf import trace_to_itf

    machine = Machine(Instance(load_model("broken/mremap_move_ptes_unlocked")))
    v = bfs.search(machine).verdict("unmap_complete")
    assert isinstance(v, Violated)
    page = trace_to_html(machine, v.trace, "unmap_complete")
    lanes = page.split('<table class="lanes">', 1)[1].split("</table>", 1)[0]
    assert "<th>task(0)</th><th>walker(w0)</th>" in lanes
    cell = ('<td></td><td><a href="#step-6">6. try_to_unmap</a>'
            '<div class="held">holds anon_vma_lock as reader</div></td>')
    assert cell in lanes
    itf = trace_to_itf(machine.instance, v.trace, "unmap_complete")
    meta = itf["states"][6]["#meta"]
    assert meta["thread"] == "walker(w0)" and meta["holds"] == ["anon_vma_lock as reader"]
