"""Coverage (``--coverage``) and the default warnings of what a search never
reached: the counts pinned on a small instance of anon_vma, the same from the
Python engine (breadth-first, depth-first, on several processes), the native
engine (one thread or several) and the core's interpreter; the warnings of a
design whose hook makes an action impossible, of a hook that never runs and
of a vacuous invariant; and the table, the JSON and the warnings on the
command line."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from rmapcheck.cli.main import main
from rmapcheck.core.coverage import Counts, summarize
from rmapcheck.core.interp import Interpreter
from rmapcheck.core.lower import CoreModel
from rmapcheck.explicit import bfs, dfs, native
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.limits import SearchLimits
from rmapcheck.trace import Coverage

# One process, two pages, one frame: every operation but fork and cow (which
# need a second process) happens, and the whole space is 1,098 states.
SMALL = {"PROCS": 1, "VPAGES": 2, "FRAMES": 1}

needs_cc = pytest.mark.skipif(not native.available(), reason="no C compiler")


@pytest.fixture(scope="module")
def small() -> Instance:
    return Instance(load_model("anon_vma.spec"), SMALL)


def actions(coverage: Coverage) -> dict[str, tuple[int, int]]:
    return {a.name: (a.enabled, a.new) for a in coverage.actions}


def sites(coverage: Coverage) -> dict[tuple[str, str, int], tuple[int, int | None]]:
    return {(s.kind, s.name, s.span.line if s.span else 0): (s.count, s.states)
            for s in coverage.sites}


def search(instance: Instance, engine: str, **limits: Any) -> Coverage:
    machine = Machine(instance, coverage=True)
    given = SearchLimits(stop_at_first=False, **limits)
    if engine == "native":
        result = native.search(machine, given, fallback=False)
    elif engine == "dfs":
        result = dfs.search(machine, given)
    else:
        result = bfs.search(machine, given)
    assert result.coverage is not None
    return result.coverage


# ------------------------------------------------------------ counts


EXPECTED_ACTIONS = {
    "mmap": (198, 98), "munmap": (3160, 16), "mprotect": (3572, 400), "mremap": (208, 44),
    "fork": (0, 0), "exit": (1097, 1), "fault": (528, 254), "cow": (0, 0),
    "grow_stack": (24, 10), "swap_out": (536, 274),
}
EXPECTED_HOOKS = {
    "finds": 2680, "can_merge": 1388, "on_new_vma": 198, "on_merge": 332, "on_split": 192,
    "on_move": 96, "on_move_pte": 32, "on_grow": 24, "on_vmas_removed": 4417,
    "on_fault": 528, "on_cow": 0, "on_reuse": 0, "on_fork": 0, "on_fork_pte": 0,
    "on_unmap": 2152, "file_backed": 2776, "in_page_cache": 0, "same_backing": 1388,
    "cow_mapping": 2000, "stack_may_grow": 24, "vma_has_anon_vma": 2000,
}
# anon_vma.spec's own ifs, by line: (then, else)
EXPECTED_BRANCHES = {50: (120, 212), 54: (256, 272), 73: (5096, 3738), 74: (3720, 1376)}
# the states in which each invariant's antecedent held
EXPECTED_ANTECEDENTS = {
    "rmap_complete": 536, "rmap_sound": 536, "wf_ptes_in_vmas": 536, "wf_vmas": 1096,
    "wf_pgoff": 1096, "anon_vma_allocated": 932,
}


def test_counts_are_pinned_on_a_small_instance(small: Instance) -> None:
    coverage = search(small, "explicit")
    assert coverage.states == 1098 and coverage.complete and coverage.full
    assert actions(coverage) == EXPECTED_ACTIONS
    assert {s.name: s.count for s in coverage.sites if s.kind == "hook"} == EXPECTED_HOOKS
    branches: dict[int, list[int]] = {}
    for s in coverage.sites:
        if s.kind in ("then", "else"):
            assert s.span is not None and s.span.file == "models/anon_vma.spec"
            branches.setdefault(s.span.line, [0, 0])[s.kind == "else"] = s.count
    assert {line: tuple(c) for line, c in branches.items()} == EXPECTED_BRANCHES
    assert {s.name: s.states for s in coverage.sites
            if s.kind == "antecedent"} == EXPECTED_ANTECEDENTS
    # The design's own hooks, against the library's defaults.
    by_design = {s.name for s in coverage.sites if s.kind == "hook" and s.by_design}
    assert by_design == {"finds", "can_merge", "on_merge", "on_vmas_removed", "on_fault",
                         "on_cow"}
    # An action with few instances is counted per instance too.
    fault = next(a for a in coverage.actions if a.name == "fault")
    assert [(dict(i.args), i.enabled, i.new) for i in fault.instances] == [
        ({"p": "0", "v": "0"}, 264, 128), ({"p": "0", "v": "1"}, 264, 126)]


@needs_cc
def test_the_native_engine_counts_the_same(small: Instance) -> None:
    python = search(small, "explicit")
    for workers in (1, 2):
        compiled = search(small, "native", workers=workers)
        assert actions(compiled) == actions(python) == EXPECTED_ACTIONS
        assert sites(compiled) == sites(python)


def interpreter_search(instance: Instance) -> Coverage:
    """Breadth-first search on the core's interpreter, without symmetry: its
    successors run each action's plan as the engines do."""
    core = CoreModel(instance, coverage=True)
    counts = Counts(core)
    interp = Interpreter(core, counts.marks)
    initial = interp.initial_state()
    counts.reset()  # the init block's marks are the summary's to add
    invariants = [p for p in core.properties if p.kind != "sometimes"]

    def check(state: tuple[Any, ...]) -> None:
        before = counts.snapshot()
        for prop in invariants:
            assert interp.eval(prop.expr, {}, state)
        counts.count_states(before)

    seen = {initial}
    queue = deque([initial])
    check(initial)
    while queue:
        for iid, nxt, _failed in interp.successors(queue.popleft()):
            counts.enabled[iid] += 1
            if nxt not in seen:
                seen.add(nxt)
                counts.fresh[iid] += 1
                queue.append(nxt)
                check(nxt)
    return summarize(core, counts, checked=[p.name for p in core.properties],
                     states=len(seen), complete=True, stopped=None, per_state=True)


