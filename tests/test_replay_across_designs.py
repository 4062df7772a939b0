"""``rmapcheck replay TRACE SPEC`` with a trace of another design: its steps
are matched to SPEC's actions by name and parameters and run on SPEC, the
variables the two designs share are compared for information, and the replay
says which ``requires`` stops a step SPEC does not allow (exit 11). Quint's
ITF traces get one sentence, or, in Quint's MBT mode, are replayed by their
actions; a file that is no trace we can read is one sentence and exit 150.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import BROKEN_FORK

from rmapcheck.cli import main
from rmapcheck.explicit.machine import Machine
from rmapcheck.frontend import load_model
from rmapcheck.instance import Instance
from rmapcheck.render.itf import write_itf
from rmapcheck.trace import Step, Trace

# The working directory is the checkout's root (outputs name spec files
# relative to it); broken_fork is the fork counterexample (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("at_root")


def write_trace(spec: str, consts: dict[str, int], steps: list[tuple[str, dict[str, Any]]],
                path: Path) -> Path:
    """A trace of ``spec`` taking ``steps``, written as rmapcheck writes one."""
    machine = Machine(Instance(load_model(spec), consts))
    state = machine.initial_state()
    out = []
    for action, args in steps:
        after = machine.step(state, action, args)
        assert after is not None, (action, args)
        out.append(Step(action, tuple(args.items()), after, machine.model.action(action).span))
        state = after
    write_itf(machine.instance, Trace(machine.initial_state(), tuple(out)), str(path))
    return path


def replay(capsys: pytest.CaptureFixture[str], trace: Path, *rest: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["replay", str(trace), *rest])
    out, err = capsys.readouterr()
    return code, out.replace(str(trace), "TRACE"), err.replace(str(trace), "TRACE")


def test_the_broken_fork_trace_runs_to_its_end_on_the_fixed_design(
        broken_fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = replay(capsys, broken_fork, "anon_vma.spec")
    assert (code, err) == (0, "")
    assert out == """\
anon_vma: replaying the actions of TRACE, a trace of anon_vma_fork_unlinked (3 steps)
  note: the trace was written at FRAMES=2 VPAGES=3, where anon_vma's own bounds are FRAMES=3 \
VPAGES=4; replayed at the trace's
  the states are compared on the variables the designs share: alive, vma, pte, wp, page, av_used

  0. initial state
  1. mmap(p=p0, s=0, n=1, growsdown=false)  ran  models/vm.spec:169:1
       p0: VMA [0,1) mapped, pgoff 0, writable
  2. fault(p=p0, v=0)  ran  models/vm.spec:277:1
       p0: VMA [0,1) anon := av0
       pte[p0, 0] := f0
       page[f0] allocated: mapcount 1, mapping av0, index 0
       av_used[av0] := true
  3. fork(parent=p0, child=p1)  ran  models/vm.spec:250:1
       mm p1 created
       p1: VMA [0,1) mapped, pgoff 0, writable, anon av0
       pte[p0, 0] -> f0 write-protected
       pte[p1, 0] := f0 (write-protected)
       page[f0].mapcount := 2
       differs from the trace: vma[p1, 0].anon is av0 in the spec but none in the trace

  the trace runs to its end on anon_vma (3 steps), and every property holds along it
  note: on anon_vma_fork_unlinked the trace violates rmap_complete; on anon_vma it does not
"""
    # the same trace on its own design: its states are compared, as before
    code, out, _ = replay(capsys, broken_fork, BROKEN_FORK)
    assert code == 12
    assert out.startswith("anon_vma_fork_unlinked: TRACE replays on the spec (3 steps)\n")
    assert "violation at step 3: rmap_complete" in out


def test_variables_of_another_shape_are_not_compared(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # anonmm's page->mapping is a process, anon_vma's an anon_vma: both numbers
    # from 0, so the values alone would read; the sorts the trace records do not.
    trace = tmp_path / "anonmm.itf.json"
    assert main(["verify", "anonmm.spec", "--itf", str(trace)]) == 12
    code, out, _ = replay(capsys, trace, "anon_vma.spec")
    assert code == 0
    assert out.splitlines()[1:3] == [
        "  note: the trace records no ANON_VMAS; replayed at anon_vma's ANON_VMAS=2",
        ("  the states are compared on the variables the designs share: alive, pte, wp; not "
         "on vma, page, family")]


def test_a_violation_on_the_other_design_is_printed_as_verify_prints_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the fixed design's steps, run on the broken one: exit 12 and the usual explanation
    fixed = write_trace("anon_vma.spec", {"VPAGES": 3, "FRAMES": 2},
                        [("mmap", {"p": 0, "s": 0, "n": 1, "growsdown": False}),
                         ("fault", {"p": 0, "v": 0}), ("fork", {"parent": 0, "child": 1}),
                         ("exit", {"p": 1})], tmp_path / "fixed.itf.json")
    code, out, _ = replay(capsys, fixed, BROKEN_FORK, "--no-color")
    assert code == 12
    assert "  3. fork(parent=p0, child=p1)  ran  models/vm.spec:250:1\n" in out
    assert ("       differs from the trace: vma[p1, 0].anon is none in the spec but av0 in the "
            "trace\n") in out
    assert ("  violation at step 3: rmap_complete\n"
            "  violated: rmap_complete  (invariant, models/vm.spec:333:1)\n") in out
    assert "  the walk from f0 misses the pte of p1 at page 0 in p1's VMA [0,1)" in out
    assert out.endswith("  (the trace goes on for 1 more step, not replayed)\n")
    code, out, _ = replay(capsys, fixed, BROKEN_FORK, "--json")
    report = json.loads(out)
    assert (report["violated"], report["violated_at"], report["ran"]) == (["rmap_complete"],
                                                                          3, 3)


def test_a_blocked_step_names_the_requires_that_stops_it(
        broken_fork: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(broken_fork.read_text())
    last = data["states"][-1]
    data["states"].append(dict(last, **{"#meta": {"index": 4, "action": "fork",
                                                  "args": {"parent": 0, "child": 1}}}))
    data["states"].append(dict(last, **{"#meta": {"index": 5, "action": "exit",
                                                  "args": {"p": 1}}}))
    twice = tmp_path / "twice.itf.json"
    twice.write_text(json.dumps(data))
    code, out, err = replay(capsys, twice, "anon_vma.spec")
    assert (code, err) == (11, "")
    assert out.endswith("""\
  4. fork(parent=p0, child=p1)  not allowed  models/vm.spec:250:1
       blocked by requires alive[parent] and not alive[child]  (models/vm.spec:252:3)
       the part that is false: not alive[child]
         where child = p1
               alive[p1] = true

  anon_vma does not allow step 4 of the trace; every property holds along the 3 steps before it
  (the trace goes on for 1 more step, not replayed)
""")
    code, out, _ = replay(capsys, twice, "anon_vma.spec", "--json")
    report = json.loads(out)
    assert code == 11
    assert report["replays"] is False and report["ran"] == 3
    assert report["blocked"] == {
        "step": 4, "action": "fork", "requires": "models/vm.spec:252:3",
        "text": "requires alive[parent] and not alive[child]", "false_part": "not alive[child]",
        "values": {"child": "p1", "alive[p1]": "true"}}


def test_a_requires_inside_a_proc_is_found_at_its_own_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Two VMAs faulted apart need two anon_vmas; at ANON_VMAS=1 anon_vma_prepare,
    # a proc inlined into fault, has none left. The trace is anon_vma's own at
    # ANON_VMAS=2, so at 1 its states are not the spec's and its actions replay.
    trace = write_trace("anon_vma.spec", {"VPAGES": 3, "FRAMES": 2},
                        [("mmap", {"p": 0, "s": 0, "n": 1, "growsdown": False}),
                         ("fault", {"p": 0, "v": 0}),
                         ("mmap", {"p": 0, "s": 2, "n": 1, "growsdown": False}),
                         ("fault", {"p": 0, "v": 2})], tmp_path / "two.itf.json")
    code, out, _ = replay(capsys, trace, "anon_vma.spec", "-c", "ANON_VMAS=1")
    assert code == 11
    assert out.startswith("""\