def test_every_engine_and_the_interpreter_agree_without_symmetry(small: Instance) -> None:
    """Without symmetry every engine stores the same states in the same order,
    so even which action first reached each state is the same. (With it, the
    engines may keep different representatives of a state, and which action
    first reaches an orbit may differ; the rest is the same, as above.)"""
    python = search(small, "explicit", symmetry=False)
    assert python.states == 1814
    reference = interpreter_search(small)
    assert actions(reference) == actions(python)
    assert sites(reference) == sites(python)
    parallel = search(small, "explicit", symmetry=False, workers=2)
    assert actions(parallel) == actions(python) and sites(parallel) == sites(python)
    depth_first = search(small, "dfs", symmetry=False)
    assert sites(depth_first) == sites(python)
    assert {n: e for n, (e, _) in actions(depth_first).items()} == \
        {n: e for n, (e, _) in actions(python).items()}
    if native.available():
        compiled = search(small, "native", symmetry=False)
        assert actions(compiled) == actions(python) and sites(compiled) == sites(python)


def test_default_marks_are_only_what_the_warnings_need(small: Instance) -> None:
    default = CoreModel(small)
    assert {s.kind for s in default.coverage_sites} == {"hook", "hook_end", "antecedent"}
    assert all(s.by_design for s in default.coverage_sites if s.kind == "hook")
    full = CoreModel(small, coverage=True)
    assert {s.name for s in full.coverage_sites if s.kind == "hook"} == set(EXPECTED_HOOKS)
    # Without --coverage the action counts and the design's hooks are still there.
    result = bfs.search(Machine(small), SearchLimits(stop_at_first=False))
    assert result.coverage is not None and not result.coverage.full
    assert actions(result.coverage) == EXPECTED_ACTIONS
    assert {s.name: s.count for s in result.coverage.sites if s.kind == "hook"} == {
        name: EXPECTED_HOOKS[name] for name in
        ("finds", "can_merge", "on_merge", "on_vmas_removed", "on_fault", "on_cow")}