anon_vma: replaying the actions of TRACE, a trace of anon_vma (4 steps)
  note: the trace was written at FRAMES=2 VPAGES=3, where anon_vma's own bounds are FRAMES=3 \
VPAGES=4; replayed at the trace's
  note: replayed at ANON_VMAS=1 (--const); the trace was written at ANON_VMAS=2
  note: it does not read as a trace of anon_vma at these bounds, so only its actions are \
replayed
  the states are compared on the variables the designs share: alive, pte, wp; not on vma, \
page, av_used
""")
    assert out.endswith("""\
  4. fault(p=p0, v=2)  not allowed  models/vm.spec:277:1
       blocked by requires x != none  (models/anon_vma.spec:56:5)
         where x = none

  anon_vma does not allow step 4 of the trace; every property holds along the 3 steps before it
""")


@pytest.mark.parametrize("change, reason", [
    ({"action": "faultt"},
     "faultt(p=0, v=0)  not run: anon_vma has no action faultt; did you mean 'fault'?"),
    ({"args": {"p": 0, "vp": 0}},
     ("fault(p=0, vp=0)  not run: anon_vma's action fault takes (p, v), and the trace gives "
      "it (p, vp); did you mean 'v'?")),
    ({"args": {"p": 0, "v": 7}},
     ("fault(p=0, v=7)  not run: the trace's v = 7 is not a value of fault's parameter v: "
      "VPage (0 .. 2 at anon_vma's bounds)")),
])
def test_a_step_that_names_no_action_of_the_spec_stops_the_replay(
        broken_fork: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        change: dict[str, Any], reason: str) -> None:
    data = json.loads(broken_fork.read_text())
    data["states"][2]["#meta"].update(change)
    trace = tmp_path / "changed.itf.json"
    trace.write_text(json.dumps(data))
    code, out, _ = replay(capsys, trace, "anon_vma.spec")
    assert code == 11
    assert f"\n  2. {reason}\n" in out
    assert out.endswith("  anon_vma does not allow step 2 of the trace; every property holds "
                        "along the 1 step before it\n"
                        "  (the trace goes on for 1 more step, not replayed)\n")


def test_a_run_time_error_of_the_spec_stops_the_replay(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "one.spec").write_text(
        "model one\ntype R = 0 .. 2\nvar total: R\naction bump(x: R) { total := x }\n")
    (tmp_path / "two.spec").write_text(
        "model two\ntype R = 0 .. 2\nrecord Rec { n: R }\nvar r: R -> Rec?\nvar total: R\n"
        "action put(x: R) { r[x] := Rec(n: x) }\n"
        "action bump(x: R) { total := r[x].n }\n")
    trace = write_trace(str(tmp_path / "one.spec"), {}, [("bump", {"x": 1})],
                        tmp_path / "one.itf.json")
    code, out, err = replay(capsys, trace, str(tmp_path / "two.spec"))
    assert code == 150
    assert "  1. bump(x=1)  fails with a run-time error (below)" in out
    assert err.endswith("error: reading field n of none\n"
                        "  action bump(x: R) { total := r[x].n }\n"
                        "                               ^^^^^^\n"
                        "  note: while running step 1 of the trace, bump\n")


def _quint(value: Any) -> Any:
    """A value as Quint writes it: every integer a #bigint."""
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"#bigint": str(value)}
    if isinstance(value, list):
        return [_quint(v) for v in value]
    if isinstance(value, dict):
        return {k: _quint(v) for k, v in value.items()}
    return value