# ------------------------------------------------------------ warnings

LIBRARY = '''"""A toy library: processes map one page; a design says what mapping does."""
library toylib

const PROCS = 2 in 1 .. 3 "processes"
type Proc = symmetric 0 .. PROCS - 1 "a process"
type Count = 0 .. PROCS "a mapcount"

var mapped: Proc -> Bool "p maps the page"
var mapcount: Count "how many processes map it"

hook proc on_map(p: Proc) "p now maps the page" { }
hook def may_unmap(p: Proc): Bool "may p unmap the page" = true

action map(p: Proc) "p maps the page" {
  requires not mapped[p]
  mapped[p] := true
  mapcount := mapcount + 1
  on_map(p)
}

action unmap(p: Proc) "p unmaps the page" {
  requires mapped[p] and may_unmap(p)
  mapped[p] := false
  mapcount := mapcount - 1
}

invariant counted "mapcount counts the mappings": mapcount == (count p: Proc. mapped[p])
'''

DESIGN = '''"""A design whose on_map requires what never holds."""
model toy
use toylib

proc on_map(p: Proc) {{ {on_map} }}
def may_unmap(p: Proc): Bool = mapcount > 0

invariant mapped_counted "a mapped page is counted": forall p: Proc. mapped[p] -> mapcount > 0
'''