def quint_trace(ours: dict[str, Any], mbt: bool) -> dict[str, Any]:
    """Our trace as Quint writes one: no action in the states; in MBT mode,
    the action taken and the nondeterministic picks (every action's
    parameters, None where another action's) as two variables."""
    picks = ["p", "s", "n", "growsdown", "v", "parent", "child"]
    states = []
    for index, state in enumerate(ours["states"]):
        meta = state["#meta"]
        out = {"#meta": {"index": index}}
        out.update({k: _quint(v) for k, v in state.items() if k != "#meta"})
        if mbt:
            args = meta.get("args", {})
            out["mbt::actionTaken"] = meta.get("action", "init")
            out["mbt::nondetPicks"] = {
                n: {"tag": "Some", "value": _quint(args[n])} if n in args
                else {"tag": "None", "value": {"#tup": []}} for n in picks}
        states.append(out)
    extra = ["mbt::actionTaken", "mbt::nondetPicks"] if mbt else []
    return {"#meta": {"format": "ITF", "source": "anon_vma.qnt", "status": "violation",
                      "description": "Created by Quint on Sun Nov 22 2026"},
            "vars": ours["vars"] + extra, "states": states}


def test_a_quint_trace_without_actions_gets_one_sentence(
        broken_fork: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "quint.itf.json"
    trace.write_text(json.dumps(quint_trace(json.loads(broken_fork.read_text()), mbt=False)))
    code, out, err = replay(capsys, trace, "anon_vma.spec")
    assert (code, out) == (150, "")
    assert err == ("rmapcheck: error: TRACE is an ITF trace from Quint or Apalache (of "
                   "anon_vma.qnt), and its states have no 'action': rmapcheck replays the "
                   "traces it writes (--itf of verify and simulate) and Quint's "
                   "model-based-testing traces (quint run --mbt), whose states name the "
                   "action taken\n")


def test_a_quint_mbt_trace_is_replayed_by_its_actions(
        broken_fork: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "mbt.itf.json"
    trace.write_text(json.dumps(quint_trace(json.loads(broken_fork.read_text()), mbt=True)))
    code, out, _ = replay(capsys, trace, BROKEN_FORK)
    assert code == 12
    # Quint's #bigint keys and values read as the spec's: every variable is compared
    assert out.startswith(
        "anon_vma_fork_unlinked: replaying the actions of TRACE, a Quint model-based-testing "
        "trace of anon_vma.qnt (3 steps)\n"
        "  the states are compared on the variables the designs share: alive, vma, pte, wp, "
        "page, av_used\n")
    assert "differs" not in out
    assert "  3. fork(parent=p0, child=p1)  ran  models/vm.spec:250:1\n" in out
    assert "  violation at step 3: rmap_complete\n" in out
    code, out, _ = replay(capsys, trace, "anon_vma.spec")
    assert code == 0
    assert ("  the trace runs to its end on anon_vma (3 steps), and every property holds "
            "along it\n") in out


@pytest.mark.parametrize("content, message", [
    (b'{"vars": [', "TRACE is not JSON: Expecting value at line 1"),
    (b"\xff\xfe{}", ("TRACE is not UTF-8 text: byte 0xff cannot be decoded (an ITF trace "
                     "is JSON, read as UTF-8)")),
    (None, "TRACE is a directory, not an ITF trace"),
    (b"", "TRACE is not JSON: Expecting value at line 1"),
    (b'{"vars": [], "states": []}', ("TRACE is an ITF trace with no states, not even an "
     "initial one")),
])
def test_a_file_that_is_no_trace_is_one_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None,
        message: str) -> None:
    trace = tmp_path / "trace.itf.json"
    if content is None:
        trace.mkdir()
    else:
        trace.write_bytes(content)
    code, out, err = replay(capsys, trace, "anon_vma.spec")
    assert (code, out, err) == (150, "", f"rmapcheck: error: {message}\n")


def test_a_missing_file_is_one_sentence(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = replay(capsys, tmp_path / "nowhere.itf.json", "anon_vma.spec")
    assert (code, out, err) == (150, "", ("rmapcheck: error: cannot read TRACE: No such file "
                                "or directory\n"))