def toy(tmp_path: Path, on_map: str) -> str:
    (tmp_path / "toylib.spec").write_text(LIBRARY)
    path = tmp_path / "toy.spec"
    path.write_text(DESIGN.format(on_map=on_map))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_impossible_hook_is_warned_and_the_verdict_stands(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = toy(tmp_path, "requires mapcount > PROCS")
    code, out, err = run(capsys, "verify", spec)
    assert code == 0
    assert "no property is violated" in out
    lib, design = tmp_path / "toylib.spec", tmp_path / "toy.spec"
    bounds = "at PROCS=2 (the search finished)"
    assert err.splitlines() == [
        f"{lib}:14:1: warning: action map never fired {bounds}",
        f"{lib}:21:1: warning: action unmap never fired {bounds}",
        (f"{design}:5:1: warning: hook on_map ran 2 times and never to its end: a requires "
         f"in it disabled every step that called it {bounds}"),
        f"{design}:6:1: warning: hook may_unmap never ran {bounds}",
        (f"{design}:8:1: warning: invariant mapped_counted holds vacuously: the left side of "
         f"its '->' is never true {bounds}"),
    ]
    # --quiet keeps standard error for errors.
    assert run(capsys, "verify", spec, "--quiet")[2] == ""
    # The same design with a hook that lets map happen warns of nothing.
    code, out, err = run(capsys, "verify", toy(tmp_path, "if mapcount == PROCS { }"))
    assert (code, err) == (0, "")


def test_a_search_cut_short_says_how_far_it_went(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The second state (p0 maps the page) is stored but never expanded.
    spec = toy(tmp_path, "")
    _, _, err = run(capsys, "verify", spec, "--max-states", "2", "--engine", "explicit")
    assert err.splitlines() == [
        (f"{tmp_path / 'toylib.spec'}:21:1: warning: action unmap never fired in the 2 states "
         "searched at PROCS=2"),
        (f"{tmp_path / 'toy.spec'}:6:1: warning: hook may_unmap never ran in the 2 states "
         "searched at PROCS=2"),
    ]


def test_the_search_before_the_proofs_warns_too(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("z3")
    code, _, err = run(capsys, "prove", toy(tmp_path, "requires mapcount > PROCS"))
    assert code == 0
    assert "warning: action map never fired at PROCS=2 (the search finished)" in err
    assert "invariant mapped_counted holds vacuously" in err


# ------------------------------------------------------------ the command line


def test_coverage_table_of_anon_vma(capsys: pytest.CaptureFixture[str]) -> None:
    consts = [arg for name, value in SMALL.items() for arg in ("--const", f"{name}={value}")]
    code, out, err = run(capsys, "verify", "models/anon_vma.spec", *consts, "--coverage",
                         "--engine", "explicit")
    assert code == 12  # no state shares a frame with one process: shared_page has no witness
    table = out[out.index("coverage (1,098 states; the search finished)"):].splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in table[2:] if line.startswith("  ")}
    for name, (enabled, new) in EXPECTED_ACTIONS.items():
        assert rows[name] == [f"{enabled:,}", f"{new:,}"], name
    assert any(line.split() == ["finds", "ran", "2,680", "times", "models/anon_vma.spec:37:1"]
               for line in table)
    assert any(line.split() == ["rmap_complete", "true", "in", "536", "states"]
               for line in table)
    # the warnings are real: one process never forks, so it never copies on write
    assert "warning: action fork never fired at PROCS=1 VPAGES=2 FRAMES=1" in err
    assert "anon_vma.spec:70:1: warning: hook on_cow never ran" in err

    code, out, _ = run(capsys, "verify", "models/anon_vma.spec", *consts, "--coverage",
                       "--engine", "explicit", "--json")
    coverage = json.loads(out)["coverage"]
    assert coverage["complete"] and coverage["states"] == 1098
    assert {a["name"]: (a["enabled"], a["new"]) for a in coverage["actions"]} == \
        EXPECTED_ACTIONS
    assert {h["name"]: h["ran"] for h in coverage["hooks"]} == EXPECTED_HOOKS
    # without --coverage the JSON document is what it was
    assert "coverage" not in json.loads(run(capsys, "verify", "models/anon_vma.spec",
                                            *consts, "--json")[1])


def test_walks_and_fuzzing_count_what_they_ran(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = toy(tmp_path, "if mapcount == PROCS { }")
    code, out, err = run(capsys, "simulate", spec, "--coverage", "--seed", "3", "--runs", "2",
                         "--steps", "4", "--json")
    coverage = json.loads(out)["coverage"]
    steps = sum(w["steps"] for w in json.loads(out)["walks"])
    assert steps == 8 and err == ""
    # every step computes every successor; each step is one of them
    assert sum(a["enabled"] for a in coverage["actions"]) >= steps
    assert {h["name"] for h in coverage["hooks"]} == {"on_map", "may_unmap"}
    code, out, err = run(capsys, "fuzz", spec, "--coverage", "--seed", "1", "--examples", "10",
                         "--steps", "5")
    assert code == 0 and err == ""
    table = out[out.index("coverage ("):]
    taken = [int(line.split()[1].replace(",", "")) for line in table.splitlines()
             if line.split()[:1] in (["map"], ["unmap"])]
    steps_line = next(line for line in out.splitlines() if "fuzz:" in line)
    assert sum(taken) == int(steps_line.split("examples, ")[1].split(" steps")[0].replace(",", ""))


def test_a_hook_whose_requires_never_holds_is_warned(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's example: a requires in the mremap hook that is never true
    means mremap never moves a mapped page; every property still holds."""
    spec = tmp_path / "nomove.spec"
    spec.write_text("model nomove\nuse anon_vma\n"
                    "override proc on_move_pte(p: Proc, v: VPage, w: VPage, f: Frame) {\n"
                    "  requires v == w\n}\n")
    code, out, err = run(capsys, "verify", str(spec), "--const", "PROCS=1", "--const",
                         "VPAGES=2", "--const", "FRAMES=1", "--coverage", "--property",
                         "rmap_complete")
    assert code == 0
    assert (f"{spec}:3:1: warning: hook on_move_pte ran 32 times and never to its end: a "
            "requires in it disabled every step that called it at PROCS=1 VPAGES=2 FRAMES=1 "
            "VMAS=2 ANON_VMAS=2 (the search finished)") in err.splitlines()
    row = next(line for line in out.splitlines() if line.strip().startswith("on_move_pte"))
    assert "ran 32 times, 0 to its end" in row
